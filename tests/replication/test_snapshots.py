"""Raft snapshots in msgpack: compaction, restart from snapshot + journal, install on a lagging member,
and the crash window between writing a snapshot and compacting the journal."""
from __future__ import annotations

import os

import msgpack
import pytest

import kvstore
from kvstore.errors import CorruptedError
from kvstore.replication import Cluster
from kvstore.replication.raftnode import RaftNode, SNAPSHOT_NAME

from .support import SECRET, WAIT, free_ports, leader_of, wait_until

pytestmark = pytest.mark.timeout(120)


def _open(root, addresses, i, snapshot_entries=20):
    cluster = Cluster(self_address=addresses[i], peers=addresses, secret=SECRET, snapshot_entries=snapshot_entries)
    return kvstore.open(os.path.join(str(root), f"m{i}"), cluster=cluster)


def _all_ready(members) -> None:
    for member in members:
        member.wait_ready(15)


def _keys(member) -> dict:
    return {kv.key: kv.value for kv in member.range(b"\0", b"\0", serializable=True).kvs}


def test_lagging_member_gets_a_snapshot_and_everyone_restarts_from_snapshots(tmp_path) -> None:
    addresses = [f"127.0.0.1:{p}" for p in free_ports(3)]
    members = [_open(tmp_path, addresses, i) for i in range(3)]
    try:
        _all_ready(members)
        leader = leader_of(members)
        lagging = next(i for i, m in enumerate(members) if m is not leader)
        for n in range(60):
            leader.put(b"a/%03d" % n, b"%d" % n)
        members[lagging].close()
        for n in range(60):
            leader.put(b"b/%03d" % n, b"%d" % n)  # the leader compacts past the lagging member's log
        wait_until(lambda: os.path.exists(os.path.join(leader._raft.node.data_dir, SNAPSHOT_NAME)), WAIT,
                   "a snapshot on the leader")
        with open(os.path.join(leader._raft.node.data_dir, SNAPSHOT_NAME), "rb") as f:
            snapshot = msgpack.unpackb(f.read()[12:], raw=False)  # msgpack after size + crc, no pickle
        assert snapshot["format"] == 1 and "machine" in snapshot
        assert len(leader._raft.node.journal) < 60
        members[lagging] = _open(tmp_path, addresses, lagging)
        members[lagging].wait_ready(15)
        expected = _keys(leader)
        wait_until(lambda: _keys(members[lagging]) == expected, WAIT, "the lagging member to catch up")
        revision = leader.revision
        for member in members:
            member.close()
        members = [_open(tmp_path, addresses, i) for i in range(3)]
        _all_ready(members)
        for member in members:
            assert member.get(b"b/059") is not None  # linearizable: the restarted cluster has it
            assert _keys(member) == expected
        assert len({m.hash_kv(revision) for m in members}) == 1
    finally:
        for member in members:
            member.close()


class _NoAlignNode(RaftNode):
    def _align_journal(self, previous, last) -> None:  # pysyncobj's behaviour: clear the journal
        pass


@pytest.mark.parametrize("aligned", [True, False])
def test_crash_between_snapshot_and_journal_compaction(tmp_path, monkeypatch, aligned: bool) -> None:
    address = f"127.0.0.1:{free_ports(1)[0]}"
    member = _open(tmp_path, [address], 0, snapshot_entries=1000)
    member.wait_ready(10)
    for n in range(10):
        member.put(b"k%d" % n, b"v")
    journal = member._raft.node.journal
    monkeypatch.setattr(journal, "deleteEntriesTo", lambda entry_to: None)  # the crash: never compacted
    member.save_snapshot()
    snapshot = os.path.join(member._raft.node.data_dir, SNAPSHOT_NAME)
    wait_until(lambda: os.path.exists(snapshot), WAIT, "the snapshot file")
    for n in range(10, 20):
        member.put(b"k%d" % n, b"v")  # acknowledged after the snapshot
    member.close()
    monkeypatch.undo()
    if not aligned:
        monkeypatch.setattr("kvstore.replication.engine.RaftNode", _NoAlignNode)
    reopened = _open(tmp_path, [address], 0, snapshot_entries=1000)
    try:
        reopened.wait_ready(10)
        present = [n for n in range(20) if reopened.get(b"k%d" % n, serializable=True) is not None]
        if aligned:
            assert present == list(range(20))
        else:  # pysyncobj alone drops the journal: writes acknowledged after the snapshot are gone
            assert len(present) < 20
    finally:
        reopened.close()


def test_damaged_snapshot_refuses_to_start(tmp_path) -> None:
    address = f"127.0.0.1:{free_ports(1)[0]}"
    member = _open(tmp_path, [address], 0)
    member.wait_ready(10)
    member.put(b"k", b"v")
    member.save_snapshot()
    path = os.path.join(member._raft.node.data_dir, SNAPSHOT_NAME)
    wait_until(lambda: os.path.exists(path), WAIT, "the snapshot file")
    member.close()
    data = bytearray(open(path, "rb").read())
    data[-2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(CorruptedError):
        _open(tmp_path, [address], 0)


def test_watch_on_a_member_that_installs_a_snapshot_sees_every_revision(tmp_path) -> None:
    addresses = [f"127.0.0.1:{p}" for p in free_ports(3)]
    members = [_open(tmp_path, addresses, i) for i in range(3)]
    try:
        _all_ready(members)
        leader = leader_of(members)
        lagging = next(m for m in members if m is not leader)
        first = leader.put(b"w/start", b"0").revision
        watcher = lagging.watch(b"w/", prefix=True, start_revision=first)
        transport = lagging._raft.node._SyncObj__transport
        deliver = transport._onMessageReceivedCallback
        transport.setOnMessageReceivedCallback(lambda node, message: None)  # deaf: a partition
        try:
            for n in range(80):
                leader.put(b"w/%03d" % n, b"x")  # well past snapshot_entries: its log is compacted
            wait_until(lambda: os.path.exists(os.path.join(leader._raft.node.data_dir, SNAPSHOT_NAME)), WAIT,
                       "a snapshot on the leader")
        finally:
            transport.setOnMessageReceivedCallback(deliver)
        last = leader.put(b"w/end", b"1").revision
        seen = []
        while not seen or seen[-1] < last:
            event = watcher.get(timeout=WAIT)
            assert event is not None, f"watch stalled after {seen[-1:]}"
            seen.append(event.kv.mod_revision)
        assert seen == list(range(first, last + 1))
        watcher.cancel()
    finally:
        for member in members:
            member.close()


def test_a_journal_over_snapshot_bytes_is_compacted(tmp_path) -> None:
    address = f"127.0.0.1:{free_ports(1)[0]}"
    cluster = Cluster(self_address=address, peers=[address], secret=SECRET, snapshot_bytes=1 << 16)
    member = kvstore.open(str(tmp_path), cluster=cluster)
    try:
        member.wait_ready(10)
        for n in range(40):
            member.put(b"big%d" % n, b"x" * 4096)
        wait_until(lambda: member._raft.node.journal.size < 1 << 16, WAIT, "the journal to be compacted")
        assert all(member.get(b"big%d" % n) is not None for n in range(40))
    finally:
        member.close()
