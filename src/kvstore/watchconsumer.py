"""The consumer side every watcher offers (the embedded store's :class:`kvstore.Watcher` and
``kvstore.connect``'s ``RemoteWatcher``): one event at a time, whole responses, ``for`` and ``async for``,
and a ``with`` block that cancels.

A watcher subclasses :class:`WatchConsumer` and supplies ``_next_response(timeout)`` (the next
:class:`WatchResponse`; None on timeout; :data:`END` once ended; raises the error that ended it), ``cancel()``
and the attributes ``id``, ``revision``, ``_events`` (a deque) and ``_ended``. It may also supply
``_next_responses(timeout)`` (every response queued, in one list) where it can take them at once.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from typing import Any, Self

from .errors import WatchCanceled
from .types import Event, WatchResponse

__all__ = ["WatchConsumer", "END"]

END = object()  # the watcher ended: canceled, or the store / client closed
_BATCH_LIMIT = 4096  # responses in one batch of the generic _next_responses (a producer may keep adding)


class WatchConsumer:
    """Event iteration over ``_next_response``; see the module documentation."""

    id: int
    revision: int
    _events: deque[Event]
    _ended: bool

    def _next_response(self, timeout: float | None) -> Any:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError

    def _next_responses(self, timeout: float | None) -> Any:
        """Every response queued now, waiting up to ``timeout`` for the first: a non-empty list; None on
        timeout; END when ended. This one takes them one by one; a watcher holding its queue under one
        lock takes them all at once."""
        response = self._next_response(timeout)
        if response is None or response is END:
            return response
        batch = [response]
        for _ in range(_BATCH_LIMIT - 1):
            response = self._next_response(0.0)
            if response is None or response is END:
                break  # an end is seen again by the next call
            batch.append(response)
        return batch

    def _next_event(self, timeout: float | None) -> Any:
        """The next event; None on timeout; END when ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._events:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            response = self._next_response(remaining)
            if response is None or response is END:
                return response
            self._events.extend(response.events)
        return self._events.popleft()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when ``timeout`` seconds pass first.

        Raises :class:`WatchCanceled` once the watcher has ended, :class:`Compacted` if it fell behind a
        compaction.
        """
        event = self._next_event(timeout)
        if event is END:
            raise WatchCanceled(f"watch id={self.id} was canceled")
        return event  # type: ignore[no-any-return]

    def responses(self, timeout: float | None = None) -> Iterator[WatchResponse]:
        """Yield whole responses (progress notifications included) until the watcher ends, or until
        no response arrives for ``timeout`` seconds."""
        while True:
            response = self.next_response(timeout)
            if response is None:
                return
            yield response

    def next_response(self, timeout: float | None = None) -> WatchResponse | None:
        """The next whole response (what ``responses`` yields next), or None when none arrives within
        ``timeout`` seconds or the watcher has ended; raises the error that ended it, as ``responses``.
        One call per response, for a consumer that takes them one at a time (no generator each time)."""
        if self._events:  # events left over from event iteration come first
            events = tuple(self._events)
            self._events.clear()
            return WatchResponse(events, self.revision)
        response = self._next_response(timeout)
        return None if response is END else response  # type: ignore[no-any-return]

    def next_responses(self, timeout: float | None = None) -> list[WatchResponse]:
        """Every response ready now, in order (progress notifications included), waiting up to ``timeout``
        seconds for the first; ``[]`` when none arrives in time or the watcher has ended; raises the error
        that ended it, as ``responses``. A consumer that wakes for one response takes the others queued
        meanwhile in the same call (one lock, one wake-up for the lot)."""
        if self._events:  # events left over from event iteration come first
            events = tuple(self._events)
            self._events.clear()
            return [WatchResponse(events, self.revision)]
        batch = self._next_responses(timeout)
        return [] if batch is None or batch is END else batch  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self._next_event(None)
        if event is END:
            raise StopIteration
        return event  # type: ignore[no-any-return]

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        loop = asyncio.get_running_loop()
        while True:
            # short waits in the default executor, so a cancelled task does not pin a thread for long
            event = await loop.run_in_executor(None, self._next_event, 0.2)
            if event is END:
                raise StopAsyncIteration
            if event is not None:
                return event  # type: ignore[no-any-return]

    @property
    def canceled(self) -> bool:
        """True once the watcher has ended (canceled, compacted, or the store / client closed)."""
        return self._ended

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()
