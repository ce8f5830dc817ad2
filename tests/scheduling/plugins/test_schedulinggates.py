"""SchedulingGates: gated pods are held before the active queue, and scheduled once the gates are gone."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.plugins import SchedulingGates  # noqa: E402


def test_gated_pod_is_not_attempted_until_its_gates_are_removed() -> None:
    assert SchedulingGates().pre_enqueue(pod("p")) is None
    s = Scheduler()
    s.add_node(node("n"))
    s.add_pod(pod("p", schedulingGates=[{"name": "example.com/foo"}, {"name": "example.com/bar"}]))
    assert s.schedule_pending() == [] and s.queue.gated_count == 1 and s.metrics.attempts == 0
    s.update_pod(pod("p", schedulingGates=[{"name": "example.com/bar"}]))
    assert s.schedule_pending() == []
    s.update_pod(pod("p"))
    assert [r.node_name for r in s.schedule_pending()] == ["n"]
