"""create, update (PUT), delete and deletecollection."""
from __future__ import annotations

from typing import Any

import objects

from . import protobuf, status
from .bodies import as_dict, decode_object, dumps, media_type
from .context import Call, Context
from .errors import bad_request
from .selectors import selectors
from .strategy import dry_run_create, identify, prepare_for_create

Response = tuple[int, bytes]

# Kinds whose delete answers with the deleted object; the others with a Success Status (ReturnDeletedObject).
_RETURN_DELETED = frozenset({"Pod", "Service"})
_PROPAGATION = ("Orphan", "Background", "Foreground")


def create(ctx: Context, call: Call) -> Response:
    """POST to a collection: 201 with the stored object (generateName, dryRun=All)."""
    body = decode_object(call.body, call.content_type)
    identify(call.res, body, call.path.namespace)
    prepare_for_create(call.res, body)
    obj = objects.from_dict(body)
    if call.dry_run:
        return 201, dumps(as_dict(dry_run_create(ctx.registry, call.res, obj)))
    return 201, dumps(as_dict(ctx.registry.create(obj)))


def update(ctx: Context, call: Call, status_only: bool = False) -> Response:
    """PUT of an object (or of its status): 409 Conflict when its resourceVersion is stale."""
    body = decode_object(call.body, call.content_type)
    identify(call.res, body, call.path.namespace, call.path.name)
    obj = objects.from_dict(body)
    if call.dry_run:
        return 200, dumps(as_dict(dry_run_update(ctx, call, obj)))
    write = ctx.registry.update_status if status_only else ctx.registry.update
    return 200, dumps(as_dict(write(obj)))


def dry_run_update(ctx: Context, call: Call, obj: Any) -> Any:
    """An update checked but not written: the object must exist and be current; validated with defaults."""
    current = ctx.registry.get(call.res.kind, call.path.name, call.path.namespace)
    wanted = obj.metadata.resource_version
    if wanted and wanted != current.metadata.resource_version:
        raise objects.Conflict(f'Operation cannot be fulfilled on {call.res.resource} "{call.path.name}": the object '
                               "has been modified; please apply your changes to the latest version and try again")
    return objects.apply_defaults(obj)


def delete_options(call: Call) -> dict[str, Any]:
    """DeleteOptions from the body (kubectl sends one) or the query."""
    options: dict[str, Any] = {}
    if media_type(call.content_type) == protobuf.MEDIA_TYPE:
        options = protobuf.decode(call.body, "DeleteOptions")  # kubectl's typed clients (drain)
    elif call.body.strip():
        options = decode_object(call.body, call.content_type)
    for name in ("propagationPolicy", "gracePeriodSeconds"):
        if name in call.query and name not in options:
            options[name] = call.query[name]
    if "dryRun" in call.query:
        options.setdefault("dryRun", [call.query["dryRun"]])
    policy = options.get("propagationPolicy")
    if policy is not None and policy not in _PROPAGATION:
        raise status.invalid(objects.ValidationError(objects.FieldError(
            "propagationPolicy", 'supported values: "Foreground", "Background", "Orphan", "nil"', policy,
            "Unsupported value")), "DeleteOptions", "", "meta.k8s.io")
    grace = options.get("gracePeriodSeconds")
    if grace is not None:
        try:
            options["gracePeriodSeconds"] = int(grace)
        except (TypeError, ValueError):
            raise bad_request(f'invalid value for gracePeriodSeconds: "{grace}"') from None
    for value in options.get("dryRun") or []:
        if value != "All":
            raise bad_request(f'Invalid dryRun value: "{value}": supported values: "All"')
    return options


def _delete_one(ctx: Context, call: Call, name: str, namespace: str | None, options: dict[str, Any]) -> Any:
    pre = options.get("preconditions") or {}
    uid, rv = pre.get("uid"), pre.get("resourceVersion")
    if options.get("dryRun"):
        current = ctx.registry.get(call.res.kind, name, namespace)
        if uid is not None and current.metadata.uid != uid:
            raise objects.Conflict(f'Operation cannot be fulfilled on {call.res.resource} "{name}": Precondition '
                                   f"failed: UID in precondition: {uid}, UID in object meta: {current.metadata.uid}")
        if rv is not None and current.metadata.resource_version != rv:
            raise objects.Conflict(f'Operation cannot be fulfilled on {call.res.resource} "{name}": Precondition '
                                   f"failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: "
                                   f"{current.metadata.resource_version}")
        return current
    return ctx.registry.delete(call.res.kind, name, namespace, uid=uid, resource_version=rv,
                               propagation_policy=options.get("propagationPolicy"),
                               grace_period_seconds=options.get("gracePeriodSeconds"))


def delete(ctx: Context, call: Call) -> Response:
    """DELETE of an object: the last state for pods and services and for objects that wait on finalizers,
    a Success Status for the others (as kube-apiserver's ReturnDeletedObject)."""
    options = delete_options(call)
    last = as_dict(_delete_one(ctx, call, call.path.name or "", call.path.namespace, options))
    meta = last.get("metadata") or {}
    if call.res.kind in _RETURN_DELETED or meta.get("finalizers"):
        return 200, dumps(last)
    details = {"name": meta.get("name"), "group": call.res.group, "kind": call.res.resource, "uid": meta.get("uid")}
    if not details["group"]:
        del details["group"]
    return 200, dumps(status.success(200, details))


def delete_collection(ctx: Context, call: Call) -> Response:
    """DELETE of a collection (with selectors): every matching object, answered as a list of them."""
    options = delete_options(call)
    labels, fields, extra = selectors(call)
    listed = ctx.registry.list(call.res.kind, label_selector=labels, field_selector=fields, **call.scope())
    deleted = []
    for obj in listed.items:
        d = as_dict(obj)
        if extra is not None and not extra.matches(d):
            continue
        try:
            deleted.append(as_dict(_delete_one(ctx, call, d["metadata"]["name"], d["metadata"].get("namespace"),
                                               options)))
        except objects.NotFound:
            continue  # deleted meanwhile
    return 200, dumps({"kind": call.res.list_kind, "apiVersion": call.res.group_version,
                       "metadata": {"resourceVersion": listed.resource_version}, "items": deleted})
