"""NodeName (Filter): a pod that names a node in ``spec.nodeName`` fits only that node."""
from __future__ import annotations

from typing import Any, Hashable, Optional

from ..framework import ClusterEvent, EnqueueExtensions, FilterPlugin, NodeInfo, Plugin, Status

__all__ = ["NodeName"]

ERR_REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin, FilterPlugin, EnqueueExtensions):
    """UnschedulableAndUnresolvable on every node but ``spec.nodeName`` (when set)."""

    name = "NodeName"

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        return pod.spec.node_name or ""

    def filter(self, state: Any, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        wanted = pod.spec.node_name
        if not wanted or wanted == node_info.name:
            return None
        return Status.unresolvable(ERR_REASON)

    def events_to_register(self) -> tuple[str, ...]:
        return (ClusterEvent.NODE_ADD,)
