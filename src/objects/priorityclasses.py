"""The stored PriorityClasses as the Registry's pod create reads them (Priority admission), current at
every create without a read of them per create where the store can tell nothing changed.

A create must see a PriorityClass written a moment before, by any client: the classes are known current
at the store revision of the last read of them (a keys-only range: their mod revisions). On the embedded
store (``kvstore.open()``: one process, its ``revision`` is the store's current revision) they are still
current while that revision has not moved, and a write of this Registry that took the very next revision
(its txn answered ``known + 1``) and touched no PriorityClass moves the known revision with it: nothing
else can have been written in between. Any other write (another client's, a lease expiry, a
PriorityClass written here) leaves the known revision behind, and the next create reads the classes
again. Other stores (a Raft member, etcd) read them at every create.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import kvstore

__all__ = ["PriorityClassView"]


class PriorityClassView:
    """(revisions, classes by name) of the PriorityClasses under ``prefix`` of ``store``; ``decode(kv)``
    turns a stored one into its object."""

    __slots__ = ("_store", "_prefix", "_key_prefix", "_end", "_decode", "_known", "_local", "_lock")

    def __init__(self, store: Any, prefix: str, decode: Callable[[Any], Any]) -> None:
        self._store = store
        self._prefix = prefix
        self._key_prefix = prefix.encode()
        self._end = prefix[:-1] + chr(ord("/") + 1)
        self._decode = decode
        # (mod revisions of the classes, the classes by name, a store revision at which both are current)
        self._known: tuple[tuple[int, ...], dict[str, Any], int] | None = None
        self._local = type(store) is kvstore.Store and hasattr(store, "revision")  # a Member is a subclass
        self._lock = threading.Lock()

    def state(self) -> tuple[tuple[int, ...], dict[str, Any]]:
        """(the classes' mod revisions, which change with any write to one of them, and the classes by
        name), current now."""
        known = self._known
        if known is not None and self._local and self._store.revision == known[2]:
            return known[0], known[1]
        read = self._store.range(self._prefix, self._end, keys_only=True)
        versions = tuple(kv.mod_revision for kv in read.kvs)
        if known is None or known[0] != versions:
            listed = self._store.range(self._prefix, self._end)
            classes = {}
            for kv in listed.kvs:
                pc = self._decode(kv)
                classes[pc.metadata.name] = pc
            known = (tuple(kv.mod_revision for kv in listed.kvs), classes, listed.revision)
        else:
            known = (versions, known[1], read.revision)
        self._known = known
        return known[0], known[1]

    def wrote(self, response: Any, success: list[Any]) -> None:
        """Note a txn of this Registry: ``response`` its answer, ``success`` the ops it ran when its
        guards held."""
        known = self._known
        if known is None or response.revision != known[2] + 1 or not self._local or not response.succeeded \
                or not success:
            return
        for op in success:
            if op[0] != "put" or op[1].startswith(self._key_prefix):
                return  # not one new revision of objects that are not PriorityClasses
        with self._lock:
            if self._known is known:
                self._known = (known[0], known[1], response.revision)
