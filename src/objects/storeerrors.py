"""The store's transient failures in the objects package's words.

The Registry's callers (the scheduler, the controllers, the API server) handle :class:`ObjectsError`; a
kvstore ``Timeout`` or ``NoLeader`` leaking through would end their loops on a failover or a slow disk,
where kube-apiserver answers 504 / 503 and its clients retry. So every public Registry call translates them.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from kvstore import NoLeader, NotReady, Timeout

from .errors import ServerTimeout, Unavailable

__all__ = ["served"]

F = TypeVar("F", bound=Callable[..., Any])


def served(method: F) -> F:
    """Wrap a Registry method so that the store's transient errors arrive as ServerTimeout / Unavailable."""
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Timeout as exc:
            raise ServerTimeout(f"Timeout: request did not complete within the allowed duration ({exc})") from exc
        except (NoLeader, NotReady) as exc:
            raise Unavailable(f"the store cannot serve the request now: {exc}") from exc
    return call  # type: ignore[return-value]
