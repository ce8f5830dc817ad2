"""JSON merge patch (RFC 7386), the ``application/merge-patch+json`` the API server accepts."""
from __future__ import annotations

import copy
import json
from typing import Any


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


def parse_patch(patch: Any) -> Any:
    """A patch given as a dict, or as JSON text / bytes."""
    if isinstance(patch, (bytes, bytearray)):
        patch = patch.decode("utf-8")
    if isinstance(patch, str):
        return json.loads(patch)
    return patch
