"""Scheduler metrics a user can read: attempts and their outcomes, preemptions, time per extension point.

Names follow kube-scheduler's metrics (``scheduler_schedule_attempts_total{result=...}``,
``scheduler_preemption_attempts_total``, ``scheduler_preemption_victims``,
``scheduler_framework_extension_point_duration_seconds``) as plain attributes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Metrics"]


@dataclass
class Metrics:
    """Counters since the scheduler was built; ``extension_point_seconds`` sums wall time per point."""

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

    def add_time(self, point: str, seconds: float) -> None:
        self.extension_point_seconds[point] = self.extension_point_seconds.get(point, 0.0) + seconds

    def as_dict(self) -> dict[str, object]:
        """A plain dict (for JSON)."""
        return {
            "attempts": self.attempts, "scheduled": self.scheduled, "unschedulable": self.unschedulable,
            "errors": self.errors, "preemption_attempts": self.preemption_attempts,
            "preemptions": self.preemptions, "preemption_victims": self.preemption_victims,
            "equivalence_cache_hits": self.equivalence_cache_hits,
            "equivalence_cache_misses": self.equivalence_cache_misses,
            "indexed_cycles": self.indexed_cycles,
            "extension_point_seconds": dict(self.extension_point_seconds),
        }
