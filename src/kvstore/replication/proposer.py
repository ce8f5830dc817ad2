"""Client requests into log entries: batching, request ids, retries, bounded waits.

Callers on any thread `propose(command)` (a write) or `barrier()` (before a linearizable read).
Requests wait in a pending list; the member's tick thread takes the whole list as one log entry
(so 64 concurrent clients cost one entry, one fsync and one round trip, not 64). pysyncobj forwards
the entry to the leader when this member follows, and calls back once the entry is applied
*locally*, so a write returns with its result and a read after a barrier sees every write
acknowledged before it started.

Failures that leave the outcome open (leader changed, entry discarded, message lost, or no answer
within a second) are retried with the same request id until the deadline: the applier returns the first result for an id it
has seen, so a retried write is applied once. At the deadline the caller gets `Timeout` (the write
may still commit, as with etcd) or `NoLeader` when no leader was known at all.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Any, Optional

from ..errors import NoLeader, StoreClosed, Timeout
from ._pin import FAIL_REASON
from .machine import encode_batch
from .raftnode import RaftNode

RETRY_PAUSE = 0.02
RESEND_AFTER = 1.0


class _Done:
    """threading.Event's set/is_set/wait/clear for one waiting thread, at a fraction of its cost.

    Every request needs one and most are answered on their own thread (the caller drives its entry
    through the poller) before they would wait: a Condition, its lock and notify_all per request
    were a measurable part of a write. Here a plain lock, held while the request is open, is
    released by `set()`; `wait()` returns at once when the flag is up, else blocks on the lock.
    """

    __slots__ = ("_flag", "_gate")

    def __init__(self) -> None:
        self._flag = False
        self._gate = threading.Lock()
        self._gate.acquire()

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        if self._flag:
            return
        self._flag = True
        try:
            self._gate.release()
        except RuntimeError:  # another thread set it at the same moment and released it first
            pass

    def wait(self, timeout: float) -> bool:
        """True once set (the one waiter: the request's own thread), False after `timeout` seconds."""
        if self._flag:
            return True
        return self._gate.acquire(timeout=timeout) or self._flag

    def clear(self) -> None:
        """Lower the flag for a retry (request's own thread, after a wait that returned True)."""
        self._flag = False
        self._gate.acquire(blocking=False)  # held again, whether wait() took it or found the flag up


class _Request:
    __slots__ = ("request_id", "command", "done", "result", "error", "size")

    def __init__(self, request_id: Optional[bytes], command: Any, size: int) -> None:
        self.request_id = request_id
        self.command = command
        self.done = _Done()
        self.result: Any = None
        self.error: Optional[int] = None
        self.size = size


class Proposer:
    """Batches requests into log entries of one RaftNode."""

    def __init__(self, node: RaftNode, max_batch_bytes: int) -> None:
        self._node = node
        self._max_batch_bytes = max_batch_bytes
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._prefix = os.urandom(8)
        self._counter = itertools.count(1)
        self._closed = False
        node.add_before_commands_callback(self._flush)

    def new_request_id(self) -> bytes:
        """A request id unique across members and restarts (random prefix + counter)."""
        return self._prefix + next(self._counter).to_bytes(8, "big")

    def propose(self, command: Any, timeout: float, request_id: Optional[bytes] = None,
                size_hint: int = 64) -> Any:
        """Replicate one command; returns its result once applied locally."""
        request = _Request(request_id or self.new_request_id(), command, size_hint)
        return self._run(request, timeout, "write")

    def barrier(self, timeout: float) -> None:
        """Return once an entry proposed after this call is applied locally."""
        self._run(_Request(None, None, 8), timeout, "linearizable read")

    def close(self) -> None:
        """Fail every pending request and refuse new ones."""
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, []
        for request in pending:
            request.error = FAIL_REASON.REQUEST_DENIED
            request.done.set()

    def _run(self, request: _Request, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        last_error: Optional[int] = None
        while True:
            self._enqueue(request)
            now = time.monotonic()
            if not request.done.wait(max(min(deadline, now + RESEND_AFTER) - now, 0.0)):
                self._forget(request)
                if time.monotonic() >= deadline:
                    raise self._deadline_error(what, timeout, last_error)
                # No answer yet: the forwarded entry may have died with a connection while the leader
                # stayed (pysyncobj then never calls back). Propose again; the request id makes it safe.
                continue
            if request.error is None:
                return request.result
            if self._closed:
                raise StoreClosed()
            last_error = request.error
            if deadline - time.monotonic() <= RETRY_PAUSE:
                raise self._deadline_error(what, timeout, last_error)
            time.sleep(RETRY_PAUSE)
            request.done.clear()
            request.error = None

    def _deadline_error(self, what: str, timeout: float, last_error: Optional[int]) -> Exception:
        if self._node.leader_address is None:
            return NoLeader(f"{what}: no Raft leader known to {self._node.cluster.self_address} "
                            f"within timeout={timeout}s")
        return Timeout(f"{what} did not complete within timeout={timeout}s (last failure: "
                       f"{_reason(last_error)}); a write may still be applied")

    def _enqueue(self, request: _Request) -> None:
        with self._lock:
            if self._closed:
                raise StoreClosed()
            first = not self._pending
            self._pending.append(request)
        if first:  # later requests ride on the flush already on its way (it takes them all)
            self._node.propose_now(request.done.is_set)

    def _forget(self, request: _Request) -> None:
        with self._lock:
            if request in self._pending:
                self._pending.remove(request)

    def _flush(self) -> None:
        # Runs on the tick thread: everything pending becomes entries of at most max_batch_bytes.
        with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, []
        batch: list[_Request] = []
        size = 0
        for request in pending:
            if batch and size + request.size > self._max_batch_bytes:
                self._submit(batch)
                batch, size = [], 0
            batch.append(request)
            size += request.size
        self._submit(batch)

    def _submit(self, batch: list[_Request]) -> None:
        payload = encode_batch([(r.request_id, r.command) for r in batch])

        def on_result(results: Any, error: int) -> None:
            for position, request in enumerate(batch):
                if request.done.is_set():
                    continue  # an earlier or later attempt of the same request answered already
                if error == FAIL_REASON.SUCCESS:
                    request.result = results[position]
                else:
                    request.error = error
                request.done.set()

        self._node.submit(payload, on_result)


def _reason(code: Optional[int]) -> str:
    names = {value: name for name, value in vars(FAIL_REASON).items() if name.isupper()}
    return "none" if code is None else names.get(code, str(code))
