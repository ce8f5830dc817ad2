"""Spec updates (``Registry.update``) of an object as read, on the models' codec: only the spec is read again.

A node Lease renewal, 500 a second at 5,000 hollow nodes, is ``lease.replace(spec=lease.spec.replace(
renewTime=...))`` of the Lease last written, with its resourceVersion as precondition. The general update
writes the object out (``to_dict``), copies it, reads and validates all of it again
(``from_dict(defaults=True)``) and writes it out once more, for a write whose only new part is the spec.

When every part of the written object but its spec is the stored object's own (``is_as_read``: the object
remembered for the precondition's revision, the one the store holds, since the precondition holds), the
result is the same when only the new spec is read and validated from its dict, the kind's defaulting is
applied to the stored object carrying it, and the object is written out once: what
``to_dict(from_dict(to_dict(obj), defaults=True))`` gives, since the stored parts were read from what the
models wrote (the assumption ``objects.statuswrite`` makes). ``generation`` moves as the general path moves
it (when the spec after defaulting differs from the stored one). Errors are the whole object's, with the same
field paths.

Anything this cannot do exactly the same way goes the general path (:data:`FALLBACK`): kinds with a status,
top-level rules of their own, derived values or unknown top-level fields; Pods (whose update keeps admitted
fields); an update without a precondition; an object being deleted; a defaulting that changes more than
the spec; an object whose parts are not the stored object's own.
"""
from __future__ import annotations

from typing import Any

from .defaulting import apply_defaults
from .fieldtypes import Nested
from .meta import KubeObject, ObjectMeta
from .schema import ABSENT, Field, absent
from .statuswrite import read_part

__all__ = ["FALLBACK", "spec_field", "update_request", "is_as_read", "encode_spec"]

FALLBACK: Any = object()  # this update goes the general way

_SPEC_FIELDS: dict[type, Field | None] = {}
_TYPE_META = ("api_version", "kind", "metadata")


def spec_field(cls: type) -> Field | None:
    """The ``spec`` Field of a kind made of type meta, metadata and a spec model only, whose only top-level
    rule is ValidateObjectMeta and that derives nothing; None for any other kind."""
    try:
        return _SPEC_FIELDS[cls]
    except KeyError:
        pass
    field = None
    if issubclass(cls, KubeObject) and cls.validate is KubeObject.validate and not cls.DERIVED \
            and cls.KIND != "Pod":
        attrs = tuple(f.attr for f in cls.FIELDS)
        candidate = cls._by_key.get("spec")  # type: ignore[attr-defined]
        if attrs == _TYPE_META + ("spec",) and candidate is not None and isinstance(candidate.type, Nested) \
                and candidate.always:
            field = candidate
    _SPEC_FIELDS[cls] = field
    return field


def update_request(obj: Any) -> Any:
    """(kind, name, namespace, resourceVersion) of an ``update`` object this module may take, read from its
    attributes; :data:`FALLBACK` for any other (the general path reads them from ``to_dict(obj)``)."""
    if spec_field(type(obj)) is None or obj.unknown_fields:
        return FALLBACK
    meta = obj.metadata
    if type(meta) is not ObjectMeta or not meta.resource_version:
        return FALLBACK
    return obj.kind, meta.name, meta.namespace, meta.resource_version


def is_as_read(obj: Any, old: Any) -> bool:
    """Whether every part of ``obj`` but its spec is the stored object ``old``'s own (``old.replace(
    spec=...)``): then ``to_dict(obj)`` holds the stored parts, and only the spec is new."""
    cls = type(obj)
    if type(old) is not cls or old.unknown_fields is not obj.unknown_fields:
        return False
    return obj.api_version is old.api_version and obj.kind is old.kind and obj.metadata is old.metadata


def encode_spec(old: Any, spec: Any) -> Any:
    """(object, dict to store) of the stored object ``old`` with the spec model ``spec`` (as the client
    built it: read again from its dict), validated, defaulted and with ``generation`` as the general update
    gives them; :data:`FALLBACK` where that might differ. Raises the whole object's ValidationError for an
    invalid spec."""
    cls = type(old)
    field = spec_field(cls)
    meta = old.metadata
    if field is None or spec is None or meta.deletion_timestamp or meta.generation is None:
        return FALLBACK
    try:
        raw = _emitted(spec)
    except Exception:  # noqa: BLE001 - a broken spec: the general path's to_dict reports it in its order
        return FALLBACK
    spec_cls = field.type.cls  # type: ignore[attr-defined]
    if raw is None:
        read = absent(spec_cls)
    else:
        read = read_part(spec_cls, raw, "spec", old.kind, meta.name)
        if read is None:
            return FALLBACK
    obj = apply_defaults(old._copy(spec=read))
    if obj.metadata is not meta or obj.api_version is not old.api_version or obj.kind is not old.kind \
            or obj.unknown_fields is not old.unknown_fields:
        return FALLBACK  # the defaulting changed more than the spec
    generation = meta.generation
    if _emitted(obj.spec) != _emitted(old.spec):
        generation += 1
    obj = obj._copy(metadata=meta._copy(resource_version=None, generation=generation))
    return obj, obj.to_dict()


def _emitted(spec: Any) -> dict[str, Any] | None:
    """The spec's dict as ``to_dict`` of its object writes it, None when it writes none (the general path's
    ``stored.get("spec")``)."""
    if spec.unknown_fields is ABSENT:
        emitted = spec.to_dict()
        return emitted if emitted else None
    return spec.to_dict()
