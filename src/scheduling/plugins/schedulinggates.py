"""SchedulingGates (PreEnqueue): a pod with ``spec.schedulingGates`` waits outside the active queue."""
from __future__ import annotations

from typing import Any, Optional

from ..framework import Plugin, PreEnqueuePlugin, Status

__all__ = ["SchedulingGates"]


class SchedulingGates(Plugin, PreEnqueuePlugin):
    """Gated pods are not scheduled until every gate is removed (an update of the pod)."""

    name = "SchedulingGates"

    def pre_enqueue(self, pod: Any) -> Optional[Status]:
        gates = pod.spec.scheduling_gates or ()
        if not gates:
            return None
        names = [getattr(g, "name", None) or (g.get("name") if isinstance(g, dict) else str(g)) for g in gates]
        return Status.unresolvable(f"waiting for scheduling gates: [{' '.join(names)}]")
