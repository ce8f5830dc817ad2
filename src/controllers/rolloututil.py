"""Arithmetic and bookkeeping the workload controllers share (k8s.io/kubernetes/pkg/controller/deployment/util,
intstr, and the conditions helpers): maxSurge / maxUnavailable fenceposts, revision annotations, status
conditions.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from objects import Condition

from .podstate import format_time

__all__ = ["scaled_value", "resolve_fenceposts", "REVISION", "REVISION_HISTORY", "DESIRED_REPLICAS",
           "MAX_REPLICAS", "revision_of", "set_condition", "remove_condition", "get_condition", "new_condition",
           "by_creation", "round_half_away"]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"


def scaled_value(value: int | str | None, total: int, round_up: bool, default: int | str = 0) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of ``total`` rounded up or down."""
    if value is None:
        value = default
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: {value!r}: must be an integer or a percentage")
    percent = int(text[:-1])
    exact = percent * total
    return -(-exact // 100) if round_up else exact // 100


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, desired: int) -> tuple[int, int]:
    """ResolveFenceposts: (surge rounded up, unavailable rounded down); both zero means unavailable 1, so
    a rollout can always make progress."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def round_half_away(x: float) -> int:
    """math.Round of Go (integer.RoundToInt32): halves away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def revision_of(obj: Any) -> int:
    """The revision annotation as a number (0 when absent or not a number)."""
    try:
        return int(obj.metadata.annotations.get(REVISION, "0"))
    except (TypeError, ValueError):
        return 0


def by_creation(objs: Iterable[Any]) -> list[Any]:
    """Oldest first, ties by name (controller.ReplicaSetsByCreationTimestamp)."""
    return sorted(objs, key=lambda o: (o.metadata.creation_timestamp or "", o.metadata.name or ""))


# ---------------------------------------------------------------------------------------------------------
# conditions


def new_condition(type_: str, status: str, reason: str, message: str, now: float) -> Condition:
    """A status condition stamped ``now`` (update and transition time)."""
    stamp = format_time(now)
    return Condition(type=type_, status=status, reason=reason, message=message, last_update_time=stamp,
                     last_transition_time=stamp)


def get_condition(conditions: Iterable[Any], type_: str) -> Any:
    """The condition of ``type_`` (None when absent)."""
    for c in conditions:
        if c is not None and c.type == type_:
            return c
    return None


def set_condition(conditions: list[Any], new: Condition) -> list[Any]:
    """SetDeploymentCondition: unchanged when a condition of that type has the same status and reason;
    the transition time kept when only the reason or message changes."""
    current = get_condition(conditions, new.type)
    if current is not None and current.status == new.status and current.reason == new.reason:
        return conditions
    if current is not None and current.status == new.status:
        new = new.replace(last_transition_time=current.last_transition_time)
    return [c for c in conditions if c is not None and c.type != new.type] + [new]


def remove_condition(conditions: list[Any], type_: str) -> list[Any]:
    """``conditions`` without those of ``type_``."""
    return [c for c in conditions if c is not None and c.type != type_]
