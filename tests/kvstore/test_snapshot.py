"""Snapshot files: atomic writes, verification on read, and crashes at every fsync of a snapshot."""
from __future__ import annotations

import os
import pathlib
import random
import shutil
import struct

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kvstore import CorruptedError
from kvstore.snapshot import list_snapshots, read_snapshot, snapshot_name, write_snapshot
from kvstore.wal import open_wal


def test_write_then_read_round_trips_and_leaves_no_temporary(tmp_path):
    calls = []
    path = write_snapshot(str(tmp_path), b"payload" * 100, 42, fsync=lambda fd: calls.append(fd))
    assert os.path.basename(path) == snapshot_name(42) == "000000000000002a.snap"
    assert os.listdir(tmp_path) == ["000000000000002a.snap"]
    assert len(calls) == 2  # the file, then the directory after the rename
    assert read_snapshot(path) == (42, b"payload" * 100)
    assert list_snapshots(str(tmp_path)) == [(42, path)]


def damage(path, offset, data):
    with open(path, "r+b") as target:
        target.seek(offset)
        target.write(data)


@pytest.mark.parametrize("what,offset,data,message", [
    ("magic", 0, b"XXXX", "magic"),
    ("version", 8, struct.pack("<I", 9), "version is 9"),
    ("length", 20, struct.pack("<Q", 5), "header says 5"),
    ("last_seq", 12, struct.pack("<Q", 43), "checksum"),
    ("payload", 40, b"!", "checksum"),
])
def test_damage_is_refused_with_file_and_offset(tmp_path, what, offset, data, message):
    path = write_snapshot(str(tmp_path), b"payload" * 100, 42)
    damage(path, offset, data)
    with pytest.raises(CorruptedError, match=message) as raised:
        read_snapshot(path)
    assert raised.value.path == path and raised.value.offset is not None


def test_a_snapshot_renamed_to_another_sequence_is_refused(tmp_path):
    path = write_snapshot(str(tmp_path), b"x", 42)
    renamed = os.path.join(tmp_path, snapshot_name(7))
    os.rename(path, renamed)
    with pytest.raises(CorruptedError, match="last_seq=42"):
        read_snapshot(renamed)


def test_a_truncated_snapshot_is_refused(tmp_path):
    path = write_snapshot(str(tmp_path), b"x" * 50, 1)
    for size in (0, 10, 40):
        os.truncate(path, size)
        with pytest.raises(CorruptedError):
            read_snapshot(path)


class CrashAt:
    """An fsync that works until its n-th call, which raises: the operation stops there, as in a crash."""

    def __init__(self, n: int) -> None:
        self.remaining = n
        self.crashed = False

    def __call__(self, fd: int) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self.crashed = True
            raise OSError(5, "simulated crash at this fsync")
        os.fsync(fd)


def test_a_crash_at_any_fsync_of_a_snapshot_recovers_the_whole_history(tmp_path):
    """Save a snapshot with the k-th fsync failing, for every k: the directory always recovers everything."""
    history = [b"record %d" % n * 5 for n in range(1, 41)]
    k = 0
    while True:
        k += 1
        assert k < 50, "save_snapshot never completed"
        directory = tmp_path / f"crash-{k}"
        wal, _, _ = open_wal(str(directory), fsync="batch", segment_bytes=1024)
        for payload in history[:30]:
            wal.wait_durable(wal.append(payload))
        for payload in history[30:]:
            wal.append(payload)  # not yet durable: save_snapshot must sync them first
        crash = CrashAt(k)
        wal._fsync_function = crash
        try:
            wal.save_snapshot(msgpack.packb(40), 40)
        except OSError:
            pass
        try:
            wal.close()
        except OSError:
            pass
        wal, snapshot, records = open_wal(str(directory), segment_bytes=1024)
        covered = 0 if snapshot is None else msgpack.unpackb(snapshot)
        replayed = list(records)
        wal.close()
        assert covered in (0, 40)
        assert history[:covered] + replayed == history, k
        if not crash.crashed:
            assert covered == 40 and replayed == []
            break
    assert k > 5  # sync, snapshot file, directory, segment close, new segment, directory, removal


def build_with_snapshot(directory):
    rng = random.Random(11)
    history = [rng.randbytes(rng.randrange(0, 200)) for _ in range(60)]
    wal, _, _ = open_wal(str(directory), fsync="never", segment_bytes=1024)
    for number, payload in enumerate(history, start=1):
        wal.append(payload)
        if number == 25:
            wal.save_snapshot(msgpack.packb(25) + b"state" * 20, 25)
    wal.close()
    return history


@pytest.fixture(scope="module")
def with_snapshot(tmp_path_factory):
    directory = tmp_path_factory.mktemp("with-snapshot")
    return directory, build_with_snapshot(directory)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damage_anywhere_with_a_snapshot_never_skips_records(with_snapshot, tmp_path_factory, data):
    source, history = with_snapshot
    directory = tmp_path_factory.mktemp("damaged")
    shutil.rmtree(directory)
    shutil.copytree(source, directory)
    names = sorted(os.listdir(directory))
    path = os.path.join(directory, data.draw(st.sampled_from(names), label="file"))
    size = os.path.getsize(path)
    offset = data.draw(st.integers(0, size - 1), label="offset")
    if data.draw(st.booleans(), label="cut instead of flip"):
        os.truncate(path, offset)
    else:
        damage(path, offset, bytes([pathlib.Path(path).read_bytes()[offset] ^ data.draw(st.integers(1, 255))]))
    try:
        wal, snapshot, records = open_wal(str(directory), segment_bytes=1024)
    except CorruptedError:
        return
    try:
        replayed = list(records)
    except CorruptedError:
        return
    finally:
        wal.close()
    covered = msgpack.Unpacker()
    covered.feed(snapshot)
    last_seq = next(covered)
    assert last_seq == 25
    assert history[:last_seq] + replayed == history[:last_seq + len(replayed)]
    if path.endswith(".snap"):
        pytest.fail("a damaged snapshot was accepted")
