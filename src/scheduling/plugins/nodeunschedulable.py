"""NodeUnschedulable (Filter): ``spec.unschedulable`` nodes take only pods tolerating
``node.kubernetes.io/unschedulable:NoSchedule``."""
from __future__ import annotations

from typing import Any, Hashable, Optional

from ..framework import ClusterEvent, EnqueueExtensions, FilterPlugin, NodeInfo, Plugin, Status

__all__ = ["NodeUnschedulable", "TAINT_NODE_UNSCHEDULABLE"]

TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"


def _tolerates_unschedulable(pod: Any) -> bool:
    for t in pod.spec.tolerations or ():
        if (not t.effect or t.effect == "NoSchedule") and (not t.key or t.key == TAINT_NODE_UNSCHEDULABLE) \
                and (t.operator == "Exists" or t.value == ""):
            return True
    return False


class NodeUnschedulable(Plugin, FilterPlugin, EnqueueExtensions):
    """Rejects cordoned nodes (UnschedulableAndUnresolvable) unless the pod tolerates the cordon taint."""

    name = "NodeUnschedulable"

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        return _tolerates_unschedulable(pod)

    def filter(self, state: Any, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        node = node_info.node
        if node is None:
            return Status.unresolvable("node not found")
        if not node.spec.unschedulable or _tolerates_unschedulable(pod):
            return None
        return Status.unresolvable(ERR_REASON_UNSCHEDULABLE)

    def events_to_register(self) -> tuple[str, ...]:
        return (ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE)
