"""The exhaustive reference scheduler: every node filtered and scored with the plain Kubernetes definitions.

No caching, no sampling, no incremental state: each question is answered by walking every node and every
pod, following kube-scheduler's default plugins line by line (filters: NodeUnschedulable, NodeName,
TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity; scores:
NodeResourcesFit LeastAllocated, NodeResourcesBalancedAllocation, ImageLocality, InterPodAffinity,
NodeAffinity, PodTopologySpread, TaintToleration, with their NormalizeScore and default weights). It is slow
on purpose and exists to check the fast paths: in exact mode the node the scheduler picks must have the best
score this module computes (tests/scheduling/test_exact_vs_reference.py, and the bench's sample check).

Nominated pods (preemption in flight) are not considered here: callers compare only ordinary decisions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from objects import LabelSelector, Node, Pod, Taint

__all__ = ["Cluster", "DEFAULT_WEIGHTS", "SYSTEM_DEFAULT_CONSTRAINTS", "filter_node", "filter_reasons",
           "inter_pod_affinity_reason", "topology_spread_reason", "plugin_scores", "total_scores", "best_score"]

MAX_NODE_SCORE = 100
DEFAULT_WEIGHTS: dict[str, int] = {
    "TaintToleration": 3, "NodeAffinity": 2, "PodTopologySpread": 2, "InterPodAffinity": 2,
    "NodeResourcesFit": 1, "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1,
}
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
# kube-scheduler's systemDefaultConstraints for PodTopologySpread (defaultingType: System).
SYSTEM_DEFAULT_CONSTRAINTS: tuple[tuple[str, int], ...] = ((HOSTNAME, 3), (ZONE, 5))
# The controllers whose selector default spreading takes, by (apiVersion, kind) of the owner reference.
SPREAD_CONTROLLERS = frozenset({("v1", "ReplicationController"), ("apps/v1", "ReplicaSet"),
                                ("apps/v1", "StatefulSet")})
UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
MB = 1024 * 1024
IMAGE_MIN = 23 * MB
IMAGE_MAX_PER_CONTAINER = 1000 * MB
SCALAR_SKIP = ("cpu", "memory", "ephemeral-storage", "pods")


@dataclass
class Cluster:
    """A snapshot: nodes, the pods bound to them, namespace labels (for namespaceSelector) and the objects
    that select pods (for default spreading)."""

    nodes: Sequence[Node]
    pods: Sequence[Pod] = ()
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    hard_pod_affinity_weight: int = 1
    default_spread: bool = True  # PodTopologySpread defaultingType System (kube-scheduler's default)
    selecting: Sequence[Any] = ()  # Services, ReplicationControllers, ReplicaSets, StatefulSets

    def pods_on(self, node: Node) -> list[Pod]:
        """The pods bound to ``node``."""
        return [p for p in self.pods if p.spec.node_name == node.metadata.name]


# ------------------------------------------------------------------------------------------------ helpers
def _labels(obj: Any) -> Mapping[str, str]:
    return obj.metadata.labels or {}


def _ns(pod: Pod) -> str:
    return pod.metadata.namespace or "default"


def _selects(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    # A missing selector selects nothing (metav1.LabelSelectorAsSelector(nil) is labels.Nothing()).
    return selector is not None and selector.matches(labels)


def _with_label_keys(selector: LabelSelector | None, pod: Pod, match: Iterable[str],
                     mismatch: Iterable[str] = ()) -> LabelSelector | None:
    """matchLabelKeys / mismatchLabelKeys merged into the selector with the pod's own label values."""
    labels = _labels(pod)
    extra = [{"key": k, "operator": "In", "values": [labels[k]]} for k in match if k in labels]
    extra += [{"key": k, "operator": "NotIn", "values": [labels[k]]} for k in mismatch if k in labels]
    if selector is None or not extra:
        return selector
    d = selector.to_dict()
    d["matchExpressions"] = list(d.get("matchExpressions", [])) + extra
    return LabelSelector.from_dict(d)


def _tolerated(pod: Pod, taint: Taint) -> bool:
    return any(t.tolerates(taint) for t in pod.spec.tolerations)


def _required_node_affinity_matches(pod: Pod, node: Node) -> bool:
    labels = _labels(node)
    for k, v in (pod.spec.node_selector or {}).items():
        if labels.get(k) != v:
            return False
    affinity = pod.spec.affinity
    required = affinity.node_affinity.required if affinity and affinity.node_affinity else None
    return required is None or required.matches(labels, {"metadata.name": node.metadata.name})


def _node_requested(pods: Iterable[Pod]) -> dict[str, int]:
    total: dict[str, int] = {}
    for p in pods:
        for r, v in p.requests.items():
            total[r] = total.get(r, 0) + v
    return total


# ------------------------------------------------------------------------------------------------ affinity
@dataclass
class _Term:
    """A pod (anti-)affinity term of ``owner``, with its namespaces resolved and label keys merged."""

    selector: LabelSelector | None
    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None
    topology_key: str
    weight: int = 0

    def matches(self, pod: Pod, cluster: Cluster) -> bool:
        ns = _ns(pod)
        in_ns = ns in self.namespaces or (
            self.namespace_selector is not None and self.namespace_selector.matches(cluster.namespace_labels.get(ns, {})))
        return in_ns and _selects(self.selector, _labels(pod))


def _term(owner: Pod, t: Any, weight: int = 0) -> _Term:
    namespaces = frozenset(t.namespaces or ())
    if not namespaces and t.namespace_selector is None:
        namespaces = frozenset([_ns(owner)])
    return _Term(_with_label_keys(t.label_selector, owner, t.match_label_keys, t.mismatch_label_keys),
                 namespaces, t.namespace_selector, t.topology_key, weight)


def _terms(pod: Pod, kind: str, preferred: bool) -> list[_Term]:
    affinity = pod.spec.affinity
    part = getattr(affinity, kind, None) if affinity else None
    if part is None:
        return []
    if preferred:
        return [_term(pod, w.pod_affinity_term, w.weight) for w in part.preferred]
    return [_term(pod, t) for t in part.required]


def inter_pod_affinity_reason(pod: Pod, node: Node, cluster: Cluster) -> str | None:
    """InterPodAffinity's Filter alone: the reason ``pod`` may not go on ``node``, or None."""
    node_labels = _labels(node)
    by_name = {n.metadata.name: n for n in cluster.nodes}
    placed = [(p, by_name[p.spec.node_name]) for p in cluster.pods if p.spec.node_name in by_name]

    affinity = _terms(pod, "pod_affinity", False)
    if affinity:
        if any(t.topology_key not in node_labels for t in affinity):
            return "node(s) didn't match pod affinity rules"
        matching_all = [(p, n) for p, n in placed if all(t.matches(p, cluster) for t in affinity)]
        satisfied = all(any(_labels(n).get(t.topology_key) == node_labels[t.topology_key] for _, n in matching_all)
                        for t in affinity)
        if not satisfied:
            # The first pod of a group with affinity to itself may go anywhere if no pod matches any term
            # on any node carrying that term's topology key (affinityCounts is empty).
            counted = any(t.topology_key in _labels(n) for _, n in matching_all for t in affinity)
            if counted or not all(t.matches(pod, cluster) for t in affinity):
                return "node(s) didn't match pod affinity rules"

    for t in _terms(pod, "pod_anti_affinity", False):
        key = t.topology_key
        if key not in node_labels:
            continue
        if any(t.matches(p, cluster) and _labels(n).get(key) == node_labels[key] for p, n in placed):
            return "node(s) didn't match pod anti-affinity rules"

    # Existing pods' required anti-affinity toward the incoming pod.
    for other, other_node in placed:
        for t in _terms(other, "pod_anti_affinity", False):
            key = t.topology_key
            if (t.matches(pod, cluster) and key in _labels(other_node) and key in node_labels
                    and _labels(other_node)[key] == node_labels[key]):
                return "node(s) didn't satisfy existing pods anti-affinity rules"
    return None


def _inter_pod_affinity_raw(pod: Pod, node: Node, cluster: Cluster) -> int:
    node_labels = _labels(node)
    by_name = {n.metadata.name: n for n in cluster.nodes}
    total = 0
    for other in cluster.pods:
        other_node = by_name.get(other.spec.node_name or "")
        if other_node is None or not _labels(other_node):
            continue
        other_labels = _labels(other_node)

        def same_domain(key: str) -> bool:
            return key in other_labels and key in node_labels and other_labels[key] == node_labels[key]

        def weight(owner: Pod, kind: str, target: Pod) -> int:
            """The weights of ``owner``'s preferred ``kind`` terms that ``target`` satisfies here."""
            return sum(t.weight for t in _terms(owner, kind, True)
                       if t.matches(target, cluster) and same_domain(t.topology_key))

        total += weight(pod, "pod_affinity", other) - weight(pod, "pod_anti_affinity", other)
        if cluster.hard_pod_affinity_weight > 0:
            for t in _terms(other, "pod_affinity", False):
                if t.matches(pod, cluster) and same_domain(t.topology_key):
                    total += cluster.hard_pod_affinity_weight
        total += weight(other, "pod_affinity", pod) - weight(other, "pod_anti_affinity", pod)
    return total


# ------------------------------------------------------------------------------------------------ spreading
@dataclass
class _Constraint:
    max_skew: int
    topology_key: str
    selector: LabelSelector | None
    min_domains: int
    node_affinity_policy: str
    node_taints_policy: str

    def includes(self, pod: Pod, node: Node) -> bool:
        """The node inclusion policies: does ``node`` count for this constraint?"""
        if self.node_affinity_policy == "Honor" and not _required_node_affinity_matches(pod, node):
            return False
        if self.node_taints_policy == "Honor":
            if any(t.effect != "PreferNoSchedule" and not _tolerated(pod, t) for t in node.spec.taints):
                return False
        return True


def _selector_requirements(selector: Any) -> tuple:
    """A Service's / ReplicationController's label map or a LabelSelector, as requirements."""
    if isinstance(selector, LabelSelector):
        return selector.requirements
    return LabelSelector.from_set(selector or {}).requirements


def default_spread_selector(pod: Pod, cluster: Cluster) -> LabelSelector | None:
    """kube-scheduler's ``helper.DefaultSelector``: the selectors of every Service in the pod's namespace
    whose (non-empty) selector matches the pod's labels, and of the pod's controller when it is a
    ReplicationController, ReplicaSet or StatefulSet of ``cluster.selecting``, ANDed. None when that is
    empty: then the pod gets no default constraints.
    """
    namespace, labels = _ns(pod), _labels(pod)
    requirements: list[Any] = []
    for obj in cluster.selecting:
        if obj.kind != "Service" or _ns(obj) != namespace or not obj.spec.selector:
            continue
        if all(labels.get(k) == v for k, v in obj.spec.selector.items()):
            requirements += _selector_requirements(obj.spec.selector)
    owner = next((o for o in pod.metadata.owner_references or () if o.controller), None)
    if owner is not None and (owner.api_version, owner.kind) in SPREAD_CONTROLLERS:
        for obj in cluster.selecting:
            if obj.kind == owner.kind and obj.metadata.name == owner.name and _ns(obj) == namespace:
                requirements += _selector_requirements(obj.spec.selector)
    return LabelSelector(match_expressions=requirements) if requirements else None


def _constraints(pod: Pod, when: str, cluster: Cluster) -> tuple[list[_Constraint], bool]:
    """The pod's constraints with ``whenUnsatisfiable == when`` and whether they are system defaults."""
    own = pod.spec.topology_spread_constraints
    if own:
        out = [_Constraint(c.max_skew, c.topology_key, _with_label_keys(c.label_selector, pod, c.match_label_keys),
                           c.min_domains or 1, c.node_affinity_policy or "Honor", c.node_taints_policy or "Ignore")
               for c in own if c.when_unsatisfiable == when]
        return out, False
    if not cluster.default_spread or when != "ScheduleAnyway":
        return [], True
    selector = default_spread_selector(pod, cluster)
    if selector is None:
        return [], True
    return [_Constraint(skew, key, selector, 1, "Honor", "Ignore") for key, skew in SYSTEM_DEFAULT_CONSTRAINTS], True


def _spread_count(pods: Iterable[Pod], c: _Constraint, namespace: str) -> int:
    return sum(1 for p in pods if p.metadata.deletion_timestamp is None and _ns(p) == namespace
               and _selects(c.selector, _labels(p)))


def _has_all_keys(node: Node, constraints: Sequence[_Constraint]) -> bool:
    return all(c.topology_key in _labels(node) for c in constraints)


def topology_spread_reason(pod: Pod, node: Node, cluster: Cluster) -> str | None:
    """PodTopologySpread's Filter alone: the reason ``pod`` may not go on ``node``, or None."""
    constraints, _ = _constraints(pod, "DoNotSchedule", cluster)
    for c in constraints:
        if c.topology_key not in _labels(node):
            return "node(s) didn't match pod topology spread constraints (missing required label)"
        counts: dict[str, int] = {}
        for n in cluster.nodes:
            if not _has_all_keys(n, constraints) or not c.includes(pod, n):
                continue
            value = _labels(n)[c.topology_key]
            counts[value] = counts.get(value, 0) + _spread_count(cluster.pods_on(n), c, _ns(pod))
        minimum = min(counts.values()) if counts else 0
        if len(counts) < c.min_domains:
            minimum = 0
        self_match = 1 if _selects(c.selector, _labels(pod)) else 0
        skew = counts.get(_labels(node)[c.topology_key], 0) + self_match - minimum
        if skew > c.max_skew:
            return "node(s) didn't match pod topology spread constraints"
    return None


def _topology_spread_scores(pod: Pod, feasible: Sequence[Node], cluster: Cluster) -> dict[str, int]:
    constraints, defaulted = _constraints(pod, "ScheduleAnyway", cluster)
    if not constraints:
        return {n.metadata.name: 0 for n in feasible}
    require_all = not defaulted
    ignored = {n.metadata.name for n in feasible if require_all and not _has_all_keys(n, constraints)}
    domains: list[set[str]] = []
    for c in constraints:
        domains.append({_labels(n).get(c.topology_key, "") for n in feasible if n.metadata.name not in ignored})
    weights = []
    for i, c in enumerate(constraints):
        size = len(feasible) - len(ignored) if c.topology_key == HOSTNAME else len(domains[i])
        weights.append(math.log(size + 2))
    domain_counts: list[dict[str, int]] = [{} for _ in constraints]
    for n in cluster.nodes:
        if require_all and not _has_all_keys(n, constraints):
            continue
        for i, c in enumerate(constraints):
            if c.topology_key == HOSTNAME or not c.includes(pod, n):
                continue
            value = _labels(n).get(c.topology_key, "")
            if value in domains[i]:
                domain_counts[i][value] = domain_counts[i].get(value, 0) + _spread_count(cluster.pods_on(n), c, _ns(pod))
    raw: dict[str, int] = {}
    for n in feasible:
        name = n.metadata.name
        if name in ignored:
            continue
        score = 0.0
        for i, c in enumerate(constraints):
            if c.topology_key not in _labels(n):
                continue
            if c.topology_key == HOSTNAME:
                count = _spread_count(cluster.pods_on(n), c, _ns(pod))
            else:
                count = domain_counts[i].get(_labels(n)[c.topology_key], 0)
            score += count * weights[i] + (c.max_skew - 1)
        raw[name] = _round_half_away(score)
    out: dict[str, int] = {}
    top = max(raw.values(), default=0)
    low = min(raw.values(), default=0)
    for n in feasible:
        name = n.metadata.name
        if name in ignored:
            out[name] = 0
        elif top == 0:
            out[name] = MAX_NODE_SCORE
        else:
            out[name] = MAX_NODE_SCORE * (top + low - raw[name]) // top
    return out


def _round_half_away(x: float) -> int:
    """Go's math.Round: halves away from zero (Python's round() goes to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


# ------------------------------------------------------------------------------------------------ filters
def filter_node(pod: Pod, node: Node, cluster: Cluster) -> str | None:
    """Why ``pod`` cannot go on ``node`` (kube-scheduler's reason text), or None if it fits."""
    name = node.metadata.name
    if node.spec.unschedulable and not _tolerated(pod, UNSCHEDULABLE_TAINT):
        return "node(s) were unschedulable"
    if pod.spec.node_name and pod.spec.node_name != name:
        return "node(s) didn't match the requested node name"
    for taint in node.spec.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not _tolerated(pod, taint):
            return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"
    if not _required_node_affinity_matches(pod, node):
        return "node(s) didn't match Pod's node affinity/selector"
    on_node = cluster.pods_on(node)
    used = [hp for p in on_node for hp in p.host_ports]
    for ip, proto, port in pod.host_ports:
        for uip, uproto, uport in used:
            if proto == uproto and port == uport and (ip == uip or "0.0.0.0" in (ip, uip)):
                return "node(s) didn't have free ports for the requested pod ports"
    reason = _fit_reason(pod, node, on_node)
    if reason:
        return reason
    return topology_spread_reason(pod, node, cluster) or inter_pod_affinity_reason(pod, node, cluster)


def _fit_reason(pod: Pod, node: Node, on_node: Sequence[Pod]) -> str | None:
    allocatable = node.allocatable_resources
    if len(on_node) + 1 > allocatable.get("pods", 0):
        return "Too many pods"
    wanted = pod.requests
    if not any(wanted.get(r, 0) for r in wanted if r != "pods"):
        return None
    requested = _node_requested(on_node)
    for r in ("cpu", "memory", "ephemeral-storage"):
        if wanted.get(r, 0) > 0 and wanted[r] > allocatable.get(r, 0) - requested.get(r, 0):
            return f"Insufficient {r}"
    for r, v in sorted(wanted.items()):
        if r in SCALAR_SKIP or v == 0:
            continue
        if v > allocatable.get(r, 0) - requested.get(r, 0):
            return f"Insufficient {r}"
    return None


def filter_reasons(pod: Pod, cluster: Cluster) -> dict[str, str | None]:
    """For every node: the reason ``pod`` does not fit, or None."""
    return {n.metadata.name: filter_node(pod, n, cluster) for n in cluster.nodes}


# ------------------------------------------------------------------------------------------------ scores
def _least_allocated(pod: Pod, node: Node, on_node: Sequence[Pod]) -> int:
    allocatable = node.allocatable_resources
    total = weight_sum = 0
    for i, r in enumerate(("cpu", "memory")):
        capacity = allocatable.get(r, 0)
        if capacity == 0:
            continue
        requested = sum(p.non_zero_requests[i] for p in on_node) + pod.non_zero_requests[i]
        score = 0 if requested > capacity else (capacity - requested) * MAX_NODE_SCORE // capacity
        total += score
        weight_sum += 1
    return total // weight_sum if weight_sum else 0


def _balanced_allocation(pod: Pod, node: Node, on_node: Sequence[Pod]) -> int:
    if not (pod.requests.get("cpu", 0) or pod.requests.get("memory", 0)):
        return 0  # PreScore skips best-effort pods
    allocatable = node.allocatable_resources
    requested = _node_requested(on_node)
    fractions = []
    for r in ("cpu", "memory"):
        capacity = allocatable.get(r, 0)
        if capacity == 0:
            continue
        fractions.append(min(1.0, (requested.get(r, 0) + pod.requests.get(r, 0)) / capacity))
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


def _normalized_image_name(name: str) -> str:
    return name + ":latest" if name.rfind(":") <= name.rfind("/") else name


def _image_locality(pod: Pod, node: Node, cluster: Cluster) -> int:
    def sizes(n: Node) -> dict[str, int]:
        return {name: img.size_bytes or 0 for img in n.status.images for name in img.names}

    here = sizes(node)
    containers = list(pod.spec.init_containers) + list(pod.spec.containers)
    total = 0
    for c in containers:
        image = _normalized_image_name(c.image or "")
        if image in here:
            holders = sum(1 for n in cluster.nodes if image in sizes(n))
            total += int(here[image] * (holders / len(cluster.nodes)))
    top = IMAGE_MAX_PER_CONTAINER * len(containers)
    total = min(max(total, IMAGE_MIN), top)
    return MAX_NODE_SCORE * (total - IMAGE_MIN) // (top - IMAGE_MIN)


def _node_affinity_raw(pod: Pod, node: Node) -> int:
    affinity = pod.spec.affinity
    preferred = affinity.node_affinity.preferred if affinity and affinity.node_affinity else []
    fields = {"metadata.name": node.metadata.name}
    return sum(t.weight for t in preferred if t.preference.matches(_labels(node), fields))


def _taint_toleration_raw(pod: Pod, node: Node) -> int:
    tolerations = [t for t in pod.spec.tolerations if t.effect in ("", "PreferNoSchedule")]
    return sum(1 for taint in node.spec.taints
               if taint.effect == "PreferNoSchedule" and not any(t.tolerates(taint) for t in tolerations))


def _default_normalize(raw: dict[str, int], reverse: bool) -> dict[str, int]:
    top = max(raw.values(), default=0)
    if top == 0:
        return {k: MAX_NODE_SCORE if reverse else 0 for k in raw}
    out = {}
    for k, v in raw.items():
        s = MAX_NODE_SCORE * v // top
        out[k] = MAX_NODE_SCORE - s if reverse else s
    return out


def _min_max_normalize(raw: dict[str, int]) -> dict[str, int]:
    if not raw:
        return {}
    low, top = min(raw.values()), max(raw.values())
    if top == low:
        return {k: 0 for k in raw}
    return {k: int(MAX_NODE_SCORE * ((v - low) / (top - low))) for k, v in raw.items()}


def plugin_scores(pod: Pod, cluster: Cluster, feasible: Sequence[Node] | None = None) -> dict[str, dict[str, int]]:
    """Each score plugin's normalized score (0..100, before weights) for every feasible node."""
    if feasible is None:
        feasible = [n for n in cluster.nodes if filter_node(pod, n, cluster) is None]
    on = {n.metadata.name: cluster.pods_on(n) for n in feasible}
    out: dict[str, dict[str, int]] = {
        "NodeResourcesFit": {n.metadata.name: _least_allocated(pod, n, on[n.metadata.name]) for n in feasible},
        "NodeResourcesBalancedAllocation": {n.metadata.name: _balanced_allocation(pod, n, on[n.metadata.name])
                                            for n in feasible},
        "ImageLocality": {n.metadata.name: _image_locality(pod, n, cluster) for n in feasible},
        "NodeAffinity": _default_normalize({n.metadata.name: _node_affinity_raw(pod, n) for n in feasible}, False),
        "TaintToleration": _default_normalize({n.metadata.name: _taint_toleration_raw(pod, n) for n in feasible},
                                              True),
        "InterPodAffinity": _min_max_normalize({n.metadata.name: _inter_pod_affinity_raw(pod, n, cluster)
                                                for n in feasible}),
        "PodTopologySpread": _topology_spread_scores(pod, feasible, cluster),
    }
    return out


def total_scores(pod: Pod, cluster: Cluster, weights: Mapping[str, int] | None = None) -> dict[str, int]:
    """The weighted sum of every score plugin for every feasible node (the nodes that pass every filter)."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    feasible = [n for n in cluster.nodes if filter_node(pod, n, cluster) is None]
    per_plugin = plugin_scores(pod, cluster, feasible)
    return {n.metadata.name: sum(weights.get(p, 0) * s[n.metadata.name] for p, s in per_plugin.items())
            for n in feasible}


def best_score(pod: Pod, cluster: Cluster, weights: Mapping[str, int] | None = None) -> tuple[int | None, list[str]]:
    """The best total score and every node that has it; (None, []) when no node fits."""
    totals = total_scores(pod, cluster, weights)
    if not totals:
        return None, []
    top = max(totals.values())
    return top, sorted(k for k, v in totals.items() if v == top)
