"""The watch hub: synced watchers fed by each new revision, unsynced ones catching up from history.

As in etcd's watchable store, a watcher is either *synced* (it has every event up to the store revision
queued, and the hub appends new ones as they are applied) or *unsynced* (it is behind: its start revision
is in the past, or its queue was full). Writers never wait for a watcher: when a synced watcher's queue is
full the hub just marks it unsynced at that revision. The *consumer* then catches up by itself, reading
the state machine's event log in bounded batches under the store lock, and becomes synced again when it
reaches the store revision. If the history it needs was compacted meanwhile, the watcher ends with
:class:`~kvstore.errors.Compacted`.

Watchers are indexed so a put does not scan them all: single-key watchers by key, range watchers grouped
by their ``(start, end)`` range, and the ranges by the points where they start and end (:class:`RangeIndex`:
a put bisects once for the groups whose range holds its key, instead of testing every range).

Lock order: the store lock, then a watcher's condition. Consumers never hold their condition while taking
the store lock.
"""
from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .callbacks import CallbackDispatcher
from .errors import Compacted, KVError
from .types import Event, EventType, WatchFilter, WatchResponse
from .watchconsumer import END
from .watchconsumer import WatchConsumer

__all__ = ["Watcher", "WatchHub", "WatchCallback"]

WatchCallback = Callable[[Any], None]


class Watcher(WatchConsumer):
    """A stream of events for a key or a range; iterate it, or give ``callback=`` to ``Store.watch``.

    * ``for event in watcher`` blocks for the next :class:`Event` and stops when the watcher is canceled;
      it raises :class:`Compacted` if the history it needs was compacted away.
    * ``watcher.get(timeout)`` returns the next event or ``None`` after ``timeout`` seconds.
    * ``watcher.responses(timeout)`` yields whole :class:`WatchResponse` batches, progress
      notifications included (``progress_notify=True``, no events); ``next_response(timeout)`` takes the
      next one, ``next_responses(timeout)`` every one queued.
    * ``async for event in watcher`` works in asyncio code.
    * ``cancel()`` (or leaving a ``with`` block) ends the stream.
    """

    def __init__(self, hub: WatchHub, watch_id: int, key: bytes, range_end: bytes | None, start_revision: int,
                 prev_kv: bool, filters: Iterable[WatchFilter], progress_notify: bool, capacity: int) -> None:
        self.id = watch_id
        self.key = key
        self.range_end = range_end
        self.start_revision = start_revision
        self.prev_kv = prev_kv
        self.progress_notify = progress_notify
        self.revision = 0  # header revision of the last response taken: every event up to it was delivered
        self._hub = hub
        self._dropped = frozenset(EventType.PUT if f == WatchFilter.NOPUT else EventType.DELETE for f in filters)
        self._capacity = capacity
        # the hot paths take the lock itself (no Condition.__enter__ frames); waits go through the condition
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiting = 0  # consumers in _cond.wait: a new response wakes them only when there are any
        # set by the offer that woke them, cleared by each consumer that starts waiting: a woken consumer
        # waits for the GIL a while, and the offers meanwhile need not wake it again
        self._notified = False
        self._queue: deque[WatchResponse] = deque()
        self._queued_events = 0
        self._events: deque[Event] = deque()  # the rest of the response being iterated
        self._synced = False
        self._next_revision = start_revision  # first revision not yet queued
        # set when the watch starts at the compact revision: that revision is read as compaction left it
        # (no tombstones, as etcd); a watcher already reading when compaction comes loses nothing
        self._start_compacted = 0
        self._error: KVError | None = None
        self._ended = False
        self._callback: WatchCallback | None = None
        self._dispatcher: CallbackDispatcher | None = None  # set for callback watchers

    # ------------------------------------------------------------ fed by the hub (store lock held)
    def _matches(self, key: bytes) -> bool:
        end = self.range_end
        if end is None:
            return key == self.key
        return self.key <= key and (not end or key < end)

    def _shape(self, events: Iterable[Event]) -> tuple[Event, ...]:
        dropped = self._dropped
        keep_prev = self.prev_kv
        return tuple(event if keep_prev or event.prev_kv is None else Event(event.type, event.kv, None)
                     for event in events if event.type not in dropped)

    def _offer(self, revision: int, events: Iterable[Event]) -> None:
        self._offer_shaped(revision, self._shape(events))

    def _offer_one(self, revision: int, event: Event, response: WatchResponse) -> None:
        """The common case, one event: the hub shares one ``response`` among the watchers that want it shaped
        alike (with or without prev_kv; responses are values). ``_offer_shaped`` for one event, written out:
        every watcher of a key pays it on every write."""
        if self._dropped and event.type in self._dropped:
            return
        with self._lock:
            if self._ended or not self._synced or revision < self._next_revision:
                return
            if self._queued_events and self._queued_events + 1 > self._capacity:
                self._synced = False  # fall behind; the consumer catches up from history
                self._next_revision = revision
                return
            self._queue.append(response)
            self._queued_events += 1
            self._next_revision = revision + 1
            if self._waiting and not self._notified:
                self._cond.notify_all()
                self._notified = True
        if self._dispatcher is not None:
            self._dispatcher.mark_ready(self)

    def _offer_shaped(self, revision: int, shaped: tuple[Event, ...]) -> None:
        if not shaped:
            return
        with self._lock:
            if self._ended or not self._synced or revision < self._next_revision:
                return
            if self._queued_events and self._queued_events + len(shaped) > self._capacity:
                self._synced = False  # fall behind; the consumer catches up from history
                self._next_revision = revision
                # (a callback watcher is already marked ready: its queue is not empty)
                return
            self._queue.append(WatchResponse(shaped, revision))
            self._queued_events += len(shaped)
            self._next_revision = revision + 1
            if self._waiting and not self._notified:
                self._cond.notify_all()
                self._notified = True
        if self._dispatcher is not None:
            self._dispatcher.mark_ready(self)

    def _offer_progress(self, revision: int) -> None:
        with self._cond:
            if self._ended or not self._synced:
                return  # etcd only notifies watchers that have every event up to the revision
            self._queue.append(WatchResponse((), revision, True))
            self._cond.notify_all()

    def _end(self, error: KVError | None) -> None:
        with self._cond:
            if not self._ended:
                self._ended = True
                self._error = error
                if error is None:
                    # canceled: nothing more is delivered (a compacted watcher keeps what it had queued)
                    self._queue.clear()
                    self._queued_events = 0
                    self._events.clear()
            self._cond.notify_all()

    # ------------------------------------------------------------ consumer side
    def _next_response(self, timeout: float | None) -> Any:
        """The next response; None on timeout; END when ended; raises the ending error."""
        return self._take(timeout, False)

    def _next_responses(self, timeout: float | None) -> Any:
        """Every queued response, in one list; None on timeout; END when ended; raises the ending error."""
        return self._take(timeout, True)

    def _take(self, timeout: float | None, whole: bool) -> Any:
        deadline = None  # read from the clock only when there is nothing to take yet
        while True:
            with self._lock:
                queue = self._queue
                if queue:
                    if whole:
                        taken: Any = list(queue)
                        queue.clear()
                        self._queued_events = 0
                        self.revision = taken[-1].revision
                        return taken
                    response = queue.popleft()
                    self._queued_events -= len(response.events)
                    self.revision = response.revision
                    return response
                if self._ended:
                    if self._error is not None:
                        raise self._error
                    return END
                if self._synced:
                    remaining = None
                    if timeout is not None:
                        if deadline is None:
                            deadline = time.monotonic() + timeout
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return None
                    self._waiting += 1
                    self._notified = False
                    try:
                        self._cond.wait(remaining)
                    finally:
                        self._waiting -= 1
                    continue
            self._hub._catch_up(self)

    def request_progress(self) -> None:
        """Ask for a progress notification (queued only while the watcher is synced, as etcd)."""
        self._hub.request_progress(self)

    def cancel(self) -> None:
        """Stop the stream; nothing more is delivered (undelivered events are dropped). Idempotent."""
        self._hub._remove(self)
        self._end(None)

    def __repr__(self) -> str:
        return f"<Watcher id={self.id} key={self.key!r} range_end={self.range_end!r} synced={self._synced}>"


class RangeIndex:
    """The groups of range watchers whose range ``[start, end)`` (an empty ``end``: no upper bound) holds a
    key, found with one bisection: the ranges' starts and ends cut the key space into intervals whose keys
    all fall in the same ranges, and each interval keeps its groups, in the order the ranges were added."""

    __slots__ = ("_points", "_groups")

    def __init__(self, ranges: dict[tuple[bytes, bytes], set[Watcher]]) -> None:
        points = sorted({point for start, end in ranges for point in ((start, end) if end else (start,))})
        self._points = points
        # interval i is [points[i-1], points[i]): its ranges are those holding its first key
        self._groups: list[tuple[set[Watcher], ...]] = [()] + [
            tuple(group for (start, end), group in ranges.items() if start <= point and (not end or point < end))
            for point in points]

    def groups(self, key: bytes) -> tuple[set[Watcher], ...]:
        """The groups whose range holds ``key``."""
        return self._groups[bisect_right(self._points, key)]


class WatchHub:
    """Every watcher of one store, indexed by key and by range (guarded by the store lock)."""

    def __init__(self, lock: Any, state: Any, capacity: int = 1024) -> None:
        self._lock = lock
        self._state = state
        self._capacity = capacity
        self._by_key: dict[bytes, set[Watcher]] = {}
        self._by_range: dict[tuple[bytes, bytes], set[Watcher]] = {}
        self._ranges: RangeIndex | None = None  # of _by_range; rebuilt at the next publish after a range comes or goes
        self._next_id = 1
        self._dispatcher = CallbackDispatcher()

    def watch(self, key: bytes, range_end: bytes | None, start_revision: int, prev_kv: bool,
              filters: Iterable[WatchFilter], progress_notify: bool,
              callback: WatchCallback | None = None) -> Watcher:
        """Register a watcher; ``start_revision`` 0 means "from the next revision"."""
        with self._lock:
            current = self._state.revision
            start = start_revision if start_revision > 0 else current + 1
            watcher = Watcher(self, self._next_id, key, range_end, start, prev_kv, filters, progress_notify,
                              self._capacity)
            self._next_id += 1
            # a start in the past replays history first; a start now or later is fed live
            watcher._synced = start > current
            if start == self._state.compact_revision and not watcher._synced:
                watcher._start_compacted = start
            if range_end is None:
                self._by_key.setdefault(key, set()).add(watcher)
            else:
                group = self._by_range.get((key, range_end))
                if group is None:
                    group = self._by_range[(key, range_end)] = set()
                    self._ranges = None
                group.add(watcher)
        if callback is not None:
            watcher._callback = callback
            watcher._dispatcher = self._dispatcher
            if not watcher._synced:
                self._dispatcher.mark_ready(watcher)  # replay its history now
        return watcher

    def publish(self, revision: int, events: list[Event]) -> None:
        """The state machine's listener: hand a new revision's events to the synced watchers."""
        by_key = self._by_key
        by_range = self._by_range
        if not by_key and not by_range:
            return
        ranges = self._ranges
        if ranges is None:
            ranges = self._ranges = RangeIndex(by_range)
        if len(events) == 1:
            event = events[0]
            key = event.kv.key
            full = WatchResponse((event,), revision)
            bare = full if event.prev_kv is None else None  # built when a watcher without prev_kv wants it
            targets = by_key.get(key)
            # The key's watchers and the range groups' run the same loop, written out twice on purpose: one
            # loop over both (chaining them) cost ~6 % of a publish with a key watcher (2,102 -> 2,239 ns).
            if targets:
                for watcher in targets:
                    if watcher.prev_kv:
                        watcher._offer_one(revision, event, full)
                    else:
                        if bare is None:
                            bare = WatchResponse((Event(event.type, event.kv, None),), revision)
                        watcher._offer_one(revision, event, bare)
            for watchers in ranges.groups(key):
                for watcher in watchers:
                    if watcher.prev_kv:
                        watcher._offer_one(revision, event, full)
                    else:
                        if bare is None:
                            bare = WatchResponse((Event(event.type, event.kv, None),), revision)
                        watcher._offer_one(revision, event, bare)
            return
        per_watcher: dict[Watcher, list[Event]] = {}
        for event in events:
            key = event.kv.key
            for watcher in by_key.get(key, ()):
                per_watcher.setdefault(watcher, []).append(event)
            for watchers in ranges.groups(key):
                for watcher in watchers:
                    per_watcher.setdefault(watcher, []).append(event)
        for watcher, matched in per_watcher.items():
            watcher._offer(revision, matched)

    def _catch_up(self, watcher: Watcher) -> None:
        """Move an unsynced watcher forward from the event log (runs in the consumer's thread)."""
        with self._lock:
            state = self._state
            with watcher._cond:
                if watcher._synced or watcher._ended:
                    return
                next_revision = watcher._next_revision
            if next_revision < state.compact_revision:
                self._remove_locked(watcher)
                watcher._end(Compacted(next_revision, state.compact_revision, "start_revision"))
                return
            batch, after = state.events_since(next_revision, watcher._capacity, watcher._start_compacted)
            responses = []
            for revision, entry in batch:
                events = (entry,) if type(entry) is Event else entry
                shaped = watcher._shape(event for event in events if watcher._matches(event.kv.key))
                if shaped:
                    responses.append(WatchResponse(shaped, revision))
            with watcher._cond:
                watcher._queue.extend(responses)
                watcher._queued_events += sum(len(r.events) for r in responses)
                watcher._next_revision = max(after, next_revision)
                if watcher._next_revision > state.revision:
                    watcher._synced = True
                watcher._cond.notify_all()

    def resync(self, revision: int) -> None:
        """The state is about to be replaced (a Raft snapshot install): every watcher has seen all up to
        ``revision`` and from now on catches up from the new history (or ends with Compacted)."""
        with self._lock:
            for group in (*self._by_key.values(), *self._by_range.values()):
                for watcher in group:
                    with watcher._cond:
                        if watcher._synced:
                            watcher._synced = False
                            watcher._next_revision = max(watcher._next_revision, revision + 1)
                        watcher._cond.notify_all()
                    if watcher._dispatcher is not None:
                        watcher._dispatcher.mark_ready(watcher)

    def request_progress(self, watcher: Watcher | None = None) -> None:
        """Queue a progress notification at the store revision for one watcher, or for every watcher
        created with ``progress_notify=True``."""
        with self._lock:
            revision = self._state.revision
            if watcher is not None:
                watcher._offer_progress(revision)
                return
            for group in (*self._by_key.values(), *self._by_range.values()):
                for each in group:
                    if each.progress_notify:
                        each._offer_progress(revision)

    def _remove_locked(self, watcher: Watcher) -> None:
        if watcher.range_end is None:
            group = self._by_key.get(watcher.key)
            index: dict[Any, set[Watcher]] = self._by_key
            group_key: Any = watcher.key
        else:
            group_key = (watcher.key, watcher.range_end)
            group = self._by_range.get(group_key)
            index = self._by_range
        if group is not None:
            group.discard(watcher)
            if not group:
                del index[group_key]
                self._ranges = None

    def _remove(self, watcher: Watcher) -> None:
        with self._lock:
            self._remove_locked(watcher)

    def close(self) -> None:
        """End every watcher (their iteration stops)."""
        with self._lock:
            watchers = [w for group in (*self._by_key.values(), *self._by_range.values()) for w in group]
            self._by_key.clear()
            self._by_range.clear()
            self._ranges = None
        for watcher in watchers:
            watcher.cancel()
        self._dispatcher.stop()

    def __len__(self) -> int:
        return sum(len(group) for group in (*self._by_key.values(), *self._by_range.values()))
