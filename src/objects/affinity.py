"""Scheduling constraints of a pod: node affinity, pod (anti-)affinity and topology spread constraints."""
from __future__ import annotations

from .errors import FieldError
from .labels import LabelSelector
from .nodeselector import NodeSelector, NodeSelectorTerm
from .fieldtypes import Enum, Errors, Int, ListOf, Str, StrList, join
from .schema import Field, Model, model
from .validation import dns1123_label, qualified_name

__all__ = ["Affinity", "NodeAffinity", "PreferredSchedulingTerm", "PodAffinity", "PodAntiAffinity",
           "PodAffinityTerm", "WeightedPodAffinityTerm", "TopologySpreadConstraint"]

REQUIRED_KEY = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED_KEY = "preferredDuringSchedulingIgnoredDuringExecution"


@model
class PreferredSchedulingTerm(Model):
    """A weighted node selector term of ``nodeAffinity.preferredDuringScheduling...``."""

    FIELDS = (
        Field("weight", Int(1, 100), required=True),
        Field("preference", NodeSelectorTerm, required=True),
    )
    weight: int
    preference: NodeSelectorTerm


@model
class NodeAffinity(Model):
    """``affinity.nodeAffinity``: a required NodeSelector and weighted preferred terms."""

    FIELDS = (
        Field("required", NodeSelector, REQUIRED_KEY),
        Field("preferred", ListOf(PreferredSchedulingTerm), PREFERRED_KEY),
    )
    required: NodeSelector | None
    preferred: list[PreferredSchedulingTerm]


@model
class PodAffinityTerm(Model):
    """Pods matching ``label_selector`` in ``namespaces`` (or ``namespace_selector``) on one topology domain.

    With neither ``namespaces`` nor ``namespace_selector`` the term means the pod's own namespace; an empty
    ``namespace_selector`` means every namespace (as in Kubernetes).
    """

    FIELDS = (
        Field("label_selector", LabelSelector),
        Field("namespaces", StrList(dns1123_label)),
        Field("topology_key", Str(qualified_name), required=True),
        Field("namespace_selector", LabelSelector),
        Field("match_label_keys", StrList(qualified_name)),
        Field("mismatch_label_keys", StrList(qualified_name)),
    )
    label_selector: LabelSelector | None
    namespaces: list[str]
    topology_key: str
    namespace_selector: LabelSelector | None
    match_label_keys: list[str]
    mismatch_label_keys: list[str]

    def validate(self, path: str, errs: Errors) -> None:
        if self.topology_key == "":
            errs.append(FieldError(join(path, "topologyKey"), "can not be empty", "", "Required value"))
        both = set(self.match_label_keys) & set(self.mismatch_label_keys)
        for key in sorted(both):
            errs.append(FieldError(join(path, "matchLabelKeys"),
                                   "exists in both matchLabelKeys and mismatchLabelKeys", key))
        if (self.match_label_keys or self.mismatch_label_keys) and self.label_selector is None:
            errs.append(FieldError(join(path, "labelSelector"),
                                   "must be specified when matchLabelKeys or mismatchLabelKeys is set",
                                   None, "Required value"))


@model
class WeightedPodAffinityTerm(Model):
    """A pod affinity term with a weight (1-100) for the preferred lists."""

    FIELDS = (
        Field("weight", Int(1, 100), required=True),
        Field("pod_affinity_term", PodAffinityTerm, required=True),
    )
    weight: int
    pod_affinity_term: PodAffinityTerm


_POD_AFFINITY_FIELDS = (
    Field("required", ListOf(PodAffinityTerm), REQUIRED_KEY),
    Field("preferred", ListOf(WeightedPodAffinityTerm), PREFERRED_KEY),
)


@model
class PodAffinity(Model):
    """``affinity.podAffinity``: be near pods matching the terms."""

    FIELDS = _POD_AFFINITY_FIELDS
    required: list[PodAffinityTerm]
    preferred: list[WeightedPodAffinityTerm]


@model
class PodAntiAffinity(Model):
    """``affinity.podAntiAffinity``: stay away from pods matching the terms."""

    FIELDS = _POD_AFFINITY_FIELDS
    required: list[PodAffinityTerm]
    preferred: list[WeightedPodAffinityTerm]


@model
class Affinity(Model):
    """``spec.affinity``."""

    FIELDS = (
        Field("node_affinity", NodeAffinity),
        Field("pod_affinity", PodAffinity),
        Field("pod_anti_affinity", PodAntiAffinity),
    )
    node_affinity: NodeAffinity | None
    pod_affinity: PodAffinity | None
    pod_anti_affinity: PodAntiAffinity | None


@model
class TopologySpreadConstraint(Model):
    """One entry of ``spec.topologySpreadConstraints``.

    Unset ``node_affinity_policy`` means Honor and unset ``node_taints_policy`` means Ignore, as in
    Kubernetes; ``min_domains`` only goes with ``whenUnsatisfiable: DoNotSchedule``.
    """

    FIELDS = (
        Field("max_skew", Int(1), required=True),
        Field("topology_key", Str(qualified_name), required=True),
        Field("when_unsatisfiable", Enum("DoNotSchedule", "ScheduleAnyway"), required=True),
        Field("label_selector", LabelSelector),
        Field("min_domains", Int(1)),
        Field("node_affinity_policy", Enum("Honor", "Ignore")),
        Field("node_taints_policy", Enum("Honor", "Ignore")),
        Field("match_label_keys", StrList(qualified_name)),
    )
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    label_selector: LabelSelector | None
    min_domains: int | None
    node_affinity_policy: str | None
    node_taints_policy: str | None
    match_label_keys: list[str]

    def validate(self, path: str, errs: Errors) -> None:
        if self.min_domains is not None and self.when_unsatisfiable == "ScheduleAnyway":
            errs.append(FieldError(join(path, "minDomains"),
                                   "can only use minDomains if whenUnsatisfiable=DoNotSchedule", self.min_domains))
