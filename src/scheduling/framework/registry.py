"""The plugin registry: plugin name -> factory, as kube-scheduler's ``runtime.Registry``.

A factory is any callable ``factory(args: dict, handle: Handle) -> Plugin``; a plugin class whose
``__init__`` takes ``(args, handle)`` is its own factory. Users add their plugins beside the defaults::

    registry = scheduling.default_registry()
    registry.register("MyPlugin", MyPlugin)
    Scheduler(config={... "enabled": [{"name": "MyPlugin"}] ...}, registry=registry)
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Optional

from .errors import ConfigError, PluginNotFound

__all__ = ["Registry", "PluginFactory"]

PluginFactory = Callable[[Mapping[str, Any], Any], Any]


class Registry:
    """A mutable mapping of plugin names to factories."""

    def __init__(self, factories: Optional[Mapping[str, PluginFactory]] = None) -> None:
        self._factories: dict[str, PluginFactory] = {}
        for name, factory in (factories or {}).items():
            self.register(name, factory)

    def register(self, name: str, factory: PluginFactory) -> None:
        """Add ``name``; a name already registered is an error (``Registry.Register``)."""
        if not isinstance(name, str) or not name:
            raise ConfigError(f"plugin name: must be a non-empty string, got {name!r}")
        if not callable(factory):
            raise ConfigError(f"plugin {name!r}: factory must be callable, got {factory!r}")
        if name in self._factories:
            raise ConfigError(f"plugin {name!r}: a plugin with this name already exists in the registry")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        """Remove ``name``; unknown names are an error."""
        if name not in self._factories:
            raise PluginNotFound(f"plugin {name!r}: no such plugin in the registry")
        del self._factories[name]

    def merge(self, other: "Registry | Mapping[str, PluginFactory]") -> "Registry":
        """A new registry with this one's plugins and ``other``'s (names must not clash)."""
        merged = Registry(self._factories)
        items = other._factories if isinstance(other, Registry) else other
        for name, factory in items.items():
            merged.register(name, factory)
        return merged

    def factory(self, name: str) -> PluginFactory:
        """The factory of ``name``; ``PluginNotFound`` naming the known plugins otherwise."""
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories))
            raise PluginNotFound(f"plugin {name!r}: not found in the registry (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)
