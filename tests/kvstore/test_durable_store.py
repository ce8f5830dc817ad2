"""A durable store (WAL + snapshots in a real directory) comes back exactly as it was closed."""
from __future__ import annotations

import os

import pytest

import kvstore
from kvstore import Compare, EventType, Op


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fill(store):
    store.put(b"a", b"1")
    store.put(b"b", b"1")
    store.txn([Compare.version(b"a") == 1], [Op.put(b"a", b"2"), Op.delete(b"b")], [])
    store.put(b"c", b"1")
    store.delete(b"missing")  # no revision, no record


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_reopen_restores_keys_revisions_and_history(tmp_path, fsync):
    with kvstore.open(str(tmp_path), fsync=fsync, clock=Clock()) as store:
        fill(store)
        expected_hash = store.hash_kv()
        revision = store.revision
        assert store.status().db_size > 0
    with kvstore.open(str(tmp_path), fsync=fsync, clock=Clock()) as store:
        assert store.revision == revision == 5
        assert store.hash_kv() == expected_hash
        assert store.get(b"a").value == b"2" and store.get(b"b") is None
        assert store.get(b"b", revision=3).value == b"1"
        with store.watch(b"", prefix=True, start_revision=2) as watcher:
            events = [watcher.get(5.0) for _ in range(5)]
        assert [(e.type, e.kv.key, e.kv.mod_revision) for e in events] == [
            (EventType.PUT, b"a", 2), (EventType.PUT, b"b", 3), (EventType.PUT, b"a", 4),
            (EventType.DELETE, b"b", 4), (EventType.PUT, b"c", 5)]


def test_compaction_survives_reopen(tmp_path):
    with kvstore.open(str(tmp_path), clock=Clock()) as store:
        fill(store)
        store.compact(4)
    with kvstore.open(str(tmp_path), clock=Clock()) as store:
        assert store.status().compact_revision == 4
        with pytest.raises(kvstore.Compacted):
            store.get(b"a", revision=3)
        assert store.get(b"a", revision=4).value == b"2"


def test_snapshots_on_demand_and_by_record_count_then_more_records(tmp_path):
    with kvstore.open(str(tmp_path), clock=Clock(), snapshot_every=10) as store:
        for number in range(35):
            store.put(b"k%d" % (number % 4), b"%d" % number)
        store.save_snapshot()
        store.put(b"last", b"1")
        expected = (store.revision, store.hash_kv())
    with kvstore.open(str(tmp_path), clock=Clock()) as store:
        assert (store.revision, store.hash_kv()) == expected
        assert store.get(b"k3").value == b"31"


def test_leases_survive_reopen_with_a_fresh_ttl_and_expiry_replays(tmp_path):
    clock = Clock(100.0)
    with kvstore.open(str(tmp_path), clock=clock) as store:
        kept = store.grant(10, id=1)
        gone = store.grant(5, id=2)
        store.put(b"kept", b"v", lease=kept.id)
        store.put(b"gone", b"v", lease=gone.id)
        store.keepalive(kept.id)  # not logged: a TTL restarts anyway on reopen
        clock.now = 106.0
        assert store.expire_leases() == [gone.id]
        revision = store.revision
    later = Clock(5.0)  # a new process: another monotonic clock base
    with kvstore.open(str(tmp_path), clock=later) as store:
        assert store.revision == revision
        assert store.get(b"gone") is None and store.get(b"kept") is not None
        assert store.time_to_live(kept.id) == kvstore.LeaseTimeToLive(kept.id, 10, 10, [])
        assert store.time_to_live(gone.id).ttl == -1
        later.now = 15.0
        assert store.expire_leases() == [kept.id]
    with kvstore.open(str(tmp_path), clock=Clock(0.0)) as store:
        assert store.leases() == [] and store.status().keys == 0


def test_refused_requests_are_not_logged(tmp_path):
    with kvstore.open(str(tmp_path), clock=Clock()) as store:
        store.put(b"k", b"v")
        for bad in (lambda: store.put(b"k", b"v", lease=99), lambda: store.compact(10),
                    lambda: store.txn([], [Op.put(b"x", b"1"), Op.put(b"x", b"2")])):
            with pytest.raises(kvstore.KVError):
                bad()
    with kvstore.open(str(tmp_path), clock=Clock()) as store:
        assert store.revision == 2 and store.get(b"x") is None


def test_a_failed_fsync_stops_writes_but_not_reads(tmp_path):
    failing = {"now": False}

    def fsync(fd: int) -> None:
        if failing["now"]:
            raise OSError(5, "Input/output error")
        os.fsync(fd)

    with kvstore.open(str(tmp_path), clock=Clock(), fsync_function=fsync) as store:
        store.put(b"a", b"1")
        failing["now"] = True
        with pytest.raises(kvstore.KVError):
            store.put(b"b", b"1")
        failing["now"] = False
        with pytest.raises(kvstore.KVError):
            store.put(b"c", b"1")  # the log may be behind the state: every later write is refused
        assert store.get(b"a").value == b"1"
    with kvstore.open(str(tmp_path), clock=Clock()) as store:
        assert store.get(b"a").value == b"1" and store.get(b"c") is None


def test_a_damaged_wal_refuses_to_open_with_corrupted_error(tmp_path):
    with kvstore.open(str(tmp_path), clock=Clock()) as store:
        for number in range(20):
            store.put(b"k%d" % number, b"v" * 50)
    segment = next(p for p in sorted(os.listdir(tmp_path)) if p.endswith(".wal"))
    path = os.path.join(tmp_path, segment)
    with open(path, "r+b") as damaged:
        damaged.seek(100)
        byte = damaged.read(1)
        damaged.seek(100)
        damaged.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(kvstore.CorruptedError, match=segment):
        kvstore.open(str(tmp_path), clock=Clock())


def test_unknown_options_are_refused(tmp_path):
    with pytest.raises(kvstore.InvalidArgument, match="colour"):
        kvstore.open(str(tmp_path), colour="blue")
    with pytest.raises(kvstore.InvalidArgument, match="colour"):
        kvstore.open(colour="blue")
