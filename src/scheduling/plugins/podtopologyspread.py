"""PodTopologySpread (PreFilter + Filter + PreScore + Score): spread matching pods evenly over topology
domains, as kube-scheduler's ``podtopologyspread`` plugin.

Filter (``whenUnsatisfiable: DoNotSchedule``): a node passes when, for every constraint,
``matching pods in its domain + (1 if the pod matches itself) - global minimum <= maxSkew``; the global
minimum is taken over the domains of eligible nodes (nodes carrying every constraint's key and admitted by
``nodeAffinityPolicy`` — default Honor: the pod's nodeSelector / required node affinity — and
``nodeTaintsPolicy`` — default Ignore), and is 0 while fewer than ``minDomains`` domains exist. A node
without the key is UnschedulableAndUnresolvable. Only pods of the incoming pod's namespace that are not
terminating count; ``matchLabelKeys`` adds ``key In (pod's value)`` to the selector.

Score (``ScheduleAnyway``): per node ``sum(count(domain) * log(domains + 2) + maxSkew - 1)`` over the
constraints whose key it has (for ``kubernetes.io/hostname`` the node's own pods and the number of scored
nodes), rounded, then normalized so the emptiest domain gets 100. Pods without constraints get the
cluster-level defaults (``defaultingType: System``: hostname maxSkew 3 and zone maxSkew 5, ScheduleAnyway;
``List``: ``defaultConstraints`` from the args) with the selector of the Services and the controller that
select the pod (``default_selector``); nothing selects it: no default constraints.

Speed: matching-pod counts per node and per domain live in ``podcounts.DomainCounter``s updated from the
NodeInfos that changed; PreFilter reads the sums instead of walking every pod. Scoring goes through
``normalized_scores``: one raw score per distinct domain signature, normalized over those values.
"""
from __future__ import annotations

import itertools
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Optional, Sequence

from objects import LabelSelector, TopologySpreadConstraint

from ..framework import (ClusterEvent, ConfigError, CycleState, EnqueueExtensions, FilterPlugin, NodeInfo,
                         NodeScore, Plugin, PreFilterExtensions, PreFilterPlugin, PreScorePlugin, ScorePlugin,
                         Status, TabledScores, MAX_NODE_SCORE)
from .labelcolumns import MIXED, LabelColumns
from .podcounts import CounterCache, CountingExtensions, DomainCounter, merged_selector, selector_key

__all__ = ["PodTopologySpread", "default_selector", "SYSTEM_DEFAULT_CONSTRAINTS"]

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
# kube-scheduler's systemDefaultConstraints, in its order.
SYSTEM_DEFAULT_CONSTRAINTS = (
    {"maxSkew": 3, "topologyKey": HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway"},
    {"maxSkew": 5, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway"},
)
ERR_CONSTRAINTS = "node(s) didn't match pod topology spread constraints"
ERR_MISSING_LABEL = ERR_CONSTRAINTS + " (missing required label)"
PRE_FILTER_KEY = "PreFilterPodTopologySpread"
PRE_SCORE_KEY = "PreScorePodTopologySpread"
SELECTORS_KEY = "PodTopologySpreadSelectors"
_UNDECIDED = object()
_DEFAULTS_MEMO_SIZE = 1024
_VARYING = object()  # normalized_scores: a column whose values differ over the window
_COUNTED = 8  # _distinct: values counted one by one before a set is built instead


def default_selector(selectors: Sequence[LabelSelector]) -> Optional[LabelSelector]:
    """kube-scheduler's ``helper.DefaultSelector`` merge: every requirement of ``selectors`` ANDed into one
    selector; None when that has no requirement (then the pod gets no default constraints).

    ``selectors`` are the selectors of the Services selecting the pod and of its ReplicationController /
    ReplicaSet / StatefulSet controller (``Handle.selectors_for``). kube-scheduler merges the Services' and
    a ReplicationController's label maps and adds a ReplicaSet's / StatefulSet's requirements; both agree
    with ANDing whenever the controller selects its own pod (a map merge would let a ReplicationController
    that does not select it override a Service's value for the same key; here such a selector matches
    nothing).
    """
    seen: dict[tuple, Any] = {}
    for selector in selectors:
        for r in selector.requirements:
            seen.setdefault((r.key, r.operator, r.values), r)
    if not seen:
        return None
    return LabelSelector(match_expressions=[seen[k] for k in sorted(seen)])


@dataclass
class Constraint:
    """One topology spread constraint as the plugin uses it (selector merged, policies defaulted)."""

    max_skew: int
    topology_key: str
    selector: Optional[LabelSelector]
    min_domains: int = 1
    node_affinity_policy: str = "Honor"
    node_taints_policy: str = "Ignore"

    selector_identity: Optional[Hashable] = field(default=None, compare=False, repr=False)

    def self_match(self, pod: Any) -> int:
        return 1 if self.selector is not None and self.selector.matches(pod.metadata.labels) else 0

    def selector_key(self) -> Hashable:
        """``podcounts.selector_key`` of the selector, computed once per constraint."""
        if self.selector_identity is None:
            self.selector_identity = selector_key(self.selector)
        return self.selector_identity


def _node_affinity_matches(pod: Any, ni: NodeInfo) -> bool:
    labels = ni.labels
    for k, v in (pod.spec.node_selector or {}).items():
        if labels.get(k) != v:
            return False
    affinity = pod.spec.affinity
    required = affinity.node_affinity.required if affinity and affinity.node_affinity else None
    return required is None or required.matches(labels, {"metadata.name": ni.name})


def _includes(c: Constraint, pod: Any, ni: NodeInfo) -> bool:
    """The node inclusion policies (``matchNodeInclusionPolicies``)."""
    if c.node_affinity_policy == "Honor" and not _node_affinity_matches(pod, ni):
        return False
    if c.node_taints_policy == "Honor":
        tolerations = pod.spec.tolerations or ()
        for taint in ni.taints:
            if taint.effect != "PreferNoSchedule" and not any(t.tolerates(taint) for t in tolerations):
                return False
    return True


def _restricted(c: Constraint, pod: Any) -> bool:
    """Whether the inclusion policies can exclude any node for this pod (else every node counts)."""
    affinity = pod.spec.affinity
    has_node_affinity = bool(pod.spec.node_selector) or bool(
        affinity and affinity.node_affinity and affinity.node_affinity.required)
    return (c.node_affinity_policy == "Honor" and has_node_affinity) or c.node_taints_policy == "Honor"


class _Matcher:
    """Pods of one namespace, not terminating, matching one selector (a hashable, picklable-free predicate)."""

    __slots__ = ("namespace", "selector")

    def __init__(self, namespace: str, selector: Optional[LabelSelector]) -> None:
        self.namespace = namespace
        self.selector = selector

    def __call__(self, p: Any) -> bool:
        return (self.selector is not None and p.metadata.deletion_timestamp is None
                and (p.metadata.namespace or "default") == self.namespace
                and self.selector.matches(p.metadata.labels))

    def pivots(self) -> Optional[tuple[tuple[str, str, str], ...]]:
        """(namespace, key, value) triples one of which every matching pod carries as a label: those of the
        selector's ``In`` requirement with the fewest values; () when nothing matches, None when the
        selector has no ``In`` requirement (``podcounts.CounterCache`` then recounts changed nodes). A pivoted
        predicate reads only the pod's namespace, labels and deletionTimestamp (the cache relies on it to
        skip a pod replaced by a version equal in those)."""
        if self.selector is None:
            return ()
        ins = [r for r in self.selector.requirements if r.operator == "In"]
        if not ins:
            return None
        best = min(ins, key=lambda r: len(r.values))
        return tuple((self.namespace, best.key, value) for value in dict.fromkeys(best.values))


@dataclass
class _FilterState:
    """PreFilter's answer: per constraint the domain sums (shared, read-only) and this cycle's deltas."""

    constraints: list[Constraint]
    sums: list[Mapping[str, int]]
    minimums: list[int]
    ordered: list[Any]
    self_match: list[int]
    eligible: list[Optional[set[str]]] = field(default_factory=list)  # admitted nodes, when policies restrict
    deltas: list[dict[str, int]] = field(default_factory=list)
    verdicts: dict[Any, Any] = field(default_factory=dict)  # per domain (tuple), reset when deltas move

    single_key: Optional[str] = None

    def __post_init__(self) -> None:
        if len(self.constraints) == 1:
            self.single_key = self.constraints[0].topology_key

    def clone(self) -> "_FilterState":
        return _FilterState(self.constraints, self.sums, list(self.minimums), self.ordered, self.self_match,
                            self.eligible, [dict(d) for d in self.deltas])

    def count(self, i: int, value: str) -> int:
        return self.sums[i].get(value, 0) + self.deltas[i].get(value, 0)

    def minimum(self, i: int) -> int:
        delta = self.deltas[i]
        if not delta:
            return self.minimums[i]
        if len(self.sums[i]) < self.constraints[i].min_domains:
            return 0
        best = min((self.count(i, v) for v in delta if v in self.sums[i]), default=None)
        ordered = self.ordered[i]
        candidates = (v for _, v in ordered) if ordered is not None else iter(self.sums[i])
        for value in candidates:
            if value not in delta:
                base = self.sums[i][value]
                best = base if best is None else min(best, base)
                if ordered is not None:
                    break
        return 0 if best is None else best


@dataclass
class _ScoreState:
    """PreScore's answer. ``columns[i]``: constraint i's key on the nodes PreScore saw (``_score_columns``),
    kept so the batch path does not read the labels twice."""

    constraints: list[Constraint]
    counts: list[dict[str, int]]
    weights: list[float]
    ignored: set[str]
    host_counters: list[Optional[DomainCounter]]
    require_all: bool
    nodes: Sequence[NodeInfo]
    columns: list[Any]

    def raw(self, signature: tuple) -> Optional[int]:
        """The raw score of a node whose per-constraint values are ``signature`` (the key's value, or for
        hostname the node's matching-pod count; None when the node lacks the key); None when ignored."""
        total = 0.0
        for i, c in enumerate(self.constraints):
            value = signature[i]
            if value is None:
                if self.require_all:
                    return None
                continue
            count = value if self.host_counters[i] is not None else self.counts[i].get(value, 0)
            total += count * self.weights[i] + (c.max_skew - 1)
        return _go_round(total)


class PodTopologySpread(Plugin, PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions):
    """kube-scheduler's ``PodTopologySpread``; args ``defaultConstraints`` and ``defaultingType``."""

    name = "PodTopologySpread"
    args_fields = frozenset({"defaultConstraints", "defaultingType"})

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        args = dict(args or {})
        defaulting = args.get("defaultingType", "System")
        if defaulting not in ("System", "List"):
            raise ConfigError(f"PodTopologySpread.args.defaultingType: unsupported value {defaulting!r}: "
                              "supported values: 'System', 'List'")
        raw = args.get("defaultConstraints") or []
        if defaulting == "System" and raw:
            raise ConfigError("PodTopologySpread.args.defaultConstraints: must be empty when defaultingType "
                              "is 'System'")
        if defaulting == "System":
            raw = list(SYSTEM_DEFAULT_CONSTRAINTS)
        defaults = []
        for i, c in enumerate(raw):
            if not isinstance(c, Mapping) or "labelSelector" in c:
                raise ConfigError(f"PodTopologySpread.args.defaultConstraints[{i}]: must be a constraint "
                                  f"without labelSelector, got {c!r}")
            defaults.append(TopologySpreadConstraint.from_dict(dict(c), f"defaultConstraints[{i}]"))
        self.system_defaulted = defaulting == "System"
        self.default_constraints = defaults
        self._cache = CounterCache()
        self._labels = LabelColumns()
        # (whenUnsatisfiable, ids of the selecting objects' selectors) -> (those selectors, constraints)
        self._defaults_memo: dict[tuple[str, tuple[int, ...]], tuple[tuple[Any, ...], list[Constraint]]] = {}

    # -- constraints -------------------------------------------------------------------------------
    def constraints(self, pod: Any, when: str, state: Optional[CycleState] = None) -> tuple[list[Constraint], bool]:
        """The pod's constraints with ``whenUnsatisfiable == when``; and whether they are the defaults.
        ``state``: the cycle's, where the selectors read for the default constraints are kept for the next
        extension point of the same cycle (nothing changes the listers within a cycle)."""
        own = pod.spec.topology_spread_constraints
        if own:
            return [Constraint(c.max_skew, c.topology_key,
                               merged_selector(c.label_selector, pod, c.match_label_keys or ()),
                               c.min_domains or 1, c.node_affinity_policy or "Honor",
                               c.node_taints_policy or "Ignore")
                    for c in own if c.when_unsatisfiable == when], False
        for c in self.default_constraints:
            if c.when_unsatisfiable == when:
                break
        else:
            return [], True  # no default constraint of this kind (the system defaults' DoNotSchedule)
        lister = getattr(self.handle, "selectors_for", None)
        if lister is None:
            return [], True
        kept = state.get(SELECTORS_KEY) if state is not None else None
        if kept is not None and kept[0] is pod:
            selectors = kept[1]
        else:
            selectors = tuple(lister(pod))
            if state is not None:
                state.write(SELECTORS_KEY, (pod, selectors))
        # Pods of one controller get the same selector objects (the listers keep one per object version):
        # their default constraints are built, and their selector keyed, once.
        memo_key = (when, tuple(map(id, selectors)))
        memo = self._defaults_memo.get(memo_key)
        if memo is not None and all(map(operator.is_, memo[0], selectors)):
            return list(memo[1]), True
        defaults = [c for c in self.default_constraints if c.when_unsatisfiable == when]
        selector = default_selector(selectors) if defaults else None
        built = [] if selector is None else [
            Constraint(c.max_skew, c.topology_key, selector, c.min_domains or 1,
                       c.node_affinity_policy or "Honor", c.node_taints_policy or "Ignore") for c in defaults]
        if len(self._defaults_memo) >= _DEFAULTS_MEMO_SIZE:
            self._defaults_memo.clear()
        self._defaults_memo[memo_key] = (selectors, built)
        return list(built), True

    def _columns(self, constraints: Sequence[Constraint], nodes: Sequence[NodeInfo]) -> list[list[Optional[str]]]:
        """Per constraint, the value of its key on each node (None when the node lacks it)."""
        return [self._labels.values(c.topology_key, nodes) for c in constraints]

    def _sync(self, nodes: Sequence[NodeInfo]) -> None:
        # Counts cover every node of the cluster, whatever subset a caller passes (PreScore: feasible nodes).
        self._cache.sync(self.handle.snapshot.list() if self.handle is not None else nodes)

    def _counter(self, pod: Any, c: Constraint, keys: tuple[str, ...], independent: bool = False) -> DomainCounter:
        namespace = pod.metadata.namespace or "default"
        identity: Hashable = (namespace, c.selector_key(), keys, independent)
        # Only PreFilter reads the global minimum, and its counters are never independent ones.
        return self._cache.get(identity, lambda: DomainCounter(_Matcher(namespace, c.selector), keys,
                                                                ordered=not independent, independent=independent))

    # -- filter --------------------------------------------------------------------------------------
    def pre_filter(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> tuple[None, Optional[Status]]:
        constraints, _ = self.constraints(pod, "DoNotSchedule", state)
        if not constraints:
            return None, Status.skip()
        self._sync(nodes)
        keys = tuple(dict.fromkeys(c.topology_key for c in constraints))
        s = _FilterState(constraints, [], [], [], [c.self_match(pod) for c in constraints])
        for c in constraints:
            counter = self._counter(pod, c, keys)
            if _restricted(c, pod):
                sums: dict[str, int] = {}
                admitted: set[str] = set()
                for name, domain in ((n, counter.domain_of(n)) for n in counter.node_count):
                    ni = self._cache.infos[name]
                    if domain is None or not _includes(c, pod, ni):
                        continue
                    admitted.add(name)
                    value = ni.labels[c.topology_key]
                    sums[value] = sums.get(value, 0) + counter.node_count[name]
                s.sums.append(sums)
                s.ordered.append(None)
                minimum = min(sums.values()) if sums else 0
                s.eligible.append(admitted)
            else:
                sums = counter.sums[c.topology_key]
                s.sums.append(sums)
                s.ordered.append(counter.ordered[c.topology_key] if counter.ordered else None)
                minimum = counter.minimum(c.topology_key)
                s.eligible.append(None)
            s.minimums.append(0 if len(s.sums[-1]) < c.min_domains else minimum)
            s.deltas.append({})
        state.write(PRE_FILTER_KEY, s)
        return None, None

    def pre_filter_extensions(self) -> Optional[PreFilterExtensions]:
        return _Extensions()

    def filter(self, state: CycleState, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        s: _FilterState = state.read(PRE_FILTER_KEY)
        labels = node_info.labels
        # The verdict depends on the node's domains only: decide once per domain in this cycle.
        key = s.single_key
        domain: Any = labels.get(key) if key is not None else tuple([labels.get(c.topology_key)
                                                                      for c in s.constraints])
        verdict = s.verdicts.get(domain, _UNDECIDED)
        if verdict is _UNDECIDED:
            verdict = s.verdicts[domain] = self._verdict(s, labels)
        return verdict  # type: ignore[return-value]

    def filter_nodes(self, state: CycleState, pod: Any,
                     nodes: Sequence[NodeInfo]) -> Optional[list[Optional[Status]]]:
        """Filter for every node at once: one verdict per distinct domain, then a lookup per node."""
        s: _FilterState = state.read(PRE_FILTER_KEY)
        columns = self._columns(s.constraints, nodes)
        domains: list[Any] = columns[0] if s.single_key is not None else list(zip(*columns))
        verdicts = s.verdicts
        for domain in set(domains).difference(verdicts):
            values = (domain,) if s.single_key is not None else domain
            labels = {c.topology_key: v for c, v in zip(s.constraints, values) if v is not None}
            verdicts[domain] = self._verdict(s, labels)
        return list(map(verdicts.__getitem__, domains))

    @staticmethod
    def _verdict(s: "_FilterState", labels: Mapping[str, str]) -> Optional[Status]:
        for i, c in enumerate(s.constraints):
            value = labels.get(c.topology_key)
            if value is None:
                return Status.unresolvable(ERR_MISSING_LABEL)
            minimum = s.minimum(i) if s.deltas[i] else s.minimums[i]
            if s.count(i, value) + s.self_match[i] - minimum > c.max_skew:
                return Status.unschedulable(ERR_CONSTRAINTS)
        return None

    # -- score ---------------------------------------------------------------------------------------
    def pre_score(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        constraints, defaulted = self.constraints(pod, "ScheduleAnyway", state)
        if not constraints:
            return Status.skip()
        self._sync(nodes)
        require_all = not (defaulted and self.system_defaulted)
        keys = tuple(dict.fromkeys(c.topology_key for c in constraints))
        columns = self._score_columns(constraints, nodes)
        ignored: set[str] = set()
        kept: Optional[list[int]] = None  # positions of the scored nodes, when some are ignored
        listed: list[list[Any]] = []
        if require_all and any(map(_lacks, columns)):
            listed = [_listed(column, len(nodes)) for column in columns]
            kept = [j for j, signature in enumerate(zip(*listed)) if None not in signature]
            ignored = set(ni.name for ni in nodes) - {nodes[j].name for j in kept}
        scored = len(nodes) - len(ignored)
        counts: list[dict[str, int]] = []
        weights: list[float] = []
        hosts: list[Optional[DomainCounter]] = []
        counter: Optional[DomainCounter] = None
        for i, c in enumerate(constraints):
            key = c.topology_key
            # Without require_all each key counts on its own; the constraints of one selector share one
            # counter (one count per node, moved once per pod, one entry of the counter cache), looked up once.
            if counter is None or c.selector is not constraints[i - 1].selector:
                counter = self._counter(pod, c, keys, independent=not require_all)
            if key == HOSTNAME:  # its raw score reads the node's own count: no domains
                counts.append({})
                weights.append(math.log(scored + 2))
                hosts.append(counter)
                continue
            hosts.append(None)
            # Nodes without the key form the domain "" when they are not ignored (Go reads a missing label
            # as ""), as kube-scheduler's system defaults do.
            column = columns[i]
            if kept is not None:
                domains = {listed[i][j] for j in kept}
            elif type(column) is _Same:
                domains = {column.value}
            else:
                domains = set(column)
            if None in domains:
                domains.discard(None)
                domains.add("")
            weights.append(math.log(len(domains) + 2))
            counts.append(self._domain_counts(pod, c, counter, domains, require_all))
        state.write(PRE_SCORE_KEY, _ScoreState(constraints, counts, weights, ignored, hosts, require_all, nodes,
                                               columns))
        return None

    def _score_columns(self, constraints: Sequence[Constraint], nodes: Sequence[NodeInfo]) -> list[Any]:
        """Per constraint, its key's values on ``nodes`` as scoring reads them: a list (None where a node
        lacks the key), ``_Same`` when every node of the cluster has one value (or none), ``_PRESENT`` for
        a hostname key every node carries (its values are never read: a node's own count stands for them)."""
        labels = self._labels
        out: list[Any] = []
        for c in constraints:
            key = c.topology_key
            if key == HOSTNAME and labels.complete(key, nodes):
                out.append(_PRESENT)
                continue
            same = labels.uniform(key, nodes)
            out.append(labels.values(key, nodes) if same is MIXED else _Same(same))
        return out

    def _domain_counts(self, pod: Any, c: Constraint, counter: DomainCounter, domains: set[str],
                       require_all: bool) -> dict[str, int]:
        """Matching pods per domain in ``domains`` over the nodes that count for ``c``."""
        key = c.topology_key
        if not _restricted(c, pod):
            sums = counter.sums[key]
            found = {v: sums.get(v, 0) for v in domains}
            if not require_all and "" in found:
                # Pods on nodes without the key count under "": all pods minus those in a domain.
                found[""] += counter.total - counter.totals[key]
            return found
        # Restrictive inclusion policies: count node by node.
        found = dict.fromkeys(domains, 0)
        for name, count in counter.node_count.items():
            ni = self._cache.infos[name]
            if not count or (require_all and counter.domain_of(name) is None):
                continue
            value = ni.labels.get(key, "")
            if value in found and _includes(c, pod, ni):
                found[value] += count
        return found

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        s: _ScoreState = state.read(PRE_SCORE_KEY)
        if s.ignored and node_info.name in s.ignored:
            return 0
        labels = node_info.labels
        signature = tuple([labels.get(c.topology_key) if host is None
                           else (host.node_count.get(node_info.name, 0) if c.topology_key in labels else None)
                           for c, host in zip(s.constraints, s.host_counters)])
        return s.raw(signature) or 0

    def normalized_scores(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[list[int]]:
        """Score + NormalizeScore for every node at once (:meth:`tabled_scores` as a list)."""
        return list(self.tabled_scores(state, pod, nodes))

    def tabled_scores(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> TabledScores:
        """Score + NormalizeScore for every node at once: a node's raw score depends only on its domains
        (and, for a hostname constraint, its own matching-pod count), so it is computed once per distinct
        signature and normalized over those values."""
        s: _ScoreState = state.read(PRE_SCORE_KEY)
        columns = s.columns if nodes is s.nodes else self._score_columns(s.constraints, nodes)
        # A column with one value over the whole window (a key no node has, one zone) is left out of the
        # per-node signatures: fewer tuples built and hashed, often none (the signature is then the value of
        # the one varying column).
        fixed: list[Any] = []
        varying: list[list[Any]] = []
        distinct: Optional[set[Any]] = None  # the values of the last varying column
        for column, host in zip(columns, s.host_counters):
            if host is not None:
                if type(column) is _Same and column.value is None:
                    fixed.append(None)  # no node has the hostname label
                    continue
                counts = self._labels.counts(host, nodes)
                if counts is None:
                    counts = list(map(host.node_count.get, self._labels.iter_names(nodes), itertools.repeat(0)))
                if type(column) is list and None in column:
                    counts = [None if v is None else n for n, v in zip(counts, column)]
                column = counts
            elif type(column) is _Same:
                fixed.append(column.value)
                continue
            values = _distinct(column)  # what the raw scores are computed for, if the column varies
            if len(values) == 1:
                fixed.append(column[0])
            else:
                fixed.append(_VARYING)
                varying.append(column)
                distinct = values
        if len(varying) == 1:
            # The usual case (a hostname count column, the zone key fixed): the column's values are the
            # signatures, each scored with the fixed values around it.
            signatures: list[Any] = varying[0]
            at = fixed.index(_VARYING)
            whole = list(fixed)
            raws = {}
            for sig in distinct:  # type: ignore[union-attr]
                whole[at] = sig
                raws[sig] = s.raw(tuple(whole))
        else:
            signatures = list(zip(*varying)) if varying else [()] * len(nodes)
            spots = [i for i, value in enumerate(fixed) if value is _VARYING]

            def full(sig: Any) -> tuple:
                whole = list(fixed)
                for i, value in zip(spots, sig):
                    whole[i] = value
                return tuple(whole)
            raws = {sig: s.raw(full(sig)) for sig in set(signatures)}
        valid = [r for r in raws.values() if r is not None]
        top = max(valid, default=0)
        low = min(valid, default=0)
        final = {sig: 0 if r is None else _normalized(r, top, low) for sig, r in raws.items()}
        return TabledScores(signatures, final)

    def normalize_score(self, state: CycleState, pod: Any, scores: list[NodeScore]) -> Optional[Status]:
        s: _ScoreState = state.read(PRE_SCORE_KEY)
        valid = [x.score for x in scores if x.name not in s.ignored]
        top = max(valid, default=0)
        low = min(valid, default=0)
        for x in scores:
            x.score = 0 if x.name in s.ignored else _normalized(x.score, top, low)
        return None

    def events_to_register(self) -> tuple[str, ...]:
        # kube-scheduler's: every pod event, node add / delete / label change. Services and controllers are
        # not among them (a default constraint's selector changing retries nothing there either).
        return (ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE, ClusterEvent.NODE_DELETE,
                ClusterEvent.ASSIGNED_POD_ADD, ClusterEvent.ASSIGNED_POD_UPDATE, ClusterEvent.ASSIGNED_POD_DELETE)


class _Same:
    """A window's column whose every entry is ``value``: the list is never built."""

    __slots__ = ("value",)

    def __init__(self, value: Optional[str]) -> None:
        self.value = value


_PRESENT = object()  # a hostname column every node has: its values are not read


def _distinct(column: Any) -> set[Any]:
    """The set of ``column``'s values; for a bytearray of small counts (``LabelColumns.counts``) found by
    counting 0, 1, 2... at memchr speed until every entry is accounted for, not by hashing every entry."""
    if type(column) is bytearray:
        left = len(column)
        found = set()
        for value in range(_COUNTED):
            if not left:
                return found
            n = column.count(value)
            if n:
                found.add(value)
                left -= n
        if not left:
            return found
    return set(column)


def _lacks(column: Any) -> bool:
    """Whether some node of the window lacks the column's key."""
    if column is _PRESENT:
        return False
    if type(column) is _Same:
        return column.value is None
    return None in column


def _listed(column: Any, n: int) -> list[Any]:
    """The column as a list of ``n`` values (a present hostname stands as "": only its None-ness is read)."""
    if column is _PRESENT:
        return [""] * n
    if type(column) is _Same:
        return [column.value] * n
    return column  # type: ignore[no-any-return]


def _normalized(raw: int, top: int, low: int) -> int:
    """NormalizeScore: the lowest raw score gets 100, the highest ``100 * low // top`` (all 100 when top is 0)."""
    return MAX_NODE_SCORE if top == 0 else MAX_NODE_SCORE * (top + low - raw) // top


def _go_round(x: float) -> int:
    """Go's math.Round: halves away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


class _Extensions(CountingExtensions):
    """Preemption's what-if: a pod added to / removed from a node moves its domain's count."""

    def _move(self, state: CycleState, pod: Any, other: Any, node_info: NodeInfo, amount: int) -> None:
        s: Optional[_FilterState] = state.get(PRE_FILTER_KEY)
        if s is None:
            return
        labels = node_info.labels
        if not all(c.topology_key in labels for c in s.constraints):
            return
        namespace = pod.metadata.namespace or "default"
        for i, c in enumerate(s.constraints):
            admitted = s.eligible[i]
            if admitted is not None and node_info.name not in admitted:
                continue
            if _Matcher(namespace, c.selector)(other):
                value = labels[c.topology_key]
                s.deltas[i][value] = s.deltas[i].get(value, 0) + amount
                s.verdicts.clear()
