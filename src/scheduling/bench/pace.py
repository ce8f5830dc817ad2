"""The pace of a benchmark run seen from inside the scheduler: when each measured pod was decided, and how
long each of its cycles took.

The bench hands the runner a scheduler whose ``schedule_one`` is timed (:func:`paced_scheduler_factory`),
so both modes get the same figures: per-pod cycle times (the runner times core mode's cycles itself; in e2e
mode they come from here and include the binding written through the Registry) and the throughput over the
first and the last tenth of the measured pods. The two
tenths show whether throughput falls as nodes fill or as unschedulable pods accumulate in the queue.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

__all__ = ["Pace", "paced_scheduler_factory", "SERIES_WINDOWS", "CDF_POINTS"]

SERIES_WINDOWS = 40   # throughput-over-the-run windows per run
CDF_POINTS = 101      # quantiles kept of the per-pod cycle times (every percent)


class Pace:
    """Decision times and cycle times of the measured pods (keys ``namespace/name``)."""

    def __init__(self, measured: set[str], clock: Callable[[], float] = time.perf_counter,
                 on_decided: Callable[[int, int], None] | None = None,
                 cpu_clock: Callable[[], float] = time.process_time) -> None:
        self.measured = measured
        self.clock = clock
        self.cpu_clock = cpu_clock  # this process's CPU time: what another process on the core does not take
        self.on_decided = on_decided  # (decided so far, measured): the bench's progress bar
        self.first_cycle_at: float | None = None
        self.first_cycle_cpu: float | None = None
        self.last_decision_cpu: float | None = None
        self.decided_at: dict[str, float] = {}
        self.cycle_seconds: list[float] = []

    def note(self, result: Any, started: float, ended: float, started_cpu: float | None = None) -> None:
        """Record one cycle's ``ScheduleResult`` (``started_cpu``: the CPU clock when it began); a measured
        pod is decided by its first binding or its first failure without a nomination (a nominated pod is
        retried, as the runner counts it)."""
        key = result.pod.key
        if key not in self.measured:
            return
        if self.first_cycle_at is None:
            self.first_cycle_at = started
            self.first_cycle_cpu = started_cpu
        self.cycle_seconds.append(ended - started)
        if key not in self.decided_at and (result.node_name or not result.nominated_node_name):
            self.decided_at[key] = ended
            self.last_decision_cpu = self.cpu_clock()
            if self.on_decided is not None:
                self.on_decided(len(self.decided_at), len(self.measured))

    def tenths(self) -> tuple[float | None, float | None]:
        """Pods/s over the first tenth of decisions (from the first measured cycle) and over the last tenth
        (from the decision before it); None when there are fewer than ten decisions."""
        times = sorted(self.decided_at.values())
        k = len(times) // 10
        if k == 0 or self.first_cycle_at is None:
            return None, None
        first = times[k - 1] - self.first_cycle_at
        last = times[-1] - times[-k - 1]
        return (k / first if first > 0 else None), (k / last if last > 0 else None)

    def tenths_p50_ms(self) -> tuple[float | None, float | None]:
        """The median cycle time of the first and of the last tenth of the measured pods' cycles, in ms: the
        cost per pod early and late, unmoved by a pause (GC, another process) that lands in one tenth."""
        k = len(self.cycle_seconds) // 10
        if k == 0:
            return None, None
        return statistics.median(self.cycle_seconds[:k]) * 1000, statistics.median(self.cycle_seconds[-k:]) * 1000

    def cpu_seconds(self) -> float | None:
        """CPU time this process spent from the first measured cycle to the last decision (every thread:
        in e2e mode the store and the watches too)."""
        if self.first_cycle_cpu is None or self.last_decision_cpu is None:
            return None
        return self.last_decision_cpu - self.first_cycle_cpu

    def series(self, windows: int = SERIES_WINDOWS, points: int = CDF_POINTS) -> dict[str, Any]:
        """What the plots draw, compact enough for ``--json``: ``throughput_windows`` (pods decided per
        second in ``windows`` equal windows from the first measured cycle to the last decision, with their
        width ``window_s``) and ``cycle_ms_quantiles`` (the measured pods' cycle times in ms at ``points``
        evenly spaced quantiles from 0 to 1: the CDF)."""
        out: dict[str, Any] = {"window_s": None, "throughput_windows": [], "cycle_ms_quantiles": []}
        times = sorted(self.decided_at.values())
        if times and self.first_cycle_at is not None:
            span = max(times[-1] - self.first_cycle_at, 1e-9)
            width = span / windows
            counts = [0] * windows
            for t in times:
                counts[min(windows - 1, int((t - self.first_cycle_at) / width))] += 1
            out["window_s"] = width
            out["throughput_windows"] = [c / width for c in counts]
        if self.cycle_seconds:
            ordered = sorted(self.cycle_seconds)
            last = len(ordered) - 1
            out["cycle_ms_quantiles"] = [ordered[round(last * i / (points - 1))] * 1000 for i in range(points)]
        return out

    def columns(self) -> dict[str, float | None]:
        """The result keys this adds: ``first_tenth_pods_per_s``, ``last_tenth_pods_per_s``, their ratio
        ``last_to_first``, ``first_tenth_p50_ms`` / ``last_tenth_p50_ms``, and ``cpu_seconds`` with
        ``pods_per_cpu_s`` (decisions per CPU-second: the throughput of one core of our own, which a
        shared machine's load changes far less than wall-clock pods/s)."""
        first, last = self.tenths()
        ratio = last / first if first and last else None
        first_p50, last_p50 = self.tenths_p50_ms()
        cpu = self.cpu_seconds()
        return {"first_tenth_pods_per_s": first, "last_tenth_pods_per_s": last, "last_to_first": ratio,
                "first_tenth_p50_ms": first_p50, "last_tenth_p50_ms": last_p50, "cpu_seconds": cpu,
                "pods_per_cpu_s": len(self.decided_at) / cpu if cpu else None}


def paced_scheduler_factory(pace: Pace) -> Callable[..., Any]:
    """A ``Scheduler`` factory (as the runner calls it: ``config=``, ``seed=``) whose cycles report to
    ``pace``."""
    from ..scheduler import Scheduler

    class PacedScheduler(Scheduler):
        def schedule_one(self, info: Any) -> Any:
            clock = pace.clock
            started, started_cpu = clock(), pace.cpu_clock()
            result = super().schedule_one(info)
            pace.note(result, started, clock(), started_cpu)
            return result

    return PacedScheduler
