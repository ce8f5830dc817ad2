"""Writes fenced by leadership: a controller's sync still running when the lease is lost cannot write.

kube-controller-manager exits the process when it loses its lease, which ends every sync in flight; here the
controllers stop in-process and a sync may be half way. So under leader election the manager hands the
controllers a :class:`LeaderFencedRegistry`: every write first checks ``is_leader``, which turns false
``renew_deadline`` after the last renewal, before any other candidate may take the lease (after
``lease_duration``). A write refused this way raises :class:`LeadershipLost` and the sync is dropped.
"""
from __future__ import annotations

from typing import Any, Callable

from objects import Registry, Unavailable

__all__ = ["LeaderFencedRegistry", "LeadershipLost", "WRITES"]

WRITES = frozenset({"create", "apply", "update", "update_status", "patch", "patch_status", "bind", "delete"})


class LeadershipLost(Unavailable):
    """A write refused because this controller manager no longer holds its lease."""


class LeaderFencedRegistry:
    """A view of ``registry`` whose writes (:data:`WRITES`) go through only while ``elector.is_leader``;
    reads, watches and every other attribute are the registry's own."""

    def __init__(self, registry: Registry, elector: Any) -> None:
        self._registry = registry
        self._elector = elector
        for name in WRITES:
            setattr(self, name, self._fenced(getattr(registry, name)))

    def _fenced(self, write: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not self._elector.is_leader:
                raise LeadershipLost(f"{write.__name__}: {getattr(self._elector, 'identity', 'this candidate')} "
                                     "no longer holds the lease")
            return write(*args, **kwargs)
        call.__name__ = call.__qualname__ = write.__name__
        call.__doc__ = write.__doc__
        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)
