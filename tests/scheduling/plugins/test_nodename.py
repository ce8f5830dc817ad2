"""NodeName: a pod naming a node fits only that node."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling.framework import CycleState, NodeInfo  # noqa: E402
from scheduling.plugins import NodeName  # noqa: E402


def test_only_the_named_node() -> None:
    p = pod("p", node_name="b")
    assert NodeName().filter(CycleState(), p, NodeInfo(node("b"))) is None
    assert NodeName().filter(CycleState(), p, NodeInfo(node("a"))).reasons == (
        "node(s) didn't match the requested node name",)
    assert NodeName().filter(CycleState(), pod("free"), NodeInfo(node("a"))) is None
