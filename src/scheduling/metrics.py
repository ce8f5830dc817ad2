"""Scheduler metrics a user can read: attempts and their outcomes, preemptions, time per extension point,
the pods pending in the queue and the pods waiting on Permit.

Names follow kube-scheduler's metrics, as plain attributes:

* counters: ``attempts``, ``scheduled``, ``unschedulable``, ``errors``
  (``scheduler_schedule_attempts_total{result=...}``), ``preemption_attempts``
  (``scheduler_preemption_attempts_total``), ``preemption_victims`` (``scheduler_preemption_victims``);
* ``extension_point_seconds`` (``scheduler_framework_extension_point_duration_seconds``, summed per point);
* ``permit_wait_count`` / ``permit_wait_seconds``: the count and the sum of
  ``scheduler_permit_wait_duration_seconds{result=...}`` — how long pods waited on Permit, per outcome
  (``Success`` or ``Unschedulable``), on the scheduler's clock;
* gauges, read when asked: ``pending_pods`` (``scheduler_pending_pods{queue=active|backoff|unschedulable|
  gated}``) and ``waiting_pods`` (ours: pods assumed and waiting on Permit, which kube-scheduler counts in
  no queue).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = ["Metrics", "PENDING_QUEUES"]

PENDING_QUEUES = ("active", "backoff", "unschedulable", "gated")


@dataclass
class Metrics:
    """Counters since the scheduler was built; ``extension_point_seconds`` sums wall time per point.

    ``gauges`` (given by the scheduler) returns the current ``pending_pods`` per queue and ``waiting_pods``;
    without it both read as zero.
    """

    attempts: int = 0
    scheduled: int = 0
    unschedulable: int = 0
    errors: int = 0
    preemption_attempts: int = 0
    preemptions: int = 0
    preemption_victims: int = 0
    equivalence_cache_hits: int = 0
    equivalence_cache_misses: int = 0
    indexed_cycles: int = 0  # cycles served by the equivalence-class indexes (every active filter node-local)
    extension_point_seconds: dict[str, float] = field(default_factory=dict)
    permit_wait_count: dict[str, int] = field(default_factory=dict)
    permit_wait_seconds: dict[str, float] = field(default_factory=dict)
    gauges: Optional[Callable[[], dict[str, int]]] = field(default=None, repr=False, compare=False)

    def add_time(self, point: str, seconds: float) -> None:
        """Add ``seconds`` of wall time to extension point ``point``."""
        self.extension_point_seconds[point] = self.extension_point_seconds.get(point, 0.0) + seconds

    def observe_permit_wait(self, result: str, seconds: float) -> None:
        """A waiting pod was decided (``result``: the verdict's code, "Success" or "Unschedulable")."""
        self.permit_wait_count[result] = self.permit_wait_count.get(result, 0) + 1
        self.permit_wait_seconds[result] = self.permit_wait_seconds.get(result, 0.0) + max(seconds, 0.0)

    def _gauge_values(self) -> dict[str, int]:
        return self.gauges() if self.gauges is not None else {}

    @property
    def pending_pods(self) -> dict[str, int]:
        """Pods in each part of the queue now: ``active``, ``backoff``, ``unschedulable``, ``gated``."""
        values = self._gauge_values()
        return {queue: values.get(queue, 0) for queue in PENDING_QUEUES}

    @property
    def waiting_pods(self) -> int:
        """Pods assumed on a node and waiting on Permit now."""
        return self._gauge_values().get("waiting", 0)

    def as_dict(self) -> dict[str, object]:
        """A plain dict (for JSON), gauges included."""
        return {
            "attempts": self.attempts, "scheduled": self.scheduled, "unschedulable": self.unschedulable,
            "errors": self.errors, "preemption_attempts": self.preemption_attempts,
            "preemptions": self.preemptions, "preemption_victims": self.preemption_victims,
            "equivalence_cache_hits": self.equivalence_cache_hits,
            "equivalence_cache_misses": self.equivalence_cache_misses,
            "indexed_cycles": self.indexed_cycles,
            "extension_point_seconds": dict(self.extension_point_seconds),
            "permit_wait_count": dict(self.permit_wait_count),
            "permit_wait_seconds": dict(self.permit_wait_seconds),
            "pending_pods": self.pending_pods,
            "waiting_pods": self.waiting_pods,
        }
