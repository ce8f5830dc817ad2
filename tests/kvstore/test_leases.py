"""Leases: grant, keepalive, revoke, time_to_live, leases(), expiry driven by an injected clock."""
from __future__ import annotations

import pytest

import kvstore
from kvstore import EventType


def test_grant_returns_a_positive_id_and_the_ttl(store):
    lease = store.grant(10)
    assert lease.id > 0 and lease.ttl == 10
    assert store.grant(5, id=42) == kvstore.Lease(42, 5)
    assert sorted(lease.id for lease in store.leases()) == sorted([lease.id, 42])
    assert store.revision == 1  # granting writes no key, so no revision, as etcd


def test_grant_errors(store):
    store.grant(5, id=42)
    with pytest.raises(kvstore.LeaseExists, match="id=42"):
        store.grant(5, id=42)
    with pytest.raises(kvstore.InvalidArgument, match="ttl=0"):
        store.grant(0)
    with pytest.raises(kvstore.LeaseTTLTooLarge, match="max_lease_ttl=9000000000"):
        store.grant(9_000_000_001)
    with pytest.raises(kvstore.InvalidType, match="ttl"):
        store.grant("10")
    assert len(store.leases()) == 1


def test_time_to_live_counts_down_with_the_clock_and_lists_keys(store, clock):
    lease = store.grant(10)
    store.put(b"b", b"1", lease=lease.id)
    store.put(b"a", b"1", lease=lease.id)
    clock.advance(3.5)
    ttl = store.time_to_live(lease.id, keys=True)
    assert (ttl.ttl, ttl.granted_ttl, ttl.keys) == (6, 10, [b"a", b"b"])
    assert store.time_to_live(lease.id).keys == []


def test_time_to_live_of_an_unknown_lease_is_minus_one_as_etcd(store):
    assert store.time_to_live(777) == kvstore.LeaseTimeToLive(777, -1, 0, [])


def test_keepalive_restarts_the_ttl(store, clock):
    lease = store.grant(10)
    clock.advance(8)
    assert store.keepalive(lease.id) == kvstore.Lease(lease.id, 10)
    clock.advance(8)
    assert store.expire_leases() == []
    assert store.time_to_live(lease.id).ttl == 2
    with pytest.raises(kvstore.LeaseNotFound, match="id=5|lease=5"):
        store.keepalive(5)


def test_revoke_deletes_every_key_of_the_lease_in_one_revision(store):
    lease = store.grant(10)
    for key in (b"c", b"a", b"b"):
        store.put(key, b"v", lease=lease.id)
    store.put(b"other", b"v")
    watcher = store.watch(b"", prefix=True)
    revision = store.revoke(lease.id)
    assert revision == 6 and store.range(b"", prefix=True).count == 1
    events = [watcher.get(1.0) for _ in range(3)]
    assert [(e.type, e.kv.key, e.kv.mod_revision) for e in events] == [
        (EventType.DELETE, b"a", 6), (EventType.DELETE, b"b", 6), (EventType.DELETE, b"c", 6)]
    assert store.leases() == []
    with pytest.raises(kvstore.LeaseNotFound):
        store.revoke(lease.id)
    watcher.cancel()


def test_revoking_a_lease_without_keys_keeps_the_revision(store):
    lease = store.grant(10)
    assert store.revoke(lease.id) == 1


def test_keys_leave_their_lease_when_deleted_or_put_without_it(store):
    lease = store.grant(10)
    store.put(b"a", b"v", lease=lease.id)
    store.put(b"b", b"v", lease=lease.id)
    store.delete(b"a")
    store.put(b"b", b"w")
    assert store.time_to_live(lease.id, keys=True).keys == []
    store.revoke(lease.id)
    assert store.get(b"b").value == b"w"


def test_moving_a_key_to_another_lease(store):
    first, second = store.grant(10), store.grant(10)
    store.put(b"k", b"v", lease=first.id)
    store.put(b"k", b"v", lease=second.id)
    assert store.time_to_live(first.id, keys=True).keys == []
    assert store.time_to_live(second.id, keys=True).keys == [b"k"]


def test_expiry_happens_only_when_due_by_the_injected_clock(store, clock):
    short, long = store.grant(5), store.grant(20)
    store.put(b"s", b"v", lease=short.id)
    store.put(b"l", b"v", lease=long.id)
    clock.advance(4.9)
    assert store.expire_leases() == []
    clock.advance(0.1)
    assert store.expire_leases() == [short.id]
    assert store.get(b"s") is None and store.get(b"l") is not None
    assert store.time_to_live(short.id).ttl == -1
    clock.advance(100)
    assert store.expire_leases() == [long.id]
    assert store.status().keys == 0 and store.leases() == []


def test_leases_refresh_on_restore_of_a_snapshot_payload(clock):
    state = kvstore.StateMachine()
    state.apply(["grant", 7, 10, 0.0])
    payload = state.snapshot()
    restored = kvstore.StateMachine()
    restored.restore(payload)
    assert restored.leases.records[7].expiry == 10.0
    restored.leases.refresh(500.0)
    assert restored.leases.records[7].expiry == 510.0


def test_the_real_clock_ticker_expires_leases_by_itself(wait_for):
    with kvstore.open() as store:
        lease = store.grant(1)
        store.put(b"k", b"v", lease=lease.id)
        wait_for(lambda: store.get(b"k") is None, "the ticker to expire the 1 s lease")


def test_a_store_dropped_without_close_is_collected_and_its_ticker_ends(wait_for):
    import gc
    import weakref

    store = kvstore.open()
    ticker = store._ticker
    ref = weakref.ref(store)
    del store

    def collected() -> bool:
        gc.collect()
        return ref() is None

    # The ticker holds the store for the length of one tick: caught mid-tick, it is collected right after.
    wait_for(collected, "the dropped store to be collected")
    ticker.join(30.0)
    assert not ticker.is_alive()
