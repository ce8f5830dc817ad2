"""Registry watch streams: kvstore events turned into the API server's ADDED / MODIFIED / DELETED / BOOKMARK.

With selectors, each change is judged on the object before and after it (the kvstore's prev_kv), like
the API server's watch cache: starts matching -> ADDED, stops matching -> DELETED (carrying the last
matching state, at the new resourceVersion), matches before and after -> MODIFIED.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import msgpack

from kvstore import Compacted, EventType

from .errors import Expired

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
BOOKMARK = "BOOKMARK"
_DELETE = EventType.DELETE


class WatchEvent:
    """One watch event: ``type`` (ADDED, MODIFIED, DELETED, BOOKMARK), ``object`` (None for a BOOKMARK)
    and ``resource_version`` (the revision the event brings the watcher up to)."""

    __slots__ = ("type", "object", "resource_version")

    def __init__(self, type: str, object: Any, resource_version: str) -> None:
        self.type = type
        self.object = object
        self.resource_version = resource_version

    def __repr__(self) -> str:
        return f"WatchEvent({self.type}, resource_version={self.resource_version})"


def _decode(data: bytes, revision: int) -> dict[str, Any]:
    d = msgpack.unpackb(data, raw=False, strict_map_key=False)
    meta = d.get("metadata")
    if not isinstance(meta, dict):
        meta = d["metadata"] = {}
    meta["resourceVersion"] = str(revision)
    return d  # type: ignore[no-any-return]


def obj_resource_version(obj: Any) -> str:
    """metadata.resourceVersion of a model object or a dict."""
    if isinstance(obj, dict):
        return str(obj["metadata"]["resourceVersion"])
    return str(obj.metadata.resource_version)


class WatchStream:
    """An iterator of :class:`WatchEvent`; ``get(timeout)`` for bounded waits; ``stop()`` ends it."""

    def __init__(self, watcher: Any, to_object: Callable[..., Any], decode: Callable[[dict[str, Any]], Any],
                 initial: list[Any], labels: Any, fields: Any) -> None:
        # to_object(key, value, revision, d=None): the object stored at that revision, decoded once per
        # registry (see recentobjects); decode(d): a fresh object, for states that are not the key's
        # content at the event's revision (the last matching state of an object that left the filter).
        self._watcher = watcher
        self._object = to_object
        self._decode = decode
        self._labels = labels
        self._fields = fields
        self._unfiltered = labels is None and fields is None
        self._ready: list[WatchEvent] = [
            WatchEvent(ADDED, obj, obj_resource_version(obj)) for obj in initial]
        self._ready.reverse()  # popped from the end

    @staticmethod
    def selected(d: dict[str, Any], labels: Any, fields: Any) -> bool:
        """Whether an object (dict form) passes the label and field selectors."""
        if labels is not None and not labels.matches((d.get("metadata") or {}).get("labels")):
            return False
        return fields is None or fields.matches(d)

    def _translate(self, event: Any) -> WatchEvent | None:
        kv, prev = event.kv, event.prev_kv
        revision = kv.mod_revision
        if self._unfiltered:
            # Unfiltered: the previous state only tells ADDED from MODIFIED; no need to decode it.
            if event.type == _DELETE:
                if prev is None:
                    return None
                return WatchEvent(DELETED, self._object(kv.key, prev.value, revision), str(revision))
            return WatchEvent(MODIFIED if prev is not None else ADDED,
                              self._object(kv.key, kv.value, revision), str(revision))
        old = _decode(prev.value, revision) if prev is not None else None
        old_ok = old is not None and self.selected(old, self._labels, self._fields)
        if event.type == _DELETE:
            if not old_ok:
                return None
            return WatchEvent(DELETED, self._object(kv.key, prev.value, revision, old), str(revision))
        new = _decode(kv.value, revision)
        if self.selected(new, self._labels, self._fields):
            return WatchEvent(MODIFIED if old_ok else ADDED, self._object(kv.key, kv.value, revision, new),
                              str(revision))
        if old_ok:
            return WatchEvent(DELETED, self._decode(old), str(revision))  # type: ignore[arg-type]
        return None

    def get(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event, or None if none arrives within ``timeout`` seconds (or the stream ended)."""
        while not self._ready:
            ready = self._take(timeout)
            if ready is None:
                return None
            ready.reverse()
            self._ready = ready
        return self._ready.pop()

    def take(self, timeout: float | None = None) -> list[WatchEvent]:
        """Every event ready now, in order, waiting up to ``timeout`` seconds for the first; ``[]`` if none
        arrives in time (or the stream ended). One call (and at most one wake-up of the caller's thread) for
        all the events the watch queued meanwhile: what an informer's loop takes."""
        if self._ready:
            ready = self._ready
            self._ready = []
            ready.reverse()
            return ready
        taken = self._take(timeout)
        return [] if taken is None else taken

    def _take(self, timeout: float | None) -> list[WatchEvent] | None:
        """The translated events of every response queued (a BOOKMARK for a progress notification); None
        when nothing passes within ``timeout`` (each batch filtered away entirely waits ``timeout`` again)."""
        while True:
            try:
                responses = self._watcher.next_responses(timeout)
            except Compacted as exc:
                raise Expired(f"too old resource version: {exc}") from None
            if not responses:
                return None
            ready: list[WatchEvent] = []
            for response in responses:
                if response.progress_notify and not response.events:
                    ready.append(WatchEvent(BOOKMARK, None, str(response.revision)))
                    continue
                for event in response.events:
                    translated = self._translate(event)
                    if translated is not None:
                        ready.append(translated)
            if ready:
                return ready

    def request_bookmark(self) -> None:
        """Ask for a BOOKMARK event carrying the revision the stream has caught up to."""
        self._watcher.request_progress()

    def stop(self) -> None:
        """End the stream (iteration stops; pending events are dropped)."""
        self._watcher.cancel()

    @property
    def stopped(self) -> bool:
        """True once the stream has ended."""
        return bool(self._watcher.canceled)

    def __iter__(self) -> Iterator[WatchEvent]:
        return self

    def __next__(self) -> WatchEvent:
        while True:
            event = self.get(None)
            if event is not None:
                return event
            if self.stopped:
                raise StopIteration

    def __enter__(self) -> "WatchStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
