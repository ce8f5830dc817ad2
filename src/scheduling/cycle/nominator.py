"""Pods nominated to nodes by preemption and the rules that set and clear them: kube-scheduler's
``nominator`` (its ``nominatedPodMap`` and the updates to it).

A pod that preempted waits for its victims to leave with ``status.nominatedNodeName`` set; until it is bound
(or its nomination is cleared) the room it made is kept for it: every pod of equal or lower priority is
filtered on that node as if the nominated pods were already there (``RunFilterPluginsWithNominatedPods``).

``Nominations`` is the map: pods stored by node in the order they were nominated (kube-scheduler appends),
one node per pod; every change reports the nodes whose nominations changed. The filter paths read it.

The ``Nominator`` is the one place that changes it. Preemption nominates a pod to the node it made room on;
a failed cycle clears the pod's nomination; assuming, binding or deleting a pod forgets it; a pending pod fed
from outside is nominated where its ``status.nominatedNodeName`` says (``updateNominatedPod``). Every change
logs the nodes whose nominated pods changed in the cache (the class indexes evaluate them again), and the
changes kube-scheduler writes to the API server go to ``writer`` (``Scheduler.nomination_writer``;
``run(registry)`` points it at the registry).
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Sequence

from ..cache import Cache
from ..queue import SchedulingQueue

__all__ = ["Nominations", "Nominator", "NominationWriter"]


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


NominationWriter = Callable[[Any, Optional[str]], None]


class Nominator:
    """Sets and clears nominations in ``nominations``, telling ``cache`` and ``writer``."""

    def __init__(self, nominations: Nominations, cache: Cache, queue: SchedulingQueue) -> None:
        self._nominations = nominations
        self._cache = cache
        self._queue = queue
        self._fed: dict[str, str] = {}  # pod key -> nominatedNodeName of the last version fed
        # Called as (pod, node name or None) when a nomination is set or cleared in a way kube-scheduler
        # writes to the API server (its status patch).
        self.writer: Optional[NominationWriter] = None

    def set(self, pod: Any, node_name: Optional[str], record: bool = True) -> Any:
        """Nominate ``pod`` to ``node_name`` (None clears); returns ``pod`` with ``status.nominatedNodeName``
        matching. ``record``: kube-scheduler also writes the change to the API server (preemption's
        nomination and the clearings of a failed cycle); then ``writer`` is called."""
        had = self._nominations.node_of(pod.key)
        node_name = node_name or None
        if (pod.status.nominated_node_name or None) != node_name:
            pod = pod.with_nominated_node_name(node_name)
        if had is None and node_name is None:
            return pod
        for name in self._nominations.set(pod, node_name):
            self._cache.mark_changed(name)
        if record and had != node_name and self.writer is not None:
            self.writer(pod, node_name)
        return pod

    def forget(self, pod: Any) -> None:
        """The pod was assumed, bound or deleted: only the nominator forgets it (no API write)."""
        key = pod.key
        self._fed.pop(key, None)
        if self._nominations.node_of(key) is not None:  # else set() would change nothing
            self.set(pod, None, record=False)

    def take_fed(self, pod: Any) -> None:
        """A pending pod was added or updated from outside: nominate it where its status says; an update
        without one keeps the scheduler's nomination unless the version fed before had one
        (``updateNominatedPod``: the status write may not have come back yet)."""
        key = pod.key
        info = self._queue.get(key)
        if info is None:
            return
        fed = pod.status.nominated_node_name
        before = self._fed.pop(key, None)
        if fed:
            self._fed[key] = fed
            info.pod = self.set(pod, fed, record=False)
        elif before is not None:
            info.pod = self.set(pod, None, record=False)
        else:
            node = self._nominations.node_of(key)
            if node is not None:
                info.pod = self.set(pod, node, record=False)

    def clear(self, pods: Sequence[Any]) -> None:
        """Preemption clears the nominations of lower-priority pods nominated to the node it chose; their
        queue entries take the cleared pod (a status-only change, which does not retry an unschedulable pod)."""
        for pod in pods:
            cleared = self.set(pod, None)
            if pod.key in self._queue:
                self._queue.update(cleared)
