"""The scheduling package's exception hierarchy: every error we raise is a ``SchedulingError``."""
from __future__ import annotations

__all__ = ["SchedulingError", "ConfigError", "PluginNotFound", "UnknownProfile", "NodeNotFound", "PodNotFound",
           "UnknownKind", "InvalidArgument"]


class SchedulingError(Exception):
    """Base of every error the scheduling package raises."""


class ConfigError(SchedulingError, ValueError):
    """A KubeSchedulerConfiguration-shaped dict is malformed; the message names the field, value and rule."""


class PluginNotFound(ConfigError):
    """A profile names a plugin the registry does not know."""


class UnknownProfile(SchedulingError, KeyError):
    """A pod names a ``schedulerName`` no profile of this scheduler has."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NodeNotFound(SchedulingError, KeyError):
    """An operation names a node the scheduler's cache does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PodNotFound(SchedulingError, KeyError):
    """An operation names a pod the scheduler does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidArgument(SchedulingError, TypeError):
    """A public method was handed the wrong thing (a Pod to ``add_node``, a store to ``run``); nothing changed."""


class UnknownKind(SchedulingError, ValueError):
    """An object of a kind the scheduler does not hold (``Scheduler.add_object``); the message lists the kinds."""
