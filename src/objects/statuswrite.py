"""Status writes (``update_status`` / ``patch_status``) on the models' codec, encoding only the status.

The general write path decodes the stored dict, copies it, rebuilds and validates the whole object
(``from_dict(defaults=True)``) and encodes all of it again, for a write that may only change ``status``.
The stored object was validated and defaulted when it was written, and no model's validation of the
status reads the spec or the metadata (the top-level rules of the kinds with a status model check the
metadata only), so the result is the same when only the new status is read and validated, the kind's
defaulting is applied to the old object carrying it (Node defaults ``status.allocatable`` from
``status.capacity``), and the stored dict gets the new status's dict in its place: what
``to_dict(from_dict(d, defaults=True))`` of the whole object would give, since the stored dict is the
models' own ``to_dict`` (the assumption ``Registry.bind`` makes too). Errors are the whole object's
(``Pod "p" is invalid: status.phase: ...``), with the same field paths.

Anything this cannot do exactly the same way is left to the general path (:data:`FALLBACK`): kinds
without a status model or with top-level rules of their own, a patch touching more than ``status`` and
the resourceVersion, a defaulting that changes more than the status, a stored object that does not decode.
"""
from __future__ import annotations

from typing import Any

from .defaulting import apply_defaults
from .errors import ValidationError
from .fieldtypes import Errors, Nested
from .meta import KubeObject, ObjectMeta
from .registrytypes import pack
from .schema import ABSENT, Field, absent

__all__ = ["FALLBACK", "UNSUPPORTED", "ABSENT_STATUS", "status_patch", "patched_status", "encode_status",
           "update_request", "is_as_read"]

FALLBACK: Any = object()      # this write goes the general way
UNSUPPORTED: Any = object()   # a status patch this module does not take
ABSENT_STATUS: Any = object()  # the written object has no ``status`` key

_STATUS_FIELDS: dict[type, Field | None] = {}


def _status_field(cls: type) -> Field | None:
    """The ``status`` Field of a kind whose status is a model and whose only top-level rule is
    ValidateObjectMeta; None for any other kind (GenericObject, Service's raw status, ...)."""
    try:
        return _STATUS_FIELDS[cls]
    except KeyError:
        pass
    field = None
    if issubclass(cls, KubeObject) and cls.validate is KubeObject.validate:
        field = cls._by_key.get("status")  # type: ignore[attr-defined]
        if field is None or not isinstance(field.type, Nested) or not field.always:
            field = None
    _STATUS_FIELDS[cls] = field
    return field


def status_patch(body: dict[str, Any]) -> Any:
    """The ``status`` part of a status merge patch that changes nothing else (its ``metadata`` at most a
    resourceVersion precondition): the patch value, :data:`ABSENT_STATUS` when the body has no status
    key, :data:`UNSUPPORTED` for any other body (names, uid or other fields, which the general path
    checks or ignores)."""
    for key in body:
        if key != "status" and key != "metadata":
            return UNSUPPORTED
    meta = body.get("metadata", ABSENT)
    if meta is not ABSENT and (type(meta) is not dict or any(k != "resourceVersion" for k in meta)):
        return UNSUPPORTED
    return body["status"] if "status" in body else ABSENT_STATUS


def patched_status(stored: dict[str, Any], patch: Any) -> Any:
    """The status after the merge patch (``status_patch``'s value): what ``merge_patch(stored, body)``
    holds under ``status``, :data:`ABSENT_STATUS` when it has none."""
    if patch is ABSENT_STATUS:
        return stored["status"] if "status" in stored else ABSENT_STATUS
    if patch is None:
        return ABSENT_STATUS  # {"status": null} removes it
    return _merge(stored.get("status"), patch)


def _merge(target: Any, patch: Any) -> Any:
    """``merge_patch`` without its copy of the patch's values: the merged status is only read (a model's
    ``_read`` copies what it keeps: new lists and maps, ``check_json`` copies of unknown fields), never
    stored or handed out, and copying the kubelet's conditions and containerStatuses was a fifth of a write."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = _merge(result.get(key), value)
        else:
            result[key] = value  # a list or a scalar replaces what was there
    return result


def read_part(part_cls: Any, raw: Any, path: str, kind: Any, name: Any) -> Any:
    """``raw`` read as the model ``part_cls`` at field ``path`` of an object of ``kind`` named ``name``, as
    reading the whole object reads it: its errors raised as the whole object's ValidationError; None where
    the read gives nothing (the caller's general path decides)."""
    errs: Errors = []
    part = part_cls._read(raw, "", path, errs)
    if errs:
        raise ValidationError(errs, kind=kind, name=name if type(name) is str else "")
    return part


def encode_status(old: Any, stored: dict[str, Any], raw: Any) -> Any:
    """(object, bytes) of the stored object ``old`` (decoded from ``stored``, the stored dict) with the
    status ``raw`` (a status dict as the client sent it, or :data:`ABSENT_STATUS`), validated and
    defaulted as the whole object would be; :data:`FALLBACK` where that might differ. Raises the whole
    object's ValidationError for an invalid status. ``stored`` is not changed."""
    cls = type(old)
    field = _status_field(cls)
    meta = stored.get("metadata")
    if field is None or raw is None or type(meta) is not dict or "resourceVersion" in meta:
        return FALLBACK
    status_cls = field.type.cls  # type: ignore[attr-defined]
    if raw is ABSENT_STATUS:
        status = absent(status_cls)
    else:
        status = read_part(status_cls, raw, "status", stored.get("kind"), meta.get("name"))
        if status is None:
            return FALLBACK
    obj = apply_defaults(old._copy(status=status))
    for f in cls.FIELDS:  # defaulting may change the status only: the rest is what is stored
        if f is not field and getattr(obj, f.attr) is not getattr(old, f.attr):
            return FALLBACK
    if obj.unknown_fields is not old.unknown_fields:
        return FALLBACK
    status = obj.status
    unknown = status.unknown_fields
    if unknown is ABSENT:
        emitted = status.to_dict()
        status_dict = emitted if emitted else ABSENT_STATUS
    elif unknown:
        status_dict = _packed_dict(status, unknown)
    else:
        status_dict = status.to_dict()
    # the stored dict with the new status where to_dict puts it: after the modelled fields before it,
    # before the unknown top-level fields
    out: dict[str, Any] = {}
    by_key = cls._by_key  # type: ignore[attr-defined]
    for f in cls.FIELDS:
        if f is field:
            if status_dict is not ABSENT_STATUS:
                out["status"] = status_dict
        elif f.key in stored:
            out[f.key] = stored[f.key]
    for k, v in stored.items():
        if k not in by_key:
            out[k] = v
    return obj, pack(out)


def _packed_dict(status: Any, unknown: dict[str, Any]) -> dict[str, Any]:
    """``status.to_dict()`` for packing only: the unknown fields (``_read``'s private copies, which the
    status object keeps) as they are instead of copied, in the place to_dict puts them, after the rest."""
    out = status._copy(unknown_fields=None).to_dict()
    out.update(unknown)
    return out


def update_request(obj: Any) -> Any:
    """(kind, name, namespace, resourceVersion, uid, status) of an ``update_status`` object: what the
    general path reads from ``to_dict(obj)``, read from the attributes, the status as its dict (or
    :data:`ABSENT_STATUS`); :data:`FALLBACK` when unknown fields could stand for any of them or the status
    does not write (the general path raises what to_dict raises)."""
    field = _status_field(type(obj))
    if field is None or obj.unknown_fields:
        return FALLBACK
    meta = obj.metadata
    if type(meta) is not ObjectMeta or meta.unknown_fields:
        return FALLBACK
    status = obj.status
    try:
        if status is None:
            raw = ABSENT_STATUS
        elif status.unknown_fields is ABSENT:
            raw = status.to_dict() or ABSENT_STATUS
        else:
            raw = status.to_dict()
    except Exception:  # noqa: BLE001 - a broken object: the general path's to_dict reports it in its order
        return FALLBACK
    return obj.kind, meta.name, meta.namespace, meta.resource_version, meta.uid, raw


def is_as_read(obj: Any, old: Any) -> bool:
    """Whether every part of ``obj`` but its status is the stored object ``old``'s own (``old.replace(
    status=...)``, as controllers write): then ``to_dict(obj)`` holds the stored parts, and only the status
    needs writing out."""
    cls = type(obj)
    if type(old) is not cls:
        return False
    field = _status_field(cls)
    for f in cls.FIELDS:
        if f is not field and getattr(obj, f.attr) is not getattr(old, f.attr):
            return False
    return True
