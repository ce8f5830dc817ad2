"""A bounded map from (key, revision) to the decoded object, shared by a Registry's reads and watches.

An object's content at a revision never changes, and model objects are immutable values, so the object a
write just validated can be handed to every watcher and reader of that revision instead of decoding and
validating the stored bytes again (the API server's watch cache serves the same purpose).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class RecentObjects:
    """Least-recently-added eviction, thread-safe; ``capacity`` entries at most."""

    __slots__ = ("_items", "_capacity", "_lock")

    def __init__(self, capacity: int = 8192) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The object stored under ``key``, or None."""
        return self._items.get(key)

    def put(self, key: Hashable, obj: Any) -> None:
        """Remember ``obj``; the oldest entry goes when full."""
        with self._lock:
            self._items[key] = obj
            if len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def oldest(self) -> Hashable | None:
        """The key that goes next when one more is put, or None while there is room."""
        with self._lock:
            if len(self._items) < self._capacity:
                return None
            return next(iter(self._items), None)

    def __len__(self) -> int:
        return len(self._items)
