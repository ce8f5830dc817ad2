"""Subresources: ``status`` (get/update/patch), ``scale`` (autoscaling/v1 Scale of deployments,
replicasets, statefulsets, replicationcontrollers) and ``pods/binding`` (the scheduler's path)."""
from __future__ import annotations

from typing import Any

import objects

from . import patching, status
from .bodies import as_dict, decode_object, dumps
from .context import Call, Context
from .errors import bad_request

Response = tuple[int, bytes]


def _selector_text(res_kind: str, spec: dict[str, Any]) -> str:
    selector = spec.get("selector")
    if not selector:
        return ""
    if res_kind == "ReplicationController":
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return str(objects.LabelSelector.from_dict(selector))


def scale_of(res_kind: str, d: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale of a workload."""
    meta = d.get("metadata") or {}
    spec = d.get("spec") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                  if k in meta}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
            "spec": {"replicas": int(spec.get("replicas") or 0)},
            "status": {"replicas": int((d.get("status") or {}).get("replicas") or 0),
                       "selector": _selector_text(res_kind, spec)}}


def get_scale(ctx: Context, call: Call) -> Response:
    """GET .../scale."""
    return 200, dumps(scale_of(call.res.kind, as_dict(ctx.registry.get(call.res.kind, call.path.name,
                                                                         call.path.namespace))))


def _write_scale(ctx: Context, call: Call, new_scale: Any, current: dict[str, Any]) -> Response:
    replicas = (new_scale.get("spec") or {}).get("replicas") if isinstance(new_scale, dict) else None
    if type(replicas) is not int or replicas < 0:
        error = objects.ValidationError(objects.FieldError(
            "spec.replicas", "must be greater than or equal to 0" if type(replicas) is int else "must be an integer",
            replicas))
        raise status.invalid(error, "Scale", call.path.name, "autoscaling")
    wanted = (new_scale.get("metadata") or {}).get("resourceVersion")
    if wanted and wanted != current["metadata"].get("resourceVersion"):
        raise objects.Conflict(f'Operation cannot be fulfilled on {call.res.resource} "{call.path.name}": the object '
                               "has been modified; please apply your changes to the latest version and try again")
    current.setdefault("spec", {})["replicas"] = replicas
    obj = objects.from_dict(current)
    if call.dry_run:
        return 200, dumps(scale_of(call.res.kind, current))
    return 200, dumps(scale_of(call.res.kind, as_dict(ctx.registry.update(obj))))


def _retrying(ctx: Context, call: Call, change: Any) -> Response:
    for _ in range(patching.ATTEMPTS):
        current = as_dict(ctx.registry.get(call.res.kind, call.path.name, call.path.namespace))
        new_scale, explicit = change(scale_of(call.res.kind, current))
        try:
            return _write_scale(ctx, call, new_scale, current)
        except objects.Conflict:
            if explicit:
                raise
    raise objects.Conflict(f'Operation cannot be fulfilled on {call.res.resource} "{call.path.name}": the object has '
                           "been modified; please apply your changes to the latest version and try again")


def update_scale(ctx: Context, call: Call) -> Response:
    """PUT .../scale (a Scale whose resourceVersion, when set, is a precondition)."""
    body = decode_object(call.body, call.content_type)
    explicit = bool((body.get("metadata") or {}).get("resourceVersion"))
    return _retrying(ctx, call, lambda scale: (body, explicit))


def patch_scale(ctx: Context, call: Call) -> Response:
    """PATCH .../scale (kubectl scale sends a merge patch of spec.replicas)."""
    kind, body = patching.parse(call)

    def change(scale: dict[str, Any]) -> tuple[Any, bool]:
        patched = patching.apply(kind, body, scale, "Scale")
        explicit = (patched.get("metadata") or {}).get("resourceVersion") != scale["metadata"].get("resourceVersion")
        return patched, explicit

    return _retrying(ctx, call, change)


def bind(ctx: Context, call: Call) -> Response:
    """POST pods/<name>/binding: Registry.bind (spec.nodeName and PodScheduled), 201 Success."""
    body = decode_object(call.body, call.content_type)
    target: dict[str, Any] = body["target"] if isinstance(body.get("target"), dict) else {}
    meta: dict[str, Any] = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
    if meta.get("name") and meta["name"] != call.path.name:
        raise bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                          f"({call.path.name})")
    node = target.get("name")
    if not node:
        error = objects.ValidationError(objects.FieldError("target.name", "", None, "Required value"))
        raise status.invalid(error, "Binding", call.path.name, "")
    if call.dry_run:
        ctx.registry.get("Pod", call.path.name, call.path.namespace)
    else:
        ctx.registry.bind(call.path.name, node, call.path.namespace, resource_version=meta.get("resourceVersion"))
    return 201, dumps(status.success(201))
