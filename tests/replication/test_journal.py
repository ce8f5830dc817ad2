"""The durable Raft journal: what was synced comes back, torn tails are cut, damage is an error."""
from __future__ import annotations

import errno
import os

import pytest
from hypothesis import given, settings, strategies as st

from kvstore.errors import CorruptedError
from kvstore.replication import journal as journal_module
from kvstore.replication.journal import MAGIC, DurableJournal, encode_record
from kvstore.replication.leadersync import LeaderSync


def _entries(journal: DurableJournal) -> list[tuple[bytes, int, int]]:
    return [journal[i] for i in range(len(journal))]


operations = st.lists(st.one_of(
    st.tuples(st.just("add"), st.binary(max_size=40), st.integers(0, 3)),
    st.tuples(st.just("delete_from"), st.integers(0, 30)),
    st.tuples(st.just("delete_to"), st.integers(0, 30)),
    st.tuples(st.just("sync")),
    st.tuples(st.just("term"), st.integers(0, 50), st.sampled_from([None, "127.0.0.1:1", "127.0.0.1:2"])),
), max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops=operations)
def test_reopened_journal_equals_the_synced_model(tmp_path_factory: pytest.TempPathFactory, ops: list) -> None:
    directory = str(tmp_path_factory.mktemp("journal"))
    journal = DurableJournal(directory, preallocate=256)  # small steps: growth happens in the test
    model: list[tuple[bytes, int, int]] = []
    term_vote = (0, None)
    next_index = 1
    for op in ops:
        if op[0] == "add":
            next_index = model[-1][1] + 1 if model else next_index
            journal.add(op[1], next_index, op[2])
            model.append((op[1], next_index, op[2]))
        elif op[0] == "delete_from":
            journal.deleteEntriesFrom(op[1])
            del model[op[1]:]
        elif op[0] == "delete_to":
            journal.deleteEntriesTo(op[1])
            model = model[op[1]:]
        elif op[0] == "sync":
            journal.sync()
        else:
            journal.setCurrentTerm(op[1], op[2])
            term_vote = (op[1], op[2])
        assert _entries(journal) == model
    journal.sync()
    journal._destroy()
    reopened = DurableJournal(directory, preallocate=256)
    assert _entries(reopened) == model
    assert (reopened.getCurrentTerm(), reopened.getVotedForNodeId()) == term_vote
    reopened._destroy()


def test_unsynced_appends_are_not_on_disk_and_synced_ones_are(tmp_path) -> None:
    journal = DurableJournal(str(tmp_path))
    journal.add(b"a", 1, 1)
    assert encode_record((b"a", 1, 1)) not in (tmp_path / "raft.log").read_bytes()
    journal.sync()
    assert (tmp_path / "raft.log").read_bytes().startswith(MAGIC + encode_record((b"a", 1, 1)))
    # killed here (no close): a new journal sees the entry
    assert _entries(DurableJournal(str(tmp_path))) == [(b"a", 1, 1)]


@pytest.mark.parametrize("tail", [b"\0" * 100, encode_record((b"torn", 3, 1))[:-3], b"\x05",
                                  encode_record((b"zeroed", 3, 1))[:-6] + b"\0" * 6])
@pytest.mark.parametrize("at_end_of_file", [True, False])
def test_torn_tail_is_cut_and_the_rest_kept(tmp_path, tail: bytes, at_end_of_file: bool) -> None:
    journal = DurableJournal(str(tmp_path))
    journal.add(b"x", 1, 1)
    journal.add(b"y", 2, 1)
    journal.sync()
    end = journal._written
    journal._destroy()
    with open(tmp_path / "raft.log", "r+b") as f:
        if at_end_of_file:
            f.truncate(end)
        f.seek(end)
        f.write(tail)  # else: inside the zero-filled preallocation
    reopened = DurableJournal(str(tmp_path))
    assert _entries(reopened) == [(b"x", 1, 1), (b"y", 2, 1)]
    reopened.add(b"z", 3, 2)
    reopened._destroy()
    assert _entries(DurableJournal(str(tmp_path))) == [(b"x", 1, 1), (b"y", 2, 1), (b"z", 3, 2)]


def test_damage_inside_the_journal_raises_corrupted_with_file_and_offset(tmp_path) -> None:
    journal = DurableJournal(str(tmp_path))
    for index in range(1, 6):
        journal.add(b"payload-%d" % index, index, 1)
    journal._destroy()
    path = tmp_path / "raft.log"
    data = bytearray(path.read_bytes())
    second = len(MAGIC) + len(encode_record((b"payload-1", 1, 1)))
    data[second + 12] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptedError) as raised:
        DurableJournal(str(tmp_path))
    assert raised.value.path == str(path) and raised.value.offset == second


def test_damaged_meta_raises_corrupted(tmp_path) -> None:
    journal = DurableJournal(str(tmp_path))
    journal.setCurrentTerm(7, "127.0.0.1:9")
    journal._destroy()
    meta = tmp_path / "raft.meta"
    data = bytearray(meta.read_bytes())
    data[-1] ^= 0x01
    meta.write_bytes(bytes(data))
    with pytest.raises(CorruptedError):
        DurableJournal(str(tmp_path))


def test_term_and_vote_are_durable_at_once(tmp_path) -> None:
    journal = DurableJournal(str(tmp_path))
    journal.setCurrentTerm(3, "127.0.0.1:7001")
    # no sync, no destroy: a kill -9 right now keeps the vote
    again = DurableJournal(str(tmp_path))
    assert (again.getCurrentTerm(), again.getVotedForNodeId()) == (3, "127.0.0.1:7001")


def test_appends_during_syncs_on_another_thread_all_come_back_in_order(tmp_path) -> None:
    """The leader appends on the tick thread while LeaderSync fsyncs: nothing lost, nothing reordered."""
    journal = DurableJournal(str(tmp_path), preallocate=4096)  # growth happens during the test too
    syncer = LeaderSync(journal)
    try:
        for index in range(1, 1501):
            journal.add(b"entry-%d" % index + b"." * (index % 50), index, 1 + index // 500)
            if index % 3 == 0:
                syncer.start()
            if index % 250 == 0:
                journal.sync()  # what the tick thread does before counting its own copy
                assert journal.durable
        journal.sync()
    finally:
        syncer.stop()
    journal._destroy()
    reopened = DurableJournal(str(tmp_path))
    assert _entries(reopened) == [(b"entry-%d" % i + b"." * (i % 50), i, 1 + i // 500) for i in range(1, 1501)]


def test_a_failed_sync_keeps_the_records_for_the_next_one(tmp_path, monkeypatch) -> None:
    journal = DurableJournal(str(tmp_path))
    journal.add(b"a", 1, 1)
    journal.sync()
    journal.add(b"b", 2, 1)

    def failing(*args: object) -> None:
        raise OSError(5, "injected EIO")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fdatasync", failing)
        patch.setattr(os, "pwritev", failing)
        with pytest.raises(OSError, match="injected"):
            journal.sync()
    assert not journal.durable
    journal.add(b"c", 3, 1)
    journal.sync()
    assert journal.durable
    journal._destroy()
    assert _entries(DurableJournal(str(tmp_path))) == [(b"a", 1, 1), (b"b", 2, 1), (b"c", 3, 1)]


def test_without_per_write_sync_support_the_journal_writes_then_fdatasyncs(tmp_path, monkeypatch) -> None:
    def unsupported(*args: object) -> None:
        raise OSError(errno.EOPNOTSUPP, "no RWF_DSYNC here")

    monkeypatch.setattr(journal_module, "_RWF_DSYNC", [1])
    monkeypatch.setattr(os, "pwritev", unsupported)
    journal = DurableJournal(str(tmp_path))
    journal.add(b"a", 1, 1)
    journal.sync()
    assert journal_module._RWF_DSYNC == [0] and journal.durable
    journal._destroy()
    assert _entries(DurableJournal(str(tmp_path))) == [(b"a", 1, 1)]
