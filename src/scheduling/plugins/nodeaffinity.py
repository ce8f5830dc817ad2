"""NodeAffinity (PreFilter + Filter + PreScore + Score): ``spec.nodeSelector`` and required node affinity
must match the node; each matching preferred term adds its weight to the node's score.

Filter: the nodeSelector map (every label equal) AND the required ``NodeSelector`` (terms ORed, with
``metadata.name`` matchFields) must match, else UnschedulableAndUnresolvable "node(s) didn't match Pod's node
affinity/selector". PreFilter narrows the nodes to those named by ``matchFields metadata.name In`` when every
term names nodes. Score: the sum of the weights of matching preferred terms, normalized by the highest
(``DefaultNormalizeScore(100, false)``). Args ``addedAffinity`` (a NodeAffinity dict) apply to every pod of
the profile, as kube-scheduler's ``NodeAffinityArgs``.
"""
from __future__ import annotations

from typing import Any, Hashable, Mapping, Optional, Sequence

from objects import NodeSelector, NodeSelectorTerm

from ..framework import (ClusterEvent, ConfigError, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo,
                         NodeScore, Plugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status,
                         default_normalize_score)

__all__ = ["NodeAffinity"]

ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
ERR_REASON_CONFLICT = "pod affinity terms conflict"


def _node_affinity(pod: Any) -> Any:
    affinity = pod.spec.affinity
    return None if affinity is None else affinity.node_affinity


class NodeAffinity(Plugin, PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions):
    """kube-scheduler's ``nodeaffinity`` plugin."""

    name = "NodeAffinity"
    args_fields = frozenset({"addedAffinity"})
    default_normalize_reverse = False  # normalize_score is DefaultNormalizeScore(100, reverse=False)

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        self.added_required: Optional[NodeSelector] = None
        self.added_preferred: tuple[tuple[int, NodeSelectorTerm], ...] = ()
        added = self.args.get("addedAffinity")
        if added:
            if not isinstance(added, Mapping):
                raise ConfigError(f"NodeAffinity.addedAffinity: must be an object, got {added!r}")
            try:
                required = added.get("requiredDuringSchedulingIgnoredDuringExecution")
                if required:
                    self.added_required = NodeSelector.from_dict(required)
                self.added_preferred = tuple(
                    (int(t["weight"]), NodeSelectorTerm.from_dict(t["preference"]))
                    for t in added.get("preferredDuringSchedulingIgnoredDuringExecution") or ())
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"NodeAffinity.addedAffinity: invalid ({exc})") from exc

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        na = _node_affinity(pod)
        selector = tuple(sorted(pod.spec.node_selector.items())) if pod.spec.node_selector else ()
        if na is None:
            return (selector, None, ())
        return (selector, na.required, tuple((t.weight, t.preference) for t in na.preferred))

    # -- filtering ---------------------------------------------------------------------------------------
    def pre_filter(self, state: CycleState, pod: Any,
                   nodes: Sequence[NodeInfo]) -> tuple[Optional[PreFilterResult], Optional[Status]]:
        na = _node_affinity(pod)
        required = None if na is None else na.required
        if required is None and self.added_required is None and not pod.spec.node_selector:
            return None, Status.skip()
        if required is None or not required.node_selector_terms:
            return None, None
        names: Optional[set[str]] = None
        for term in required.node_selector_terms:
            term_names: Optional[set[str]] = None
            for f in term.match_fields:
                if f.key == "metadata.name" and f.operator == "In":
                    values = set(f.values)
                    term_names = values if term_names is None else term_names & values
            if term_names is None:
                return None, None  # this term does not pin names; terms are ORed, so every node may fit
            names = term_names if names is None else names | term_names
        if names is not None and not names:
            return None, Status.unresolvable(ERR_REASON_CONFLICT)
        return (PreFilterResult(names) if names is not None else None), None

    def filter(self, state: Any, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        labels = node_info.labels
        if self.added_required is not None and not self.added_required.matches(
                labels, {"metadata.name": node_info.name}):
            return Status.unresolvable(ERR_REASON_ENFORCED)
        selector = pod.spec.node_selector
        if selector:
            for key, value in selector.items():
                if labels.get(key) != value:
                    return Status.unresolvable(ERR_REASON_POD)
        na = _node_affinity(pod)
        if na is not None and na.required is not None and not na.required.matches(
                labels, {"metadata.name": node_info.name}):
            return Status.unresolvable(ERR_REASON_POD)
        return None

    # -- scoring -----------------------------------------------------------------------------------------
    def pre_score(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        na = _node_affinity(pod)
        if (na is None or not na.preferred) and not self.added_preferred:
            return Status.skip()
        return None

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        labels, fields = node_info.labels, {"metadata.name": node_info.name}
        count = 0
        for weight, term in self.added_preferred:
            if weight and term.matches(labels, fields):
                count += weight
        na = _node_affinity(pod)
        if na is not None:
            for t in na.preferred:
                if t.weight and t.preference.matches(labels, fields):
                    count += t.weight
        return count

    def normalize_score(self, state: CycleState, pod: Any, scores: list[NodeScore]) -> Optional[Status]:
        default_normalize_score(scores)
        return None

    def events_to_register(self) -> tuple[str, ...]:
        return (ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE)
