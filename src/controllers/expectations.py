"""ControllerExpectations (kube-controller-manager's UIDTrackingControllerExpectations).

A controller that creates or deletes pods records how many creations, and which deletions (by uid), it
expects to see; until its informer has observed them all, ``satisfied`` is False and the controller does
not act on the (stale) cache again, so it never double-creates while its own writes are in flight.
Expectations older than ``ttl`` (5 minutes, ExpectationsTimeout) count as satisfied, so a lost event
cannot wedge a controller forever.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

__all__ = ["ControllerExpectations", "EXPECTATIONS_TTL"]

EXPECTATIONS_TTL = 300.0


@dataclass
class _Expectation:
    add: int
    deletions: set[str] = field(default_factory=set)
    timestamp: float = 0.0


class ControllerExpectations:
    """Pending creations (a count) and deletions (uids) per controller key. Thread-safe."""

    def __init__(self, *, clock: Callable[[], float] | None = None, ttl: float = EXPECTATIONS_TTL) -> None:
        self._clock = clock or time.monotonic
        self._ttl = ttl
        self._lock = threading.Lock()
        self._by_key: dict[str, _Expectation] = {}

    def expect_creations(self, key: str, count: int) -> None:
        """``count`` creations are about to be sent (replaces what was expected for ``key``)."""
        if count < 0:
            raise ValueError(f"expectations {key}: count {count} must be >= 0")
        with self._lock:
            self._by_key[key] = _Expectation(count, set(), self._clock())

    def expect_deletions(self, key: str, uids: Iterable[str]) -> None:
        """Deletions of the pods with these uids are about to be sent (replaces what was expected)."""
        with self._lock:
            self._by_key[key] = _Expectation(0, set(uids), self._clock())

    def expect(self, key: str, creations: int, deletion_uids: Iterable[str]) -> None:
        """Both at once (SetExpectations(key, add, del) of a DaemonSet sync that creates and deletes)."""
        if creations < 0:
            raise ValueError(f"expectations {key}: count {creations} must be >= 0")
        with self._lock:
            self._by_key[key] = _Expectation(creations, set(deletion_uids), self._clock())

    def creation_observed(self, key: str) -> None:
        """The informer saw one of the expected creations (or a creation failed and never will be seen)."""
        with self._lock:
            exp = self._by_key.get(key)
            if exp is not None and exp.add > 0:
                exp.add -= 1

    def deletion_observed(self, key: str, uid: str) -> None:
        """The informer saw the pod with ``uid`` go (or its deletion failed); other uids are ignored."""
        with self._lock:
            exp = self._by_key.get(key)
            if exp is not None:
                exp.deletions.discard(uid)

    def satisfied(self, key: str) -> bool:
        """True when nothing is pending for ``key``, or it never expected anything, or the record expired."""
        with self._lock:
            exp = self._by_key.get(key)
            if exp is None:
                return True
            if exp.add <= 0 and not exp.deletions:
                return True
            return self._clock() - exp.timestamp > self._ttl

    def pending(self, key: str) -> tuple[int, frozenset[str]]:
        """(creations still expected, uids whose deletion is still expected)."""
        with self._lock:
            exp = self._by_key.get(key)
            return (0, frozenset()) if exp is None else (max(exp.add, 0), frozenset(exp.deletions))

    def delete(self, key: str) -> None:
        """Forget ``key`` (its controller object is gone)."""
        with self._lock:
            self._by_key.pop(key, None)
