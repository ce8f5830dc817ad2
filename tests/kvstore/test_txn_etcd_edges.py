"""Two corners where etcd 3.4's behaviour is pinned without an etcd at hand (the differential module
compares the second one with a real etcd too):

* an ignore_value / ignore_lease put after a from-key delete of its key in the same txn: etcd's interval
  check misses the overlap, the put then finds no key and etcd panics; the store refuses the txn instead;
* a watch starting at the compact revision: compaction drops the tombstones of that revision (etcd's
  keyIndex.keep), so such a watch sees its puts but not its deletes.
"""
from __future__ import annotations

import pytest

import kvstore
from kvstore import Compare, EventType, Op


@pytest.mark.parametrize("flag", ["ignore_value", "ignore_lease"])
@pytest.mark.parametrize("nested", [False, True])
def test_ignore_put_after_a_from_key_delete_is_refused(flag, nested):
    with kvstore.open() as store:
        store.put(b"b", b"v")
        put = Op.put(b"b", b"", **{flag: True})
        ops = [Op.delete(b"a", b"\0"), Op.txn([], [put]) if nested else put]
        with pytest.raises(kvstore.KeyNotFound):
            store.txn([], ops)
        assert store.revision == 2 and store.get(b"b").value == b"v"  # nothing applied
        # the same put before the delete, or with the key outside the deleted range, is fine
        assert store.txn([], [put, Op.delete(b"a", b"\0")]).succeeded
        store.put(b"b", b"w")
        assert store.txn([], [Op.delete(b"c", b"\0"), put]).succeeded
        assert store.get(b"b").value == (b"w" if flag == "ignore_value" else b"")


def test_a_watch_from_the_compact_revision_misses_its_tombstones():
    with kvstore.open() as store:
        store.put(b"b", b"1")                                              # 2
        store.put(b"c", b"1")                                              # 3
        store.txn([], [Op.delete(b"b"), Op.put(b"d", b"1")])               # 4: tombstone b, put d
        store.txn([Compare.version(b"c") == 1], [Op.put(b"c", b"2")])      # 5
        store.compact(4)
        watcher = store.watch(b"a", b"z", start_revision=4)
        try:
            store.put(b"e", b"end")                                        # 6
            seen = []
            while len(seen) < 3:
                event = watcher.get(5)
                assert event is not None, seen
                seen.append((event.type, event.kv.key, event.kv.mod_revision))
            assert seen == [(EventType.PUT, b"d", 4), (EventType.PUT, b"c", 5), (EventType.PUT, b"e", 6)]
        finally:
            watcher.cancel()


def test_a_key_deleted_then_put_again_at_the_compact_revision_keeps_its_put():
    with kvstore.open() as store:
        store.put(b"b", b"1")                                              # 2
        store.txn([], [Op.delete(b"a", b"\0"), Op.put(b"b", b"2")])        # 3: DELETE b, PUT b
        store.compact(3)
        watcher = store.watch(b"b", start_revision=3)
        try:
            event = watcher.get(5)
            assert (event.type, event.kv.value, event.kv.mod_revision) == (EventType.PUT, b"2", 3)
        finally:
            watcher.cancel()


def test_a_watcher_reading_before_the_compaction_still_gets_every_event():
    # stronger than etcd (whose unsynced watcher would miss it): a stream never loses a delete it was owed
    with kvstore.open(watch_queue_size=1) as store:
        store.put(b"b", b"1")                                              # 2
        watcher = store.watch(b"a", b"z", start_revision=2)
        try:
            store.delete(b"b")                                             # 3
            store.put(b"c", b"1")                                          # 4
            first = watcher.get(5)
            assert (first.type, first.kv.mod_revision) == (EventType.PUT, 2)
            store.compact(3)
            seen = [(e.type, e.kv.key, e.kv.mod_revision) for e in (watcher.get(5), watcher.get(5))]
            assert seen == [(EventType.DELETE, b"b", 3), (EventType.PUT, b"c", 4)]
        finally:
            watcher.cancel()
