"""Watch fan-out: one thread moves the events of every open watch to the event loop.

A Registry :class:`~objects.WatchStream` is read by blocking calls; a thread per watch connection would
not scale to thousands of idle watchers. Instead one callback watcher on the whole store (run by the
kvstore's single callback thread) tells a single *pump* thread which keys changed. The pump drains, with
non-blocking ``get(0)``, only the streams whose kind those keys belong to, encodes each event once (the
Registry hands every watcher of a revision the same decoded object), and hands the encoded lines of the
whole round to the event loop in one ``call_soon_threadsafe``. A sweep every second also drains every
stream, which delivers BOOKMARKs (requested every ``bookmark_interval`` for watches that allow them) and
anything a stream caught up from history. On an embedded or Raft store, taking the store lock once
guarantees every stream has the events of the keys reported; on a remote store (etcd through
``kvstore.connect``) each watch has its own stream from etcd, so a stream that had nothing yet when told
of a change is drained once more 10 ms later (and by the sweep in any case).

Threads: the kvstore callback thread (only records keys), the pump. Nothing here blocks the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Callable

import objects

SWEEP_INTERVAL = 1.0       # seconds between rounds that drain every stream
RECHECK_DELAY = 0.01       # a stream told of a change that had no event yet is drained once more after this
MAX_EVENTS_PER_ROUND = 4096  # per stream, so one busy stream cannot starve the others
MAX_PENDING_ROUNDS = 10000   # a client this far behind is dropped (it re-lists, as after kube's watch timeout)

log = logging.getLogger(__name__)

Encoder = Callable[[Any, dict[tuple[int, str], Any]], bytes]


class Subscription:
    """One open watch: its Registry stream, where its lines go (an asyncio.Queue), how they are encoded."""

    def __init__(self, stream: Any, marker: str, encode: Encoder, queue: asyncio.Queue[Any],
                 bookmarks: bool) -> None:
        self.stream = stream
        self.marker = marker          # "/<key segment>/": a changed key containing it may concern this stream
        self.encode = encode          # (WatchEvent or Exception, per-round cache) -> one JSON line
        self.queue = queue
        self.bookmarks = bookmarks    # allowWatchBookmarks
        self.ended = False
        self.next_bookmark = 0.0

    def drain(self, cache: dict[tuple[int, str], Any]) -> list[bytes]:
        """Every event the stream has now, encoded (an ERROR line ends it)."""
        lines: list[bytes] = []
        while len(lines) < MAX_EVENTS_PER_ROUND:
            try:
                event = self.stream.get(0)
            except objects.Expired as exc:
                lines.append(self.encode(exc, cache))
                self.ended = True
                break
            if event is None:
                break
            if event.type == "BOOKMARK" and not self.bookmarks:
                continue
            lines.append(self.encode(event, cache))
        return lines


class Fanout:
    """The pump thread and the subscriptions it serves (see module doc)."""

    def __init__(self, store: Any, loop: asyncio.AbstractEventLoop, bookmark_interval: float = 60.0) -> None:
        self._store = store
        self._loop = loop
        self._bookmark_interval = bookmark_interval
        self._cond = threading.Condition(threading.Lock())
        self._groups: dict[str, set[Subscription]] = {}
        self._dirty: set[bytes] = set()
        self._fresh: list[Subscription] = []
        self._recheck: list[Subscription] = []
        self._recheck_at = float("inf")
        self._stopped = False
        # The barrier is the embedded / Raft store's status(), which takes its lock. A remote store
        # (kvstore.connect's EtcdStore, the one with ``endpoints``) gains nothing from it and would pay four
        # RPCs a round for it, HashKV over the whole key space among them.
        self._barrier: Callable[[], Any] | None = None if hasattr(store, "endpoints") else store.status
        self._watcher = store.watch("", prefix=True, callback=self._changed)
        self._thread = threading.Thread(target=self._run, name="apiserver-watch-fanout", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ kvstore callback thread
    def _changed(self, event: Any) -> None:
        kv = getattr(event, "kv", None)
        if kv is None:
            return  # the wake watcher itself ended (store closed)
        with self._cond:
            self._dirty.add(kv.key)
            self._cond.notify()

    # ------------------------------------------------------------------ event loop side
    def subscribe(self, sub: Subscription) -> None:
        """Start serving ``sub``; its first drain happens at once (initial events)."""
        sub.next_bookmark = time.monotonic() + self._bookmark_interval
        with self._cond:
            self._groups.setdefault(sub.marker, set()).add(sub)
            self._fresh.append(sub)
            self._cond.notify()

    def __len__(self) -> int:
        """How many watches are being served."""
        with self._cond:
            return sum(len(group) for group in self._groups.values())

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop serving ``sub`` and end its stream."""
        with self._cond:
            group = self._groups.get(sub.marker)
            if group is not None:
                group.discard(sub)
                if not group:
                    del self._groups[sub.marker]
        sub.stream.stop()

    def close(self) -> None:
        """Stop the pump; every subscription's queue receives None (the end)."""
        with self._cond:
            self._stopped = True
            subs = [s for group in self._groups.values() for s in group]
            self._groups.clear()
            self._cond.notify()
        self._watcher.cancel()
        self._thread.join(timeout=10)
        for sub in subs:
            sub.stream.stop()
            self._post([(sub, [], True)])

    # ------------------------------------------------------------------ pump thread
    def _run(self) -> None:
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        while True:
            with self._cond:
                while not (self._stopped or self._dirty or self._fresh):
                    remaining = min(next_sweep, self._recheck_at) - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._stopped:
                    return
                dirty, self._dirty = self._dirty, set()
                targets = self._fresh
                self._fresh = []
                now = time.monotonic()
                if now >= self._recheck_at:
                    targets.extend(self._recheck)
                    self._recheck, self._recheck_at = [], float("inf")
                told: list[Subscription] = []
                sweep = now >= next_sweep
                if sweep:
                    next_sweep = now + SWEEP_INTERVAL
                    targets.extend(s for group in self._groups.values() for s in group)
                elif dirty:
                    for marker, group in self._groups.items():
                        marker_bytes = marker.encode()
                        if any(marker_bytes in key for key in dirty):
                            told.extend(group)
            if dirty and self._barrier is not None:
                # A barrier: the store lock is held while a revision is handed to every watcher, so once we
                # get it, every stream of an embedded or Raft store has the events of the keys we were told of.
                try:
                    self._barrier()
                except Exception as exc:  # noqa: BLE001 - the pump must outlive the store's bad moments
                    log.warning("apiserver watch fan-out: store barrier failed (%s); the streams that had "
                                "nothing yet are drained again shortly", exc)
            if sweep:
                self._request_bookmarks(targets, now)
            quiet = self._pump(targets + told)
            late = [sub for sub in told if id(sub) in quiet]
            if late:
                with self._cond:
                    self._recheck.extend(late)
                    self._recheck_at = min(self._recheck_at, time.monotonic() + RECHECK_DELAY)

    def _request_bookmarks(self, targets: list[Subscription], now: float) -> None:
        for sub in targets:
            if sub.bookmarks and now >= sub.next_bookmark:
                sub.next_bookmark = now + self._bookmark_interval
                try:
                    sub.stream.request_bookmark()
                except Exception:  # noqa: BLE001 - a stream that ended: its next drain reports it
                    pass

    def _pump(self, targets: list[Subscription]) -> set[int]:
        """Drain ``targets`` and post what they had; returns the ids of those that had nothing."""
        cache: dict[tuple[int, str], Any] = {}
        batch: list[tuple[Subscription, list[bytes], bool]] = []
        seen: set[int] = set()
        quiet: set[int] = set()
        for sub in targets:
            if id(sub) in seen or sub.ended:
                continue
            seen.add(id(sub))
            try:
                lines = sub.drain(cache)
            except Exception as exc:  # a stream that cannot be read any more ends; the others go on
                lines, sub.ended = [sub.encode(exc, cache)], True
            if lines or sub.ended:
                batch.append((sub, lines, sub.ended))
            else:
                quiet.add(id(sub))
        if batch:
            self._post(batch)
        return quiet

    def _post(self, batch: list[tuple[Subscription, list[bytes], bool]]) -> None:
        try:
            self._loop.call_soon_threadsafe(_deliver, batch)
        except RuntimeError:
            pass  # the loop is closed: the server is stopping


def _deliver(batch: list[tuple[Subscription, list[bytes], bool]]) -> None:
    """On the event loop: queue each subscription's lines (None after them when it ended)."""
    for sub, lines, ended in batch:
        queue = sub.queue
        if queue.qsize() > MAX_PENDING_ROUNDS:
            if not sub.ended:
                sub.ended = True  # too slow a reader: the pump stops draining it and its watch ends
                queue.put_nowait(None)
            continue
        if lines:
            queue.put_nowait(b"".join(lines))
        if ended:
            queue.put_nowait(None)
