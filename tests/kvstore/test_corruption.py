"""Damaged WAL directories: a torn tail is cut off, any other damage raises CorruptedError(file, offset).

The property under every mutation: reopening either raises CorruptedError or returns a prefix of the written
history -- never a history that skips a record which precedes intact ones.
"""
from __future__ import annotations

import os
import pathlib
import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kvstore import CorruptedError
from kvstore.framing import RECORD_HEADER, SEGMENT_HEADER
from kvstore.wal import open_wal

SEGMENT_BYTES = 1024
HEADER = SEGMENT_HEADER.size


def build(directory, count=60, seed=7):
    """A WAL of ``count`` random records over several small segments; returns the payloads."""
    rng = random.Random(seed)
    wal, _, _ = open_wal(str(directory), fsync="never", segment_bytes=SEGMENT_BYTES)
    history = [rng.randbytes(rng.randrange(0, 300)) for _ in range(count)]
    for payload in history:
        wal.append(payload)
    wal.close()
    return history


def layout(directory):
    """Segment paths in order, and for each the (start, end) byte ranges of its records."""
    paths = sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".wal"))
    frames = []
    for path in paths:
        data = pathlib.Path(path).read_bytes()
        offset, spans = HEADER, []
        while offset < len(data):
            _crc, length = RECORD_HEADER.unpack_from(data, offset)
            spans.append((offset, offset + 8 + length))
            offset += 8 + length
        frames.append(spans)
    return paths, frames


def reopen(directory):
    """Recover, then close: the list of record payloads, or the CorruptedError raised."""
    try:
        wal, _snapshot, records = open_wal(str(directory), segment_bytes=SEGMENT_BYTES)
    except CorruptedError as error:
        return error
    try:
        return list(records)
    except CorruptedError as error:
        return error
    finally:
        wal.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pristine")
    history = build(directory)
    return directory, history


def copy_of(pristine, tmp_path_factory):
    directory, history = pristine
    target = tmp_path_factory.mktemp("damaged")
    shutil.rmtree(target)
    shutil.copytree(directory, target)
    paths, frames = layout(target)
    return target, history, paths, frames


def flip(path, offset, mask):
    with open(path, "r+b") as damaged:
        damaged.seek(offset)
        byte = damaged.read(1)[0]
        damaged.seek(offset)
        damaged.write(bytes([byte ^ mask]))


def assert_prefix(result, history):
    if isinstance(result, CorruptedError):
        assert result.path is not None and os.path.basename(result.path) in str(result)
        return
    assert result == history[:len(result)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cutting_any_file_at_any_offset(pristine, tmp_path_factory, data):
    directory, history, paths, frames = copy_of(pristine, tmp_path_factory)
    index = data.draw(st.integers(0, len(paths) - 1), label="segment")
    size = os.path.getsize(paths[index])
    cut = data.draw(st.integers(0, size - 1), label="cut at")
    os.truncate(paths[index], cut)
    result = reopen(directory)
    assert_prefix(result, history)
    is_last = index == len(paths) - 1
    if not is_last or cut < HEADER:
        assert isinstance(result, CorruptedError)
        return
    # a cut in the last segment is a torn tail: exactly the records that end before the cut survive
    before = sum(len(spans) for spans in frames[:-1])
    kept = sum(1 for _start, end in frames[-1] if end <= cut)
    assert result == history[:before + kept]
    # the tail was cut off on disk: new records follow the surviving ones directly
    wal, _, records = open_wal(str(directory), segment_bytes=SEGMENT_BYTES)
    assert list(records) == history[:before + kept]
    assert wal.append(b"after the cut") == before + kept + 1
    wal.close()
    assert reopen(directory) == history[:before + kept] + [b"after the cut"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipping_any_byte(pristine, tmp_path_factory, data):
    directory, history, paths, frames = copy_of(pristine, tmp_path_factory)
    index = data.draw(st.integers(0, len(paths) - 1), label="segment")
    offset = data.draw(st.integers(0, os.path.getsize(paths[index]) - 1), label="offset")
    flip(paths[index], offset, data.draw(st.integers(1, 255), label="xor mask"))
    result = reopen(directory)
    assert_prefix(result, history)
    last_record = frames[-1][-1]
    if index == len(paths) - 1 and offset >= last_record[0]:
        assert result == history[:-1]  # the very last record is indistinguishable from a torn write
    else:
        assert isinstance(result, CorruptedError)
        if offset >= HEADER:
            damaged = next(start for start, end in frames[index] if start <= offset < end)
            assert (result.path, result.offset) == (paths[index], damaged)


def test_damage_in_the_middle_of_the_last_segment_names_file_and_offset(tmp_path):
    history = build(tmp_path)
    paths, frames = layout(tmp_path)
    start, _end = frames[-1][0]
    flip(paths[-1], start + 9, 0x40)
    if len(frames[-1]) > 1:
        result = reopen(tmp_path)
        assert isinstance(result, CorruptedError)
        assert (result.path, result.offset) == (paths[-1], start)
        assert f"{paths[-1]} at offset {start}" in str(result)
    assert len(history) == sum(map(len, frames))


def test_a_missing_segment_in_the_sequence_is_damage(tmp_path):
    build(tmp_path)
    paths, _frames = layout(tmp_path)
    os.remove(paths[2])
    result = reopen(tmp_path)
    assert isinstance(result, CorruptedError) and "missing" in str(result)
    os.remove(paths[0])
    os.remove(paths[1])
    result = reopen(tmp_path)  # the oldest remaining segment does not start at record 1
    assert isinstance(result, CorruptedError) and result.path == paths[3]


def test_a_renamed_segment_disagreeing_with_its_header_is_damage(tmp_path):
    build(tmp_path)
    paths, _frames = layout(tmp_path)
    name = os.path.basename(paths[-1])
    os.rename(paths[-1], os.path.join(tmp_path, name[:17] + "00000000000000ff.wal"))
    result = reopen(tmp_path)
    assert isinstance(result, CorruptedError)


def test_a_zero_filled_tail_is_a_torn_write(tmp_path):
    history = build(tmp_path)
    paths, _frames = layout(tmp_path)
    size = os.path.getsize(paths[-1])
    with open(paths[-1], "ab") as tail:
        tail.write(b"\x00" * 4096)  # a file extended by the crash, its data never written
    assert reopen(tmp_path) == history
    assert os.path.getsize(paths[-1]) == size


def test_a_garbage_tail_is_cut_but_a_valid_record_after_garbage_is_not(tmp_path):
    history = build(tmp_path)
    paths, frames = layout(tmp_path)
    last_start, last_end = frames[-1][-1]
    record = pathlib.Path(paths[-1]).read_bytes()[last_start:last_end]
    with open(paths[-1], "ab") as tail:
        tail.write(b"\xff\x13garbage")
    assert reopen(tmp_path) == history
    with open(paths[-1], "ab") as tail:
        tail.write(b"\xff\x13garbage" + record)  # garbage, then a complete valid frame
    result = reopen(tmp_path)
    assert isinstance(result, CorruptedError) and result.offset == last_end and "valid record" in str(result)


def test_leftover_temporary_files_are_removed(tmp_path):
    history = build(tmp_path)
    (tmp_path / "0000000000000099-0000000000000999.wal.tmp").write_bytes(b"half a header")
    (tmp_path / "0000000000000999.snap.tmp").write_bytes(b"half a snapshot")
    assert reopen(tmp_path) == history
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


@pytest.mark.parametrize("damage", ["flip", "cut"])
def test_a_damaged_snapshot_is_refused(tmp_path, damage):
    wal, _, _ = open_wal(str(tmp_path), segment_bytes=SEGMENT_BYTES)
    for n in range(20):
        wal.append(b"r%d" % n)
    wal.save_snapshot(b"the state" * 10, 15)
    wal.close()
    path = os.path.join(tmp_path, "000000000000000f.snap")
    if damage == "flip":
        flip(path, 40, 0x01)
    else:
        os.truncate(path, 40)
    with pytest.raises(CorruptedError) as raised:
        open_wal(str(tmp_path))
    assert raised.value.path == path


def test_snapshot_without_any_segment_is_damage(tmp_path):
    wal, _, _ = open_wal(str(tmp_path))
    wal.append(b"a")
    wal.save_snapshot(b"state", 1)
    wal.close()
    for name in os.listdir(tmp_path):
        if name.endswith(".wal"):
            os.remove(tmp_path / name)
    with pytest.raises(CorruptedError, match="no WAL segment"):
        open_wal(str(tmp_path))
