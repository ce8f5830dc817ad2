"""NodeResourcesFit (PreFilter + Filter + PreScore + Score): the pod's requests must fit the node's free
allocatable resources; nodes are scored by how allocated they would be.

Filter (``fitsRequest``): "Too many pods" when the node is at its ``pods`` allocatable; then for cpu, memory,
ephemeral-storage and every extended resource the pod requests (> 0), "Insufficient <name>" when the request
exceeds allocatable minus requested. All failing reasons are reported (Unschedulable). Requests are
``Pod.requests``: max(sum of containers, max of init containers) + overhead.

Score (``scoringStrategy.type``, resources default ``cpu`` and ``memory`` weight 1); requested = the node's
non-zero requests + the pod's (100m CPU / 200Mi memory for containers that ask nothing):
  * ``LeastAllocated`` (default): per resource ``(allocatable - requested) * 100 // allocatable``, 0 when over;
    the weighted mean (integer division).
  * ``MostAllocated``: ``min(requested, allocatable) * 100 // allocatable``, weighted mean.
  * ``RequestedToCapacityRatio``: the utilization ``requested * 100 // allocatable`` mapped through the broken
    linear ``shape`` (scores 0..10 scaled to 0..100); weighted mean of the positive scores, rounded.
An extended resource the pod does not request is left out, as are resources the node does not have.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Hashable, Mapping, Optional, Sequence

from ..framework import (ClusterEvent, ConfigError, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo, Plugin,
                         PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status)

__all__ = ["NodeResourcesFit", "ResourceAllocationScorer", "LEAST_ALLOCATED", "MOST_ALLOCATED",
           "REQUESTED_TO_CAPACITY_RATIO"]

LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
REQUESTED_TO_CAPACITY_RATIO = "RequestedToCapacityRatio"
DEFAULT_RESOURCES = (("cpu", 1), ("memory", 1))
_NATIVE = frozenset({"cpu", "memory", "ephemeral-storage", "pods", "storage"})
MAX_CUSTOM_PRIORITY_SCORE = 10


def is_scalar_resource(name: str) -> bool:
    """Extended, hugepages and attachable-volume resources (``IsScalarResourceName``)."""
    return name not in _NATIVE


def parse_resources(raw: Any, path: str) -> tuple[tuple[str, int], ...]:
    """``[{name, weight}]`` -> ((name, weight), ...); weight defaults to 1 and must be 1..100."""
    if raw is None:
        return DEFAULT_RESOURCES
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: must be a non-empty list of {{name, weight}}, got {raw!r}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(f"{path}[{i}].name: must be a non-empty string, got {item!r}")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
            raise ConfigError(f"{path}[{i}].weight: must be an integer in 1..100, got {weight!r}")
        out.append((item["name"], weight))
    return tuple(out)


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * 100 // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    if requested > capacity:
        requested = capacity
    return requested * 100 // capacity


def _weighted_mean(fn: Callable[[int, int], int]) -> Callable[[list, list, Sequence[int]], int]:
    def scorer(requested: list, allocatable: list, weights: Sequence[int]) -> int:
        total = weight_sum = 0
        for req, alloc, weight in zip(requested, allocatable, weights):
            if alloc == 0:
                continue
            total += fn(req, alloc) * weight
            weight_sum += weight
        return total // weight_sum if weight_sum else 0
    return scorer


def broken_linear(shape: Sequence[tuple[int, int]]) -> Callable[[int], int]:
    """``buildBrokenLinearFunction`` over (utilization, score) points sorted by utilization."""
    def fn(p: int) -> int:
        for i, (util, score) in enumerate(shape):
            if p <= util:
                if i == 0:
                    return shape[0][1]
                pu, ps = shape[i - 1]
                return ps + _go_div((score - ps) * (p - pu), util - pu)
        return shape[-1][1]
    return fn


def _go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's ``/`` on int64."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def requested_to_capacity_ratio_scorer(shape: Sequence[tuple[int, int]]) -> Callable[[list, list, Sequence[int]], int]:
    raw = broken_linear([(u, s * (100 // MAX_CUSTOM_PRIORITY_SCORE)) for u, s in shape])

    def resource_score(requested: int, capacity: int) -> int:
        if capacity == 0 or requested > capacity:
            return raw(100)
        return raw(requested * 100 // capacity)

    def scorer(requested: list, allocatable: list, weights: Sequence[int]) -> int:
        total = weight_sum = 0
        for req, alloc, weight in zip(requested, allocatable, weights):
            if alloc == 0:
                continue
            score = resource_score(req, alloc)
            if score > 0:
                total += score * weight
                weight_sum += weight
        return int(math.floor(total / weight_sum + 0.5)) if weight_sum else 0
    return scorer


def parse_shape(raw: Any, path: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: must be a non-empty list of {{utilization, score}}, got {raw!r}")
    points = []
    for i, p in enumerate(raw):
        if not isinstance(p, Mapping):
            raise ConfigError(f"{path}[{i}]: must be an object, got {p!r}")
        util, score = p.get("utilization", 0), p.get("score", 0)
        if isinstance(util, bool) or not isinstance(util, int) or not 0 <= util <= 100:
            raise ConfigError(f"{path}[{i}].utilization: must be an integer in 0..100, got {util!r}")
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_CUSTOM_PRIORITY_SCORE:
            raise ConfigError(f"{path}[{i}].score: must be an integer in 0..10, got {score!r}")
        if points and util <= points[-1][0]:
            raise ConfigError(f"{path}[{i}].utilization: values must be sorted in increasing order, got {util}")
        points.append((util, score))
    return tuple(points)


class ResourceAllocationScorer:
    """``resourceAllocationScorer``: gathers (requested, allocatable) per configured resource for a node.

    ``use_requested`` False (NodeResourcesFit) counts non-zero requests for cpu and memory; True
    (BalancedAllocation) counts the pods' actual requests.
    """

    def __init__(self, resources: Sequence[tuple[str, int]], use_requested: bool,
                 scorer: Callable[[list, list, Sequence[int]], int]) -> None:
        self.resources = tuple(resources)
        self.names = tuple(n for n, _ in self.resources)
        self.weights = tuple(w for _, w in self.resources)
        self.use_requested = use_requested
        self.scorer = scorer
        # The default resources (cpu and memory, in that order): pod_requests reads no more than it returns.
        self._cpu_memory = self.names == ("cpu", "memory")
        self._zeros = (0,) * len(self.names)

    def pod_requests(self, pod: Any) -> tuple[int, ...]:
        if self.use_requested:
            return tuple(map(pod.requests.get, self.names, self._zeros))
        if self._cpu_memory:
            cpu, memory = pod.non_zero_requests
            return (cpu, memory)
        requests = pod.requests
        cpu, memory = pod.non_zero_requests
        return tuple(cpu if n == "cpu" else memory if n == "memory" else requests.get(n, 0) for n in self.names)

    def score(self, node_info: NodeInfo, pod_requests: Sequence[int]) -> int:
        requested_list: list[int] = []
        allocatable_list: list[int] = []
        allocatable = node_info.allocatable
        requested = node_info.requested
        use_requested = self.use_requested
        for name, pod_request in zip(self.names, pod_requests):
            alloc = req = 0
            if pod_request == 0 and is_scalar_resource(name):
                pass  # an extended resource the pod does not ask for is not scored
            elif name == "cpu":
                alloc = allocatable.get("cpu", 0)
                req = (requested.get("cpu", 0) if use_requested else node_info.non_zero_requested[0]) + pod_request
            elif name == "memory":
                alloc = allocatable.get("memory", 0)
                req = (requested.get("memory", 0) if use_requested
                       else node_info.non_zero_requested[1]) + pod_request
            elif name in allocatable:
                alloc = allocatable[name]
                req = requested.get(name, 0) + pod_request
            if alloc == 0:
                req = 0
            requested_list.append(req)
            allocatable_list.append(alloc)
        return self.scorer(requested_list, allocatable_list, self.weights)


class NodeResourcesFit(Plugin, PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions):
    """kube-scheduler's ``noderesources.Fit``."""

    name = "NodeResourcesFit"
    args_fields = frozenset({"ignoredResources", "ignoredResourceGroups", "scoringStrategy"})

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        ignored = self.args.get("ignoredResources") or []
        groups = self.args.get("ignoredResourceGroups") or []
        if not isinstance(ignored, list) or not all(isinstance(x, str) for x in ignored):
            raise ConfigError(f"NodeResourcesFit.ignoredResources: must be a list of strings, got {ignored!r}")
        if not isinstance(groups, list) or not all(isinstance(x, str) and "/" not in x for x in groups):
            raise ConfigError(f"NodeResourcesFit.ignoredResourceGroups: must be a list of group names without "
                              f"'/', got {groups!r}")
        self.ignored_resources = frozenset(ignored)
        self.ignored_groups = frozenset(groups)
        strategy = self.args.get("scoringStrategy") or {}
        if not isinstance(strategy, Mapping):
            raise ConfigError(f"NodeResourcesFit.scoringStrategy: must be an object, got {strategy!r}")
        kind = strategy.get("type") or LEAST_ALLOCATED
        resources = parse_resources(strategy.get("resources"), "NodeResourcesFit.scoringStrategy.resources")
        if kind == LEAST_ALLOCATED:
            scorer = _weighted_mean(least_requested_score)
        elif kind == MOST_ALLOCATED:
            scorer = _weighted_mean(most_requested_score)
        elif kind == REQUESTED_TO_CAPACITY_RATIO:
            ratio = strategy.get("requestedToCapacityRatio") or {}
            shape = parse_shape(ratio.get("shape") if isinstance(ratio, Mapping) else None,
                                "NodeResourcesFit.scoringStrategy.requestedToCapacityRatio.shape")
            scorer = requested_to_capacity_ratio_scorer(shape)
        else:
            raise ConfigError(f"NodeResourcesFit.scoringStrategy.type: must be one of LeastAllocated, "
                              f"MostAllocated, RequestedToCapacityRatio, got {kind!r}")
        self.strategy = kind
        self.allocation = ResourceAllocationScorer(resources, False, scorer)

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        return (tuple(sorted(pod.requests.items())), pod.non_zero_requests)

    def _ignored(self, name: str) -> bool:
        if name in self.ignored_resources:
            return True
        return "/" in name and name.split("/", 1)[0] in self.ignored_groups

    def pre_filter(self, state: CycleState, pod: Any,
                   nodes: Sequence[NodeInfo]) -> tuple[Optional[PreFilterResult], Optional[Status]]:
        return None, None

    def filter(self, state: Any, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        reasons = self.insufficient(pod, node_info)
        return Status.unschedulable(*reasons) if reasons else None

    def insufficient(self, pod: Any, node_info: NodeInfo) -> list[str]:
        """Every reason the pod does not fit the node's free resources (``fitsRequest``), in Go's order."""
        reasons = []
        allocatable, requested = node_info.allocatable, node_info.requested
        if len(node_info.pods) + 1 > allocatable.get("pods", 0):
            reasons.append("Too many pods")
        pod_requests = pod.requests
        if not pod_requests:
            return reasons
        for name in ("cpu", "memory", "ephemeral-storage"):
            want = pod_requests.get(name, 0)
            if want > 0 and want > allocatable.get(name, 0) - requested.get(name, 0):
                reasons.append(f"Insufficient {name}")
        for name, want in pod_requests.items():
            if want == 0 or name in ("cpu", "memory", "ephemeral-storage") or self._ignored(name):
                continue
            if want > allocatable.get(name, 0) - requested.get(name, 0):
                reasons.append(f"Insufficient {name}")
        return reasons

    def pre_score(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        state.write("PreScoreNodeResourcesFit", self.allocation.pod_requests(pod))
        return None

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        pod_requests = state.get("PreScoreNodeResourcesFit")
        if pod_requests is None:
            pod_requests = self.allocation.pod_requests(pod)
        return self.allocation.score(node_info, pod_requests)

    def events_to_register(self) -> tuple[str, ...]:
        return (ClusterEvent.ASSIGNED_POD_DELETE, ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE)
