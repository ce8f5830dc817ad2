"""Run one benchmark workload against the scheduler, in one of two modes, and measure it.

* ``core``: the :class:`scheduling.Scheduler` is fed directly (``add_node`` / ``add_pod`` /
  ``schedule_pending``), the way kube-scheduler's scheduler_perf drives the scheduler without its informers'
  latency.
* ``e2e``: nodes and pods are created in an :class:`objects.Registry` on the embedded kvstore and the
  scheduler, started with ``Scheduler.run(registry)``, watches them and binds through the registry, the way
  kube-scheduler is measured against an API server.

Throughput = measured pods / seconds from the creation of the first measured pod until the last of them is
bound or found unschedulable. Building the manifests into objects happens before the clock starts in core
mode (a client would hand the scheduler ready objects); in e2e mode the registry writes are inside the clock.
"""
from __future__ import annotations

import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from .workload import NodeStep, PodStep, Workload

__all__ = ["RunResult", "run_workload", "exact_config", "MODES"]

MODES = ("core", "e2e")
Progress = Callable[[int, int], None]
# A decision that does not come within this many seconds of the previous one ends the run: the pods left
# are counted unschedulable (a pod that waits in backoff is retried well within it).
IDLE_LIMIT_S = 20.0


@dataclass
class RunResult:
    """One row of the benchmark table (also one object of ``--json``)."""

    workload: str
    mode: str
    nodes: int
    measured_pods: int
    scheduled: int = 0
    unschedulable: int = 0
    seconds: float = 0.0
    pods_per_s: float = 0.0
    threshold: float | None = None
    ratio: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_mib: float | None = None
    exact: bool = False
    checked: int = 0
    mismatches: int = 0
    available: bool = True
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict."""
        return asdict(self)

    def finish(self, seconds: float, per_pod_s: list[float]) -> None:
        """Fill the derived columns from the measured time and the per-pod cycle times."""
        self.seconds = seconds
        self.pods_per_s = self.measured_pods / seconds if seconds > 0 else 0.0
        if self.threshold:
            self.ratio = self.pods_per_s / self.threshold
        if per_pod_s:
            ordered = sorted(per_pod_s)
            self.p50_ms = statistics.median(ordered) * 1000
            self.p99_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def exact_config() -> dict[str, Any]:
    """A KubeSchedulerConfiguration that scores every feasible node (percentageOfNodesToScore: 100)."""
    return {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
            "percentageOfNodesToScore": 100}


@dataclass
class _Decisions:
    """What became of the measured pods so far."""

    waiting: set[str]
    bound: dict[str, str] = field(default_factory=dict)
    unschedulable: set[str] = field(default_factory=set)
    last_at: float = 0.0

    def record(self, key: str, node_name: str | None, nominated: str | None, now: float) -> bool:
        """Note one result; True if it decided a measured pod for now."""
        if key not in self.waiting and key not in self.unschedulable:
            return False
        if node_name:
            self.waiting.discard(key)
            self.unschedulable.discard(key)
            self.bound[key] = node_name
        elif nominated:
            return False  # preemption made room; the pod is retried
        elif key in self.waiting:
            self.waiting.discard(key)
            self.unschedulable.add(key)
        else:
            return False
        self.last_at = now
        return True


def _objects() -> Any:
    import objects

    return objects


def _new_scheduler(factory: Callable[..., Any] | None, exact: bool, seed: int) -> Any:
    if factory is None:
        from ..scheduler import Scheduler

        factory = Scheduler
    return factory(config=exact_config() if exact else None, seed=seed)


def _split(workload: Workload, build: Callable[[dict[str, Any]], Any]) -> tuple[list[list[Any]], list[Any]]:
    """Set-up batches in order (nodes or pods), and the measured pods, all built into objects."""
    setup: list[list[Any]] = []
    measured: list[Any] = []
    for step, manifests in workload.expand():
        objs = [build(m) for m in manifests]
        if isinstance(step, PodStep) and step.measure:
            measured.extend(objs)
        else:
            setup.append(objs)
    return setup, measured


def _is_node(obj: Any) -> bool:
    return type(obj).__name__ == "Node"


def _attempt_all(scheduler: Any) -> list[tuple[Any, float]]:
    """``schedule_pending`` one cycle at a time, timing each: [(result, seconds of its cycle)].

    Uses the same queue calls as ``Scheduler.schedule_pending`` so the per-pod time is the pod's own cycle
    (a scheduler without ``schedule_one`` is timed per call and the time shared among its results).
    """
    queue = getattr(scheduler, "queue", None)
    one = getattr(scheduler, "schedule_one", None)
    if queue is None or one is None:
        started = time.perf_counter()
        results = scheduler.schedule_pending()
        share = (time.perf_counter() - started) / max(1, len(results))
        return [(r, share) for r in results]
    queue.flush_unschedulable_leftover()
    queue.flush_backoff_completed(everything=False)
    out = []
    clock = time.perf_counter
    for _ in range(queue.active_count):
        info = queue.pop()
        if info is None:
            break
        started = clock()
        result = one(info)
        out.append((result, clock() - started))
    # kube-scheduler (SchedulerPopFromBackoffQ, default since 1.33) does not sit idle while rejected pods back
    # off: with nothing active it takes the first of them. Once each per call, so a pod that keeps failing
    # cannot hold the loop.
    pop_backoff = getattr(queue, "pop_backoff", None)
    for _ in range(queue.backoff_count if pop_backoff is not None else 0):
        if queue.active_count:
            break
        info = pop_backoff()
        if info is None:
            break
        started = clock()
        result = one(info)
        out.append((result, clock() - started))
    return out


def _drain(scheduler: Any, on_results: Callable[[list[tuple[Any, float]]], None], done: Callable[[], bool]) -> None:
    """Attempt the pending pods until ``done()``, or until nothing has been decided for IDLE_LIMIT_S."""
    idle_since = time.perf_counter()
    while not done():
        results = _attempt_all(scheduler)
        now = time.perf_counter()
        if results:
            on_results(results)
            idle_since = now
        elif now - idle_since > IDLE_LIMIT_S:
            return
        else:
            time.sleep(0.005)  # pods in backoff: wait for them rather than spin


def run_core(workload: Workload, *, exact: bool = False, seed: int = 0, progress: Progress | None = None,
             scheduler_factory: Callable[..., Any] | None = None) -> RunResult:
    """Run ``workload`` with the scheduler fed directly."""
    build = _objects().from_dict
    setup, measured = _split(workload, build)
    scheduler = _new_scheduler(scheduler_factory, exact, seed)
    result = RunResult(workload.name, "core", workload.node_count, len(measured), threshold=workload.threshold,
                       exact=exact)
    for batch in setup:
        if batch and _is_node(batch[0]):
            for node in batch:
                scheduler.add_node(node)
            continue
        keys = {p.key for p in batch}
        for pod in batch:
            scheduler.add_pod(pod)
        setup_decisions = _Decisions(set(keys))
        _drain(scheduler, lambda rs: [setup_decisions.record(r.pod.key, r.node_name,
                                                             r.nominated_node_name, 0.0) for r, _ in rs],
               lambda: not setup_decisions.waiting)

    decisions = _Decisions({p.key for p in measured})
    per_pod: list[float] = []
    total = len(measured)

    def on_results(results: list[tuple[Any, float]]) -> None:
        now = time.perf_counter()
        for r, seconds in results:
            if r.pod.key in decisions.waiting or r.pod.key in decisions.unschedulable:
                per_pod.append(seconds)  # every attempt of a measured pod, preemption rounds included
            decisions.record(r.pod.key, r.node_name, r.nominated_node_name, now)
        if progress:
            progress(total - len(decisions.waiting), total)

    started = time.perf_counter()
    decisions.last_at = started
    for pod in measured:
        scheduler.add_pod(pod)
    _drain(scheduler, on_results, lambda: not decisions.waiting)
    result.scheduled = len(decisions.bound)
    result.unschedulable = len(decisions.unschedulable) + len(decisions.waiting)
    result.finish(decisions.last_at - started, per_pod)
    return result


class _PodWatch:
    """Follows the pods in the registry and notes when each is bound (or marked unschedulable)."""

    def __init__(self, registry: Any) -> None:
        self.decided: dict[str, float] = {}
        self.bound: set[str] = set()
        self._expected: set[str] = set()
        self._done = 0
        self._cond = threading.Condition()
        self._stream = registry.watch("Pod", resource_version="0", all_namespaces=True)
        self._thread = threading.Thread(target=self._follow, name="bench-pod-watch", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        for event in self._stream:
            pod = event.object
            if event.type != "BOOKMARK" and pod is not None and pod.spec.node_name:
                self._note(pod.key)

    def _note(self, key: str) -> None:
        with self._cond:
            if key in self.bound:
                return
            self.bound.add(key)
            if key not in self.decided and key in self._expected:
                self._done += 1
            self.decided[key] = time.perf_counter()
            self._cond.notify_all()

    def wait(self, keys: set[str], progress: Progress | None = None,
             settled: Callable[[set[str]], bool] | None = None) -> None:
        """Block until every key is bound, or ``settled(unbound keys)`` says the scheduler is done with the
        rest (they are unschedulable: decided now), or nothing changed for IDLE_LIMIT_S."""
        with self._cond:
            self._expected = keys
            self._done = sum(1 for k in keys if k in self.decided)
            shown = -1
            idle_since = time.perf_counter()
            while True:
                if progress and self._done != shown:
                    progress(self._done, len(keys))
                if self._done != shown:
                    shown = self._done
                    idle_since = time.perf_counter()
                if self._done >= len(keys):
                    return
                if self._cond.wait(timeout=0.05):
                    continue
                if settled is not None and settled({k for k in keys if k not in self.bound}):
                    now = time.perf_counter()
                    for k in keys:
                        self.decided.setdefault(k, now)
                    return
                if time.perf_counter() - idle_since > IDLE_LIMIT_S:
                    return


def _settled(scheduler: Any) -> Callable[[set[str]], bool]:
    """Whether the scheduler has received every one of ``unbound`` and has nothing left to attempt."""
    queue = scheduler.queue

    def check(unbound: set[str]) -> bool:
        if queue.active_count or queue.backoff_count:
            return False
        return all(queue.get(k) is not None for k in unbound)

    return check


def run_e2e(workload: Workload, *, exact: bool = False, seed: int = 0, progress: Progress | None = None,
            scheduler_factory: Callable[..., Any] | None = None, store: str | None = None) -> RunResult:
    """Run ``workload`` through the objects Registry on an in-memory embedded kvstore, or with
    ``store="etcd://host:port[,host:port...]"`` on a real etcd through ``kvstore.connect()`` (the objects go
    under a prefix of their own, ``/borgkit-bench/<random>/``, deleted at the end)."""
    import kvstore

    objects = _objects()
    result = RunResult(workload.name, "e2e" if store is None else "e2e etcd", workload.node_count,
                       workload.measured_pod_count, threshold=workload.threshold, exact=exact)
    if store is None:
        kv = kvstore.open()
        registry = objects.Registry(kv)
        prefix = None
    else:
        import uuid

        kv = kvstore.connect(store, timeout=60.0)
        prefix = f"/borgkit-bench/{uuid.uuid4().hex}/"
        registry = objects.Registry(kv, prefix=prefix + "registry")
    try:
        _run_e2e_on(workload, registry, objects, result, exact, seed, progress, scheduler_factory)
    finally:
        if prefix is not None:
            kv.delete(prefix, prefix=True)
        kv.close()
    return result


def _run_e2e_on(workload: Workload, registry: Any, objects: Any, result: RunResult, exact: bool, seed: int,
                progress: Progress | None, scheduler_factory: Callable[..., Any] | None) -> None:
    classes: set[int] = set()

    def build(manifest: dict[str, Any]) -> Any:
        # The API server's Priority admission rejects a bare spec.priority (scheduler_perf's pods carry one):
        # give each such value a PriorityClass and name it instead, which admission turns back into it.
        spec = manifest.get("spec") or {}
        if manifest.get("kind") == "Pod" and "priority" in spec and not spec.get("priorityClassName"):
            value = spec.pop("priority")
            if value not in classes:
                classes.add(value)
                registry.create(objects.from_dict({
                    "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                    "metadata": {"name": f"bench-priority-{value}"}, "value": value}))
            spec["priorityClassName"] = f"bench-priority-{value}"
        return objects.from_dict(manifest)

    setup, measured = _split(workload, build)
    watch = _PodWatch(registry)
    scheduler = _new_scheduler(scheduler_factory, exact, seed)
    stop = threading.Event()
    runner = threading.Thread(target=scheduler.run, args=(registry,), kwargs={"stop": stop},
                              name="bench-scheduler", daemon=True)
    runner.start()
    # The built objects are dropped as the registry takes them: the registry's own objects are the ones the
    # scheduler gets, and kept copies (15,000 at full size) would be walked by every full collection of
    # the garbage collector in the clock (in core mode the built objects are the scheduler's own).
    while setup:
        batch = setup.pop(0)
        keys = {p.key for p in batch} if batch and not _is_node(batch[0]) else None
        _create_all(registry, batch)
        if keys is not None:
            watch.wait(keys, settled=_settled(scheduler))
    keys = {p.key for p in measured}
    started = time.perf_counter()
    _create_all(registry, measured)
    watch.wait(keys, progress, settled=_settled(scheduler))
    result.scheduled = sum(1 for k in keys if k in watch.bound)
    result.unschedulable = len(keys) - result.scheduled
    last = max((watch.decided[k] for k in keys if k in watch.decided), default=started)
    result.finish(last - started, [])
    stop.set()
    runner.join(timeout=30)


def _create_all(registry: Any, objs: list[Any]) -> None:
    """Create the objects of ``objs`` in order, emptying the list as it goes."""
    objs.reverse()
    while objs:
        registry.create(objs.pop())


def run_workload(workload: Workload, mode: str = "core", **options: Any) -> RunResult:
    """Run one workload in ``mode`` ("core" or "e2e"); ``options`` as :func:`run_core`."""
    if mode == "core":
        return run_core(workload, **options)
    if mode == "e2e":
        return run_e2e(workload, **options)
    raise ValueError(f"mode: unsupported value {mode!r}: supported values: {', '.join(MODES)}")


def unavailable(workload: Workload, mode: str, why: str) -> RunResult:
    """A row saying this mode could not run, and why."""
    return RunResult(workload.name, mode, workload.node_count, workload.measured_pod_count,
                     threshold=workload.threshold, available=False, note=why)


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports ru_maxrss in KiB)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def keys_of(pods: Iterable[Any]) -> set[str]:
    """The namespace/name keys of ``pods``."""
    return {p.key for p in pods}
