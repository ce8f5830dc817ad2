"""The controller table: names -> factories, as kube-controller-manager's NewControllerInitializers.

Each controller module registers itself with :func:`register_controller`; the manager knows controllers
only through this table. A factory is called ``factory(registry, informers, recorder=..., clock=...)`` and
returns a :class:`controllers.Controller`.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["DEFAULT_CONTROLLERS", "DISABLED_BY_DEFAULT", "register_controller", "resolve_controllers"]

Factory = Callable[..., Any]
DEFAULT_CONTROLLERS: dict[str, Factory] = {}
DISABLED_BY_DEFAULT: set[str] = set()


def register_controller(name: str, factory: Factory, *, enabled_by_default: bool = True) -> None:
    """Add a controller to the table (a name registered twice is an error)."""
    if name in DEFAULT_CONTROLLERS and DEFAULT_CONTROLLERS[name] is not factory:
        raise ValueError(f"controller {name!r} is already registered")
    DEFAULT_CONTROLLERS[name] = factory
    if not enabled_by_default:
        DISABLED_BY_DEFAULT.add(name)


def resolve_controllers(names: list[str] | None) -> list[str]:
    """The controllers to run, as ``--controllers``: None or ["*"] is every controller enabled by default;
    "name" adds one, "-name" removes one (["*", "-garbagecollector"]). Unknown names are a ValueError."""
    if names is None:
        names = ["*"]
    if isinstance(names, str):
        raise ValueError(f"controllers: expected a list of names, got the string {names!r}")
    chosen: list[str] = []
    for entry in names:
        bare = entry[1:] if entry.startswith("-") else entry
        if entry != "*" and bare not in DEFAULT_CONTROLLERS:
            raise ValueError(f"controllers: unknown controller {bare!r}; known: {', '.join(sorted(DEFAULT_CONTROLLERS))}")
    star = "*" in names
    for name in DEFAULT_CONTROLLERS:
        if (star and name not in DISABLED_BY_DEFAULT) or name in names:
            if f"-{name}" not in names:
                chosen.append(name)
    return chosen
