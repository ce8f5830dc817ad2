"""What the simulation measures, seen as a client sees it: one pod informer (list + watch) noting when each
pod appears (created) and when it first reports Running and Ready, where it runs, and whether it is being
deleted; a sampler of pods Running over time; the store's revision for API writes per second; peak RSS."""
from __future__ import annotations

import resource
import sys
import threading
import time
from typing import Any, Callable, Iterable

import controllers

__all__ = ["PodObserver", "quantile", "quantiles", "peak_rss_mib"]


def _running(pod: Any) -> bool:
    if pod.status is None or pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


class PodObserver:
    """Pods of one namespace through an informer. Times are ``clock()`` (monotonic seconds).

    ``created[uid]``: when the pod was first seen; ``running_at[uid]``: when it was first seen Running and
    Ready (the pod startup latency is the difference: created -> Running, as Kubernetes' pod startup SLI,
    measured at the watch as clusterloader2 does); ``running``: uid -> node of the pods Running and Ready now
    and not being deleted; ``timeline``: (seconds since start, pods Running, pods existing) samples.
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
        self._sample_every = sample_every
        self._stop = threading.Event()
        self.informer = controllers.Informer(registry, "Pod", namespace=namespace)
        self.informer.add_handler(on_add=self._seen, on_update=lambda old, new: self._seen(new),
                                  on_delete=self._gone)
        self._sampler = threading.Thread(target=self._sample, name="borgsim-sampler", daemon=True)

    def start(self, timeout: float = 60.0) -> None:
        self.informer.start()
        if not self.informer.wait_synced(timeout):
            raise TimeoutError(f"the pod informer did not list within {timeout} s")
        self._sampler.start()

    def stop(self) -> None:
        self._stop.set()
        self.informer.stop()
        if self._sampler.is_alive():
            self._sampler.join(timeout=5)

    def _seen(self, pod: Any) -> None:
        uid = pod.metadata.uid
        now = self.clock()
        with self._changed:
            self.existing.add(uid)
            self.created.setdefault(uid, now)
            if pod.spec.node_name:
                self.node_of[uid] = pod.spec.node_name
            if _running(pod):
                self.running_at.setdefault(uid, now)
                self._set_running(uid, pod.spec.node_name)
            else:
                self._set_running(uid, None)
            self._changed.notify_all()

    def _gone(self, pod: Any) -> None:
        uid = pod.metadata.uid
        with self._changed:
            self.existing.discard(uid)
            self._set_running(uid, None)
            self._changed.notify_all()

    def _set_running(self, uid: str, node: str | None) -> None:
        """Note ``uid`` Running on ``node`` (None: not Running); the caller holds the lock."""
        before = self.running.pop(uid, None) if node is None else self.running.get(uid)
        if before == node:
            return
        if before is not None:
            self._running_on[before] -= 1
        if node is not None:
            self.running[uid] = node
            self._running_on[node] = self._running_on.get(node, 0) + 1

    def _sample(self) -> None:
        while not self._stop.wait(self._sample_every):
            with self._lock:
                self.timeline.append((self.clock() - self.started, len(self.running), len(self.existing)))

    def wait(self, done: Callable[["PodObserver"], bool], timeout: float,
             progress: Callable[["PodObserver"], None] | None = None) -> bool:
        """Block until ``done(self)`` (checked on every pod change, at least every 0.2 s) or ``timeout``."""
        deadline = self.clock() + timeout
        with self._changed:
            while True:
                if progress is not None:
                    progress(self)
                if done(self):
                    return True
                left = deadline - self.clock()
                if left <= 0:
                    return False
                self._changed.wait(min(0.2, left))

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
