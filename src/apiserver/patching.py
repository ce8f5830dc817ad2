"""PATCH: JSON merge patch, JSON patch, strategic merge patch and (simplified) server-side apply.

As kube-apiserver: read the object, apply the patch to its JSON form, write it back guarded by the
resourceVersion that was read, and start again on a Conflict (a patch that sets
``metadata.resourceVersion`` is a precondition instead, and its Conflict is the answer).
"""
from __future__ import annotations

import json
from typing import Any, Callable

import jsonpatch
import jsonpointer
import yaml

import objects
from objects.mergepatch import merge_patch

from .bodies import as_dict, dumps, media_type
from .context import Call, Context
from .errors import APIError, bad_request, unsupported_media_type
from .strategicmerge import strategic_merge
from .strategy import identify, prepare_for_create
from .writing import dry_run_update

Response = tuple[int, bytes]
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)
ATTEMPTS = 16  # re-reads on concurrent writes before giving up with the Conflict


def parse(call: Call) -> tuple[str, Any]:
    """(patch type, parsed patch); 415 for another Content-Type, 400 when the body does not parse."""
    kind = media_type(call.content_type)
    if kind not in PATCH_TYPES:
        raise unsupported_media_type(PATCH_TYPES)
    text = call.body.decode("utf-8", errors="replace")
    try:
        body = yaml.safe_load(text) if kind == APPLY else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise bad_request(f"error decoding patch: {exc}") from None
    if kind == JSON_PATCH:
        if not isinstance(body, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    elif not isinstance(body, dict):
        raise bad_request("the patch must be a JSON object")
    if kind == APPLY and not call.query.get("fieldManager"):
        raise bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for "
                          "apply patch")
    return kind, body


def apply(kind: str, patch: Any, current: dict[str, Any], model_kind: str) -> dict[str, Any]:
    """``current`` (a JSON object) with the patch applied."""
    if kind == MERGE:
        return merge_patch(current, patch)  # type: ignore[no-any-return]
    if kind == JSON_PATCH:
        try:
            return jsonpatch.apply_patch(current, patch)  # type: ignore[no-any-return]
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError) as exc:
            raise APIError(422, "Invalid", f"the server rejected our request due to an error in our request: "
                                           f"{exc}") from None
    # strategic merge; server-side apply merges the applied configuration the same way (see docs)
    return strategic_merge(current, patch, model_kind)


def patch(ctx: Context, call: Call, status_only: bool = False) -> Response:
    """PATCH of an object or of its status subresource."""
    kind, body = parse(call)
    res = call.res
    for _ in range(ATTEMPTS):
        try:
            current = as_dict(ctx.registry.get(res.kind, call.path.name, call.path.namespace))
        except objects.NotFound:
            if kind == APPLY and not status_only:
                return _apply_create(ctx, call, body)
            raise
        patched = apply(kind, body, current, res.kind)
        if not isinstance(patched, dict):
            raise bad_request("the patched object is not a JSON object")
        identify(res, patched, call.path.namespace, call.path.name)
        obj = objects.from_dict(patched)
        if call.dry_run:
            return 200, dumps(as_dict(dry_run_update(ctx, call, obj)))
        write: Callable[[Any], Any] = ctx.registry.update_status if status_only else ctx.registry.update
        try:
            return 200, dumps(as_dict(write(obj)))
        except objects.Conflict:
            if patched["metadata"].get("resourceVersion") != current["metadata"].get("resourceVersion"):
                raise  # the patch named a resourceVersion: a precondition, not a race to retry
    raise objects.Conflict(f'Operation cannot be fulfilled on {res.resource} "{call.path.name}": the object has been '
                           "modified; please apply your changes to the latest version and try again")


def _apply_create(ctx: Context, call: Call, body: dict[str, Any]) -> Response:
    """Server-side apply of an object that does not exist: create it."""
    identify(call.res, body, call.path.namespace, call.path.name)
    prepare_for_create(call.res, body)
    obj = objects.from_dict(body)
    if call.dry_run:
        from .strategy import dry_run_create
        return 201, dumps(as_dict(dry_run_create(ctx.registry, call.res, obj)))
    return 201, dumps(as_dict(ctx.registry.create(obj)))
