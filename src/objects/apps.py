"""apps/v1 workloads: ReplicaSet, Deployment, DaemonSet, and the pod template they stamp pods from."""
from __future__ import annotations

from .core import PodSpec
from .errors import FieldError
from .labels import LabelSelector
from .meta import METADATA, TYPE_META, Condition, KubeObject, ObjectMeta, attach_kind
from .fieldtypes import INT64, Bool, Enum, Errors, Int, IntOrString, ListOf, join
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


def validate_selector_matches_template(selector: LabelSelector | None, template: PodTemplateSpec | None,
                                       path: str, errs: Errors) -> None:
    """The API server's rule: a workload's selector is required, not empty, and selects its template."""
    if selector is None:
        errs.append(FieldError(join(path, "selector"), "", None, "Required value"))
        return
    if selector.empty:
        errs.append(FieldError(join(path, "selector"), "empty selector is invalid for deployment", "{}"))
        return
    if template is not None and not selector.matches(template.metadata.labels):
        errs.append(FieldError(join(join(join(path, "template"), "metadata"), "labels"),
                               "`selector` does not match template `labels`", str(template.metadata.labels)))


def _workload_status_fields(*names: str) -> tuple[Field, ...]:
    return (Field("observed_generation", Int(0, INT64[1])),) + tuple(Field(n, COUNT) for n in names) + (
        Field("conditions", ListOf(Condition)),)


# ---------------------------------------------------------------------------------------------------------
# ReplicaSet


@model
class ReplicaSetSpec(Model):
    """``spec`` of a ReplicaSet: how many pods of the template, selected by ``selector``."""

    FIELDS = (
        Field("replicas", COUNT),
        Field("min_ready_seconds", COUNT),
        Field("selector", LabelSelector),
        Field("template", PodTemplateSpec),
    )
    replicas: int | None
    min_ready_seconds: int | None
    selector: LabelSelector | None
    template: PodTemplateSpec | None

    def validate(self, path: str, errs: Errors) -> None:
        validate_selector_matches_template(self.selector, self.template, path, errs)
        if self.template is None:
            errs.append(FieldError(join(path, "template"), "", None, "Required value"))


@model
class ReplicaSetStatus(Model):
    """``status`` of a ReplicaSet."""

    FIELDS = _workload_status_fields("replicas", "fully_labeled_replicas", "ready_replicas",
                                     "available_replicas")
    observed_generation: int | None
    replicas: int | None
    fully_labeled_replicas: int | None
    ready_replicas: int | None
    available_replicas: int | None
    conditions: list[Condition]


@model
class ReplicaSet(KubeObject):
    """A ReplicaSet (apps/v1)."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", ReplicaSetSpec, always=True),
        Field("status", ReplicaSetStatus, always=True),
    )
    spec: ReplicaSetSpec
    status: ReplicaSetStatus


attach_kind(ReplicaSet, "apps/v1", "ReplicaSet", "replicasets")


# ---------------------------------------------------------------------------------------------------------
# Deployment


@model
class RollingUpdateDeployment(Model):
    """``strategy.rollingUpdate``: how far a rollout may go over and under the desired count."""

    FIELDS = (
        Field("max_unavailable", IntOrString(percent_or_int)),
        Field("max_surge", IntOrString(percent_or_int)),
    )
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
class DeploymentSpec(Model):
    """``spec`` of a Deployment."""

    FIELDS = (
        Field("replicas", COUNT),
        Field("selector", LabelSelector),
        Field("template", PodTemplateSpec),
        Field("strategy", DeploymentStrategy),
        Field("min_ready_seconds", COUNT),
        Field("revision_history_limit", COUNT),
        Field("paused", Bool()),
        Field("progress_deadline_seconds", COUNT),
    )
    replicas: int | None
    selector: LabelSelector | None
    template: PodTemplateSpec | None
    strategy: DeploymentStrategy | None
    min_ready_seconds: int | None
    revision_history_limit: int | None
    paused: bool | None
    progress_deadline_seconds: int | None

    def validate(self, path: str, errs: Errors) -> None:
        validate_selector_matches_template(self.selector, self.template, path, errs)
        if self.template is None:
            errs.append(FieldError(join(path, "template"), "", None, "Required value"))


@model
class DeploymentStatus(Model):
    """``status`` of a Deployment."""

    FIELDS = _workload_status_fields("replicas", "updated_replicas", "ready_replicas", "available_replicas",
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

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", DeploymentSpec, always=True),
        Field("status", DeploymentStatus, always=True),
    )
    spec: DeploymentSpec
    status: DeploymentStatus


attach_kind(Deployment, "apps/v1", "Deployment", "deployments")


# ---------------------------------------------------------------------------------------------------------
# DaemonSet


@model
class RollingUpdateDaemonSet(Model):
    """``updateStrategy.rollingUpdate`` of a DaemonSet."""

    FIELDS = (
        Field("max_unavailable", IntOrString(percent_or_int)),
        Field("max_surge", IntOrString(percent_or_int)),
    )
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
class DaemonSetSpec(Model):
    """``spec`` of a DaemonSet: one pod of the template per eligible node."""

    FIELDS = (
        Field("selector", LabelSelector),
        Field("template", PodTemplateSpec),
        Field("update_strategy", DaemonSetUpdateStrategy),
        Field("min_ready_seconds", COUNT),
        Field("revision_history_limit", COUNT),
    )
    selector: LabelSelector | None
    template: PodTemplateSpec | None
    update_strategy: DaemonSetUpdateStrategy | None
    min_ready_seconds: int | None
    revision_history_limit: int | None

    def validate(self, path: str, errs: Errors) -> None:
        validate_selector_matches_template(self.selector, self.template, path, errs)
        if self.template is None:
            errs.append(FieldError(join(path, "template"), "", None, "Required value"))


@model
class DaemonSetStatus(Model):
    """``status`` of a DaemonSet."""

    FIELDS = _workload_status_fields("current_number_scheduled", "number_misscheduled",
                                     "desired_number_scheduled", "number_ready", "updated_number_scheduled",
                                     "number_available", "number_unavailable", "collision_count")
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

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", DaemonSetSpec, always=True),
        Field("status", DaemonSetStatus, always=True),
    )
    spec: DaemonSetSpec
    status: DaemonSetStatus


attach_kind(DaemonSet, "apps/v1", "DaemonSet", "daemonsets")
