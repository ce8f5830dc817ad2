"""TaintToleration (Filter + Score): NoSchedule/NoExecute taints the pod does not tolerate reject the node;
PreferNoSchedule taints it does not tolerate lower the node's score.

Score: the count of intolerable PreferNoSchedule taints, normalized reversed (``DefaultNormalizeScore(100,
true)``): the node with the most such taints gets 0, nodes with none get 100.
"""
from __future__ import annotations

from typing import Any, Hashable, Optional, Sequence

from ..framework import (ClusterEvent, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo, NodeScore, Plugin,
                         PreScorePlugin, ScorePlugin, Status, default_normalize_score)

__all__ = ["TaintToleration"]


def _tolerated(tolerations: Sequence[Any], taint: Any) -> bool:
    for t in tolerations:
        if t.tolerates(taint):
            return True
    return False


class TaintToleration(Plugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions):
    """kube-scheduler's ``tainttoleration`` plugin."""

    name = "TaintToleration"
    default_normalize_reverse = True  # normalize_score is DefaultNormalizeScore(100, reverse=True)

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        # The fields a Toleration is compared by, not the objects: the class index keys holding this are hashed
        # at every cycle, and a Toleration hashes in Python (every pod carries the two admission ones).
        return tuple([(t.key, t.operator, t.value, t.effect, t.toleration_seconds)
                      for t in pod.spec.tolerations or ()])

    def filter(self, state: Any, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        tolerations = pod.spec.tolerations or ()
        for taint in node_info.taints:
            if taint.effect == "PreferNoSchedule":
                continue
            if not _tolerated(tolerations, taint):
                return Status.unresolvable(f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}")
        return None

    def pre_score(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        return None

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        prefer = [t for t in (pod.spec.tolerations or ()) if not t.effect or t.effect == "PreferNoSchedule"]
        count = 0
        for taint in node_info.taints:
            if taint.effect == "PreferNoSchedule" and not _tolerated(prefer, taint):
                count += 1
        return count

    def normalize_score(self, state: CycleState, pod: Any, scores: list[NodeScore]) -> Optional[Status]:
        default_normalize_score(scores, reverse=True)
        return None

    def events_to_register(self) -> tuple[str, ...]:
        return (ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE)
