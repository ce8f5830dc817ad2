"""A map from (key, revision) to the decoded object, shared by a Registry's reads and watches.

An object's content at a revision never changes, and model objects are immutable values, so the object a
write just validated can be handed to every watcher and reader of that revision instead of decoding and
validating the stored bytes again (the API server's watch cache serves the same purpose).

Two layers: the last ``capacity`` objects put are held strongly (a watcher a little behind finds what was
written); beyond them, an object is found for as long as anything else still holds it (weakly referenced).
The second layer is what keeps one decoded copy per revision in memory: every informer keeps the latest
state of each object, and an informer further behind than the strong window would otherwise decode and keep
a copy of its own (at 150,000 pods, a second 1.2 GiB of pods).
"""
from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from typing import Any, Hashable


class RecentObjects:
    """Least-recently-added eviction of the strong layer, thread-safe; ``capacity`` entries held at most.
    Objects that cannot be weakly referenced (plain dicts, say) live in the strong layer only."""

    __slots__ = ("_items", "_capacity", "_lock", "_held")

    def __init__(self, capacity: int = 8192) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._held: weakref.WeakValueDictionary[Hashable, Any] = weakref.WeakValueDictionary()

    def get(self, key: Hashable) -> Any:
        """The object stored under ``key``, or None."""
        hit = self._items.get(key)
        if hit is None:
            hit = self._held.get(key)
        return hit

    def put(self, key: Hashable, obj: Any, strong: bool = True) -> None:
        """Remember ``obj``; the oldest strongly held entry goes when full. ``strong=False``: only while
        something else holds it (a reader far behind, whose objects would evict the ones it reads next)."""
        with self._lock:
            if not strong:
                try:
                    self._held[key] = obj
                except TypeError:  # not weakly referenceable
                    pass
                return
            items = self._items
            items[key] = obj
            if len(items) > self._capacity:
                # weakly referenced only when it leaves the strong layer: while there, get() finds it first
                # (a weak reference per put was two more objects per write for the garbage collector)
                old_key, old = items.popitem(last=False)
                # held weakly only if something else holds it (more references than ``old`` and the call's
                # argument): the weak reference to anything else dies here, and its callback with it
                if sys.getrefcount(old) > 2:
                    try:
                        self._held[old_key] = old
                    except TypeError:
                        pass

    def oldest(self) -> Hashable | None:
        """The key that goes next when one more is put, or None while there is room."""
        with self._lock:
            if len(self._items) < self._capacity:
                return None
            return next(iter(self._items), None)

    def __len__(self) -> int:
        return len(self._items)
