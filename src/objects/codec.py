"""Reading and writing objects: dicts, YAML / JSON manifests (multi-document, ``List`` kinds) and msgpack.

``from_dict`` picks the model by ``apiVersion`` group and ``kind``; a kind it does not model loads as a
:class:`GenericObject` that keeps every field.  Every read validates (see :mod:`objects.validation`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import msgpack
import yaml

from .errors import FieldError, ValidationError
from .generic import GenericObject
from .meta import KubeObject
from .fieldtypes import json_type

__all__ = ["from_dict", "to_dict", "load", "dumps_yaml", "to_msgpack", "from_msgpack", "register_kind",
           "kind_class", "KINDS"]

KINDS: dict[tuple[str, str], type[KubeObject]] = {}


def register_kind(cls: type[KubeObject]) -> type[KubeObject]:
    """Make ``from_dict`` read ``cls.KIND`` of ``cls.API_VERSION``'s group as ``cls``."""
    KINDS[(_group(cls.API_VERSION), cls.KIND)] = cls
    return cls


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def kind_class(api_version: str, kind: str) -> type[KubeObject]:
    """The model class for ``kind`` in ``api_version``'s group (any version), else GenericObject."""
    return KINDS.get((_group(api_version), kind), GenericObject)


def from_dict(data: Any, *, defaults: bool = False, priority_classes: Any = None) -> Any:
    """The typed object for a Kubernetes JSON object (a dict as ``json.loads`` or YAML gives it).

    Validates on the way in: raises :class:`ValidationError` listing every problem with its field path,
    whatever the shape of ``data``.  With ``defaults=True`` the API server's defaulting is applied too
    (see :func:`objects.defaulting.apply_defaults`); by default the object is kept as written, so
    ``to_dict(from_dict(d))`` gives ``d`` back.
    """
    if not isinstance(data, dict):
        raise ValidationError(FieldError("", "must be of type object", json_type(data)))
    errs: list[FieldError] = []
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if api_version is None:
        errs.append(FieldError("apiVersion", "", None, "Required value"))
    elif type(api_version) is not str:
        errs.append(FieldError("apiVersion", "must be of type string", json_type(api_version)))
    if kind is None:
        errs.append(FieldError("kind", "", None, "Required value"))
    elif type(kind) is not str:
        errs.append(FieldError("kind", "must be of type string", json_type(kind)))
    if errs:
        raise ValidationError(errs, kind=kind if type(kind) is str else "", name=_name_of(data))
    cls = kind_class(api_version, kind)
    obj = cls._read(data, "", "", errs)
    if errs or obj is None:
        raise ValidationError(errs, kind=kind, name=_name_of(data))
    if defaults:
        from .defaulting import apply_defaults
        obj = apply_defaults(obj, priority_classes=priority_classes)
    return obj


def _name_of(data: dict[str, Any]) -> str:
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if type(name) is str else ""


def to_dict(obj: Any) -> dict[str, Any]:
    """The Kubernetes JSON shape of an object: camelCase, no unset or empty fields, unknown fields kept."""
    return obj.to_dict()  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------------------
# Manifests


class _ManifestLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as the strings they are (the API server's JSON has no dates)."""


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_documents(text: str) -> list[Any]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        docs = _json_stream(stripped)
        if docs is not None:
            return docs
    try:
        return [d for d in yaml.load_all(text, Loader=_ManifestLoader) if d is not None]
    except yaml.YAMLError as e:
        raise ValidationError(FieldError("", f"invalid YAML: {e}", "manifest")) from None
    except RecursionError:
        raise ValidationError(FieldError("", "invalid YAML: nested too deeply", "manifest")) from None


def _json_stream(text: str) -> list[Any] | None:
    """The values of a JSON text holding one value or several in a row (as kubectl accepts), else None."""
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    try:
        while pos < len(text):
            value, pos = decoder.raw_decode(text, pos)
            if isinstance(value, list):
                docs.extend(value)
            else:
                docs.append(value)
            while pos < len(text) and text[pos].isspace():
                pos += 1
    except (ValueError, RecursionError):
        return None  # not JSON after all: YAML flow style also starts with { or [
    return docs


def _expand_lists(docs: Iterable[Any]) -> list[Any]:
    """Documents with the items of ``List`` / ``PodList`` ... kinds spliced in, in order."""
    out = []
    for doc in docs:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if type(kind) is str and kind.endswith("List") and isinstance(doc.get("items"), list):
            out.extend(doc["items"])
        else:
            out.append(doc)
    return out


def load(source: str | bytes | os.PathLike[str], *, defaults: bool = False, priority_classes: Any = None,
         strict: bool = False) -> list[Any]:
    """Every object in a YAML (multi-document) or JSON manifest, ``List`` kinds expanded, in order.

    ``source`` is a path (``Path`` or a string naming an existing file; a one-line string ending in .yaml,
    .yml or .json that names no file raises FileNotFoundError), the manifest text itself, or its bytes
    (UTF-8, or UTF-16/32 with a byte order mark, as YAML readers take them).
    Raises :class:`ValidationError` for unreadable text; for invalid objects it lists every problem of
    every document, each path prefixed with the document's position (``[2].spec.containers``).
    ``strict=True`` (``kubectl --validate=strict``) also refuses fields that Kubernetes does not have in
    the parts of modelled kinds (``spec.nodeSelectr: Invalid value: ...: unknown field``); the default keeps
    them, as the API server's lenient decoding does.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        text = _decode_bytes(bytes(source))
    elif isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                             and os.path.isfile(source)):
        text = _decode_bytes(Path(source).read_bytes())
    elif not isinstance(source, str):
        raise ValidationError(FieldError("source", "a manifest is a path, its text (str) or its bytes",
                                         type(source).__name__))
    elif "\n" not in source and source.endswith((".yaml", ".yml", ".json")):
        raise FileNotFoundError(f"no manifest file {source!r}")
    else:
        text = source
    docs = _expand_lists(_read_documents(text))
    objects, errors = [], []
    for i, doc in enumerate(docs):
        try:
            obj = from_dict(doc, defaults=defaults, priority_classes=priority_classes)
            if strict:
                from .strict import unknown_fields
                problems = unknown_fields(obj)
                if problems:
                    raise ValidationError(problems, kind=obj.kind or "", name=_name_of(doc))
            objects.append(obj)
        except ValidationError as e:
            prefix = f"[{i}]" if len(docs) > 1 else ""
            head = f"{e.kind} {e.name!r}: " if e.kind else ""
            errors.extend(FieldError(f"{prefix}{'.' if prefix and err.path else ''}{err.path}",
                                     head + err.message if err.message else err.message, err.value, err.type)
                          for err in e.errors)
    if errors:
        raise ValidationError(errors)
    return objects


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _decode_bytes(data: bytes) -> str:
    """Manifest bytes as text: UTF-8 (a BOM is dropped), or UTF-16/32 announced by a byte order mark."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8-sig")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise ValidationError(FieldError("", f"cannot be decoded as {encoding.replace('-sig', '')}: {e}",
                                         "manifest")) from None


def dumps_yaml(objs: Any) -> str:
    """A YAML manifest of one object or a list of objects (multi-document), as ``kubectl get -o yaml``."""
    items = objs if isinstance(objs, (list, tuple)) else [objs]
    return yaml.safe_dump_all([to_dict(o) for o in items], sort_keys=False)


# ---------------------------------------------------------------------------------------------------------
# msgpack (storage)


def to_msgpack(obj: Any) -> bytes:
    """The object's JSON shape in msgpack, as the registry stores it."""
    return msgpack.packb(to_dict(obj), use_bin_type=True)  # type: ignore[no-any-return]


def from_msgpack(data: bytes) -> Any:
    """Read an object written by :func:`to_msgpack` (validated like any read)."""
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as e:  # noqa: BLE001 - msgpack raises several types for damaged bytes
        raise ValidationError(FieldError("", f"cannot be decoded as msgpack: {e}", "bytes")) from None
    return from_dict(raw)


def _register_builtin_kinds() -> None:
    from . import (apps, batch, controllerrevision, coordination, core, discovery, event, policy, priority,
                   replicationcontroller, statefulset)
    for cls in (core.Pod, core.Node, core.Namespace, core.Service, core.Endpoints, core.ConfigMap,
                replicationcontroller.ReplicationController, apps.ReplicaSet, apps.Deployment, apps.DaemonSet,
                statefulset.StatefulSet, policy.PodDisruptionBudget,
                priority.PriorityClass, coordination.Lease, batch.Job, discovery.EndpointSlice, event.Event,
                controllerrevision.ControllerRevision):
        register_kind(cls)


_register_builtin_kinds()
