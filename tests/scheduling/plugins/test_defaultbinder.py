"""DefaultBinder: binds through the handle; without one it reports an error status."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import pod  # noqa: E402

from scheduling.framework import Code, CycleState  # noqa: E402
from scheduling.plugins import DefaultBinder  # noqa: E402


class Handle:
    def __init__(self) -> None:
        self.bound: list = []

    def bind_pod(self, p, node_name):
        self.bound.append((p.key, node_name))
        return None


def test_binds_through_the_handle() -> None:
    handle = Handle()
    assert DefaultBinder({}, handle).bind(CycleState(), pod("p"), "n") is None
    assert handle.bound == [("default/p", "n")]
    assert DefaultBinder().bind(CycleState(), pod("p"), "n").code == Code.ERROR
