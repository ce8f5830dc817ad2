"""OpenAPI v3 (``/openapi/v3`` and ``/openapi/v3/<api|apis/group>/<version>``), built from the objects models.

kubectl reads it for ``explain`` and, before ``apply``/``create``, to learn that the server validates
(``fieldValidation`` on each PATCH operation): it then sends ``fieldValidation=Strict`` instead of
downloading ``/openapi/v2``, which it only reads as protobuf (not served). Schemas name the modelled
fields with their JSON types; a model keeps fields it does not model, so every object schema also
preserves unknown fields; kinds without a model are free-form objects.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import objects
from objects import fieldtypes

from .bodies import dumps
from .discovery import KUBERNETES_VERSION
from .resources import APIResource, Catalog

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _package(group: str) -> str:
    return group.split(".")[0] if group else "core"


class _Schemas:
    """The components.schemas of one document, one entry per model class reached."""

    def __init__(self, group: str, version: str) -> None:
        self.prefix = f"io.k8s.api.{_package(group)}.{version}."
        self.schemas: dict[str, Any] = {}

    def ref(self, cls: Any) -> dict[str, Any]:
        name = ("io.k8s.apimachinery.pkg.apis.meta.v1." if cls.__name__ in ("ObjectMeta", "OwnerReference")
                else self.prefix) + cls.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # reserved first: models may nest themselves
            self.schemas[name] = self.model(cls)
        return {"allOf": [{"$ref": f"#/components/schemas/{name}"}]}

    def model(self, cls: Any) -> dict[str, Any]:
        properties = {f.key: self.field(f.type) for f in getattr(cls, "FIELDS", ())}
        schema: dict[str, Any] = {"type": "object", "description": (cls.__doc__ or "").strip().split("\n")[0],
                                  "properties": properties, "x-kubernetes-preserve-unknown-fields": True}
        required = [f.key for f in getattr(cls, "FIELDS", ()) if f.required]
        if required:
            schema["required"] = required
        return schema

    def field(self, ftype: Any) -> dict[str, Any]:
        if isinstance(ftype, fieldtypes.Enum):
            return {"type": "string", "enum": sorted(ftype.values)}
        if isinstance(ftype, fieldtypes.Str):
            return {"type": "string"}
        if isinstance(ftype, fieldtypes.Int):
            wide = ftype.high > fieldtypes.INT32[1]
            return {"type": "integer", "format": "int64" if wide else "int32"}
        if isinstance(ftype, fieldtypes.Bool):
            return {"type": "boolean"}
        if isinstance(ftype, fieldtypes.IntOrString):
            return {"x-kubernetes-int-or-string": True}
        if isinstance(ftype, fieldtypes.StrList):
            return {"type": "array", "items": {"type": "string"}}
        if isinstance(ftype, fieldtypes.StrMap):
            return {"type": "object", "additionalProperties": {"type": "string"}}
        if isinstance(ftype, fieldtypes.Nested):
            return self.ref(ftype.cls)
        if isinstance(ftype, fieldtypes.ListOf):
            return {"type": "array", "items": self.field(ftype.item)}
        if isinstance(ftype, fieldtypes.Value):
            expected = ftype.expected if ftype.expected in ("object", "string", "array") else "object"
            return {"type": expected, "x-kubernetes-preserve-unknown-fields": True} if expected == "object" \
                else {"type": expected}
        return {"x-kubernetes-preserve-unknown-fields": True}


def _gvk(res: APIResource) -> dict[str, str]:
    return {"group": res.group, "version": res.version, "kind": res.kind}


def _operation(res: APIResource, verb: str, ref: dict[str, Any]) -> dict[str, Any]:
    return {"operationId": f"{verb}{res.kind}", "x-kubernetes-action": verb, "x-kubernetes-group-version-kind": _gvk(res),
            "parameters": [{"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
                           for p in _QUERY_PARAMS],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}}


def group_version_document(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group version."""
    served = catalog.in_group_version(group, version)
    if not served:
        return None
    schemas = _Schemas(group, version)
    paths: dict[str, Any] = {}
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for res in served:
        cls = objects.kind_class(res.group_version, res.kind)
        name = schemas.prefix + res.kind
        body = schemas.model(cls) if cls is not objects.GenericObject else {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": schemas.ref(objects.ObjectMeta)}}
        body["x-kubernetes-group-version-kind"] = [_gvk(res)]
        schemas.schemas[name] = body
        ref = {"$ref": f"#/components/schemas/{name}"}
        scope = f"{base}/namespaces/{{namespace}}/{res.resource}" if res.namespaced else f"{base}/{res.resource}"
        paths[scope] = {"get": _operation(res, "list", ref), "post": _operation(res, "post", ref)}
        paths[f"{scope}/{{name}}"] = {verb: _operation(res, action, ref) for verb, action in
                                      (("get", "get"), ("put", "put"), ("patch", "patch"), ("delete", "delete"))}
        if res.has_status:
            paths[f"{scope}/{{name}}/status"] = {"get": _operation(res, "get", ref), "put": _operation(res, "put", ref),
                                                 "patch": _operation(res, "patch", ref)}
    major, minor, git = KUBERNETES_VERSION
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": git}, "paths": paths,
            "components": {"schemas": schemas.schemas}}


def document(catalog: Catalog, parts: list[str]) -> bytes | None:
    """The OpenAPI document at ``/openapi/<parts>``, or None (404; v2 is not served)."""
    if parts == ["v3"]:
        listing = {}
        for group, versions in catalog.groups():
            for version in versions:
                key = f"apis/{group}/{version}" if group else f"api/{version}"
                doc = group_version_document(catalog, group, version)
                digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
                listing[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
        return dumps({"paths": listing})
    if len(parts) == 3 and parts[:2] == ["v3", "api"]:
        doc = group_version_document(catalog, "", parts[2])
    elif len(parts) == 4 and parts[:2] == ["v3", "apis"]:
        doc = group_version_document(catalog, parts[2], parts[3])
    else:
        return None
    return dumps(doc) if doc is not None else None
