"""The WAL on real files with real fsync: append and recover, segments, fsync policies, group commit, snapshots."""
from __future__ import annotations

import os
import random
import stat
import threading
import time

import msgpack
import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kvstore import InvalidArgument, KVError, StoreClosed
from kvstore.framing import SEGMENT_HEADER, decode_segment_header, encode_record, scan_records
from kvstore.wal import open_wal, segment_name


class CountingFsync:
    """A real fsync that counts its calls (and can be told to fail)."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.fail: OSError | None = None

    def __call__(self, fd: int) -> None:
        if self.fail is not None:
            raise self.fail
        os.fsync(fd)
        with self.lock:
            self.calls += 1


def recover(directory, **options):
    """Open, read everything back, close: (snapshot payload, list of record payloads)."""
    wal, snapshot, records = open_wal(str(directory), **options)
    try:
        return snapshot, list(records)
    finally:
        wal.close()


def segment_files(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".wal"))


@pytest.mark.parametrize("policy", ["always", "batch", "never"])
def test_records_come_back_in_order_with_their_sequence_numbers(tmp_path, policy):
    wal, snapshot, records = open_wal(str(tmp_path), fsync=policy)
    assert snapshot is None and list(records) == []
    payloads = [b"record %d" % n * (n % 7) for n in range(200)]
    seqs = [wal.append(payload) for payload in payloads]
    wal.wait_durable(seqs[-1])
    wal.close()
    assert seqs == list(range(1, 201))
    assert recover(tmp_path, fsync=policy) == (None, payloads)
    wal, _, records = open_wal(str(tmp_path), fsync=policy)
    assert list(records) == payloads and wal.last_seq == 200
    assert wal.append(b"more") == 201
    wal.close()
    assert recover(tmp_path)[1] == payloads + [b"more"]


def test_segments_roll_over_by_size_and_carry_number_and_first_sequence(tmp_path):
    wal, _, _ = open_wal(str(tmp_path), segment_bytes=1024)
    payloads = [bytes([n]) * 100 for n in range(50)]
    for payload in payloads:
        wal.wait_durable(wal.append(payload))
    wal.close()
    names = segment_files(tmp_path)
    assert len(names) > 3
    first_seq = 1
    for number, name in enumerate(names):
        data = (tmp_path / name).read_bytes()
        header = decode_segment_header(data)
        assert (header.number, header.first_seq) == (number, first_seq)
        assert name == segment_name(number, first_seq)
        found, end = scan_records(data, SEGMENT_HEADER.size)
        assert end == len(data) and len(data) <= 1024 + 108
        first_seq += len(found)
    assert recover(tmp_path, segment_bytes=1024)[1] == payloads


def test_policies_differ_in_when_bytes_reach_the_os_and_disk(tmp_path):
    for policy in ("always", "batch", "never"):
        fsync = CountingFsync()
        wal, _, _ = open_wal(str(tmp_path / policy), fsync=policy, fsync_function=fsync)
        path = tmp_path / policy / segment_files(tmp_path / policy)[0]
        before, created_fsyncs = path.stat().st_size, fsync.calls
        frame = encode_record(b"x" * 100)
        seq = wal.append(b"x" * 100)
        # the segment may be preallocated (zeros) beyond its records: read what the OS holds at that offset
        handed_at_append = path.read_bytes()[before:before + len(frame)] == frame
        wal.wait_durable(seq)
        assert path.read_bytes()[before:before + len(frame)] == frame
        assert handed_at_append == (policy != "batch")  # only batch buffers for its group-commit leader
        assert fsync.calls - created_fsyncs == (0 if policy == "never" else 1)
        assert wal.fsync_count == (0 if policy == "never" else 1)
        wal.close()
        assert path.stat().st_size == before + len(frame)  # a closed segment ends at its last record


def test_a_later_fsync_covers_earlier_records(tmp_path):
    fsync = CountingFsync()
    wal, _, _ = open_wal(str(tmp_path), fsync="always", fsync_function=fsync)
    seqs = [wal.append(b"r%d" % n) for n in range(10)]
    wal.wait_durable(seqs[-1])
    for seq in seqs:
        wal.wait_durable(seq)
    assert wal.fsync_count == 1
    wal.close()


def test_group_commit_shares_fsyncs_among_concurrent_writers(tmp_path):
    """The first leader's fsync is held until every writer has appended: at most two fsyncs for 64 writes."""
    writers = 64
    appended = threading.Semaphore(0)
    released = threading.Event()
    armed = threading.Event()  # open_wal's own fsyncs (segment creation) pass straight through

    def gated_fsync(fd: int) -> None:
        if armed.is_set() and not released.is_set():
            for _ in range(writers):
                assert appended.acquire(timeout=30)
            released.set()
        os.fsync(fd)

    wal, _, _ = open_wal(str(tmp_path), fsync="batch", fsync_function=gated_fsync)
    armed.set()
    store_lock = threading.Lock()  # the store appends under its apply lock
    errors = []

    def writer(number: int) -> None:
        try:
            with store_lock:
                seq = wal.append(b"writer %d" % number)
            appended.release()
            wal.wait_durable(seq)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    assert 1 <= wal.fsync_count <= 2 < writers
    wal.close()
    assert sorted(recover(tmp_path)[1]) == sorted(b"writer %d" % n for n in range(writers))


@pytest.mark.parametrize("policy", ["always", "batch"])
def test_many_threads_with_real_fsync_every_write_durable(tmp_path, policy):
    wal, _, _ = open_wal(str(tmp_path), fsync=policy, segment_bytes=4096)
    store_lock = threading.Lock()
    acknowledged = []

    def writer(number: int) -> None:
        for round_ in range(20):
            with store_lock:
                seq = wal.append(b"%d/%d" % (number, round_))
            wal.wait_durable(seq)
            assert wal._synced_seq >= seq
            acknowledged.append(seq)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(acknowledged) == list(range(1, 321))
    assert wal.fsync_count <= 320 + len(segment_files(tmp_path))
    wal.close()
    assert len(recover(tmp_path)[1]) == 320


class SyncedContents:
    """A real fsync that keeps, per file, the content its last fsync covered, and sometimes lingers (up to
    3 ms, longer than a group commit waits for returning writers) so that waits time out mid-fsync."""

    def __init__(self, seed: int) -> None:
        self.contents: dict[int, bytes] = {}
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        os.fsync(fd)
        status = os.fstat(fd)
        if stat.S_ISREG(status.st_mode):
            with open(f"/proc/self/fd/{fd}", "rb") as again:  # the segment fd is write-only
                self.contents[status.st_ino] = again.read()
        with self.lock:
            linger = self.random.choice([0, 0, 0.0005, 0.003])
        time.sleep(linger)

    def holds(self, payload: bytes) -> bool:
        return any(payload in content for content in list(self.contents.values()))


@pytest.mark.parametrize("policy", ["always", "batch"])
def test_group_commit_acknowledges_only_fsynced_records_while_writers_come_and_go(tmp_path, policy):
    """Writers that pause between writes or stop early, fsyncs of uneven length: every wait_durable returns
    only once its record is in the content an fsync covered, and no writer is left waiting."""
    synced = SyncedContents(seed=len(policy))
    wal, _, _ = open_wal(str(tmp_path), fsync=policy, segment_bytes=8192, fsync_function=synced)
    store_lock = threading.Lock()
    not_covered: list[bytes] = []

    def writer(number: int) -> None:
        pauses = random.Random(number)
        for round_ in range(40 if number % 4 else 5):  # every fourth writer stops early
            payload = b"writer %03d round %03d " % (number, round_) + b"x" * pauses.randrange(300)
            with store_lock:
                seq = wal.append(payload)
            wal.wait_durable(seq)
            if not synced.holds(payload):
                not_covered.append(payload)
            time.sleep(pauses.choice([0, 0, 0, 0.0002, 0.002]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert not_covered == []
    wal.close()
    assert len(recover(tmp_path, segment_bytes=8192)[1]) == 9 * 40 + 3 * 5


def test_a_writer_that_does_not_come_back_holds_no_one_up(tmp_path):
    """The fsync after a completed one waits for the writers it woke; one that never writes again (parked
    here forever) only delays the next fsync until its deadline, it does not block it."""
    in_fsync, release_fsync = threading.Event(), threading.Event()
    armed = threading.Event()

    def gated_fsync(fd: int) -> None:
        if armed.is_set() and not release_fsync.is_set():
            in_fsync.set()
            assert release_fsync.wait(30)
        os.fsync(fd)

    wal, _, _ = open_wal(str(tmp_path), fsync="batch", fsync_function=gated_fsync)
    armed.set()
    parked = threading.Event()
    done = []

    def first() -> None:
        wal.wait_durable(wal.append(b"first"))  # leads the gated fsync
        done.append("first")
        parked.wait(60)  # and never writes again

    def second() -> None:
        assert in_fsync.wait(30)
        seq = wal.append(b"second")  # appended while the first fsync is in flight: it needs the next one
        release_fsync.set()
        wal.wait_durable(seq)
        done.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    threads[1].join(30)
    parked.set()
    threads[0].join(30)
    assert done == ["first", "second"] and wal._synced_seq == 2
    wal.close()


def test_a_failed_fsync_fails_the_wal_for_good(tmp_path):
    fsync = CountingFsync()
    wal, _, _ = open_wal(str(tmp_path), fsync="batch", fsync_function=fsync)
    wal.wait_durable(wal.append(b"kept"))
    fsync.fail = OSError(5, "Input/output error")
    seq = wal.append(b"unknown")
    with pytest.raises(OSError):
        wal.wait_durable(seq)
    fsync.fail = None  # even when the disk "recovers", dropped pages may have lost data: refuse
    with pytest.raises(KVError, match="reopen"):
        wal.append(b"later")
    with pytest.raises(KVError):
        wal.wait_durable(seq)
    wal.close()
    assert recover(tmp_path)[1][0] == b"kept"


def test_closed_wal_refuses_appends_and_close_is_idempotent(tmp_path):
    wal, _, _ = open_wal(str(tmp_path), fsync="never")
    wal.append(b"a")
    wal.close()
    wal.close()
    with pytest.raises(StoreClosed):
        wal.append(b"b")
    assert recover(tmp_path)[1] == [b"a"]  # close writes and fsyncs even under "never"


def test_bad_options_are_refused_before_touching_the_directory(tmp_path):
    target = tmp_path / "wal"
    with pytest.raises(InvalidArgument, match="fsync='sometimes'"):
        open_wal(str(target), fsync="sometimes")
    with pytest.raises(InvalidArgument, match="segment_bytes=10"):
        open_wal(str(target), segment_bytes=10)
    assert not target.exists()
    target.write_bytes(b"a file")
    with pytest.raises(InvalidArgument, match="not a directory"):
        open_wal(str(target))
    assert target.read_bytes() == b"a file"


def test_snapshot_drops_covered_segments_and_recovery_replays_only_after_it(tmp_path):
    wal, _, _ = open_wal(str(tmp_path), segment_bytes=1024)
    for n in range(40):
        wal.append(b"%03d" % n * 30)
    assert wal.records_since_snapshot == 40 and wal.bytes_since_snapshot == 40 * 98
    wal.save_snapshot(b"state after 30", 30)
    assert wal.snapshot_seq == 30 and wal.records_since_snapshot == 10
    first_kept = segment_files(tmp_path)[0]
    assert int(first_kept.split("-")[1][:16], 16) <= 31
    for n in range(40, 45):
        wal.append(b"%03d" % n * 30)
    wal.close()
    snapshot, records = recover(tmp_path, segment_bytes=1024)
    assert snapshot == b"state after 30"
    assert records == [b"%03d" % n * 30 for n in range(30, 45)]


def test_snapshot_of_everything_leaves_one_empty_segment_and_one_snapshot(tmp_path):
    wal, _, _ = open_wal(str(tmp_path), segment_bytes=1024)
    for n in range(30):
        wal.append(b"x" * 200)
    wal.save_snapshot(b"one", 10)
    wal.save_snapshot(b"two", 30)
    assert wal.records_since_snapshot == 0 and wal.bytes_since_snapshot == 0
    with pytest.raises(InvalidArgument, match="last_seq=31"):
        wal.save_snapshot(b"future", 31)
    wal.close()
    [segment] = segment_files(tmp_path)
    assert segment.endswith("-000000000000001f.wal")  # an empty segment starting after the snapshot
    assert sorted(os.listdir(tmp_path)) == [segment, "000000000000001e.snap"]
    assert recover(tmp_path) == (b"two", [])
    assert os.path.getsize(tmp_path / "000000000000001e.snap") == 32 + 3


def test_snapshot_syncs_the_records_it_covers_first(tmp_path):
    wal, _, _ = open_wal(str(tmp_path), fsync="batch")
    wal.append(b"not yet durable")
    wal.save_snapshot(b"covers 1", 1)
    assert wal._synced_seq == 1
    wal.close()


def test_size_counts_segments_and_snapshot(tmp_path):
    wal, _, _ = open_wal(str(tmp_path), fsync="never")
    empty = wal.size
    wal.append(b"x" * 1000)
    assert wal.size == empty + 1008
    wal.close()


@settings(max_examples=25, deadline=None, stateful_step_count=30)
class WALMachine(RuleBasedStateMachine):
    """Appends, syncs, snapshots, segment rollovers and reopen against a plain list of payloads."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.directory = tempfile.mkdtemp(prefix="walmachine-")
        self.history: list[bytes] = []
        self.snapshot_seq = 0
        self.has_snapshot = False
        self.wal = None

    @initialize(policy=st.sampled_from(["always", "batch", "never"]))
    def start(self, policy):
        self.policy = policy
        self.wal, snapshot, records = open_wal(self.directory, fsync=policy, segment_bytes=1024)
        assert snapshot is None and list(records) == []

    @rule(payload=st.binary(max_size=400))
    def append(self, payload):
        assert self.wal.append(payload) == len(self.history) + 1
        self.history.append(payload)

    @precondition(lambda self: self.history)
    @rule(data=st.data())
    def wait_durable(self, data):
        self.wal.wait_durable(data.draw(st.integers(1, len(self.history))))

    @rule(data=st.data())
    def snapshot(self, data):
        last = data.draw(st.integers(self.snapshot_seq, len(self.history)))
        self.wal.save_snapshot(msgpack.packb(last), last)
        self.snapshot_seq = last
        self.has_snapshot = True

    @rule()
    def reopen(self):
        self.wal.close()
        self.wal, snapshot, records = open_wal(self.directory, fsync=self.policy, segment_bytes=1024)
        if self.has_snapshot:
            assert msgpack.unpackb(snapshot) == self.snapshot_seq
        else:
            assert snapshot is None
        assert list(records) == self.history[self.snapshot_seq:]

    @invariant()
    def counters_follow_the_model(self):
        if self.wal is not None:
            assert self.wal.last_seq == len(self.history)
            assert self.wal.records_since_snapshot == len(self.history) - self.snapshot_seq
            assert self.wal.bytes_since_snapshot >= sum(len(p) + 8 for p in self.history[self.snapshot_seq:])

    def teardown(self):
        import shutil

        if self.wal is not None:
            self.wal.close()
        shutil.rmtree(self.directory, ignore_errors=True)


TestWALMachine = WALMachine.TestCase


def test_framing_round_trip_and_zero_bytes_never_frame():
    data = b"".join(encode_record(bytes([n]) * n) for n in range(20))
    assert scan_records(data, 0) == ([bytes([n]) * n for n in range(20)], len(data))
    assert scan_records(b"\x00" * 64, 0) == ([], 0)


def test_a_directory_is_open_in_one_wal_at_a_time(tmp_path):
    wal, _, _ = open_wal(str(tmp_path))
    wal.wait_durable(wal.append(b"live"))
    with pytest.raises(KVError, match="already open"):
        open_wal(str(tmp_path))  # would otherwise cut a live writer's records as a "torn tail"
    wal.close()
    assert recover(tmp_path) == (None, [b"live"])


@pytest.mark.parametrize("policy", ["always", "batch", "never"])
def test_unserialized_appends_across_rollovers_keep_the_log_valid(tmp_path, policy):
    """The WAL's own lock is enough: threads appending without a store lock, through many rollovers."""
    wal, _, _ = open_wal(str(tmp_path), fsync=policy, segment_bytes=1024)
    payloads = {(n, r): b"%d/%d:" % (n, r) + b"p" * 150 for n in range(8) for r in range(40)}

    def writer(number: int) -> None:
        for round_ in range(40):
            wal.wait_durable(wal.append(payloads[number, round_]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    wal.close()
    assert len(segment_files(tmp_path)) > 20
    recovered = recover(tmp_path, segment_bytes=1024)[1]
    assert sorted(recovered) == sorted(payloads.values())


def test_waiting_for_a_record_never_appended_is_refused(tmp_path):
    wal, _, _ = open_wal(str(tmp_path), fsync="batch")
    seq = wal.append(b"one")
    with pytest.raises(InvalidArgument, match="seq=2"):
        wal.wait_durable(seq + 1)
    wal.wait_durable(seq)
    wal.close()


@pytest.mark.parametrize("policy", ["always", "never"])
def test_a_failed_write_fails_the_wal_and_changes_no_sequence(tmp_path, monkeypatch, policy):
    import kvstore.wal as wal_module

    wal, _, _ = open_wal(str(tmp_path), fsync=policy)
    wal.wait_durable(wal.append(b"kept"))

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(wal_module, "_write_all", disk_full)
    monkeypatch.setattr(wal_module, "_pwrite_all", lambda fd, data, offset: disk_full(fd, data))
    with pytest.raises(OSError):
        wal.wait_durable(wal.append(b"lost"))
    monkeypatch.undo()
    assert wal.last_seq == (2 if policy == "batch" else 1)  # only batch appended before writing
    with pytest.raises(KVError, match="reopen"):
        wal.append(b"later")
    wal.close()
    assert recover(tmp_path)[1] == [b"kept"]
