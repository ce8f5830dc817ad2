"""apps/v1 StatefulSet: pods with stable names and storage, stamped from a template in ordinal order."""
from __future__ import annotations

from .apps import COUNT, MAX_UNAVAILABLE, WorkloadSpec, spec_fields, workload_status_fields
from .errors import FieldError
from .fieldtypes import Enum, Errors, ListOf, Raw, Str, join
from .meta import Condition, KubeObject, attach_kind, spec_and_status
from .schema import Field, Model, model

__all__ = ["RollingUpdateStatefulSetStrategy", "StatefulSetUpdateStrategy",
           "StatefulSetPersistentVolumeClaimRetentionPolicy", "StatefulSetOrdinals", "StatefulSetSpec",
           "StatefulSetStatus", "StatefulSet"]

_RETENTION = Enum("Retain", "Delete")


def _one_of(first: str, second: str) -> Str:
    """A string that must be one of two values, in the API server's "must be 'a' or 'b'" words."""
    message = f"must be '{first}' or '{second}'"
    return Str(lambda value: [] if value in (first, second) else [message])


@model
class RollingUpdateStatefulSetStrategy(Model):
    """``updateStrategy.rollingUpdate``: pods with an ordinal below ``partition`` keep the old template."""

    FIELDS = (Field("partition", COUNT), MAX_UNAVAILABLE)
    partition: int | None
    max_unavailable: int | str | None


@model
class StatefulSetUpdateStrategy(Model):
    """``spec.updateStrategy`` of a StatefulSet."""

    FIELDS = (
        Field("type", _one_of("RollingUpdate", "OnDelete")),
        Field("rolling_update", RollingUpdateStatefulSetStrategy),
    )
    type: str | None
    rolling_update: RollingUpdateStatefulSetStrategy | None

    def validate(self, path: str, errs: Errors) -> None:
        if self.type == "OnDelete" and self.rolling_update is not None:
            errs.append(FieldError(join(path, "rollingUpdate"), "only allowed for updateStrategy 'RollingUpdate'",
                                   str(self.rolling_update.to_dict())))


@model
class StatefulSetPersistentVolumeClaimRetentionPolicy(Model):
    """``spec.persistentVolumeClaimRetentionPolicy``: what happens to the claims on delete and scale-down."""

    FIELDS = (Field("when_deleted", _RETENTION), Field("when_scaled", _RETENTION))
    when_deleted: str | None
    when_scaled: str | None


@model
class StatefulSetOrdinals(Model):
    """``spec.ordinals``: the number the first replica's ordinal starts at."""

    FIELDS = (Field("start", COUNT),)
    start: int | None


@model
class StatefulSetSpec(WorkloadSpec):
    """``spec`` of a StatefulSet. ``volumeClaimTemplates`` are kept as JSON (PersistentVolumeClaims)."""

    SELECTOR_KIND = "statefulset"
    FIELDS = spec_fields("replicas", "selector", "template") + (
        Field("volume_claim_templates", ListOf(Raw())),
        Field("service_name", Str()),
        Field("pod_management_policy", _one_of("OrderedReady", "Parallel")),
        Field("update_strategy", StatefulSetUpdateStrategy),
    ) + spec_fields("revision_history_limit", "min_ready_seconds") + (
        Field("persistent_volume_claim_retention_policy", StatefulSetPersistentVolumeClaimRetentionPolicy),
        Field("ordinals", StatefulSetOrdinals),
    )
    replicas: int | None
    volume_claim_templates: list[dict]
    service_name: str | None
    pod_management_policy: str | None
    update_strategy: StatefulSetUpdateStrategy | None
    revision_history_limit: int | None
    persistent_volume_claim_retention_policy: StatefulSetPersistentVolumeClaimRetentionPolicy | None
    ordinals: StatefulSetOrdinals | None


@model
class StatefulSetStatus(Model):
    """``status`` of a StatefulSet."""

    FIELDS = workload_status_fields("replicas", "ready_replicas", "current_replicas", "updated_replicas",
                                    "available_replicas", "collision_count") + (
        Field("current_revision", Str()),
        Field("update_revision", Str()),
    )
    observed_generation: int | None
    replicas: int | None
    ready_replicas: int | None
    current_replicas: int | None
    updated_replicas: int | None
    available_replicas: int | None
    collision_count: int | None
    conditions: list[Condition]
    current_revision: str | None
    update_revision: str | None


@model
class StatefulSet(KubeObject):
    """A StatefulSet (apps/v1)."""

    FIELDS = spec_and_status(StatefulSetSpec, StatefulSetStatus)
    spec: StatefulSetSpec
    status: StatefulSetStatus


attach_kind(StatefulSet, "apps/v1", "StatefulSet", "statefulsets")
