"""What the Scheduler's public methods are handed: a typed error naming the argument when it is wrong.

``add_node(a_pod)``, ``run(a_store)`` or ``explain(a_dict)`` would otherwise fail deep inside with an
AttributeError; here they raise :class:`InvalidArgument` (a ``SchedulingError`` and a ``TypeError``) naming
the method, the argument, what it takes and what it got, before anything changes.
"""
from __future__ import annotations

from typing import Any

import objects

from .framework.errors import InvalidArgument

__all__ = ["expect", "expect_registry", "pod_key", "node_name"]

# What run() uses of a registry: an objects.Registry, or anything that offers the same (a wrapper, a proxy).
_REGISTRY_METHODS = ("list", "watch", "bind", "patch_status", "delete")


def _got(value: Any) -> str:
    if isinstance(value, objects.KubeObject):
        return f"{type(value).__name__} {getattr(value, 'key', value.metadata.name)!r}"
    if isinstance(value, dict):
        return "dict (objects.from_dict(d) builds the object from it)"
    return type(value).__name__


def expect(value: Any, cls: type, method: str, argument: str) -> None:
    """``value`` is an instance of ``cls`` (an objects model or the Registry), else InvalidArgument."""
    if not isinstance(value, cls):
        raise InvalidArgument(f"{method}: {argument} must be an objects.{cls.__name__}, got {_got(value)}")


def expect_registry(value: Any, method: str) -> None:
    """``value`` offers the Registry's methods run() calls (a kvstore store does not), else InvalidArgument."""
    if not isinstance(value, objects.Registry) and not all(callable(getattr(value, m, None))
                                                           for m in _REGISTRY_METHODS):
        raise InvalidArgument(f"{method}: registry must be an objects.Registry (or offer its "
                              f"{', '.join(_REGISTRY_METHODS)}), got {_got(value)}")


def pod_key(value: Any, method: str) -> str:
    """The "namespace/name" key of a pod given as an objects.Pod, a key, or a name (namespace "default")."""
    if isinstance(value, objects.Pod):
        return value.key
    if isinstance(value, str) and value:
        return value if "/" in value else f"default/{value}"
    raise InvalidArgument(f"{method}: pod must be an objects.Pod, a \"namespace/name\" key or a name, "
                          f"got {_got(value)}")


def node_name(value: Any, method: str) -> str:
    """A node's name, from an objects.Node or the name itself."""
    if isinstance(value, objects.Node):
        return value.metadata.name  # type: ignore[no-any-return]
    if isinstance(value, str) and value:
        return value
    raise InvalidArgument(f"{method}: node must be an objects.Node or a node name, got {_got(value)}")
