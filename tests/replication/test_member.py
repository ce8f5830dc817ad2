"""The Store API on a 3-member cluster in one process: kvstore.open(path, cluster=Cluster(...))."""
from __future__ import annotations

import os
import threading
from typing import Iterator

import pytest

import kvstore
from kvstore.errors import InvalidArgument, NoLeader, NotReady, Timeout
from kvstore.replication import Cluster, Member

from .support import SECRET, WAIT, free_ports, in_process_members, leader_of, wait_until

pytestmark = pytest.mark.timeout(120)


def _open(root: str, addresses: list[str], i: int) -> Member:
    # request_timeout: a request waits out an election (a loaded machine holds some) instead of failing
    cluster = Cluster(self_address=addresses[i], peers=addresses, secret=SECRET, request_timeout=WAIT)
    return kvstore.open(os.path.join(root, f"m{i}"), cluster=cluster)


@pytest.fixture
def members(tmp_path) -> Iterator[list]:
    addresses = [f"127.0.0.1:{p}" for p in free_ports(3)]
    opened: list = [_open(str(tmp_path), addresses, i) for i in range(3)]
    opened.append(addresses)  # type: ignore[arg-type]
    try:
        for member in opened[:3]:
            member.wait_ready(15)
        yield opened
    finally:
        for member in opened[:3]:
            member.close()


def test_write_on_any_member_is_read_linearizably_everywhere(members) -> None:
    a, b, c, _ = members
    follower = next(m for m in (a, b, c) if not m.is_leader)
    response = follower.put(b"k", b"v1")
    assert response.revision >= 2
    for member in (a, b, c):
        kv = member.get(b"k")
        assert kv is not None and kv.value == b"v1" and kv.mod_revision == response.revision
    leader_of((a, b, c))  # one leader, named by every member: fails the test if they never agree
    assert a.members() == sorted(members[3])
    status = a.status()
    assert status.revision == a.revision and 0 < status.db_size < 1 << 20  # records, not preallocation
    txn = c.txn([kvstore.Compare.value(b"k") == b"v1"], [kvstore.Op.put(b"k", b"v2")], [])
    assert txn.succeeded
    assert follower.range(b"k", serializable=False).kvs[0].value == b"v2"
    wait_until(lambda: all(m.get(b"k", serializable=True).value == b"v2" for m in (a, b, c)), WAIT,
               "serializable reads to catch up")


def test_watch_on_a_follower_resumes_after_its_restart(members, tmp_path) -> None:
    a, b, c, addresses = members
    follower_index = next(i for i, m in enumerate((a, b, c)) if not m.is_leader)
    follower = members[follower_index]
    writer = next(m for m in (a, b, c) if m is not follower)
    first = writer.put(b"w/1", b"1").revision
    with follower.watch(b"w/", prefix=True, start_revision=first) as watcher:
        writer.put(b"w/2", b"2")
        seen = [watcher.get(timeout=WAIT), watcher.get(timeout=WAIT)]
    assert [e.kv.key for e in seen] == [b"w/1", b"w/2"]
    last_seen = seen[-1].kv.mod_revision
    follower.close()
    writer.put(b"w/3", b"3")  # committed by the two others while the follower is down
    reopened = _open(str(tmp_path), addresses, follower_index)
    members[follower_index] = reopened
    reopened.wait_ready(15)
    with reopened.watch(b"w/", prefix=True, start_revision=last_seen + 1) as watcher:
        writer.put(b"w/4", b"4")
        resumed = [watcher.get(timeout=WAIT), watcher.get(timeout=WAIT)]
    assert [e.kv.key for e in resumed] == [b"w/3", b"w/4"]
    assert resumed[0].kv.mod_revision > last_seen


def test_lease_granted_on_a_follower_expires_by_the_leader_everywhere(members) -> None:
    a, b, c, _ = members
    follower = next(m for m in (a, b, c) if not m.is_leader)
    lease = follower.grant(1)
    follower.put(b"leased", b"x", lease=lease.id)
    assert all(m.get(b"leased") is not None for m in (a, b, c))
    wait_until(lambda: all(m.get(b"leased", serializable=True) is None for m in (a, b, c)), WAIT,
               "the leased key to expire on every member")
    hashes = {m.hash_kv(a.revision) for m in (a, b, c)}
    assert len(hashes) == 1


def test_membership_remove_and_add_back(members) -> None:
    a, b, c, addresses = members
    leader = leader_of((a, b, c))
    follower = next(m for m in (a, b, c) if m is not leader)
    address = follower._raft.cluster.self_address
    leader.remove_member(address)
    wait_until(lambda: address not in leader.members(), WAIT, "the removal to apply")
    leader.put(b"after-removal", b"1")
    leader.add_member(address)
    wait_until(lambda: address in leader.members(), WAIT, "the addition to apply")
    wait_until(lambda: follower.get(b"after-removal", serializable=True) is not None, WAIT,
               "the re-added member to catch up")
    with pytest.raises(InvalidArgument):
        leader.remove_member("127.0.0.1:1")


def test_open_refuses_what_a_member_cannot_honour(tmp_path) -> None:
    port, = free_ports(1)
    cluster = Cluster(self_address=f"127.0.0.1:{port}", peers=[], secret=SECRET)
    with pytest.raises(InvalidArgument, match="fsync"):
        kvstore.open(str(tmp_path), cluster=cluster, fsync="never")
    with pytest.raises(InvalidArgument, match="cluster"):
        kvstore.replication.open(str(tmp_path), cluster="127.0.0.1:1")  # type: ignore[arg-type]


def test_wait_ready_without_a_quorum_raises_not_ready(tmp_path) -> None:
    me, other1, other2 = (f"127.0.0.1:{p}" for p in free_ports(3))
    member = _open(str(tmp_path), [me, other1, other2], 0)
    try:
        with pytest.raises(NotReady, match="not ready"):
            member.wait_ready(1.0)
    finally:
        member.close()


def test_write_without_a_quorum_raises_a_typed_error_in_bounded_time(tmp_path) -> None:
    addresses = [f"127.0.0.1:{p}" for p in free_ports(3)]
    members = [kvstore.open(os.path.join(str(tmp_path), f"q{i}"), cluster=Cluster(
        self_address=addresses[i], peers=addresses, secret=SECRET, request_timeout=1.0)) for i in range(3)]
    try:
        for member in members:
            member.wait_ready(15)
        members[1].close()
        members[2].close()
        with pytest.raises((NoLeader, Timeout)):
            members[0].put(b"lost", b"x")
        with pytest.raises((NoLeader, Timeout)):
            members[0].get(b"lost")  # a linearizable read needs a majority too
        assert members[0].get(b"lost", serializable=True) is None  # a local read answers: never committed
    finally:
        for member in members:
            member.close()


def test_a_retried_request_id_is_applied_once(members) -> None:
    a, b, c, _ = members
    follower = next(m for m in (a, b, c) if not m.is_leader)
    proposer = follower._raft.proposer
    request_id = proposer.new_request_id()
    command = ["put", b"once", b"1", 0, False, False, False]
    first = proposer.propose(command, timeout=WAIT, request_id=request_id)
    again = proposer.propose(command, timeout=WAIT, request_id=request_id)
    assert again is first or again.revision == first.revision
    assert follower.get(b"once").version == 1


def test_move_leader(members) -> None:
    a, b, c, _ = members
    leader = leader_of((a, b, c))
    target = next(m for m in (a, b, c) if m is not leader)
    leader.put(b"before-move", b"1")
    wait_until(lambda: target.get(b"before-move", serializable=True) is not None, WAIT, "the target to catch up")
    address = target._raft.cluster.self_address
    leader.move_leader(address, timeout=WAIT)
    wait_until(lambda: target.is_leader, WAIT, "the target to lead")
    assert target.put(b"after-move", b"1").revision > 0


def test_a_lost_proposal_is_proposed_again(members, monkeypatch) -> None:
    a, b, c, _ = members
    follower = next(m for m in (a, b, c) if not m.is_leader)
    node = follower._raft.node
    real_submit = node.submit
    dropped: list[bytes] = []

    def lose_the_first(payload: bytes, callback) -> None:
        if not dropped:
            dropped.append(payload)  # as if the forwarding connection died: no callback, ever
            return
        real_submit(payload, callback)

    monkeypatch.setattr(node, "submit", lose_the_first)
    assert follower.put(b"resent", b"1").revision > 0
    assert dropped and follower.get(b"resent").version == 1


def test_linearizable_reads_on_the_leader_with_one_follower_down(members) -> None:
    a, b, c, _ = members
    leader = leader_of((a, b, c))
    down = next(m for m in (a, b, c) if m is not leader)
    leader.put(b"r", b"1")
    down.close()
    for n in range(20):
        leader.put(b"r", b"%d" % n)
        assert leader.get(b"r").value == b"%d" % n  # ReadIndex confirmed by the one live follower


def test_concurrent_writers_share_log_entries(members) -> None:
    """A writer on an idle leader appends its own entry; writers arriving while entries are in
    flight wait for the tick thread, which puts all of them in one entry."""
    import threading

    a, b, c, _ = members
    leader = leader_of((a, b, c))
    node = leader._raft.node
    before = node.raftCommitIndex
    writers, rounds = 32, 10
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        start.wait()
        for r in range(rounds):
            leader.put(b"w/%d/%d" % (n, r), b"v")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    entries = node.raftCommitIndex - before
    assert leader.range(b"w/", prefix=True, count_only=True).count == writers * rounds
    assert entries * 2 < writers * rounds, f"{writers * rounds} writes took {entries} entries"


def test_a_failing_tick_on_the_writers_thread_leaves_the_write_to_the_tick_thread(tmp_path, monkeypatch) -> None:
    # A writer on an idle leader runs the ticks that commit its own entry; if one of them fails
    # (here: an injected error on the writer's thread), the write still completes on the tick thread.
    from kvstore.replication.raftnode import RaftNode

    with in_process_members(str(tmp_path)) as members:
        leader = leader_of(members)
        leader.put(b"warm", b"up")
        tick_thread = leader._raft.node._SyncObj__thread
        original = RaftNode._tick
        failed: list[str] = []

        def tick(self: RaftNode, time_to_wait: float) -> None:
            if self is leader._raft.node and threading.current_thread() is not tick_thread and not failed:
                failed.append(threading.current_thread().name)
                raise RuntimeError("injected")
            original(self, time_to_wait)

        monkeypatch.setattr(RaftNode, "_tick", tick)
        revisions = {}
        for i in range(200):  # until a write finds the leader idle and drives its own commit
            revisions[b"k%d" % i] = leader.put(b"k%d" % i, b"v").revision
            if failed:
                break
        assert failed  # a writer's thread did tick, and its tick failed
        assert {key: leader.get(key).mod_revision for key in revisions} == revisions
