"""Pods nominated to nodes by preemption: kube-scheduler's ``nominator`` (``nominatedPodMap``).

A pod that preempted waits for its victims to leave with ``status.nominatedNodeName`` set; until it is bound
(or its nomination is cleared) the room it made is kept for it: every pod of equal or lower priority is
filtered on that node as if the nominated pods were already there (``RunFilterPluginsWithNominatedPods``).

Pods are stored by node in the order they were nominated (kube-scheduler appends), one node per pod.
Every change reports the nodes whose nominations changed, so the scheduler can tell its per-node caches.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

__all__ = ["Nominations"]


class Nominations:
    """Nominated pods by node name and each pod's node, by ``pod.key``."""

    __slots__ = ("_by_node", "_node_of")

    def __init__(self) -> None:
        self._by_node: dict[str, dict[str, Any]] = {}
        self._node_of: dict[str, str] = {}

    def set(self, pod: Any, node_name: Optional[str]) -> tuple[str, ...]:
        """Nominate ``pod`` to ``node_name`` (None or "" clears its nomination); the pod object is stored as
        given. Returns the names of the nodes whose nominated pods changed."""
        key = pod.key
        old = self._node_of.pop(key, None)
        if old is not None:
            pods = self._by_node[old]
            del pods[key]
            if not pods:
                del self._by_node[old]
        if not node_name:
            return (old,) if old is not None else ()
        self._node_of[key] = node_name
        self._by_node.setdefault(node_name, {})[key] = pod
        return (node_name,) if old in (None, node_name) else (old, node_name)

    def node_of(self, key: str) -> Optional[str]:
        """The node ``key`` ("namespace/name") is nominated to, or None."""
        return self._node_of.get(key)

    def pods_on(self, node_name: str) -> list[Any]:
        """The pods nominated to ``node_name``, in nomination order."""
        pods = self._by_node.get(node_name)
        return list(pods.values()) if pods else []

    def relevant(self, node_name: str, priority: int, exclude_key: Optional[str] = None) -> list[Any]:
        """The pods nominated to ``node_name`` that a pod of ``priority`` must leave room for: those of equal
        or higher priority, other than ``exclude_key`` (``addNominatedPods``)."""
        pods = self._by_node.get(node_name)
        if not pods:
            return []
        return [p for k, p in pods.items() if p.priority_value >= priority and k != exclude_key]

    def by_node(self, priority: int, exclude_key: Optional[str] = None) -> dict[str, list[Any]]:
        """Every node with pods a pod of ``priority`` must leave room for, with those pods."""
        out: dict[str, list[Any]] = {}
        for node_name in self._by_node:
            pods = self.relevant(node_name, priority, exclude_key)
            if pods:
                out[node_name] = pods
        return out

    def nodes(self) -> Iterator[str]:
        """The names of the nodes that have nominated pods."""
        return iter(self._by_node)

    def __len__(self) -> int:
        return len(self._node_of)

    def __bool__(self) -> bool:
        return bool(self._node_of)
