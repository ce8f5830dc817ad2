"""The scheduling queue (kube-scheduler's ``PriorityQueue``): active, backoff and unschedulable pods.

* ``active``: a heap ordered by the profile's QueueSort plugin (``sort_key`` when it has one, else ``less``).
* ``backoff``: pods that failed and wait ``1 s * 2^(attempts-1)``, at most 10 s, from their last attempt;
  ``flush_backoff_completed`` moves the expired ones to active. The clock is injectable. As kube-scheduler's
  two backoff heaps, pods that were rejected by plugins and pods that failed with an error wait apart:
  ``pop_backoff`` takes the first of the former before its backoff ends, which is what kube-scheduler
  (SchedulerPopFromBackoffQ, on by default since 1.33) does when the active queue is empty.
* ``unschedulable``: pods that did not fit. A cluster event (node added or updated, an assigned pod
  added / deleted) moves the pods whose failing plugins registered that event back — to backoff while
  their backoff lasts, else to active. Pods left there longer than 5 minutes move back on the next flush.
* ``gated``: pods a PreEnqueue plugin rejected (scheduling gates); re-checked when the pod is updated.

Pods are keyed by ``pod.key``; every operation is O(log n) or O(moved pods), never O(all pods).
"""
from __future__ import annotations

import functools
import heapq
import itertools
import time
from typing import Any, Callable, Iterable, Optional

from .framework import QueueSortPlugin, SchedulingError

__all__ = ["QueuedPodInfo", "SchedulingQueue", "INITIAL_BACKOFF_SECONDS", "MAX_BACKOFF_SECONDS",
           "MAX_UNSCHEDULABLE_SECONDS"]

INITIAL_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0
MAX_UNSCHEDULABLE_SECONDS = 300.0
_ANY = "*"


def is_pod_updated(old: Any, new: Any) -> bool:
    """kube-scheduler's ``isPodUpdated``: did anything change besides resourceVersion, generation, status
    and finalizers?"""
    if old.spec != new.spec:
        return True
    ignored = {"resource_version": None, "generation": None, "finalizers": []}
    return old.metadata.replace(**ignored) != new.metadata.replace(**ignored)


class QueuedPodInfo:
    """A pending pod with its queue bookkeeping (``framework.QueuedPodInfo``)."""

    __slots__ = ("pod", "timestamp", "initial_attempt_timestamp", "attempts", "unschedulable_plugins",
                 "gated_by", "seq", "signature", "cycle", "_entry", "_backoff")

    def __init__(self, pod: Any, timestamp: float, seq: int) -> None:
        self.pod = pod
        self.timestamp = timestamp
        self.initial_attempt_timestamp: Optional[float] = None
        self.attempts = 0
        self.unschedulable_plugins: frozenset[str] = frozenset()
        self.gated_by: str = ""
        self.seq = seq
        self.signature: Any = None
        self.cycle = 0  # the scheduling cycle that popped it last
        self._entry: Optional[list] = None
        self._backoff: Optional[tuple] = None  # its entry in a backoff heap while it waits there

    def backoff_expiry(self, initial: float = INITIAL_BACKOFF_SECONDS, maximum: float = MAX_BACKOFF_SECONDS) -> float:
        """When this pod's backoff ends: last attempt time + ``initial`` (1 s) doubled per earlier attempt,
        capped at ``maximum`` (10 s) — kube-scheduler's podInitialBackoffSeconds / podMaxBackoffSeconds."""
        duration = initial
        for _ in range(1, self.attempts):
            duration *= 2
            if duration >= maximum:
                duration = maximum
                break
        return self.timestamp + duration

    def __repr__(self) -> str:
        return f"QueuedPodInfo({self.pod.key!r}, attempts={self.attempts})"


class SchedulingQueue:
    """Active / backoff / unschedulable / gated pods. ``sort`` is the QueueSort plugin."""

    def __init__(self, sort: Any, clock: Optional[Callable[[], float]] = None,
                 pre_enqueue: Optional[Callable[[Any], Any]] = None,
                 events_of: Optional[Callable[[str], Iterable[str]]] = None, *,
                 initial_backoff: float = INITIAL_BACKOFF_SECONDS, max_backoff: float = MAX_BACKOFF_SECONDS) -> None:
        self._clock = clock or time.monotonic
        self._backoff_bounds = (initial_backoff, max_backoff)
        self._pre_enqueue = pre_enqueue
        self._events_of = events_of or (lambda plugin: (_ANY,))
        self._seq = itertools.count()
        # A plugin overriding sort_key gets a plain tuple heap (much faster than a comparator).
        self._keyed = type(sort).sort_key is not QueueSortPlugin.sort_key
        self._sort = sort
        self._less_key = None if self._keyed else functools.cmp_to_key(
            lambda a, b: -1 if sort.less(a, b) else (1 if sort.less(b, a) else 0))
        self._active: list[list] = []
        self._active_count = 0
        # Entries (expiry, push order, info); an entry is current while it is the info's ``_backoff``.
        self._backoff: list[tuple[float, int, QueuedPodInfo]] = []
        self._error_backoff: list[tuple[float, int, QueuedPodInfo]] = []
        self._pushes = itertools.count()
        self._in_backoff: dict[str, QueuedPodInfo] = {}
        self._unschedulable: dict[str, tuple[QueuedPodInfo, float]] = {}
        self._by_event: dict[str, dict[str, QueuedPodInfo]] = {}
        self._gated: dict[str, QueuedPodInfo] = {}
        self._infos: dict[str, QueuedPodInfo] = {}
        # As kube-scheduler's schedulingCycle / moveRequestCycle: a pod that fails in a cycle during which
        # a cluster event asked to move pods goes to backoff, not to unschedulable (the event may be the one
        # it waits for, e.g. its own preemption victims leaving).
        self.scheduling_cycle = 0
        self._move_request_cycle = -1

    # -- adding -------------------------------------------------------------------------------------------
    def add(self, pod: Any) -> QueuedPodInfo:
        """A new pending pod (``Add``): to active, or to gated when a PreEnqueue plugin rejects it."""
        key = pod.key
        if key in self._infos:
            return self.update(pod)
        info = QueuedPodInfo(pod, self._clock(), next(self._seq))
        self._infos[key] = info
        self._enqueue_checked(info)
        return info

    def _enqueue_checked(self, info: QueuedPodInfo) -> None:
        if self._pre_enqueue is not None:
            status = self._pre_enqueue(info.pod)
            if status is not None and not status.is_success:
                info.gated_by = status.plugin or "PreEnqueue"
                self._gated[info.pod.key] = info
                return
        info.gated_by = ""
        self._push_active(info)

    def _push_active(self, info: QueuedPodInfo) -> None:
        key = self._sort.sort_key(info) if self._keyed else self._less_key(info)
        entry = [key, info.seq, info, True]
        info._entry = entry
        heapq.heappush(self._active, entry)
        self._active_count += 1

    def update(self, pod: Any) -> QueuedPodInfo:
        """A pending pod changed: keep its place in line, re-check gates, retry it if it was unschedulable."""
        info = self._infos.get(pod.key)
        if info is None:
            return self.add(pod)
        old = info.pod
        info.pod = pod
        info.signature = None
        if pod.key in self._gated:
            del self._gated[pod.key]
            self._enqueue_checked(info)
        elif pod.key in self._unschedulable:
            if not is_pod_updated(old, pod):
                return info  # a status write (the scheduler's own condition) cannot make it fit
            self._take_unschedulable(pod.key)
            self._to_backoff_or_active(info)
        elif info._entry is not None and info._entry[3]:
            info._entry[3] = False
            self._active_count -= 1
            self._push_active(info)
        return info

    def delete(self, pod: Any) -> bool:
        """Remove a pending pod from wherever it waits; False when it is not queued."""
        key = pod.key
        info = self._infos.pop(key, None)
        if info is None:
            return False
        if info._entry is not None and info._entry[3]:
            info._entry[3] = False
            self._active_count -= 1
        info._entry = None
        info._backoff = None
        self._in_backoff.pop(key, None)
        self._gated.pop(key, None)
        if key in self._unschedulable:
            self._take_unschedulable(key)
        return True

    # -- taking -------------------------------------------------------------------------------------------
    def pop(self) -> Optional[QueuedPodInfo]:
        """The first active pod (by QueueSort), counted as an attempt; None when active is empty."""
        active = self._active
        while active:
            entry = heapq.heappop(active)
            if entry[3]:
                info = entry[2]
                info._entry = None
                self._active_count -= 1
                return self._popped(info)
        return None

    def pop_backoff(self) -> Optional[QueuedPodInfo]:
        """The pod first in line to leave backoff among those rejected by plugins, before its backoff ends,
        counted as an attempt; None when there is none. kube-scheduler pops it when the active queue is
        empty (``popBackoff``); pods that failed with an error keep waiting."""
        while self._backoff:
            info = self._leave_backoff(self._backoff)
            if info is not None:
                return self._popped(info)
        return None

    def _leave_backoff(self, backoff: list[tuple[float, int, QueuedPodInfo]]) -> Optional[QueuedPodInfo]:
        """Pop the first entry of ``backoff``: its pod, now out of backoff, or None for a stale entry."""
        entry = heapq.heappop(backoff)
        info = entry[2]
        if info._backoff is not entry:
            return None
        info._backoff = None
        del self._in_backoff[info.pod.key]
        return info

    def _popped(self, info: QueuedPodInfo) -> QueuedPodInfo:
        info.attempts += 1
        self.scheduling_cycle += 1
        info.cycle = self.scheduling_cycle
        if info.initial_attempt_timestamp is None:
            info.initial_attempt_timestamp = self._clock()
        return info

    def done(self, info: QueuedPodInfo) -> None:
        """The pod left the queue for good (bound)."""
        self._infos.pop(info.pod.key, None)

    def add_unschedulable(self, info: QueuedPodInfo, plugins: Iterable[str]) -> None:
        """The pod did not fit: wait for an event one of ``plugins`` (the rejecting plugins) registered."""
        info.timestamp = self._clock()
        info.unschedulable_plugins = frozenset(plugins)
        key = info.pod.key
        if key not in self._infos:
            return  # deleted while it was being scheduled
        if self._move_request_cycle >= info.cycle:
            self._to_backoff(info)
            return
        self._unschedulable[key] = (info, info.timestamp)
        events: set[str] = set()
        for plugin in info.unschedulable_plugins or (_ANY,):
            events.update(self._events_of(plugin) if plugin != _ANY else (_ANY,))
        if not events:
            events = {_ANY}
        for event in events:
            self._by_event.setdefault(event, {})[key] = info

    def add_backoff(self, info: QueuedPodInfo) -> None:
        """The attempt failed with an error: retry after the backoff."""
        info.timestamp = self._clock()
        info.unschedulable_plugins = frozenset()
        if info.pod.key in self._infos:
            self._to_backoff(info)

    def _to_backoff(self, info: QueuedPodInfo) -> None:
        # As kube-scheduler: a pod no plugin rejected (it failed with an error) waits in the error heap.
        self._in_backoff[info.pod.key] = info
        entry = (info.backoff_expiry(*self._backoff_bounds), next(self._pushes), info)
        info._backoff = entry
        heapq.heappush(self._backoff if info.unschedulable_plugins else self._error_backoff, entry)

    def _to_backoff_or_active(self, info: QueuedPodInfo) -> None:
        if info.backoff_expiry(*self._backoff_bounds) > self._clock():
            self._to_backoff(info)
        else:
            self._push_active(info)

    def _take_unschedulable(self, key: str) -> Optional[QueuedPodInfo]:
        entry = self._unschedulable.pop(key, None)
        if entry is None:
            return None
        for bucket in self._by_event.values():
            bucket.pop(key, None)
        return entry[0]

    # -- moving -------------------------------------------------------------------------------------------
    def move_on_event(self, event: str, exclude: str = "") -> int:
        """A cluster event happened: move the unschedulable pods interested in it, except the pod whose key
        is ``exclude`` (the one whose own failure caused the event). Returns how many moved."""
        self._move_request_cycle = self.scheduling_cycle
        if not self._unschedulable:
            return 0  # every bucket holds unschedulable pods only: nothing can move
        moved = 0
        for bucket_name in (event, _ANY):
            bucket = self._by_event.get(bucket_name)
            if not bucket:
                continue
            for key in list(bucket):
                if key == exclude:
                    continue
                info = self._take_unschedulable(key)
                if info is not None:
                    self._to_backoff_or_active(info)
                    moved += 1
        return moved

    def activate(self, key: str) -> bool:
        """Move a pod from unschedulable or backoff to active at once (kube-scheduler's ``Activate``);
        False when it waits in neither."""
        info = self._take_unschedulable(key)
        if info is None:
            info = self._in_backoff.pop(key, None)
            if info is None:
                return False
            info._backoff = None  # its heap entry is stale from now on
        self._push_active(info)
        return True

    def flush_backoff_completed(self, everything: bool = False) -> int:
        """Move pods whose backoff has ended (all of them with ``everything``) to active."""
        now = self._clock()
        moved = 0
        for backoff in (self._backoff, self._error_backoff):
            while backoff and (everything or backoff[0][0] <= now):
                info = self._leave_backoff(backoff)
                if info is not None:
                    self._push_active(info)
                    moved += 1
        return moved

    def flush_unschedulable_leftover(self) -> int:
        """Pods unschedulable for more than 5 minutes go back (``flushUnschedulablePodsLeftover``)."""
        now = self._clock()
        stale = []
        for key, (_, since) in self._unschedulable.items():  # insertion order is time order: stop early
            if now - since <= MAX_UNSCHEDULABLE_SECONDS:
                break
            stale.append(key)
        for key in stale:
            info = self._take_unschedulable(key)
            if info is not None:
                self._to_backoff_or_active(info)
        return len(stale)

    # -- reading ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._infos)

    def __contains__(self, key: object) -> bool:
        return key in self._infos

    def get(self, key: str) -> Optional[QueuedPodInfo]:
        """The queue entry of pod ``key`` ("namespace/name") in any sub-queue, or None."""
        return self._infos.get(key)

    @property
    def active_count(self) -> int:
        """How many pods are active (ready to be attempted)."""
        return self._active_count

    @property
    def backoff_count(self) -> int:
        """How many pods are backing off."""
        return len(self._in_backoff)

    @property
    def unschedulable_count(self) -> int:
        """How many pods wait as unschedulable for a cluster event."""
        return len(self._unschedulable)

    @property
    def gated_count(self) -> int:
        """How many pods a PreEnqueue plugin holds back (scheduling gates)."""
        return len(self._gated)

    def pending_pods(self) -> list[Any]:
        """Every queued pod."""
        return [info.pod for info in self._infos.values()]

    def check_invariants(self) -> None:
        """Each queued pod is in exactly one place (for tests)."""
        places: dict[str, int] = {}
        for entry in self._active:
            if entry[3]:
                places[entry[2].pod.key] = places.get(entry[2].pod.key, 0) + 1
        for key in [*self._in_backoff, *self._unschedulable, *self._gated]:
            places[key] = places.get(key, 0) + 1
        bad = {k: n for k, n in places.items() if n != 1}
        if bad or set(places) - set(self._infos):
            raise SchedulingError(f"queue invariant broken: {bad or set(places) - set(self._infos)}")
        # move_on_event relies on it: the event buckets hold unschedulable pods only
        stray = {k for bucket in self._by_event.values() for k in bucket} - set(self._unschedulable)
        if stray:
            raise SchedulingError(f"queue invariant broken: {sorted(stray)} wait for events but are not unschedulable")
