"""InterPodAffinity (PreFilter + Filter + PreScore + Score), as kube-scheduler's ``interpodaffinity`` plugin.

Filter, in kube-scheduler's order:
1. the pod's required affinity: every term's topology key must be on the node, and some pod matching *all*
   the terms must run in the node's domain of each term — unless no such pod runs anywhere and the pod
   matches its own terms (the first pod of a group with affinity to itself) — else
   UnschedulableAndUnresolvable "node(s) didn't match pod affinity rules";
2. the pod's required anti-affinity: no pod matching a term in the node's domain of that term;
3. existing pods' required anti-affinity: no pod whose term matches the incoming pod runs in the node's
   domain of that term ("node(s) didn't satisfy existing pods anti-affinity rules").

Score: per topology domain, + weight for each existing pod matching a preferred affinity term of the pod,
− weight for a preferred anti-affinity term; + ``hardPodAffinityWeight`` (args, default 1) for each existing
pod whose *required* affinity term matches the incoming pod, ± weight for existing pods' preferred terms
matching it; a node scores the sum over its domains, min-max normalized to 0..100.

A term means its pod's own namespace unless it lists ``namespaces`` or has a ``namespaceSelector`` (empty:
every namespace; otherwise matched against namespace labels the handle provides via
``namespace_labels(name)``, none when it does not). ``matchLabelKeys`` / ``mismatchLabelKeys`` are folded into
the selector with the owning pod's label values (what the API server does at creation since 1.31).

Speed: pods matching the incoming pod's terms are counted per domain by ``podcounts.DomainCounter``s and
existing pods' terms are indexed by their identity with per-domain counts; both follow the NodeInfos that
changed, so a cycle never walks every pod. A pod without terms of its own, in a cluster where no placed pod
has any (the cluster simulation's Deployments), skips PreFilter and PreScore as the general path would,
without bringing the counts up to date: they catch up from the change logs when a pod with terms comes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Mapping, Optional, Sequence

from ..framework import (ClusterEvent, ConfigError, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo,
                         NodeScore, Plugin, PreFilterExtensions, PreFilterPlugin, PreScorePlugin, ScorePlugin,
                         Status, MAX_NODE_SCORE)
from .podcounts import CounterCache, CountingExtensions, DomainCounter, merged_selector, selector_key

__all__ = ["InterPodAffinity", "AffinityTerm", "pod_terms"]

ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
PRE_FILTER_KEY = "PreFilterInterPodAffinity"
PRE_SCORE_KEY = "PreScoreInterPodAffinity"
NamespaceLabels = Callable[[str], Mapping[str, str]]
_NO_LABELS: Mapping[str, str] = {}


class AffinityTerm:
    """A pod (anti-)affinity term of one pod, namespaces resolved and label keys merged (``AffinityTerm``)."""

    __slots__ = ("selector", "namespaces", "namespace_selector", "topology_key", "weight", "signature")

    def __init__(self, owner: Any, term: Any, weight: int = 0) -> None:
        namespaces = frozenset(term.namespaces or ())
        if not namespaces and term.namespace_selector is None:
            namespaces = frozenset([owner.metadata.namespace or "default"])
        self.selector = merged_selector(term.label_selector, owner, term.match_label_keys or (),
                                        term.mismatch_label_keys or ())
        self.namespaces = namespaces
        self.namespace_selector = term.namespace_selector
        self.topology_key: str = term.topology_key
        self.weight = weight
        self.signature: Hashable = (selector_key(self.selector), namespaces,
                                    selector_key(self.namespace_selector), self.topology_key, weight)

    def matches(self, pod: Any, namespace_labels: NamespaceLabels) -> bool:
        """Whether ``pod`` is one of the pods this term is about."""
        if self.selector is None:
            return False
        ns = pod.metadata.namespace or "default"
        if ns not in self.namespaces:
            selector = self.namespace_selector
            if selector is None or not selector.matches(namespace_labels(ns)):
                return False
        return self.selector.matches(pod.metadata.labels)


@dataclass
class PodTerms:
    """All the (anti-)affinity terms of one pod."""

    affinity: list[AffinityTerm] = field(default_factory=list)
    anti_affinity: list[AffinityTerm] = field(default_factory=list)
    preferred_affinity: list[AffinityTerm] = field(default_factory=list)
    preferred_anti_affinity: list[AffinityTerm] = field(default_factory=list)


_EMPTY_TERMS = PodTerms()


def pod_terms(pod: Any) -> PodTerms:
    """The pod's terms (``framework.NewPodInfo``'s parsing)."""
    affinity = pod.spec.affinity
    if affinity is None or (affinity.pod_affinity is None and affinity.pod_anti_affinity is None):
        return _EMPTY_TERMS
    out = PodTerms()
    if affinity.pod_affinity is not None:
        out.affinity = [AffinityTerm(pod, t) for t in affinity.pod_affinity.required]
        out.preferred_affinity = [AffinityTerm(pod, w.pod_affinity_term, w.weight)
                                  for w in affinity.pod_affinity.preferred]
    if affinity.pod_anti_affinity is not None:
        out.anti_affinity = [AffinityTerm(pod, t) for t in affinity.pod_anti_affinity.required]
        out.preferred_anti_affinity = [AffinityTerm(pod, w.pod_affinity_term, w.weight)
                                       for w in affinity.pod_anti_affinity.preferred]
    return out


class _AllTerms:
    """Predicate: the pod matches every one of ``terms``."""

    __slots__ = ("terms", "namespace_labels")

    def __init__(self, terms: Sequence[AffinityTerm], namespace_labels: NamespaceLabels) -> None:
        self.terms = tuple(terms)
        self.namespace_labels = namespace_labels

    def __call__(self, pod: Any) -> bool:
        for t in self.terms:
            if not t.matches(pod, self.namespace_labels):
                return False
        return True


CATEGORIES = ("anti_affinity", "affinity", "preferred_affinity", "preferred_anti_affinity")


class _ExistingTerms:
    """The terms of every pod already placed, by identity, with the number of pods per topology value."""

    def __init__(self) -> None:
        self.by_signature: dict[str, dict[Hashable, tuple[AffinityTerm, dict[str, int]]]] = {
            c: {} for c in CATEGORIES}
        self._node_contributions: dict[str, list[tuple[str, Hashable, str]]] = {}
        self._node_pods: dict[str, list[str]] = {}
        self._terms: dict[str, tuple[Any, PodTerms]] = {}
        self._stale: set[str] = set()  # memoized pods last seen on a node that changed: dropped in bulk

    def terms_of(self, pod: Any) -> PodTerms:
        cached = self._terms.get(pod.key)
        if cached is not None and cached[0] is pod:
            return cached[1]
        terms = pod_terms(pod)
        self._terms[pod.key] = (pod, terms)
        return terms

    def update(self, ni: NodeInfo) -> None:
        self.remove(ni.name)
        contributions = []
        labels = ni.labels
        keys = []
        for pod in ni.pods_with_affinity:
            keys.append(pod.key)
            self._stale.discard(pod.key)
            terms = self.terms_of(pod)
            for category in CATEGORIES:
                table = self.by_signature[category]
                for t in getattr(terms, category):
                    value = labels.get(t.topology_key)
                    if value is None:
                        continue
                    entry = table.get(t.signature)
                    if entry is None:
                        entry = table[t.signature] = (t, {})
                    entry[1][value] = entry[1].get(value, 0) + 1
                    contributions.append((category, t.signature, value))
        self._node_contributions[ni.name] = contributions
        self._node_pods[ni.name] = keys

    def remove(self, name: str) -> None:
        self._stale.update(self._node_pods.pop(name, ()))
        if len(self._stale) > 4096:
            for key in self._stale:
                self._terms.pop(key, None)
            self._stale.clear()
        for category, signature, value in self._node_contributions.pop(name, ()):
            table = self.by_signature[category]
            _, counts = table[signature]
            left = counts[value] - 1
            if left:
                counts[value] = left
            else:
                del counts[value]
                if not counts:
                    del table[signature]

    def matching(self, category: str, pod: Any, namespace_labels: NamespaceLabels
                 ) -> list[tuple[AffinityTerm, dict[str, int]]]:
        """The indexed terms of ``category`` that ``pod`` matches, with their per-value pod counts."""
        return [(t, counts) for t, counts in self.by_signature[category].values()
                if t.matches(pod, namespace_labels)]


@dataclass
class _FilterState:
    """What Filter reads; ``clone`` for preemption's what-ifs (the shared sums are never written)."""

    terms: PodTerms
    affinity: list[Mapping[str, int]]
    affinity_total: int
    self_match: bool
    anti: list[Mapping[str, int]]
    existing: dict[str, dict[str, int]]
    deltas: dict[tuple[int, int, str], int] = field(default_factory=dict)  # (0 affinity | 1 anti, term, value)

    def clone(self) -> "_FilterState":
        return _FilterState(self.terms, self.affinity, self.affinity_total, self.self_match, self.anti,
                            {k: dict(v) for k, v in self.existing.items()}, dict(self.deltas))

    def count(self, kind: int, i: int, sums: Mapping[str, int], value: str) -> int:
        n = sums.get(value, 0)
        if self.deltas:
            n += self.deltas.get((kind, i, value), 0)
        return n


@dataclass
class _ScoreState:
    layers: list[tuple[str, int, Mapping[str, int]]]  # (topology key, signed weight, pods per value)


class InterPodAffinity(Plugin, PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions):
    """kube-scheduler's ``InterPodAffinity``; args ``hardPodAffinityWeight`` (0..100, default 1) and
    ``ignorePreferredTermsOfExistingPods`` (default false: when true, a pod without preferred terms of its
    own is not scored at all — PreScore Skip — as kube-scheduler)."""

    name = "InterPodAffinity"
    args_fields = frozenset({"hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods"})

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        weight = (args or {}).get("hardPodAffinityWeight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            raise ConfigError(f"InterPodAffinity.args.hardPodAffinityWeight: invalid value {weight!r}: "
                              "must be an integer in 0..100")
        self.hard_pod_affinity_weight = weight
        ignore = (args or {}).get("ignorePreferredTermsOfExistingPods", False)
        if not isinstance(ignore, bool):
            raise ConfigError(f"InterPodAffinity.args.ignorePreferredTermsOfExistingPods: must be true or false, "
                              f"got {ignore!r}")
        self.ignore_preferred_terms_of_existing_pods = ignore
        self._cache = CounterCache()
        self._existing = _ExistingTerms()
        self._cache.listeners.append(self._existing)

    def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        """Labels of a namespace, from the handle when it knows namespaces."""
        lookup = getattr(self.handle, "namespace_labels", None)
        return (lookup(namespace) or _NO_LABELS) if lookup is not None else _NO_LABELS

    def _counter(self, terms: Sequence[AffinityTerm], key: str) -> DomainCounter:
        identity: Hashable = (tuple(t.signature for t in terms), key)
        if any(t.namespace_selector is not None for t in terms):
            # Which pods such terms count depends on namespace labels: a label change means new counters.
            version = getattr(self.handle, "namespace_labels_version", None)
            identity = (identity, version() if version is not None else 0)
        return self._cache.get(identity, lambda: DomainCounter(_AllTerms(terms, self.namespace_labels), (key,)))

    def _sync(self, nodes: Sequence[NodeInfo]) -> None:
        all_nodes = self.handle.snapshot.list() if self.handle is not None else nodes
        self._cache.sync(all_nodes)

    # -- filter --------------------------------------------------------------------------------------
    def _none_placed(self, required_anti_affinity: bool) -> bool:
        """Whether no pod on any node has (required anti-)affinity terms: then no existing pod's term can
        match, and the counts need not be brought up to date for this cycle (they follow the change logs
        from their cursors at the next sync, however far behind)."""
        if self.handle is None:
            return False
        snapshot = self.handle.snapshot
        return not (snapshot.have_pods_with_required_anti_affinity_list() if required_anti_affinity
                    else snapshot.have_pods_with_affinity_list())

    def pre_filter(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> tuple[None, Optional[Status]]:
        terms = pod_terms(pod)
        if not terms.affinity and not terms.anti_affinity and self._none_placed(True):
            return None, Status.skip()  # what the general path finds: no term of its own, none existing
        self._sync(nodes)
        existing: dict[str, dict[str, int]] = {}
        for t, counts in self._existing.matching("anti_affinity", pod, self.namespace_labels):
            merged = existing.setdefault(t.topology_key, {})
            for value, n in counts.items():
                merged[value] = merged.get(value, 0) + n
        if not terms.affinity and not terms.anti_affinity and not existing:
            return None, Status.skip()
        affinity = []
        total = 0
        for t in terms.affinity:
            counter = self._counter(terms.affinity, t.topology_key)
            affinity.append(counter.sums[t.topology_key])
            total += counter.totals[t.topology_key]
        anti = [self._counter([t], t.topology_key).sums[t.topology_key] for t in terms.anti_affinity]
        self_match = all(t.matches(pod, self.namespace_labels) for t in terms.affinity)
        state.write(PRE_FILTER_KEY, _FilterState(terms, affinity, total, self_match, anti, existing))
        return None, None

    def pre_filter_extensions(self) -> Optional[PreFilterExtensions]:
        return _Extensions(self)

    def filter(self, state: CycleState, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        s: _FilterState = state.read(PRE_FILTER_KEY)
        labels = node_info.labels
        if s.affinity:
            pods_exist = True
            for i, t in enumerate(s.terms.affinity):
                value = labels.get(t.topology_key)
                if value is None:
                    return Status.unresolvable(ERR_AFFINITY)
                if s.count(0, i, s.affinity[i], value) <= 0:
                    pods_exist = False
            if not pods_exist and not (s.affinity_total <= 0 and s.self_match):
                return Status.unresolvable(ERR_AFFINITY)
        for i, t in enumerate(s.terms.anti_affinity):
            value = labels.get(t.topology_key)
            if value is not None and s.count(1, i, s.anti[i], value) > 0:
                return Status.unschedulable(ERR_ANTI_AFFINITY)
        for key, counts in s.existing.items():
            value = labels.get(key)
            if value is not None and counts.get(value, 0) > 0:
                return Status.unschedulable(ERR_EXISTING_ANTI_AFFINITY)
        return None

    # -- score ---------------------------------------------------------------------------------------
    def pre_score(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        terms = pod_terms(pod)
        if not (terms.preferred_affinity or terms.preferred_anti_affinity) and (
                self.ignore_preferred_terms_of_existing_pods or self._none_placed(False)):
            return Status.skip()  # no layer of its own, none from existing pods: the general path's Skip
        self._sync(nodes)
        layers: list[tuple[str, int, Mapping[str, int]]] = []
        for t in terms.preferred_affinity:
            layers.append((t.topology_key, t.weight, self._counter([t], t.topology_key).sums[t.topology_key]))
        for t in terms.preferred_anti_affinity:
            layers.append((t.topology_key, -t.weight, self._counter([t], t.topology_key).sums[t.topology_key]))
        ns = self.namespace_labels
        if self.hard_pod_affinity_weight > 0:
            for t, counts in self._existing.matching("affinity", pod, ns):
                layers.append((t.topology_key, self.hard_pod_affinity_weight, counts))
        for t, counts in self._existing.matching("preferred_affinity", pod, ns):
            layers.append((t.topology_key, t.weight, counts))
        for t, counts in self._existing.matching("preferred_anti_affinity", pod, ns):
            layers.append((t.topology_key, -t.weight, counts))
        if not layers:
            return Status.skip()
        state.write(PRE_SCORE_KEY, _ScoreState(_merge_by_key(layers)))
        return None

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        s: _ScoreState = state.read(PRE_SCORE_KEY)
        labels = node_info.labels
        total = 0
        for key, weight, counts in s.layers:
            value = labels.get(key)
            if value is not None:
                total += weight * counts.get(value, 0)
        return total

    def normalize_score(self, state: CycleState, pod: Any, scores: list[NodeScore]) -> Optional[Status]:
        if not scores:
            return None
        low = min(x.score for x in scores)
        spread = max(x.score for x in scores) - low
        for x in scores:
            x.score = int(MAX_NODE_SCORE * ((x.score - low) / spread)) if spread > 0 else 0
        return None

    def events_to_register(self) -> tuple[str, ...]:
        return ClusterEvent.ALL


def _merge_by_key(layers: list[tuple[str, int, Mapping[str, int]]]) -> list[tuple[str, int, Mapping[str, int]]]:
    """One layer per topology key (weights folded in), so Score does one lookup per key and node."""
    by_key: dict[str, list[tuple[str, int, Mapping[str, int]]]] = {}
    for layer in layers:
        by_key.setdefault(layer[0], []).append(layer)
    out = []
    for key, group in by_key.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        merged: dict[str, int] = {}
        for _, weight, counts in group:
            for value, n in counts.items():
                merged[value] = merged.get(value, 0) + weight * n
        out.append((key, 1, merged))
    return out


class _Extensions(CountingExtensions):
    """Preemption's what-if: a pod added to / removed from a node changes the counts Filter reads."""

    def __init__(self, plugin: InterPodAffinity) -> None:
        self.plugin = plugin

    def _move(self, state: CycleState, pod: Any, other: Any, node_info: NodeInfo, amount: int) -> None:
        s: Optional[_FilterState] = state.get(PRE_FILTER_KEY)
        if s is None:
            return
        ns = self.plugin.namespace_labels
        labels = node_info.labels
        for t in pod_terms(other).anti_affinity:
            value = labels.get(t.topology_key)
            if value is not None and t.matches(pod, ns):
                counts = s.existing.setdefault(t.topology_key, {})
                counts[value] = counts.get(value, 0) + amount
        if s.terms.affinity and all(t.matches(other, ns) for t in s.terms.affinity):
            for i, t in enumerate(s.terms.affinity):
                value = labels.get(t.topology_key)
                if value is not None:
                    s.deltas[(0, i, value)] = s.deltas.get((0, i, value), 0) + amount
                    s.affinity_total += amount
        for i, t in enumerate(s.terms.anti_affinity):
            value = labels.get(t.topology_key)
            if value is not None and t.matches(other, ns):
                s.deltas[(1, i, value)] = s.deltas.get((1, i, value), 0) + amount
