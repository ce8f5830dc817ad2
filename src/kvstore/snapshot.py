"""Atomic snapshot files: the whole state machine as one checksummed msgpack payload.

A snapshot is ``<last_seq as 16 hex digits>.snap``::

    magic "BKSNAP\\0\\1" | version u32 | last sequence u64 | payload length u64 | crc32 u32 | payload

The CRC-32 covers the header fields before it and the payload. Writing is atomic: the bytes go to a
``.snap.tmp`` file that is fsynced, renamed over its final name, and then the directory is fsynced, so a
crash leaves either no snapshot or a complete one (a leftover ``.tmp`` is deleted on open). As etcd's
snapshotter, a snapshot records which log entry it covers (``last_seq``): recovery replays only after it.
"""
from __future__ import annotations

import os
import struct
import zlib
from typing import Callable, NamedTuple

from .errors import CorruptedError

__all__ = ["SNAPSHOT_MAGIC", "SNAPSHOT_VERSION", "SNAPSHOT_SUFFIX", "Snapshot", "snapshot_name",
           "write_snapshot", "read_snapshot", "list_snapshots", "fsync_directory"]

SNAPSHOT_MAGIC = b"BKSNAP\x00\x01"
SNAPSHOT_VERSION = 1
SNAPSHOT_SUFFIX = ".snap"
_HEADER = struct.Struct("<8sIQQI")


class Snapshot(NamedTuple):
    """A loaded snapshot: the sequence number of the last WAL record it covers, and its payload."""

    last_seq: int
    payload: bytes


def fsync_directory(directory: str, fsync: Callable[[int], None] = os.fsync) -> None:
    """fsync a directory so that file creations, renames and removals in it survive a power loss."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def snapshot_name(last_seq: int) -> str:
    """The file name of the snapshot covering WAL records up to ``last_seq``."""
    return f"{last_seq:016x}{SNAPSHOT_SUFFIX}"


def list_snapshots(directory: str) -> list[tuple[int, str]]:
    """``(last_seq, path)`` of every snapshot file in ``directory``, oldest first."""
    found = []
    for name in os.listdir(directory):
        if name.endswith(SNAPSHOT_SUFFIX) and len(name) == 16 + len(SNAPSHOT_SUFFIX):
            try:
                found.append((int(name[:16], 16), os.path.join(directory, name)))
            except ValueError:
                continue
    return sorted(found)


def write_snapshot(directory: str, payload: bytes, last_seq: int,
                   fsync: Callable[[int], None] = os.fsync) -> str:
    """Write a snapshot atomically (temp file, fsync, rename, directory fsync); returns its path."""
    body = _HEADER.pack(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, last_seq, len(payload), 0)[:-4]
    crc = zlib.crc32(payload, zlib.crc32(body))
    path = os.path.join(directory, snapshot_name(last_seq))
    temporary = path + ".tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(body)
            out.write(struct.pack("<I", crc))
            out.write(payload)
        fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_directory(directory, fsync)
    return path


def read_snapshot(path: str) -> Snapshot:
    """Load and verify one snapshot file; damage raises :class:`CorruptedError` naming the file and offset."""
    with open(path, "rb") as source:
        data = source.read()
    if len(data) < _HEADER.size:
        raise CorruptedError(f"snapshot is {len(data)} bytes, shorter than its {_HEADER.size}-byte header",
                             path, 0)
    magic, version, last_seq, length, crc = _HEADER.unpack_from(data)
    if magic != SNAPSHOT_MAGIC:
        raise CorruptedError(f"snapshot magic is {magic!r}, expected {SNAPSHOT_MAGIC!r}", path, 0)
    if version != SNAPSHOT_VERSION:
        raise CorruptedError(f"snapshot format version is {version}, this build reads {SNAPSHOT_VERSION}",
                             path, 8)
    if len(data) != _HEADER.size + length:
        raise CorruptedError(f"snapshot payload length is {len(data) - _HEADER.size} bytes, "
                             f"the header says {length}", path, 20)
    view = memoryview(data)
    if zlib.crc32(view[_HEADER.size:], zlib.crc32(view[:_HEADER.size - 4])) != crc:
        raise CorruptedError("snapshot checksum does not match its contents", path, _HEADER.size)
    name_seq = int(os.path.basename(path)[:16], 16)
    if name_seq != last_seq:
        raise CorruptedError(f"snapshot header says last_seq={last_seq} but its name says {name_seq}", path, 12)
    return Snapshot(last_seq, data[_HEADER.size:])
