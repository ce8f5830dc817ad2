"""The scheduler's nominator: kube-scheduler's rules for when a nomination is set, kept or cleared.

``Nominations`` is the map (pods by node); the ``Nominator`` is the one place that changes it. Preemption
nominates a pod to the node it made room on; a failed cycle clears the pod's nomination; assuming, binding
or deleting a pod forgets it; a pending pod fed from outside is nominated where its
``status.nominatedNodeName`` says (``updateNominatedPod``). Every change logs the nodes whose nominated pods
changed in the cache (the class indexes evaluate them again), and the changes kube-scheduler writes to the
API server go to ``writer`` (``Scheduler.nomination_writer``; ``run(registry)`` points it at the registry).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ..cache import Cache
from ..queue import SchedulingQueue
from .nominations import Nominations

__all__ = ["Nominator", "NominationWriter"]

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
        self._fed.pop(pod.key, None)
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
