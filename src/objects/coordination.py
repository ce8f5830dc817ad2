"""coordination.k8s.io/v1: Lease, the lock that leader election and node heartbeats use."""
from __future__ import annotations

from .meta import METADATA, TYPE_META, KubeObject, attach_kind
from .fieldtypes import Int, Str
from .schema import Field, Model, model
from .validation import timestamp

__all__ = ["LeaseSpec", "Lease"]


@model
class LeaseSpec(Model):
    """``spec`` of a Lease: who holds it, since when, for how long (MicroTime strings)."""

    FIELDS = (
        Field("holder_identity", Str()),
        Field("lease_duration_seconds", Int(1)),
        Field("acquire_time", Str(timestamp)),
        Field("renew_time", Str(timestamp)),
        Field("lease_transitions", Int(0)),
        Field("strategy", Str()),
        Field("preferred_holder", Str()),
    )
    holder_identity: str | None
    lease_duration_seconds: int | None
    acquire_time: str | None
    renew_time: str | None
    lease_transitions: int | None
    strategy: str | None
    preferred_holder: str | None


@model
class Lease(KubeObject):
    """A Lease (coordination.k8s.io/v1)."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", LeaseSpec, always=True),
    )
    spec: LeaseSpec


attach_kind(Lease, "coordination.k8s.io/v1", "Lease", "leases")
