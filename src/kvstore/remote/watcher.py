"""A watch on etcd with the embedded :class:`kvstore.Watcher`'s interface and guarantees.

The watchers of a client share one gRPC watch stream (:mod:`.watchstream`), which hands each watcher its
responses. etcd batches several revisions in one ``WatchResponse``; the watcher splits them so each response
holds the events of one revision, as the embedded store delivers them, and remembers the revision after
the last one it queued: when the stream is opened again (another endpoint, after a failure) or the watcher
is attached again (after its consumer fell behind), its watch is created from there, and any event at or
below it is dropped, so no event is lost or repeated. A start revision that was compacted ends the watcher
with :class:`~kvstore.errors.Compacted`, as etcd's ``compact_revision`` cancel does. A consumer that falls
``capacity`` responses behind gets its watch detached (never blocking the shared stream) until it has
caught up: client memory stays bounded.

Resume points: events, and progress notifications addressed to this watch (etcd sends those only when the
watch is synced). etcd 3.4 answers ``request_progress`` with a broadcast (watch id -1) at the member's
revision even to a watcher still replaying history, so those are delivered but never used to resume.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from aetcd import rpc

from ..callbacks import CallbackDispatcher
from ..errors import Compacted, KVError, Timeout
from ..types import Event, WatchFilter, WatchResponse
from ..watchconsumer import END
from ..watchconsumer import WatchConsumer
from .convert import event as convert_event
from .convert import wire_range_end

if TYPE_CHECKING:
    from .watchstream import WatchStream

__all__ = ["RemoteWatcher"]



class RemoteWatcher(WatchConsumer):
    """The events of a key or range on etcd; the same interface as :class:`kvstore.Watcher`."""

    def __init__(self, stream: WatchStream, watch_id: int, key: bytes, range_end: bytes | None,
                 start_revision: int, prev_kv: bool, filters: list[WatchFilter], progress_notify: bool,
                 on_end: Any, capacity: int = 1024) -> None:
        self.id = watch_id
        self.key = key
        self.range_end = range_end
        self.start_revision = start_revision  # 0 until the first stream is created
        self.prev_kv = prev_kv
        self.progress_notify = progress_notify
        self.revision = 0  # header revision of the last response taken
        self._stream = stream
        self._filters = [int(f) for f in filters]
        self._capacity = capacity
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[WatchResponse] = deque()
        self._events: deque[Event] = deque()
        self._error: KVError | None = None
        self._ended = False
        self._resume_from = start_revision  # next revision to ask for when a stream is (re)opened
        self._created = threading.Event()
        self._behind = False  # detached from the stream until the consumer catches up
        self._etcd_watch_id: int | None = None  # set by the stream while attached
        self._callback: Any = None
        self._dispatcher: CallbackDispatcher | None = None
        self._on_end = on_end

    # ------------------------------------------------------------ fed by the shared stream
    def _start(self, timeout: float) -> None:
        """Attach to the stream and wait (bounded) until etcd confirmed the watch."""
        self._stream.attach(self)
        if not self._created.wait(timeout) and not self._ended:
            self.cancel()
            raise Timeout(f"watch on key={self.key!r}: etcd did not confirm it within {timeout} s")

    def _create_request(self) -> Any:
        return rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
            key=self.key, range_end=wire_range_end(self.range_end), start_revision=self._resume_from,
            progress_notify=self.progress_notify, filters=self._filters, prev_kv=self.prev_kv))

    def _take(self, response: Any) -> None:
        """Queue what one WatchResponse of this watch carries (called by the stream's reader)."""
        if self._behind or self._ended:
            return
        header_revision = response.header.revision
        if response.created:
            self._etcd_watch_id = response.watch_id
            if self.start_revision == 0:
                self.start_revision = header_revision + 1
            if self._resume_from == 0:
                self._resume_from = header_revision + 1
            self._created.set()
            if not response.canceled:
                return
        if response.canceled:
            if response.compact_revision:
                self._finish(Compacted(self._resume_from, response.compact_revision, "start_revision"))
            else:
                self._finish(KVError(f"etcd canceled the watch on key={self.key!r}: "
                                     f"{response.cancel_reason or 'no reason given'}"))
            return
        if not response.events:
            # a progress notification: every event up to header_revision was sent to this watch
            with self._cond:
                if self._ended or self._behind:
                    return
                self._queue.append(WatchResponse((), header_revision, True))
                if response.watch_id == self._etcd_watch_id and header_revision + 1 > self._resume_from:
                    self._resume_from = header_revision + 1
                self._cond.notify_all()
            self._mark_ready()
            return
        batches: list[WatchResponse] = []
        current: list[Event] = []
        revision = 0
        for raw in response.events:
            item = convert_event(raw)
            if item.kv.mod_revision < self._resume_from:
                continue  # already delivered by a stream before this one
            if current and item.kv.mod_revision != revision:
                batches.append(WatchResponse(tuple(current), revision))
                current = []
            revision = item.kv.mod_revision
            current.append(item)
        if current:
            batches.append(WatchResponse(tuple(current), revision))
        if not batches:
            return
        with self._cond:
            if self._ended or self._behind:
                return
            if self._queue and len(self._queue) + len(batches) > self._capacity:
                self._behind = True  # the consumer is behind: detach; these events come again later
                detach = True
            else:
                detach = False
                self._queue.extend(batches)
                self._resume_from = batches[-1].revision + 1
            self._cond.notify_all()
        if detach:
            self._stream.detach(self)
        self._mark_ready()

    def _finish(self, error: KVError | None) -> None:
        with self._cond:
            if self._ended:
                return
            self._ended = True
            self._error = error
            if error is None:
                self._queue.clear()
                self._events.clear()
            self._cond.notify_all()
        self._created.set()
        self._stream.detach(self)
        self._on_end(self)
        self._mark_ready()

    def _mark_ready(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.mark_ready(self)  # type: ignore[arg-type]

    # ------------------------------------------------------------ consumer side (as kvstore.Watcher)
    def _next_response(self, timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._queue:
                    response = self._queue.popleft()
                    self.revision = response.revision
                    attach = self._behind and len(self._queue) <= self._capacity // 2 and not self._ended
                    if attach:
                        self._behind = False
                        break
                    return response
                if self._ended:
                    if self._error is not None:
                        raise self._error
                    return END
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
        self._stream.attach(self)  # caught up: etcd replays what came meanwhile from its history
        return response

    def request_progress(self) -> None:
        """Ask etcd for a progress notification for this watcher."""
        if not self._ended and not self._behind:
            self._stream.request_progress([self])

    def cancel(self) -> None:
        """Stop the watch; nothing more is delivered. Idempotent."""
        self._finish(None)

    def __repr__(self) -> str:
        return f"<RemoteWatcher id={self.id} key={self.key!r} range_end={self.range_end!r} ended={self._ended}>"
