"""The key index: every key's retained history, the latest live value of each key, and key order.

Three structures, each for one access path:

* ``latest``: a plain dict key -> live ``KeyValue``, so a read at the current revision is one dict lookup;
* ``history``: key -> list of its ``KeyValue`` revisions in mod-revision order, tombstones included
  (a tombstone is a ``KeyValue`` with ``version == 0``), so a read at an old revision is a bisect;
* ``keys``: a ``SortedList`` of every key that has retained history, for ordered ranges.

Like etcd's keyIndex, a key's history is cut at compaction: everything below the compact revision goes,
except the newest revision at or below it when that one is live (it is still the key's value then).
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from sortedcontainers import SortedList

from .types import KeyValue

__all__ = ["KeyIndex"]


def _mod_revision(kv: KeyValue) -> int:
    return kv.mod_revision


class KeyIndex:
    """Ordered, revisioned storage of key values (not thread-safe: the store's lock guards it)."""

    __slots__ = ("latest", "history", "_keys", "_new_keys", "_compactable")

    def __init__(self) -> None:
        self.latest: dict[bytes, KeyValue] = {}
        self.history: dict[bytes, list[KeyValue]] = {}
        self._keys: SortedList = SortedList()
        # keys created since the last ordered read: sorted in one batch (cheaper than one add per put)
        self._new_keys: list[bytes] = []
        # keys whose history compaction could shorten: more than one entry, or a tombstone
        self._compactable: set[bytes] = set()

    def record(self, kv: KeyValue) -> None:
        """Append a new revision of ``kv.key`` (a tombstone when ``kv.version == 0``)."""
        key = kv.key
        revisions = self.history.get(key)
        if revisions is None:
            self.history[key] = [kv]
            self._new_keys.append(key)
            if not kv.version:
                self._compactable.add(key)
        else:
            revisions.append(kv)
            self._compactable.add(key)
        if kv.version:
            self.latest[key] = kv
        else:
            self.latest.pop(key, None)

    @property
    def keys(self) -> SortedList:
        """Every key with retained history, in order."""
        if self._new_keys:
            self._keys.update(self._new_keys)
            self._new_keys = []
        return self._keys

    def at(self, key: bytes, revision: int) -> KeyValue | None:
        """The live value of ``key`` at ``revision`` (None if absent or deleted then)."""
        revisions = self.history.get(key)
        if revisions is None:
            return None
        last = revisions[-1]
        if last.mod_revision <= revision:
            return last if last.version else None
        index = bisect_right(revisions, revision, key=_mod_revision)
        if index == 0:
            return None
        kv = revisions[index - 1]
        return kv if kv.version else None

    def before(self, key: bytes, revision: int) -> KeyValue | None:
        """The live value of ``key`` at ``revision - 1`` (cheap when nothing was written at ``revision``)."""
        revisions = self.history.get(key)
        if revisions is None:
            return None
        last = revisions[-1]
        if last.mod_revision < revision:
            return last if last.version else None
        return self.at(key, revision - 1)

    def keys_in(self, key: bytes, end: bytes | None) -> Iterator[bytes]:
        """Keys with retained history in ``[key, end)`` in ascending order (``end`` normalised as in args)."""
        if end is None:
            if key in self.history:
                yield key
            return
        if end == b"":
            yield from self.keys.irange(key)
        elif key < end:
            yield from self.keys.irange(key, end, inclusive=(True, False))

    def live_in(self, key: bytes, end: bytes | None, revision: int | None) -> Iterator[KeyValue]:
        """Live values in the range at ``revision`` (None: the latest), ascending by key."""
        if revision is None:
            latest = self.latest
            if end is None:
                kv = latest.get(key)
                if kv is not None:
                    yield kv
                return
            for k in self.keys_in(key, end):
                kv = latest.get(k)
                if kv is not None:
                    yield kv
        else:
            for k in self.keys_in(key, end):
                kv = self.at(k, revision)
                if kv is not None:
                    yield kv

    def compact(self, revision: int) -> None:
        """Drop history no read at or after ``revision`` can see."""
        history = self.history
        keys = self.keys
        done = []
        for key in self._compactable:
            revisions = history[key]
            index = bisect_right(revisions, revision, key=_mod_revision)
            if index == 0:
                continue
            keep_from = index if not revisions[index - 1].version else index - 1
            if keep_from:
                del revisions[:keep_from]
            if not revisions:
                del history[key]
                keys.remove(key)
                done.append(key)
            elif len(revisions) == 1 and revisions[0].version:
                done.append(key)
        self._compactable.difference_update(done)

    def __len__(self) -> int:
        return len(self.latest)
