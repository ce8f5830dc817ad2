"""Strategic merge patch (``application/strategic-merge-patch+json``) for the built-in kinds.

Like a JSON merge patch, except that lists declared with a merge key in the Kubernetes types merge item by
item (``containers`` by ``name``, container ``ports`` by ``containerPort``, ``env`` by ``name``, ...),
lists declared ``patchStrategy: merge`` of scalars (``finalizers``) are unions, and the directives kubectl
writes are honoured: ``$patch: replace|delete|merge``, ``$retainKeys``, ``$deleteFromPrimitiveList/<f>``,
``$setElementOrder/<f>``. Every other list is replaced whole, as the Kubernetes types declare.
"""
from __future__ import annotations

import copy
from typing import Any

from .errors import bad_request

# Paths with list items as "*", relative to a PodSpec.
_POD_SPEC_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "imagePullSecrets": "name", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "schedulingGates": "name", "resourceClaims": "name",
}
_CONTAINER_KEYS = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath",
                   "volumeDevices": "devicePath", "resizePolicy": "resourceName"}
_POD_SPEC_PATHS = ("spec", "spec.template.spec", "spec.jobTemplate.spec.template.spec", "template.spec")
_COMMON_KEYS = {"metadata.ownerReferences": "uid", "status.conditions": "type"}
_KIND_KEYS: dict[str, dict[str, str | None]] = {
    "Pod": {"status.podIPs": "ip", "status.hostIPs": "ip"},
    "Node": {"status.addresses": "type", "spec.podCIDRs": None},
    "Service": {"spec.ports": "port"},
}
_PRIMITIVE_MERGE = {"metadata.finalizers"}


def _merge_keys(kind: str) -> dict[str, str | None]:
    keys: dict[str, str | None] = dict(_COMMON_KEYS)
    for base in _POD_SPEC_PATHS:
        for field, key in _POD_SPEC_KEYS.items():
            keys[f"{base}.{field}"] = key
        for containers in ("containers", "initContainers", "ephemeralContainers"):
            for field, key in _CONTAINER_KEYS.items():
                keys[f"{base}.{containers}.*.{field}"] = key
    keys.update(_KIND_KEYS.get(kind, {}))
    return keys


_CACHE: dict[str, dict[str, str | None]] = {}


def strategic_merge(original: dict[str, Any], patch: dict[str, Any], kind: str) -> dict[str, Any]:
    """``original`` with ``patch`` applied (neither is changed)."""
    keys = _CACHE.get(kind)
    if keys is None:
        keys = _CACHE[kind] = _merge_keys(kind)
    if not isinstance(patch, dict):
        raise bad_request("a strategic merge patch must be a JSON object")
    result = _merge_map(original, patch, "", keys)
    return result if result is not None else {}


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _merge_map(original: Any, patch: dict[str, Any], path: str, keys: dict[str, str | None]) -> Any:
    directive = patch.get("$patch")
    if directive == "replace":
        return _clean(patch)
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise bad_request(f"Unknown patch type: {directive} in map: {path or '<root>'}")
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    orders: dict[str, list[Any]] = {}
    for field, value in patch.items():
        if field in ("$patch", "$retainKeys"):
            continue
        if field.startswith("$setElementOrder/"):
            orders[field.split("/", 1)[1]] = value if isinstance(value, list) else []
            continue
        if field.startswith("$deleteFromPrimitiveList/"):
            target = field.split("/", 1)[1]
            if isinstance(result.get(target), list) and isinstance(value, list):
                result[target] = [v for v in result[target] if v not in value]
            continue
        child = _join(path, field)
        if value is None:
            result.pop(field, None)
        elif isinstance(value, dict):
            merged = _merge_map(result.get(field), value, child, keys)
            if merged is None:
                result.pop(field, None)
            else:
                result[field] = merged
        elif isinstance(value, list):
            result[field] = _merge_list(result.get(field), value, child, keys)
        else:
            result[field] = value
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for field in list(result):
            if field not in retain:
                del result[field]
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(result[field], order, keys.get(_join(path, field)))
    return result


def _merge_list(original: Any, patch: list[Any], path: str, keys: dict[str, str | None]) -> list[Any]:
    base = original if isinstance(original, list) else []
    if path in _PRIMITIVE_MERGE:
        merged = list(base)
        merged.extend(v for v in patch if v not in merged)
        return merged
    key = keys.get(path)
    if key is None:
        return _clean(patch)
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_clean(item) for item in patch if not (isinstance(item, dict) and item.get("$patch") == "replace")]
    result = copy.deepcopy(base)
    item_path = path + ".*"
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(f"{path}: the list has merge key {key}, so its items must be objects")
        if key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        index = next((i for i, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append(_merge_map({}, item, item_path, keys))
        else:
            result[index] = _merge_map(result[index], item, item_path, keys)
    return result


def _reorder(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """``$setElementOrder``: the listed items in the given order; the server's other items keep their place
    relative to each other and follow."""
    identity = (lambda item: item.get(key) if isinstance(item, dict) else item) if key else (lambda item: item)
    wanted = [o.get(key) if key and isinstance(o, dict) else o for o in order]
    rank = {value: i for i, value in enumerate(wanted) if not isinstance(value, (dict, list))}
    listed = sorted((item for item in items if _hashable(identity(item)) in rank), key=lambda i: rank[identity(i)])
    others = [item for item in items if _hashable(identity(item)) not in rank]
    return listed + others


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, (dict, list)) else None


def _clean(value: Any) -> Any:
    """A patch value without its directives (kept as a plain replacement)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
