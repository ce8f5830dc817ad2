"""apps/v1 ControllerRevision: an immutable snapshot of a workload's template, numbered by revision."""
from __future__ import annotations

from typing import Any

from .fieldtypes import INT64, Int, Raw
from .meta import METADATA, TYPE_META, KubeObject, attach_kind
from .schema import Field, model

__all__ = ["ControllerRevision"]


@model
class ControllerRevision(KubeObject):
    """A ControllerRevision (apps/v1): ``data`` (the patch a DaemonSet / StatefulSet controller stores)
    and its ``revision`` number."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("data", Raw()),
        Field("revision", Int(0, INT64[1]), required=True),
    )
    data: Any
    revision: int


attach_kind(ControllerRevision, "apps/v1", "ControllerRevision", "controllerrevisions")
