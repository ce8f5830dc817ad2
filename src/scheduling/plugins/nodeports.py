"""NodePorts (PreFilter + Filter): a pod's host ports must be free on the node (0.0.0.0 clashes with any IP)."""
from __future__ import annotations

from typing import Any, Hashable, Optional, Sequence

from ..framework import (ClusterEvent, EnqueueExtensions, FilterPlugin, NodeInfo, Plugin, PreFilterPlugin,
                         PreFilterResult, Status)

__all__ = ["NodePorts"]

ERR_REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts(Plugin, PreFilterPlugin, FilterPlugin, EnqueueExtensions):
    """Unschedulable when any of the pod's (hostIP, protocol, hostPort) is taken on the node."""

    name = "NodePorts"

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        return pod.host_ports

    def pre_filter(self, state: Any, pod: Any,
                   nodes: Sequence[NodeInfo]) -> tuple[Optional[PreFilterResult], Optional[Status]]:
        if not pod.host_ports:
            return None, Status.skip()
        return None, None

    def filter(self, state: Any, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        used = node_info.used_ports
        for ip, protocol, port in pod.host_ports:
            if used.conflicts(ip, protocol, port):
                return Status.unschedulable(ERR_REASON)
        return None

    def events_to_register(self) -> tuple[str, ...]:
        return (ClusterEvent.ASSIGNED_POD_DELETE, ClusterEvent.NODE_ADD)
