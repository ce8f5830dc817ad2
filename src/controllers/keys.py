"""Work-queue keys: ``namespace/name`` for namespaced objects, ``name`` for cluster-scoped ones
(client-go's MetaNamespaceKeyFunc / SplitMetaNamespaceKey)."""
from __future__ import annotations

from typing import Any

__all__ = ["object_key", "split_key"]


def object_key(obj: Any) -> str:
    """The key of a model object (its ``.key``)."""
    return obj.key  # type: ignore[no-any-return]


def split_key(key: str) -> tuple[str | None, str]:
    """``(namespace, name)`` of a key; namespace None for a cluster-scoped key."""
    namespace, sep, name = key.partition("/")
    return (namespace, name) if sep else (None, namespace)
