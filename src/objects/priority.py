"""scheduling.k8s.io/v1: PriorityClass, which maps a pod's ``priorityClassName`` to its priority."""
from __future__ import annotations

from .errors import FieldError
from .meta import METADATA, TYPE_META, KubeObject, attach_kind
from .fieldtypes import Bool, Enum, Errors, Int, Str
from .schema import Field, model

__all__ = ["PriorityClass", "HIGHEST_USER_DEFINABLE_PRIORITY", "SYSTEM_CRITICAL_PRIORITY"]

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY


@model
class PriorityClass(KubeObject):
    """A PriorityClass (cluster-scoped).  ``value`` is required; values above 1000000000 are reserved for
    classes whose name starts with "system-", as the API server enforces."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("value", Int(), required=True),
        Field("global_default", Bool()),
        Field("description", Str()),
        Field("preemption_policy", Enum("PreemptLowerPriority", "Never")),
    )
    value: int
    global_default: bool | None
    description: str | None
    preemption_policy: str | None

    def validate(self, path: str, errs: Errors) -> None:
        KubeObject.validate(self, path, errs)  # no super(): @model rebuilds the class
        name = self.metadata.name or ""
        if type(self.value) is int and self.value > HIGHEST_USER_DEFINABLE_PRIORITY \
                and not name.startswith("system-"):
            errs.append(FieldError("value", f"maximum allowed value of a user defined priority is "
                                   f"{HIGHEST_USER_DEFINABLE_PRIORITY}", self.value, "Forbidden"))
        if name.startswith("system-") and type(self.value) is int \
                and self.value > SYSTEM_CRITICAL_PRIORITY + 1000:
            errs.append(FieldError("value", f"must be at most {SYSTEM_CRITICAL_PRIORITY + 1000}", self.value))


attach_kind(PriorityClass, "scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", namespaced=False)
