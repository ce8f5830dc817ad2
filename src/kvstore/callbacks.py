"""One thread that runs the callbacks of every callback watcher of a store.

A put that concerns a thousand callback watchers wakes this one thread once, not a thousand threads:
the hub marks each watcher *ready* (a deque append under a small lock) and the dispatcher drains the
ready watchers one after the other, calling their callbacks in event order. Catching up from history
(an unsynced watcher) also happens here, never in a writer. A slow callback delays the other callbacks,
never the writers; a callback that raises ends its own watcher only (the traceback goes to stderr).
"""
from __future__ import annotations

import threading
import traceback
from collections import deque
from typing import TYPE_CHECKING, Any

from .errors import KVError
from .types import Event

if TYPE_CHECKING:
    from .watch import Watcher

__all__ = ["CallbackDispatcher"]


class CallbackDispatcher:
    """Runs watcher callbacks in a single daemon thread, started with the first callback watcher."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._ready: deque[Watcher] = deque()
        self._scheduled: set[int] = set()  # ids of the watchers already in _ready
        self._stopped = False
        self._thread: threading.Thread | None = None

    def mark_ready(self, watcher: Watcher) -> None:
        """The watcher has something to deliver (or to catch up, or has ended)."""
        with self._cond:
            if self._stopped or watcher.id in self._scheduled:
                return
            self._scheduled.add(watcher.id)
            self._ready.append(watcher)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kvstore-watch-callbacks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ready and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                watcher = self._ready.popleft()
                self._scheduled.discard(watcher.id)
            _deliver(watcher)

    @property
    def thread(self) -> threading.Thread | None:
        """The dispatcher thread, once started."""
        return self._thread

    def stop(self) -> None:
        """Stop the thread (after the callback it is running, if any). Idempotent."""
        with self._cond:
            self._stopped = True
            self._ready.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)


def _deliver(watcher: Watcher) -> None:
    """Hand every event the watcher has now to its callback (catching up from history if needed)."""
    callback: Any = watcher._callback
    try:
        while True:
            event = watcher._next_event(0)
            if event is None:
                return  # nothing more for now: the hub marks the watcher ready again on the next event
            if not isinstance(event, Event):
                return  # the watcher ended (canceled or the store closed)
            callback(event)
    except KVError as error:  # Compacted: the watcher ended, its callback is told
        _call_quietly(callback, error)
    except Exception:
        traceback.print_exc()
        watcher.cancel()


def _call_quietly(callback: Any, item: Any) -> None:
    try:
        callback(item)
    except Exception:
        traceback.print_exc()
