"""policy/v1: PodDisruptionBudget, which preemption and eviction respect."""
from __future__ import annotations

from .errors import FieldError
from .labels import LabelSelector
from .meta import Condition, KubeObject, attach_kind, spec_and_status
from .fieldtypes import INT64, Enum, Errors, Int, IntOrString, ListOf, StrMap, join
from .schema import Field, Model, model
from .validation import percent_or_int, timestamp

__all__ = ["PodDisruptionBudgetSpec", "PodDisruptionBudgetStatus", "PodDisruptionBudget"]


@model
class PodDisruptionBudgetSpec(Model):
    """``spec``: ``min_available`` or ``max_unavailable`` (an int or a percentage) of the selected pods.

    A missing selector selects no pods and an empty one every pod in the namespace (policy/v1).
    """

    FIELDS = (
        Field("min_available", IntOrString(percent_or_int)),
        Field("selector", LabelSelector),
        Field("max_unavailable", IntOrString(percent_or_int)),
        Field("unhealthy_pod_eviction_policy", Enum("IfHealthyBudget", "AlwaysAllow")),
    )
    min_available: int | str | None
    selector: LabelSelector | None
    max_unavailable: int | str | None
    unhealthy_pod_eviction_policy: str | None

    def validate(self, path: str, errs: Errors) -> None:
        if self.min_available is not None and self.max_unavailable is not None:
            errs.append(FieldError(path, "minAvailable and maxUnavailable cannot be both set",
                                   f"{self.min_available}, {self.max_unavailable}"))
        for key, value in (("minAvailable", self.min_available), ("maxUnavailable", self.max_unavailable)):
            if type(value) is str and value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) > 100:
                errs.append(FieldError(join(path, key), "must not be greater than 100%", value))


@model
class PodDisruptionBudgetStatus(Model):
    """``status``: how many disruptions are allowed right now."""

    FIELDS = (
        Field("observed_generation", Int(0, INT64[1])),
        Field("disrupted_pods", StrMap(None, timestamp)),
        Field("disruptions_allowed", Int(0)),
        Field("current_healthy", Int(0)),
        Field("desired_healthy", Int(0)),
        Field("expected_pods", Int(0)),
        Field("conditions", ListOf(Condition)),
    )
    observed_generation: int | None
    disrupted_pods: dict[str, str]
    disruptions_allowed: int | None
    current_healthy: int | None
    desired_healthy: int | None
    expected_pods: int | None
    conditions: list[Condition]


@model
class PodDisruptionBudget(KubeObject):
    """A PodDisruptionBudget (policy/v1)."""

    FIELDS = spec_and_status(PodDisruptionBudgetSpec, PodDisruptionBudgetStatus)
    spec: PodDisruptionBudgetSpec
    status: PodDisruptionBudgetStatus


attach_kind(PodDisruptionBudget, "policy/v1", "PodDisruptionBudget", "poddisruptionbudgets")
