"""Issue 3 point 4: a stale AppendEntries must not cut committed entries out of a follower."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from pysyncobj.node import TCPNode

from kvstore.replication._pin import REGULAR_COMMAND
from kvstore.replication.cluster import Cluster
from kvstore.replication.guards import trim_append_entries
from kvstore.replication.machine import BatchApplier, encode_batch
from kvstore.replication.raftnode import RaftNode

from .support import SECRET, CounterMachine, free_ports


class UnguardedNode(RaftNode):
    truncation_guard = False


def _entry(index: int, term: int) -> tuple[bytes, int, int]:
    return (REGULAR_COMMAND + encode_batch([(b"req-%d" % index, [f"k{index}", index])]), index, term)


def _append(term: int, prev: tuple[int, int], entries: list, commit: int) -> dict[str, Any]:
    return {"type": "append_entries", "term": term, "commit_index": commit,
            "prevLogIdx": prev[0], "prevLogTerm": prev[1], "entries": entries}


def _follower(node_class: type, tmp_path) -> tuple[RaftNode, TCPNode]:
    me, leader = free_ports(2)
    cluster = Cluster(self_address=f"127.0.0.1:{me}", peers=[f"127.0.0.1:{leader}"], secret=SECRET)
    node = node_class(cluster, str(tmp_path), BatchApplier(CounterMachine()), auto_tick=False)
    return node, TCPNode(f"127.0.0.1:{leader}")


@pytest.mark.parametrize("node_class, survives", [(UnguardedNode, False), (RaftNode, True)])
def test_stale_append_entries_and_committed_entries(tmp_path, node_class: type, survives: bool) -> None:
    node, leader = _follower(node_class, tmp_path)
    try:
        receive = node._SyncObj__onMessageReceived
        # The leader replicated entries 2..4 and told the follower they are committed.
        receive(leader, _append(1, (1, 0), [_entry(2, 1), _entry(3, 1), _entry(4, 1)], commit=4))
        node.doTick(0)
        assert node.raftCommitIndex == 4 and node.raftLastApplied == 4
        # A delayed copy of the leader's first AppendEntries (only entry 2) arrives late.
        receive(leader, _append(1, (1, 0), [_entry(2, 1)], commit=1))
        held = [node.term_at(index) for index in (2, 3, 4)]
        if survives:
            assert held == [1, 1, 1] and node.raftCommitIndex == 4
        else:  # pysyncobj 0.3.17 alone: committed, applied entries 3 and 4 are gone
            assert held == [1, None, None] and node.raftCommitIndex == 2
    finally:
        node._doDestroy()


def test_conflicting_suffix_is_still_replaced(tmp_path) -> None:
    node, leader = _follower(RaftNode, tmp_path)
    try:
        receive = node._SyncObj__onMessageReceived
        receive(leader, _append(1, (1, 0), [_entry(2, 1), _entry(3, 1)], commit=2))
        receive(leader, _append(2, (2, 1), [_entry(3, 2), _entry(4, 2)], commit=2))
        assert [node.term_at(i) for i in (2, 3, 4)] == [1, 2, 2]
    finally:
        node._doDestroy()


logs = st.lists(st.integers(1, 3), min_size=1, max_size=8).map(lambda terms: sorted(terms))


@settings(max_examples=200, deadline=None)
@given(local=logs, leader=logs, prev=st.integers(0, 8), count=st.integers(0, 8))
def test_trim_never_deletes_a_matching_entry(local: list[int], leader: list[int], prev: int, count: int) -> None:
    """Apply the rewritten message the way pysyncobj does, and compare with Raft's rule."""
    local_log = [(b"", 0, 0)] + [(b"", i + 1, t) for i, t in enumerate(local)]
    leader_log = [(b"", 0, 0)] + [(b"", i + 1, t) for i, t in enumerate(leader)]
    if prev >= len(leader_log):
        return
    entries = leader_log[prev + 1:prev + 1 + count]
    message = _append(9, (prev, leader_log[prev][2]), entries, commit=0)

    def term_at(index: int) -> Any:
        return local_log[index][2] if 0 <= index < len(local_log) else None

    rewritten, ack = trim_append_entries(message, term_at, len(local_log) - 1)
    result = list(local_log)
    if "prevLogIdx" in rewritten and term_at(rewritten["prevLogIdx"]) == rewritten["prevLogTerm"]:
        if len(result) - 1 > rewritten["prevLogIdx"]:
            del result[rewritten["prevLogIdx"] + 1:]  # pysyncobj's unconditional truncation
        result.extend(rewritten["entries"])
    # Raft §5.3: delete only from the first conflict, then append what is missing.
    expected = list(local_log)
    if term_at(prev) == leader_log[prev][2]:
        for entry in entries:
            index = entry[1]
            if index < len(expected) and expected[index][2] != entry[2]:
                del expected[index:]
            if index >= len(expected):
                expected.append(entry)
    assert [e[1:] for e in result] == [e[1:] for e in expected]
    if ack is not None:
        assert ack == (entries[-1][1] if entries else prev) + 1


def test_entries_are_on_disk_before_the_follower_acknowledges_them(tmp_path, monkeypatch) -> None:
    from pysyncobj.transport import TCPTransport

    from kvstore.replication.journal import DurableJournal

    node, leader = _follower(RaftNode, tmp_path)
    seen_on_disk: list[list[int]] = []

    def spy_send(self, target, message):
        if message.get("type") == "next_node_idx":  # what a second reader of the files finds now
            reader = DurableJournal(str(tmp_path))
            seen_on_disk.append([entry[1] for entry in reader[:]])
            reader._destroy()
        return False

    monkeypatch.setattr(TCPTransport, "send", spy_send)
    try:
        node._SyncObj__onMessageReceived(leader, _append(1, (1, 0), [_entry(2, 1), _entry(3, 1)], commit=1))
        assert seen_on_disk == [[1, 2, 3]]
    finally:
        node._doDestroy()
