"""Lists of small models read once per content: the status conditions every kubelet and controller writes.

A hollow kubelet writes five pod conditions per status, the same for every pod it moves along in the same
second (their times are whole seconds), and reading them was half of reading a pod's status. A model
opts in with ``LISTS_REMEMBERED = n``: a list of it (``ListOf``) read without a problem is remembered by its
content, and reading the same content again gives fresh copies of what the first read gave.

The key is the list's msgpack with exact types (``strict_types``: a tuple or a subclass of a JSON type is no
key and is read as always), so two lists share an entry only if reading them is reading the same JSON, and
the result depends on nothing else: only models whose fields are all scalars (their shallow copy is a copy
of everything), without cross-field rules, derived values or tracked fields may opt in. What the memo holds
is its own copy, and every hit is a new copy: no object read shares a model with another or with the memo.
A list with a problem is never remembered, so bad input takes the full read and gets its errors from it.
"""
from __future__ import annotations

import threading
from typing import Any

import msgpack

__all__ = ["ListMemo", "list_memo"]


class ListMemo:
    """Lists of one model read before, by their msgpack; the oldest forgotten first past ``capacity``."""

    __slots__ = ("_entries", "_capacity", "_lock")

    def __init__(self, capacity: int) -> None:
        self._entries: dict[bytes, list[Any]] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    @staticmethod
    def key(value: list[Any]) -> bytes | None:
        """The content key of a list as read from JSON (None: not plain JSON of exact types)."""
        try:
            return msgpack.packb(value, use_bin_type=True, strict_types=True)  # type: ignore[no-any-return]
        except (TypeError, ValueError, OverflowError):
            return None

    def get(self, key: bytes) -> list[Any] | None:
        """Fresh copies of the models the list with this key was read as, or None."""
        kept = self._entries.get(key)
        if kept is None:
            return None
        return [item._copy() for item in kept]

    def put(self, key: bytes, items: list[Any]) -> None:
        """Remember what the list with this key was read as (read without a problem)."""
        for item in items:
            if item is None or item.unknown_fields is not None:
                return  # unknown fields are a dict a shallow copy would share: read those every time
        kept = [item._copy() for item in items]
        entries = self._entries
        with self._lock:  # a lookup needs no lock; the eviction's iteration must not see another insert
            entries[key] = kept
            if len(entries) > self._capacity:
                del entries[next(iter(entries))]

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._entries.clear()


def list_memo(cls: Any, scalar_types: tuple[type, ...]) -> ListMemo | None:
    """The memo for lists of the model ``cls``: None unless it opts in (``LISTS_REMEMBERED``); a model that
    opts in without being fit for it is a programming error."""
    capacity = getattr(cls, "LISTS_REMEMBERED", 0)  # Value classes have none
    if not capacity:
        return None
    fields = getattr(cls, "FIELDS", ())
    unfit = [f.attr for f in fields if not isinstance(f.type, scalar_types)]
    if unfit or cls._has_rules or cls.DERIVED or cls.TRACKED:
        raise TypeError(f"{cls.__name__} cannot have its lists remembered: only models of scalar fields "
                        f"without rules, derived values or tracking can (fields {unfit})")
    return ListMemo(capacity)
