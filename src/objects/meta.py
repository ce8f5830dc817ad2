"""Object metadata shared by every kind: ObjectMeta, OwnerReference, Condition, and the top-level base."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

from .errors import FieldError
from .fieldtypes import INT64, Bool, Enum, Errors, Int, ListOf, Str, StrList, StrMap, join
from .schema import Field, Model, model
from .validation import dns1123_label, dns1123_subdomain, label_value, name_prefix, qualified_name, timestamp

__all__ = ["ObjectMeta", "OwnerReference", "Condition", "KubeObject", "TYPE_META", "METADATA", "spec_and_status"]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024  # bytes, as the API server's TotalAnnotationSizeLimitB


@model
class OwnerReference(Model):
    """The object that owns this one (``metadata.ownerReferences[]``); garbage collection follows it."""

    FIELDS = (
        Field("api_version", Str(), required=True),
        Field("kind", Str(), required=True),
        Field("name", Str(), required=True),
        Field("uid", Str(), required=True),
        Field("controller", Bool()),
        Field("block_owner_deletion", Bool()),
    )
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None
    block_owner_deletion: bool | None


@model
class ObjectMeta(Model):
    """``metadata``: the name, namespace, identity, version, labels and ownership of every object."""

    FIELDS = (
        Field("name", Str()),
        Field("generate_name", Str()),
        Field("namespace", Str(dns1123_label)),
        Field("uid", Str()),
        Field("resource_version", Str()),
        Field("generation", Int(0, INT64[1])),
        Field("creation_timestamp", Str(timestamp)),
        Field("deletion_timestamp", Str(timestamp)),
        Field("labels", StrMap(qualified_name, label_value)),
        Field("annotations", StrMap(qualified_name)),
        Field("owner_references", ListOf(OwnerReference)),
        Field("finalizers", StrList(qualified_name)),
        Field("deletion_grace_period_seconds", Int(0, INT64[1])),
    )
    name: str | None
    generate_name: str | None
    namespace: str | None
    uid: str | None
    resource_version: str | None
    generation: int | None
    creation_timestamp: str | None
    deletion_timestamp: str | None
    deletion_grace_period_seconds: int | None
    labels: dict[str, str]
    annotations: dict[str, str]
    owner_references: list[OwnerReference]
    finalizers: list[str]

    def validate(self, path: str, errs: Errors) -> None:
        if self.annotations:
            size = sum(len(k) + len(v) for k, v in self.annotations.items() if type(v) is str)
            if size > TOTAL_ANNOTATION_SIZE_LIMIT:
                errs.append(FieldError(join(path, "annotations"),
                                       f"must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes", size, "Too long"))
        controllers = [i for i, o in enumerate(self.owner_references) if o is not None and o.controller]
        if len(controllers) > 1:
            errs.append(FieldError(join(path, "ownerReferences"),
                                   "Only one reference can have Controller set to true", len(controllers)))


@model
class Condition(Model):
    """One entry of ``status.conditions`` (PodCondition, NodeCondition, DeploymentCondition, ...)."""

    LISTS_REMEMBERED = 512  # kubelets write the same conditions for every pod of a second (objects.listmemo)
    FIELDS = (
        Field("type", Str(), required=True),
        Field("status", Enum("True", "False", "Unknown"), required=True),
        Field("observed_generation", Int(0, INT64[1])),
        Field("last_probe_time", Str(timestamp)),
        Field("last_heartbeat_time", Str(timestamp)),
        Field("last_update_time", Str(timestamp)),
        Field("last_transition_time", Str(timestamp)),
        Field("reason", Str()),
        Field("message", Str()),
    )
    type: str
    status: str
    observed_generation: int | None
    last_probe_time: str | None
    last_heartbeat_time: str | None
    last_update_time: str | None
    last_transition_time: str | None
    reason: str | None
    message: str | None


TYPE_META = (Field("api_version", Str()), Field("kind", Str()))
METADATA = Field("metadata", ObjectMeta, always=True)


def spec_and_status(spec: type[Model], status: type[Model]) -> tuple[Field, ...]:
    """The top-level FIELDS of a kind with a ``spec`` and a ``status``: type meta, metadata, spec, status."""
    return TYPE_META + (METADATA, Field("spec", spec, always=True), Field("status", status, always=True))


class KubeObject(Model):
    """Base of every top-level kind: ``apiVersion``, ``kind``, ``metadata`` and the kind's own fields.

    Class attributes tell the registry how to store the kind: ``API_VERSION``, ``KIND``, ``RESOURCE``
    (the plural the API server uses in paths and keys), ``NAMESPACED``; ``NAME_RULE`` checks
    ``metadata.name``.
    """

    # weakly referenceable: a Registry shares one decoded object per (key, revision) while anyone holds it
    __slots__ = ("__weakref__",)
    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = ""
    RESOURCE: ClassVar[str] = ""
    NAMESPACED: ClassVar[bool | None] = True
    NAME_RULE: ClassVar[Callable[[str], list[str]]] = staticmethod(dns1123_subdomain)  # type: ignore[assignment]
    api_version: str | None
    kind: str | None
    metadata: ObjectMeta

    @property
    def key(self) -> str:
        """``namespace/name`` for namespaced objects (namespace "default" when unset), else ``name``."""
        meta = self.metadata
        if self.NAMESPACED is False:
            return meta.name or ""
        return f"{meta.namespace or 'default'}/{meta.name or ''}"

    def validate(self, path: str, errs: Errors) -> None:
        validate_object_meta(self, errs)


def validate_object_meta(obj: KubeObject, errs: Errors) -> None:
    """ValidateObjectMeta: a name or generateName, names by the kind's rule, namespace only if namespaced."""
    meta = obj.metadata
    rule = type(obj).NAME_RULE
    if meta.name is None and meta.generate_name is None:
        errs.append(FieldError("metadata.name", "name or generateName is required", None, "Required value"))
    if meta.name is not None:
        for problem in rule(meta.name):
            errs.append(FieldError("metadata.name", problem, meta.name))
    if meta.generate_name is not None:
        for problem in name_prefix(rule)(meta.generate_name):
            errs.append(FieldError("metadata.generateName", problem, meta.generate_name))
    if obj.NAMESPACED is False and meta.namespace:
        errs.append(FieldError("metadata.namespace", "not allowed on this type", meta.namespace, "Forbidden"))


def attach_kind(cls: Any, api_version: str, kind: str, resource: str, namespaced: bool | None = True,
                name_rule: Callable[[str], list[str]] | None = None) -> None:
    """Record a kind's identity on its class (used by the decorator-built classes)."""
    cls.API_VERSION, cls.KIND, cls.RESOURCE, cls.NAMESPACED = api_version, kind, resource, namespaced
    if name_rule is not None:
        cls.NAME_RULE = staticmethod(name_rule)
