"""DefaultBinder (Bind): writes the binding through the scheduler's handle (``handle.bind_pod``).

Fed directly, the scheduler records the binding in its cache; connected to an ``objects.Registry`` it
writes ``spec.nodeName`` with a resourceVersion check, like the API server's ``pods/binding``.
"""
from __future__ import annotations

from typing import Any, Optional

from ..framework import BindPlugin, CycleState, Plugin, Status

__all__ = ["DefaultBinder"]


class DefaultBinder(Plugin, BindPlugin):
    """Binds every pod it is given."""

    name = "DefaultBinder"

    def bind(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        if self.handle is None:
            return Status.error("DefaultBinder: no handle to bind through")
        return self.handle.bind_pod(pod, node_name)
