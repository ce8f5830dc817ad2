"""NodeUnschedulable: cordoned nodes reject pods unless they tolerate node.kubernetes.io/unschedulable."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling.framework import CycleState, NodeInfo  # noqa: E402
from scheduling.plugins import NodeUnschedulable  # noqa: E402


def test_cordoned_node_rejects_untolerating_pods() -> None:
    cordoned = NodeInfo(node("n", unschedulable=True))
    status = NodeUnschedulable().filter(CycleState(), pod("p"), cordoned)
    assert status.reasons == ("node(s) were unschedulable",) and str(status.code) == "UnschedulableAndUnresolvable"
    tolerant = pod("t", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                      "effect": "NoSchedule"}])
    assert NodeUnschedulable().filter(CycleState(), tolerant, cordoned) is None
    assert NodeUnschedulable().filter(CycleState(), pod("p"), NodeInfo(node("ok"))) is None
