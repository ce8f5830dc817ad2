"""What controllers read off a pod: active, ready, available, timestamps (k8s.io/kubernetes/pkg/api/v1/pod
and controller_utils)."""
from __future__ import annotations

import calendar
import time
from typing import Any

__all__ = ["parse_time", "format_time", "is_active", "is_ready", "ready_since", "is_available",
           "restart_count", "total_restarts", "condition", "TERMINAL_PHASES", "deletion_order", "POD_DELETION_COST"]

TERMINAL_PHASES = ("Succeeded", "Failed")


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp as the API server writes them (None for None)."""
    if not value:
        return None
    head, _, rest = value.partition(".")
    if not rest:
        head = value.rstrip("Zz")
    seconds = calendar.timegm(time.strptime(head[:19], "%Y-%m-%dT%H:%M:%S"))
    return float(seconds)


def format_time(seconds: float) -> str:
    """An RFC 3339 timestamp (seconds, UTC) as metav1.Time is written."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def condition(obj: Any, type_: str) -> Any:
    """The status condition of ``type_`` (None when absent)."""
    for c in obj.status.conditions:
        if c is not None and c.type == type_:
            return c
    return None


def is_active(pod: Any) -> bool:
    """FilterActivePods: not Succeeded, not Failed, not being deleted."""
    return pod.status.phase not in TERMINAL_PHASES and not pod.metadata.deletion_timestamp


def is_ready(pod: Any) -> bool:
    """The pod's Ready condition is True."""
    c = condition(pod, "Ready")
    return c is not None and c.status == "True"


def ready_since(pod: Any) -> float | None:
    """When the pod last became Ready (None when not ready or unknown)."""
    c = condition(pod, "Ready")
    if c is None or c.status != "True":
        return None
    return parse_time(c.last_transition_time)


def is_available(pod: Any, min_ready_seconds: int, now: float) -> bool:
    """IsPodAvailable: ready, and, when ``min_ready_seconds`` is set, Ready since a known time more than
    ``min_ready_seconds`` before ``now`` (strictly, as Kubernetes' ``LastTransitionTime.Add(minReady)
    .Before(now)``: a pod Ready for exactly ``min_ready_seconds`` is not available yet)."""
    if not is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def _restarts(pod: Any, field: str) -> list[int]:
    statuses = (pod.status.unknown_fields or {}).get(field) or []
    counts = []
    for s in statuses:
        value = s.get("restartCount") if isinstance(s, dict) else None
        counts.append(value if type(value) is int and value > 0 else 0)
    return counts


def restart_count(pod: Any) -> int:
    """The largest restartCount of the pod's (regular) containers: what a scale-down ranks by
    (kube's maxContainerRestarts; containerStatuses are kept as JSON)."""
    return max(_restarts(pod, "containerStatuses"), default=0)


def total_restarts(pod: Any) -> int:
    """Every container restart the kubelet reported for the pod, init containers included: the sum a
    Job's backoffLimit counts for restartPolicy OnFailure (kube's pastBackoffLimitOnFailure)."""
    return sum(_restarts(pod, "initContainerStatuses")) + sum(_restarts(pod, "containerStatuses"))


POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[Any], now: float) -> list[Any]:
    """Pods in the order a scale-down deletes them (ActivePodsWithRanks): unassigned before assigned,
    Pending before Unknown before Running, not ready before ready, lower pod-deletion-cost first, more
    pods of the set on the same node first, ready for less time first, more restarts first, newer first."""
    on_node: dict[str, int] = {}
    for p in pods:
        if p.spec.node_name:
            on_node[p.spec.node_name] = on_node.get(p.spec.node_name, 0) + 1

    def key(p: Any) -> tuple:
        since = ready_since(p)
        created = parse_time(p.metadata.creation_timestamp)
        try:
            cost = int(p.metadata.annotations.get(POD_DELETION_COST, "0"))
        except ValueError:
            cost = 0
        return (bool(p.spec.node_name), _PHASE_RANK.get(p.status.phase or "Pending", 0), is_ready(p), cost,
                -on_node.get(p.spec.node_name or "", 0), (since is not None, -(since or 0.0)), -restart_count(p),
                (created is not None, -(created or 0.0)))
    return sorted(pods, key=key)
