"""The state machine's snapshot encoding, its rebuild, and the key-space hash.

A snapshot is a msgpack-able dict::

    {"format": 1, "revision": r, "compact_revision": c, "log_first": f,
     "base": [[key, value, create, mod, version, lease], ...],   # retained revisions older than f
     "log": [[[event_type, kv], ...], ...],                      # the events of revisions f, f+1, ..., r
     "leases": [[id, ttl, expiry, [key, ...]], ...]}

Watchers replay from the event log, so it is kept as is; ``prev_kv`` of each event is recomputed on
rebuild from the key index (the key's live value at the revision before the event, as etcd).
"""
from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import msgpack

from .keyindex import KeyIndex
from .leases import LeaseTable
from .types import Event, EventType, KeyValue

if TYPE_CHECKING:
    from .statemachine import StateMachine

__all__ = ["SNAPSHOT_FORMAT", "snapshot_of", "snapshot_bytes_of", "rebuild", "hash_of", "gc_paused"]

SNAPSHOT_FORMAT = 1
_EVENT_TYPES = (EventType.PUT, EventType.DELETE)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects (restore, replay):
    its collections would rescan them over and over, and none of them can form a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _kv_list(kv: KeyValue) -> list[Any]:
    return [kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease]


def _base(state: StateMachine) -> list[KeyValue]:
    first = state._log_first
    return [kv for revisions in state.index.history.values() for kv in revisions if kv.mod_revision < first]


def _events(entry: Any) -> tuple[Event, ...]:
    return (entry,) if type(entry) is Event else entry  # type: ignore[no-any-return]


def _leases(state: StateMachine) -> list[list[Any]]:
    return [[r.id, r.ttl, r.expiry, sorted(r.keys)] for r in state.leases.records.values()]


def snapshot_of(state: StateMachine) -> dict[str, Any]:
    """The snapshot dict of ``state``."""
    log = [[[int(event.type), _kv_list(event.kv)] for event in _events(entry)] for entry in state._log]
    return {"format": SNAPSHOT_FORMAT, "revision": state.revision, "compact_revision": state.compact_revision,
            "log_first": state._log_first, "base": [_kv_list(kv) for kv in _base(state)], "log": log,
            "leases": _leases(state)}


def snapshot_bytes_of(state: StateMachine) -> bytes:
    """``msgpack.packb(snapshot_of(state))`` streamed item by item: costs the bytes and little else."""
    packer = msgpack.Packer(use_bin_type=True, autoreset=False)
    pack = packer.pack
    packer.pack_map_header(7)
    for name, value in (("format", SNAPSHOT_FORMAT), ("revision", state.revision),
                        ("compact_revision", state.compact_revision), ("log_first", state._log_first)):
        pack(name)
        pack(value)
    base = _base(state)
    pack("base")
    packer.pack_array_header(len(base))
    for kv in base:
        pack((kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease))
    pack("log")
    packer.pack_array_header(len(state._log))
    for entry in state._log:
        pack([(int(e.type), (e.kv.key, e.kv.value, e.kv.create_revision, e.kv.mod_revision, e.kv.version,
                             e.kv.lease)) for e in _events(entry)])
    pack("leases")
    pack(_leases(state))
    return packer.bytes()


def rebuild(snapshot: dict[str, Any]) -> tuple[KeyIndex, LeaseTable, list[Any]]:
    """The key index, lease table and event log described by a snapshot dict."""
    index = KeyIndex()
    for fields in sorted(snapshot["base"], key=lambda f: f[3]):
        index.record(KeyValue(*fields))
    log: list[Any] = []
    before = index.before
    for events in snapshot["log"]:
        built = []
        for event_type, fields in events:
            kv = KeyValue(*fields)
            built.append(Event(_EVENT_TYPES[event_type], kv, before(kv.key, kv.mod_revision)))
            index.record(kv)
        log.append(built[0] if len(built) == 1 else tuple(built))
    leases = LeaseTable()
    for lease_id, ttl, expiry, keys in snapshot["leases"]:
        leases.grant(lease_id, ttl, expiry - ttl).keys.update(keys)
    return index, leases, log


def hash_of(index: KeyIndex, revision: int, compact_revision: int) -> int:
    """A 64-bit BLAKE2b of the live key space at ``revision``."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(msgpack.packb([revision, compact_revision]))
    for kv in index.live_in(b"\x00", b"", revision):
        digest.update(msgpack.packb(_kv_list(kv)))
    return int.from_bytes(digest.digest(), "big")
