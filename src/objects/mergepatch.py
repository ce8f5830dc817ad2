"""JSON merge patch (RFC 7386), the ``application/merge-patch+json`` the API server accepts."""
from __future__ import annotations

import copy
import json
from typing import Any

from .errors import BadRequest, FieldError


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply ``patch`` to ``target`` (neither is modified): objects merge key by key, ``null`` deletes a
    key, anything else (lists included) replaces the target value."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_patch(patch: Any) -> dict[str, Any]:
    """A merge patch given as a dict, or as JSON text / bytes. Anything else, JSON that does not parse, or
    a patch that is not a JSON object is :class:`BadRequest` (the API server's 400), naming the problem."""
    if isinstance(patch, (bytes, bytearray)):
        try:
            patch = bytes(patch).decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadRequest(FieldError("patch", f"must be UTF-8 JSON: {e}", "bytes")) from None
    if isinstance(patch, str):
        try:
            patch = json.loads(patch)
        except (ValueError, RecursionError) as e:
            shown = patch if len(patch) <= 80 else patch[:77] + "..."
            raise BadRequest(FieldError("patch", f"invalid JSON: {e}", shown)) from None
    if not isinstance(patch, dict):
        raise BadRequest(FieldError("patch", "must be a JSON object", type(patch).__name__))
    return patch


def apply_patch(stored: dict[str, Any], body: dict[str, Any], name: str, namespace: str | None) -> dict[str, Any]:
    """``body`` merged into ``stored`` (without resourceVersion), refused as the API server's patch handler
    refuses it (``checkName``) when the result names another object than the request."""
    patched = merge_patch(stored, body)
    meta = patched.get("metadata")
    if not isinstance(meta, dict):
        meta = patched["metadata"] = {}
    meta.pop("resourceVersion", None)
    if meta.get("name") != name:
        raise BadRequest(FieldError("metadata.name", f"the name of the object ({meta.get('name')}) does not "
                                    f"match the name on the URL ({name})", meta.get("name")))
    wanted = namespace or "default"
    if namespace is not None and meta.get("namespace") and meta["namespace"] != wanted:
        raise BadRequest(FieldError("metadata.namespace", f"the namespace of the object ({meta['namespace']}) "
                                    f"does not match the namespace on the URL ({wanted})", meta["namespace"]))
    return patched


def three_way_patch(previous: Any, config: dict[str, Any]) -> dict[str, Any]:
    """The merge patch ``kubectl apply`` sends: every field of ``config``, and ``null`` for each field of
    the previous configuration that ``config`` no longer has (objects compared key by key)."""
    patch = copy.deepcopy(config)
    if isinstance(previous, dict):
        _deletions(previous, config, patch)
    return patch


def _deletions(previous: dict[str, Any], config: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, before in previous.items():
        if key not in config:
            patch[key] = None
        elif isinstance(before, dict) and isinstance(config[key], dict):
            _deletions(before, config[key], patch[key])
