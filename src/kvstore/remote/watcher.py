"""A watch on etcd with the embedded :class:`kvstore.Watcher`'s interface and guarantees.

Each watcher has its own gRPC watch stream and a reader thread. etcd batches several revisions in one
``WatchResponse``; the reader splits them so each response holds the events of one revision, as the
embedded store delivers them. When the stream breaks (the member died, or lost its leader: the stream is
opened with etcd's ``hasleader`` metadata, as clientv3's ``WithRequireLeader``), the reader opens a new one
on the next endpoint from the revision after the last one it queued, so no event is lost or repeated.
A start revision that was compacted ends the watcher with :class:`~kvstore.errors.Compacted`, as etcd's
``compact_revision`` cancel does. A consumer that falls behind by ``capacity`` responses stops the reader,
so gRPC's flow control holds etcd back (etcd then treats the watch as slow and catches it up from its
history later, as the embedded hub does with a full queue): client memory stays bounded.

Resume points: events, and progress notifications addressed to this watch (etcd sends those only when the
watch is synced). etcd 3.4 answers ``request_progress`` with a broadcast (watch id -1) at the member's
revision even to a watcher still replaying history, so those are delivered but never used to resume.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import grpc
from aetcd import rpc

from ..callbacks import CallbackDispatcher
from ..errors import Compacted, KVError, Timeout, WatchCanceled
from ..types import Event, WatchFilter, WatchResponse
from .convert import event as convert_event
from .convert import wire_range_end
from .grpcerrors import AUTH_EXPIRED, FINAL, map_error, retry_class

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["RemoteWatcher"]

_END = object()
_REQUIRE_LEADER = ("hasleader", "true")
_RESUME_PAUSE = 0.05  # between two attempts to reopen a stream, so a dead cluster is not spun on


class RemoteWatcher:
    """The events of a key or range on etcd; the same interface as :class:`kvstore.Watcher`."""

    def __init__(self, connection: Connection, watch_id: int, key: bytes, range_end: bytes | None,
                 start_revision: int, prev_kv: bool, filters: list[WatchFilter], progress_notify: bool,
                 on_end: Any, capacity: int = 1024) -> None:
        self.id = watch_id
        self.key = key
        self.range_end = range_end
        self.start_revision = start_revision  # 0 until the first stream is created
        self.prev_kv = prev_kv
        self.progress_notify = progress_notify
        self.revision = 0  # header revision of the last response taken
        self._connection = connection
        self._filters = [int(f) for f in filters]
        self._capacity = capacity
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[WatchResponse] = deque()
        self._events: deque[Event] = deque()
        self._error: KVError | None = None
        self._ended = False
        self._resume_from = start_revision  # next revision to ask for when a stream is (re)opened
        self._created = threading.Event()
        self._requests: queue.SimpleQueue[Any] | None = None
        self._call: Any = None
        self._etcd_watch_id: int | None = None
        self._callback: Any = None
        self._dispatcher: CallbackDispatcher | None = None
        self._on_end = on_end
        self._thread = threading.Thread(target=self._run, name=f"kvstore-etcd-watch-{watch_id}", daemon=True)

    # ------------------------------------------------------------ the stream (reader thread)
    def _start(self, timeout: float) -> None:
        """Open the first stream and wait (bounded) until etcd confirmed the watch."""
        self._thread.start()
        if not self._created.wait(timeout) and not self._ended:
            self.cancel()
            raise Timeout(f"watch on key={self.key!r}: etcd did not confirm it within {timeout} s")

    def _create_request(self) -> Any:
        return rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
            key=self.key, range_end=wire_range_end(self.range_end), start_revision=self._resume_from,
            progress_notify=self.progress_notify, filters=self._filters, prev_kv=self.prev_kv))

    def _run(self) -> None:
        while not self._ended:
            index = self._connection.current
            try:
                stubs = self._connection.stubs(index)
                metadata = (*(self._connection.metadata or ()), _REQUIRE_LEADER)
            except KVError as error:
                self._finish(error)
                return
            requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
            requests.put(self._create_request())
            call = stubs.watch.Watch(iter(requests.get, None), metadata=metadata)
            with self._cond:
                if self._ended:
                    call.cancel()
                    return
                self._requests, self._call = requests, call
            try:
                for response in call:
                    if self._take(response):
                        return
            except grpc.RpcError as error:
                if self._ended:
                    return
                kind = retry_class(error)
                if kind == FINAL:
                    self._finish(map_error(error, revision=self._resume_from, where=f" {stubs.endpoint!r} watch"))
                    return
                if kind == AUTH_EXPIRED:
                    try:
                        self._connection.authenticate(stale=(self._connection.metadata or (("", ""),))[0][1])
                    except KVError as auth_error:
                        self._finish(auth_error)
                        return
            finally:
                requests.put(None)
            if self._ended:
                return
            # the stream ended (member gone, or it lost its leader): resume on the next endpoint
            self._connection.fail_over(index)
            time.sleep(_RESUME_PAUSE)

    def _take(self, response: Any) -> bool:
        """Queue what one WatchResponse carries; True when the watch is over."""
        header_revision = response.header.revision
        if response.created:
            self._etcd_watch_id = response.watch_id
            if self.start_revision == 0:
                self.start_revision = header_revision + 1
            if self._resume_from == 0:
                self._resume_from = header_revision + 1
            self._created.set()
            if not response.canceled:
                return False
        if response.canceled:
            if response.compact_revision:
                self._finish(Compacted(self._resume_from, response.compact_revision, "start_revision"))
            else:
                self._finish(KVError(f"etcd canceled the watch on key={self.key!r}: "
                                     f"{response.cancel_reason or 'no reason given'}"))
            return True
        if not response.events:
            # a progress notification: every event up to header_revision was sent to this watch
            with self._cond:
                if self._ended:
                    return True
                self._queue.append(WatchResponse((), header_revision, True))
                if response.watch_id == self._etcd_watch_id and header_revision + 1 > self._resume_from:
                    self._resume_from = header_revision + 1
                self._cond.notify_all()
            self._mark_ready()
            return False
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
        if batches:
            with self._cond:
                while len(self._queue) >= self._capacity and not self._ended:
                    self._cond.wait(0.5)  # back-pressure: the consumer is behind
                if self._ended:
                    return True
                self._queue.extend(batches)
                self._resume_from = batches[-1].revision + 1
                self._cond.notify_all()
            self._mark_ready()
        return False

    def _finish(self, error: KVError | None) -> None:
        with self._cond:
            if self._ended:
                return
            self._ended = True
            self._error = error
            if error is None:
                self._queue.clear()
                self._events.clear()
            call, self._call = self._call, None
            self._cond.notify_all()
        self._created.set()
        if call is not None:
            call.cancel()
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
                    if len(self._queue) == self._capacity - 1:
                        self._cond.notify_all()  # the reader may be waiting for room
                    return response
                if self._ended:
                    if self._error is not None:
                        raise self._error
                    return _END
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def _next_event(self, timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._events:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            response = self._next_response(remaining)
            if response is None or response is _END:
                return response
            self._events.extend(response.events)
        return self._events.popleft()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when ``timeout`` seconds pass first (see :meth:`kvstore.Watcher.get`)."""
        event = self._next_event(timeout)
        if event is _END:
            raise WatchCanceled(f"watch id={self.id} was canceled")
        return event  # type: ignore[no-any-return]

    def responses(self, timeout: float | None = None) -> Iterator[WatchResponse]:
        """Whole responses (progress notifications included) until the watcher ends or ``timeout`` passes."""
        while True:
            if self._events:
                events = tuple(self._events)
                self._events.clear()
                yield WatchResponse(events, self.revision)
                continue
            response = self._next_response(timeout)
            if response is None or response is _END:
                return
            yield response

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self._next_event(None)
        if event is _END:
            raise StopIteration
        return event  # type: ignore[no-any-return]

    def __aiter__(self) -> RemoteWatcher:
        return self

    async def __anext__(self) -> Event:
        loop = asyncio.get_running_loop()
        while True:
            event = await loop.run_in_executor(None, self._next_event, 0.2)
            if event is _END:
                raise StopAsyncIteration
            if event is not None:
                return event  # type: ignore[no-any-return]

    def request_progress(self) -> None:
        """Ask etcd for a progress notification on this watcher's stream."""
        with self._cond:
            requests = None if self._ended else self._requests
        if requests is not None:
            requests.put(rpc.WatchRequest(progress_request=rpc.WatchProgressRequest()))

    @property
    def canceled(self) -> bool:
        """True once the watcher has ended (canceled, compacted or the client closed)."""
        return self._ended

    def cancel(self) -> None:
        """Stop the stream; nothing more is delivered. Idempotent."""
        self._finish(None)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def __enter__(self) -> RemoteWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return f"<RemoteWatcher id={self.id} key={self.key!r} range_end={self.range_end!r} ended={self._ended}>"
