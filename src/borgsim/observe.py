"""What the simulation measures, seen as a client sees it: a list + watch of the pods noting when each pod
appears (created) and when it first reports Running and Ready, where it runs, and whether it is being
deleted; a sampler of pods Running over time; the store's revision for API writes per second; peak RSS."""
from __future__ import annotations

import logging
import resource
import sys
import threading
import time
from typing import Any, Callable, Iterable

import objects

__all__ = ["PodObserver", "quantile", "quantiles", "peak_rss_mib"]

log = logging.getLogger(__name__)

WATCH_POLL = 0.2            # seconds between looks at the stop flag while the watch is quiet
RETRY_DELAY = (0.05, 2.0)   # a failing list / watch is retried after 50 ms doubling to 2 s


def _running(pod: Any) -> bool:
    if pod.status is None or pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


class PodObserver:
    """Pods of one namespace through a list + watch of its own. Times are ``clock()`` (monotonic seconds).

    ``created[uid]``: when the pod was first seen; ``running_at[uid]``: when it was first seen Running and
    Ready (the pod startup latency is the difference: created -> Running, as Kubernetes' pod startup SLI,
    measured at the watch as clusterloader2 does); ``running``: uid -> node of the pods Running and Ready now
    and not being deleted; ``timeline``: (seconds since start, pods Running, pods existing) samples.

    The watch keeps no copy of the pods (what it records is all it needs): it lists, then watches from the
    list's resourceVersion, and lists again when that version was compacted (the pods missing from the new
    list are gone), as an informer does.
    """

    def __init__(self, registry: Any, namespace: str, clock: Callable[[], float] = time.monotonic,
                 sample_every: float = 0.25) -> None:
        self.clock = clock
        self.started = clock()
        self.created: dict[str, float] = {}
        self.running_at: dict[str, float] = {}
        self.running: dict[str, str] = {}
        # pods Running per node, so running_count(excluding) costs the excluded nodes, not every pod (it is
        # asked on every pod change; a scan of 10,000 pods each time was a sixth of the failure phase's CPU)
        self._running_on: dict[str, int] = {}
        self.existing: set[str] = set()
        self.node_of: dict[str, str] = {}
        self.timeline: list[tuple[float, int, int]] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # the predicates of the callers blocked in wait(): the watch wakes them only when one holds (a wake-up
        # of the waiting thread per batch of events cost more than the observer's own work)
        self._waiting: list[Callable[["PodObserver"], bool]] = []
        self._sample_every = sample_every
        self._stop = threading.Event()
        self._registry = registry
        self._namespace = namespace
        self._version: str | None = None   # the resourceVersion the records are current to (None: list)
        self._stream: Any = None
        self._synced = threading.Event()
        self._watcher = threading.Thread(target=self._run, name="borgsim-observer", daemon=True)
        self._sampler = threading.Thread(target=self._sample, name="borgsim-sampler", daemon=True)

    def start(self, timeout: float = 60.0) -> None:
        self._watcher.start()
        if not self._synced.wait(timeout):
            raise TimeoutError(f"the pod observer did not list within {timeout} s")
        self._sampler.start()

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.stop()
        for thread in (self._watcher, self._sampler):
            if thread.is_alive():
                thread.join(timeout=5)

    # ------------------------------------------------------------------ list + watch
    def _run(self) -> None:
        delay = RETRY_DELAY[0]
        while not self._stop.is_set():
            try:
                if self._version is None:
                    self._list()
                self._watch()
                delay = RETRY_DELAY[0]
            except objects.Expired:
                self._version = None
            except Exception:  # noqa: BLE001 - the store may be closing: retry until stopped
                if self._stop.is_set():
                    break
                log.exception("pod observer: list/watch failed; retrying in %.2fs", delay)
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_DELAY[1])

    def _list(self) -> None:
        listed = self._registry.list("Pod", namespace=self._namespace)
        with self._changed:
            uids = set()
            for pod in listed.items:
                uids.add(pod.metadata.uid)
                self._note(pod, self.clock)
            for uid in self.existing - uids:  # deleted while the watch was gone
                self.existing.discard(uid)
                self._set_running(uid, None)
            self._wake()
        self._version = listed.resource_version
        self._synced.set()

    def _watch(self) -> None:
        stream = self._registry.watch("Pod", namespace=self._namespace, resource_version=self._version)
        self._stream = stream
        try:
            stopping, take, clock, changed = self._stop.is_set, stream.take, self.clock, self._changed
            note, existing, set_running = self._note, self.existing, self._set_running
            while not stopping():
                events = take(WATCH_POLL)
                if not events:
                    if stream.stopped:
                        return
                    continue
                # one lock and at most one wake-up of the waiters per batch; each time is read as its event
                # is recorded, as a handler would (a pod created and Running within one batch still took time)
                touched = False
                with changed:
                    for event in events:
                        kind = event.type
                        if kind == "DELETED":
                            uid = event.object.metadata.uid
                            existing.discard(uid)
                            set_running(uid, None)
                            touched = True
                        elif kind != "BOOKMARK":
                            touched = note(event.object, clock) or touched
                    if touched and self._waiting:
                        self._wake()
                self._version = events[-1].resource_version
        finally:
            self._stream = None
            stream.stop()

    def _note(self, pod: Any, clock: Callable[[], float]) -> bool:
        """Record what ``pod`` (a version seen now: ``clock()``) tells; whether any record changed. The
        caller holds the lock."""
        uid = pod.metadata.uid
        changed = False
        if uid not in self.existing:
            self.existing.add(uid)
            if uid not in self.created:
                self.created[uid] = clock()
            changed = True
        node = pod.spec.node_name
        if node and self.node_of.get(uid) != node:
            self.node_of[uid] = node
            changed = True
        if _running(pod):
            if uid not in self.running_at:
                self.running_at[uid] = clock()
            return self._set_running(uid, node) or changed
        return self._set_running(uid, None) or changed

    def _wake(self) -> None:
        """Wake the callers of wait() if one of their predicates holds now; the caller holds the lock."""
        for done in self._waiting:
            try:
                held = done(self)
            except Exception:  # noqa: BLE001 - the waiter's own thread calls it again and gets the error
                held = True
            if held:
                self._changed.notify_all()
                return

    def _set_running(self, uid: str, node: str | None) -> bool:
        """Note ``uid`` Running on ``node`` (None: not Running); whether that changed anything. The caller
        holds the lock."""
        before = self.running.pop(uid, None) if node is None else self.running.get(uid)
        if before == node:
            return False
        if before is not None:
            self._running_on[before] -= 1
        if node is not None:
            self.running[uid] = node
            self._running_on[node] = self._running_on.get(node, 0) + 1
        return True

    def _sample(self) -> None:
        while not self._stop.wait(self._sample_every):
            with self._lock:
                self.timeline.append((self.clock() - self.started, len(self.running), len(self.existing)))

    def wait(self, done: Callable[["PodObserver"], bool], timeout: float,
             progress: Callable[["PodObserver"], None] | None = None) -> bool:
        """Block until ``done(self)`` or ``timeout``. ``done`` is checked whenever a record changes (on the
        observer's thread too, holding its lock: keep it cheap) and here at least every 0.2 s, when
        ``progress(self)`` is called too."""
        deadline = self.clock() + timeout
        with self._changed:
            self._waiting.append(done)
            try:
                while True:
                    if progress is not None:
                        progress(self)
                    if done(self):
                        return True
                    left = deadline - self.clock()
                    if left <= 0:
                        return False
                    self._changed.wait(min(0.2, left))
            finally:
                self._waiting.remove(done)

    def running_count(self, excluding_nodes: Iterable[str] = ()) -> int:
        """Pods Running and Ready now (not being deleted), leaving out those on ``excluding_nodes``."""
        # no lock: wait() calls this holding it; reading two ints per node is safe without it
        return len(self.running) - sum(self._running_on.get(node, 0) for node in set(excluding_nodes))

    def latencies(self, uids: Iterable[str]) -> list[float]:
        """Startup latencies (seconds) of those of ``uids`` that reached Running."""
        return [self.running_at[u] - self.created[u] for u in uids if u in self.running_at]

    def uids_created_between(self, start: float, end: float) -> list[str]:
        with self._lock:
            return [u for u, t in self.created.items() if start <= t <= end]


def quantile(ordered: list[float], q: float) -> float | None:
    """The ``q`` quantile of sorted values (nearest rank), None for none."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def quantiles(values: Iterable[float], points: int = 101) -> list[float]:
    """``points`` evenly spaced quantiles from 0 to 1 (the CDF the plots draw)."""
    ordered = sorted(values)
    if not ordered:
        return []
    last = len(ordered) - 1
    return [ordered[round(last * i / (points - 1))] for i in range(points)]


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (MiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
