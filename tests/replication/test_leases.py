"""Leases on a cluster of member processes answer as etcd's do (issue #16): lease reads are
linearizable on every member, a new leader (after SIGKILL or SIGSTOP of the old one, or a restart of
the whole cluster) gives every lease its full TTL plus an election timeout before it expires any,
a read on a deposed leader is redirected as soon as the term changes, and a watch opened on a
follower after a compaction was acknowledged raises Compacted."""
from __future__ import annotations

import signal
import threading
import time

import pytest

from .harness import ProcessCluster
from .support import WAIT, wait_until

pytestmark = pytest.mark.timeout(180)

EXTEND = 1.0  # Cluster.election_timeout_max: what a new leader adds to every lease's TTL


def _new_leader(cluster: ProcessCluster, among: list[int]) -> int:
    """The leader that every member of `among` names, once it is one of them (not the lost one)."""
    return wait_until(lambda: (lambda i: i in among and i + 1)(cluster.leader(among=among)), WAIT,
                      "a new leader among the survivors") - 1


def _ttl(cluster: ProcessCluster, i: int, lease_id: int, serializable: bool = False) -> list:
    return cluster.call(i, "ttl", lease_id, True, serializable, timeout=WAIT)


def test_lease_reads_on_every_member_see_every_acknowledged_lease_write(cluster_factory) -> None:
    """etcd answers LeaseTimeToLive and LeaseLeases linearizably: right after grant, put(lease=) and
    revoke are acknowledged by one member, every other member's answer already shows them."""
    cluster = cluster_factory(3)
    for i in range(3):
        cluster.call(i, "wait_ready", 20, timeout=25)
    for n in range(9):
        writer = n % 3
        readers = [i for i in range(3) if i != writer]
        lease_id = 500 + n
        cluster.call_until_ok(writer, "grant", 600, lease_id)
        for i in readers:
            ttl, granted, keys = _ttl(cluster, i, lease_id)
            assert granted == 600 and 0 <= ttl <= 600 and keys == [], f"member {i} missed the grant"
            assert lease_id in cluster.call(i, "leases", False), f"member {i}'s leases() missed the grant"
        cluster.call(writer, "lput", f"k/{n}", b"v", lease_id)
        for i in readers:
            assert _ttl(cluster, i, lease_id)[2] == [f"k/{n}".encode()], f"member {i} missed the key"
        cluster.call(writer, "revoke", lease_id)
        for i in readers:
            assert _ttl(cluster, i, lease_id) == [-1, 0, []], f"member {i} still knows the revoked lease"
            assert lease_id not in cluster.call(i, "leases", False), f"member {i} still lists it"
            assert cluster.call(i, "get", f"k/{n}", False) is None
    # serializable reads answer from the member's own table: the same, once it has caught up
    wait_until(lambda: all(_ttl(cluster, i, 508, serializable=True) == [-1, 0, []] and
                           508 not in cluster.call(i, "leases", True) for i in range(3)),
               WAIT, "serializable lease reads to catch up")


@pytest.mark.parametrize("fault", ["SIGKILL", "SIGSTOP"])
def test_a_new_leader_gives_every_lease_its_full_ttl_before_expiring_any(cluster_factory, fault) -> None:
    """The leader dies (or pauses) most of the way into a lease's TTL: the new leader extends the lease
    to its full TTL plus an election timeout from when it took over (etcd's lessor promotion), on
    every member; a resumed old leader expires nothing; the lease still expires afterwards."""
    cluster = cluster_factory(3)
    leader = cluster.leader()
    ttl = 4
    cluster.call_until_ok(leader, "grant", ttl, 7001)
    cluster.call(leader, "lput", "locks/a", b"me", 7001)
    time.sleep(ttl * 0.6)
    fault_at = time.time()  # wall clock, as the leases' (the test runs on the members' machine)
    if fault == "SIGKILL":
        cluster.kill(leader)
    else:
        cluster.signal(leader, signal.SIGSTOP)
    survivors = [i for i in range(3) if i != leader]
    try:
        _new_leader(cluster, survivors)

        def promoted() -> bool:
            expiries = [cluster.call(i, "lease_expiry", 7001, timeout=5) for i in survivors]
            assert None not in expiries, "the lease expired before the new leader gave it its full TTL"
            return all(expiry >= fault_at + ttl + EXTEND for expiry in expiries)

        wait_until(promoted, WAIT, "every survivor to hold the promoted expiry")
        for i in survivors:
            remaining, granted, keys = _ttl(cluster, i, 7001)
            assert granted == ttl and remaining >= 0 and keys == [b"locks/a"]
    finally:
        if fault == "SIGSTOP":
            cluster.signal(leader, signal.SIGCONT)
    if fault == "SIGSTOP":
        # The resumed leader hears the new term and steps down; its lease loop, whose table was
        # stale when it woke, must not have revoked the lease.
        wait_until(lambda: not cluster.call(leader, "status", timeout=5)["is_leader"], WAIT,
                   "the old leader to step down")
        for i in range(3):
            assert _ttl(cluster, i, 7001)[2] == [b"locks/a"], f"member {i} lost the promoted lease"
            assert cluster.call(i, "lease_expiry", 7001) >= fault_at + ttl + EXTEND
    else:
        wait_until(lambda: all(_ttl(cluster, i, 7001)[0] == -1 for i in survivors), WAIT,
                   "the promoted lease to expire")
        assert all(cluster.call(i, "get", "locks/a", False) is None for i in survivors)


def test_after_a_whole_cluster_restart_every_lease_has_its_full_ttl(cluster_factory) -> None:
    """docs/kvstore.md: after reopening, every lease gets its full TTL again; on a cluster the new
    leader of the restarted cluster promotes them (SIGKILL of every member, restart from data dirs)."""
    cluster = cluster_factory(3)
    leader = cluster.leader()
    cluster.call_until_ok(leader, "grant", 600, 42)
    cluster.call(leader, "lput", "svc/a", b"addr", 42)
    granted_expiry = cluster.call(leader, "lease_expiry", 42)
    time.sleep(1.0)
    for i in range(3):
        cluster.kill(i)
    restart_at = time.time()
    assert restart_at + 600 > granted_expiry  # a restored expiry alone would be short of a full TTL
    for i in range(3):
        cluster.start(i)
    cluster.leader()
    wait_until(lambda: all(cluster.call(i, "lease_expiry", 42, timeout=5) >= restart_at + 600 + EXTEND
                           for i in range(3)), WAIT, "every member to hold the full TTL again")
    for i in range(3):
        remaining, granted, keys = _ttl(cluster, i, 42)
        read_at = time.time()
        assert granted == 600 and keys == [b"svc/a"]
        assert remaining >= int(restart_at + 600 + EXTEND - read_at)


def test_a_read_on_a_deposed_leader_is_redirected_once_the_term_changes(cluster_factory) -> None:
    """Member 0 leads, is cut off (it keeps believing it leads: a long step-down timeout), the others
    elect a new leader and acknowledge a write; a linearizable read then starts on member 0 and the
    cut is healed. The read must end its ReadIndex wait when the newer term reaches member 0 (not
    when its confirmation timeout, here 20 s, runs out) and return the acknowledged value."""
    cluster = cluster_factory(3, leader_step_down_timeout=60.0, read_index_timeout=20.0, request_timeout=20.0)
    cluster.call_until_ok(0, "put", "k", b"v1")
    if cluster.leader() != 0:
        cluster.call_until_ok(cluster.leader(), "transfer", cluster.addresses[0])
    wait_until(lambda: cluster.leader() == 0, WAIT, "member 0 to lead")
    cluster.call(0, "put", "k", b"v2")
    old_term = cluster.call(0, "status")["term"]
    cluster.proxies[0].cut()
    try:
        new_leader = _new_leader(cluster, [1, 2])
        assert cluster.call(new_leader, "status")["term"] > old_term
        cluster.call_until_ok(new_leader, "put", "k", b"v3")
        before = cluster.call(0, "status")
        assert before["is_leader"] and before["term"] == old_term  # still believes it leads
        answer: list = []
        reader = threading.Thread(target=lambda: answer.append(cluster.call(0, "get", "k", False, timeout=40)),
                                  daemon=True)
        reader.start()
        wait_until(lambda: cluster.call(0, "status")["read_wanted"] > before["read_wanted"], WAIT,
                   "the read to wait for its ReadIndex confirmation on member 0")
    finally:
        cluster.proxies[0].heal()
    reader.join(timeout=45)
    assert not reader.is_alive() and answer and answer[0][0] == b"v3"
    after = cluster.call(0, "status")
    assert not after["is_leader"] and after["term"] > old_term
    assert after["read_indexes_failed"] > before["read_indexes_failed"], "the wait did not end on the new term"
    assert after["slow_read_indexes"] == before["slow_read_indexes"], "the wait ran out its timeout instead"


def test_a_watch_on_a_follower_from_a_revision_compacted_by_the_leader_raises_compacted(cluster_factory) -> None:
    """etcd 3.4 (3 members, gateway client) answered Compacted in 40 of 40 tries for a watch opened on
    a follower right after the compaction was acknowledged by the leader; so must borgkit: the watch
    catches up with the cluster's commit before it replays history."""
    cluster = cluster_factory(3)
    leader = cluster.leader()
    follower = next(i for i in range(3) if i != leader)
    cluster.call(follower, "wait_ready", 20, timeout=25)
    for n in range(8):
        cluster.call_until_ok(leader, "put", "w", b"a%d" % n)
        revision = cluster.call(leader, "put", "w", b"b%d" % n)
        cluster.call(leader, "compact", revision)
        assert cluster.call(follower, "watch_from", "w", revision - 1, 5, timeout=WAIT) == ["compacted", revision]
        assert cluster.call(follower, "watch_from", "w", revision, 5, timeout=WAIT) == ["event", revision]
