"""Resource paths parsed as kube-apiserver's RequestInfoFactory does.

``/api/v1/namespaces/<ns>/<resource>/<name>/<subresource>``, ``/apis/<group>/<version>/...``, the
cluster-scoped forms without ``namespaces/<ns>``, the legacy ``/watch/`` prefix, and the namespace's own
``status`` / ``finalize`` subresources (``/api/v1/namespaces/<ns>/status``).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import not_found_path

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class ResourcePath:
    """What a resource request names: its group version, resource, namespace, name and subresource."""

    group: str
    version: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    legacy_watch: bool = False   # the deprecated /watch/ path prefix


def parse(path: str) -> ResourcePath | None:
    """The resource a path names, None for a non-resource path (discovery, /version, ...), or 404."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = False
    if rest[0] == "watch":
        legacy_watch, rest = True, rest[1:]
        if not rest:
            raise not_found_path()
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
        else:
            # the namespace object itself: /namespaces/<name>[/status]
            return ResourcePath(group, version, "namespaces", None, namespace,
                                rest[2] if len(rest) > 2 else None, legacy_watch)
    if len(rest) > 3:
        raise not_found_path()
    return ResourcePath(group, version, rest[0], namespace, rest[1] if len(rest) > 1 else None,
                        rest[2] if len(rest) > 2 else None, legacy_watch)
