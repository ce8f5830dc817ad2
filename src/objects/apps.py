"""apps/v1 workloads: ReplicaSet, Deployment, DaemonSet, and the pod template they stamp pods from."""
from __future__ import annotations

from typing import ClassVar

from .core import PodSpec
from .errors import FieldError
from .labels import LabelSelector
from .fieldtypes import INT64, Bool, Enum, Errors, Int, IntOrString, ListOf, join
from .meta import Condition, KubeObject, ObjectMeta, attach_kind, spec_and_status
from .schema import Field, Model, model
from .validation import percent_or_int

__all__ = ["PodTemplateSpec", "ReplicaSetSpec", "ReplicaSetStatus", "ReplicaSet", "RollingUpdateDeployment",
           "DeploymentStrategy", "DeploymentSpec", "DeploymentStatus", "Deployment",
           "RollingUpdateDaemonSet", "DaemonSetUpdateStrategy", "DaemonSetSpec", "DaemonSetStatus", "DaemonSet"]

COUNT = Int(0)


@model
class PodTemplateSpec(Model):
    """``spec.template`` of a workload: the metadata and spec of the pods it creates."""

    FIELDS = (
        Field("metadata", ObjectMeta, always=True),
        Field("spec", PodSpec, always=True),
    )
    metadata: ObjectMeta
    spec: PodSpec


# The spec fields the workload kinds share, by attribute: each kind's FIELDS picks its own from here.
SPEC_FIELDS = {f.attr: f for f in (
    Field("replicas", COUNT),
    Field("selector", LabelSelector),
    Field("template", PodTemplateSpec),
    Field("min_ready_seconds", COUNT),
    Field("revision_history_limit", COUNT),
)}
# maxUnavailable / maxSurge of the rolling-update knobs (Deployment, DaemonSet, StatefulSet)
MAX_UNAVAILABLE = Field("max_unavailable", IntOrString(percent_or_int))
MAX_SURGE = Field("max_surge", IntOrString(percent_or_int))


def spec_fields(*attrs: str) -> tuple[Field, ...]:
    """The shared spec fields named by ``attrs``, in that order."""
    return tuple(SPEC_FIELDS[a] for a in attrs)


def validate_template(template: PodTemplateSpec | None, path: str, errs: Errors) -> None:
    """ValidatePodTemplateSpecFor{ReplicaSet,RC,StatefulSet}: a template is required, and its pods must
    always restart (the controller, not the kubelet, replaces pods that end)."""
    if template is None:
        errs.append(FieldError(join(path, "template"), "", None, "Required value"))
        return
    policy = template.spec.restart_policy
    if policy is not None and policy != "Always":  # an unset policy defaults to Always
        errs.append(FieldError(join(path, "template.spec.restartPolicy"), 'supported values: "Always"', policy,
                               "Unsupported value"))


def validate_selector_matches_template(selector: LabelSelector | None, template: PodTemplateSpec | None,
                                       path: str, errs: Errors, kind: str = "deployment") -> None:
    """The API server's rule: a workload's selector is required, not empty, and selects its template
    (``kind`` names the workload in the empty-selector message, as each validator words it)."""
    if selector is None:
        errs.append(FieldError(join(path, "selector"), "", None, "Required value"))
        return
    if selector.empty:
        errs.append(FieldError(join(path, "selector"), f"empty selector is invalid for {kind}", "{}"))
        return
    if template is not None and not selector.matches(template.metadata.labels):
        errs.append(FieldError(join(path, "template.metadata.labels"),
                               "`selector` does not match template `labels`", str(template.metadata.labels)))


class WorkloadSpec(Model):
    """Base of the apps/v1 workload specs: a LabelSelector that must select a required pod template."""

    __slots__ = ()
    # the word the API server's empty-selector message uses for this kind (ReplicaSet says "deployment" too)
    SELECTOR_KIND: ClassVar[str] = "deployment"
    selector: LabelSelector | None
    template: PodTemplateSpec | None
    min_ready_seconds: int | None

    def validate(self, path: str, errs: Errors) -> None:
        validate_selector_matches_template(self.selector, self.template, path, errs, self.SELECTOR_KIND)
        validate_template(self.template, path, errs)


def workload_status_fields(*names: str) -> tuple[Field, ...]:
    """``status``: observedGeneration, the named counters, conditions."""
    return (Field("observed_generation", Int(0, INT64[1])),) + tuple(Field(n, COUNT) for n in names) + (
        Field("conditions", ListOf(Condition)),)


# ---------------------------------------------------------------------------------------------------------
# ReplicaSet


@model
class ReplicaSetSpec(WorkloadSpec):
    """``spec`` of a ReplicaSet: how many pods of the template, selected by ``selector``."""

    FIELDS = spec_fields("replicas", "min_ready_seconds", "selector", "template")
    replicas: int | None


@model
class ReplicaSetStatus(Model):
    """``status`` of a ReplicaSet."""

    FIELDS = workload_status_fields("replicas", "fully_labeled_replicas", "ready_replicas", "available_replicas")
    observed_generation: int | None
    replicas: int | None
    fully_labeled_replicas: int | None
    ready_replicas: int | None
    available_replicas: int | None
    conditions: list[Condition]


@model
class ReplicaSet(KubeObject):
    """A ReplicaSet (apps/v1)."""

    FIELDS = spec_and_status(ReplicaSetSpec, ReplicaSetStatus)
    spec: ReplicaSetSpec
    status: ReplicaSetStatus


attach_kind(ReplicaSet, "apps/v1", "ReplicaSet", "replicasets")


# ---------------------------------------------------------------------------------------------------------
# Deployment


@model
class RollingUpdateDeployment(Model):
    """``strategy.rollingUpdate``: how far a rollout may go over and under the desired count."""

    FIELDS = (MAX_UNAVAILABLE, MAX_SURGE)
    max_unavailable: int | str | None
    max_surge: int | str | None


@model
class DeploymentStrategy(Model):
    """``spec.strategy`` of a Deployment."""

    FIELDS = (
        Field("type", Enum("Recreate", "RollingUpdate")),
        Field("rolling_update", RollingUpdateDeployment),
    )
    type: str | None
    rolling_update: RollingUpdateDeployment | None

    def validate(self, path: str, errs: Errors) -> None:
        if self.type == "Recreate" and self.rolling_update is not None:
            errs.append(FieldError(join(path, "rollingUpdate"), "may not be specified when strategy `type` is "
                                   "'Recreate'", None, "Forbidden"))


@model
class DeploymentSpec(WorkloadSpec):
    """``spec`` of a Deployment."""

    FIELDS = spec_fields("replicas", "selector", "template") + (Field("strategy", DeploymentStrategy),) + \
        spec_fields("min_ready_seconds", "revision_history_limit") + (
        Field("paused", Bool()),
        Field("progress_deadline_seconds", COUNT),
    )
    replicas: int | None
    strategy: DeploymentStrategy | None
    revision_history_limit: int | None
    paused: bool | None
    progress_deadline_seconds: int | None


@model
class DeploymentStatus(Model):
    """``status`` of a Deployment."""

    FIELDS = workload_status_fields("replicas", "updated_replicas", "ready_replicas", "available_replicas",
                                    "unavailable_replicas", "collision_count")
    observed_generation: int | None
    replicas: int | None
    updated_replicas: int | None
    ready_replicas: int | None
    available_replicas: int | None
    unavailable_replicas: int | None
    collision_count: int | None
    conditions: list[Condition]


@model
class Deployment(KubeObject):
    """A Deployment (apps/v1)."""

    FIELDS = spec_and_status(DeploymentSpec, DeploymentStatus)
    spec: DeploymentSpec
    status: DeploymentStatus


attach_kind(Deployment, "apps/v1", "Deployment", "deployments")


# ---------------------------------------------------------------------------------------------------------
# DaemonSet


@model
class RollingUpdateDaemonSet(Model):
    """``updateStrategy.rollingUpdate`` of a DaemonSet."""

    FIELDS = (MAX_UNAVAILABLE, MAX_SURGE)
    max_unavailable: int | str | None
    max_surge: int | str | None


@model
class DaemonSetUpdateStrategy(Model):
    """``spec.updateStrategy`` of a DaemonSet."""

    FIELDS = (
        Field("type", Enum("OnDelete", "RollingUpdate")),
        Field("rolling_update", RollingUpdateDaemonSet),
    )
    type: str | None
    rolling_update: RollingUpdateDaemonSet | None


@model
class DaemonSetSpec(WorkloadSpec):
    """``spec`` of a DaemonSet: one pod of the template per eligible node."""

    SELECTOR_KIND = "daemonset"
    FIELDS = spec_fields("selector", "template") + (Field("update_strategy", DaemonSetUpdateStrategy),) + \
        spec_fields("min_ready_seconds", "revision_history_limit")
    update_strategy: DaemonSetUpdateStrategy | None
    revision_history_limit: int | None


@model
class DaemonSetStatus(Model):
    """``status`` of a DaemonSet."""

    FIELDS = workload_status_fields("current_number_scheduled", "number_misscheduled", "desired_number_scheduled",
                                    "number_ready", "updated_number_scheduled", "number_available",
                                    "number_unavailable", "collision_count")
    observed_generation: int | None
    current_number_scheduled: int | None
    number_misscheduled: int | None
    desired_number_scheduled: int | None
    number_ready: int | None
    updated_number_scheduled: int | None
    number_available: int | None
    number_unavailable: int | None
    collision_count: int | None
    conditions: list[Condition]


@model
class DaemonSet(KubeObject):
    """A DaemonSet (apps/v1)."""

    FIELDS = spec_and_status(DaemonSetSpec, DaemonSetStatus)
    spec: DaemonSetSpec
    status: DaemonSetStatus


attach_kind(DaemonSet, "apps/v1", "DaemonSet", "daemonsets")
