"""NodeResourcesBalancedAllocation (PreScore + Score): prefer nodes whose resource fractions stay even.

For the configured resources (default cpu and memory, weight 1), fraction = (node's requested + pod's
request) / allocatable, capped at 1; the score is ``(1 - std) * 100`` truncated, with std the half
difference for two resources and the population standard deviation for more. Uses the pods' actual
requests (not the non-zero defaults). Pods requesting nothing of those resources are skipped (PreScore
Skip), as kube-scheduler does since 1.32 so best-effort pods do not pile onto one node.
"""
from __future__ import annotations

import math
from typing import Any, Hashable, Mapping, Optional, Sequence

from ..framework import CycleState, NodeInfo, Plugin, PreScorePlugin, ScorePlugin, Status
from .noderesources import ResourceAllocationScorer, parse_resources

__all__ = ["NodeResourcesBalancedAllocation"]


def balanced_resource_score(requested: list, allocatable: list, weights: Sequence[int]) -> int:
    fractions = []
    for req, alloc in zip(requested, allocatable):
        if alloc == 0:
            continue
        fraction = req / alloc
        fractions.append(1.0 if fraction > 1 else fraction)
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * 100)


class NodeResourcesBalancedAllocation(Plugin, PreScorePlugin, ScorePlugin):
    """kube-scheduler's ``noderesources.BalancedAllocation``."""

    name = "NodeResourcesBalancedAllocation"
    args_fields = frozenset({"resources"})

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        resources = parse_resources(self.args.get("resources"), "NodeResourcesBalancedAllocation.resources")
        self.allocation = ResourceAllocationScorer(resources, True, balanced_resource_score)

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        return self.allocation.pod_requests(pod)

    def pre_score(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        requests = self.allocation.pod_requests(pod)
        if not any(requests):
            return Status.skip()
        state.write("PreScoreNodeResourcesBalancedAllocation", requests)
        return None

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        requests = state.get("PreScoreNodeResourcesBalancedAllocation")
        if requests is None:
            requests = self.allocation.pod_requests(pod)
        return self.allocation.score(node_info, requests)
