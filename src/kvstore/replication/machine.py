"""What one replicated log entry does to the state machine: a batch of requests, each applied once.

An entry is msgpack `[[request_id, command], ...]`: many client requests proposed together (the
batching that gives throughput). A request id already seen returns the first result instead of
applying again, so a client may retry a write whose outcome was unknown. A `None` request is a read
barrier: it changes nothing, and its commit proves the local state is current.

Apply is deterministic and never raises: a failure inside the state machine becomes the request's
result (an exception value), as the architecture's state machine contract asks.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Optional, Protocol

import msgpack

from ..errors import KVError

DEDUPE_WINDOW = 100_000


class _ResultLost:
    """Marks a request id known applied (from a snapshot) whose response was not kept."""

    def __repr__(self) -> str:
        return "RESULT_LOST"


RESULT_LOST = _ResultLost()


class StateMachine(Protocol):
    """The part of kvstore's state machine contract replication needs."""

    def apply(self, command: Any) -> Any: ...

    def snapshot(self) -> Any: ...

    def restore(self, snapshot: Any) -> None: ...


class ApplyFailed(KVError):
    """The state machine raised while applying a request; the log moved on without it."""


def encode_batch(requests: list[tuple[Optional[bytes], Any]]) -> bytes:
    """One log entry for a batch of (request id or None for a barrier, command)."""
    return msgpack.packb([[rid, cmd] for rid, cmd in requests], use_bin_type=True)


class BatchApplier:
    """Applies batches in log order, remembering recent request ids and their results."""

    def __init__(self, machine: StateMachine, window: int = DEDUPE_WINDOW,
                 lock: Optional[threading.RLock] = None) -> None:
        self.machine = machine
        self.lock = lock if lock is not None else threading.RLock()
        # called under the lock right before a snapshot replaces the state (watchers resync then)
        self.before_restore: Optional[Callable[[], None]] = None
        self._window = window
        self._results: OrderedDict[bytes, Any] = OrderedDict()

    def apply_entry(self, payload: bytes) -> list[Any]:
        """Apply one entry; returns the result of each request in the batch."""
        try:
            requests = msgpack.unpackb(payload, raw=False)
        except Exception as exc:  # a foreign entry must not wedge the log
            return [ApplyFailed(f"undecodable log entry of {len(payload)} bytes: {exc}")]
        with self.lock:  # readers of the state see whole batches
            return [self._apply_one(request) for request in requests]

    def _apply_one(self, request: Any) -> Any:
        request_id, command = request
        if request_id is None:
            return None
        if request_id in self._results:
            return self._results[request_id]
        try:
            result = self.machine.apply(command)
        except Exception as exc:  # the contract says apply never raises; if it does, stay live
            result = ApplyFailed(f"state machine raised {type(exc).__name__}: {exc}")
        self._results[request_id] = result
        if len(self._results) > self._window:
            self._results.popitem(last=False)
        return result

    def snapshot(self) -> dict[str, Any]:
        """State-machine snapshot plus the remembered request ids (results are not kept: a retry of
        one of them after a restore answers RESULT_LOST)."""
        with self.lock:
            return {"state": self.machine.snapshot(), "request_ids": list(self._results)}

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace everything with a snapshot taken by `snapshot()`."""
        with self.lock:
            if self.before_restore is not None:
                self.before_restore()
            self.machine.restore(snapshot["state"])
            self._results = OrderedDict((bytes(rid), RESULT_LOST) for rid in snapshot["request_ids"])
