"""Raft snapshot files in msgpack (never pickle), and the journal alignment pysyncobj lacks.

A file is `u64 size | u32 crc32 | msgpack {format, last, previous, cluster, machine}`: the two log
entries pysyncobj keeps at the head of a compacted journal, the member addresses, and the state
machine's snapshot (with the remembered request ids). It is written to pysyncobj's temporary name and
fsynced; pysyncobj renames it, and the journal rewrite that follows fsyncs the directory.
"""
from __future__ import annotations

import os
import zlib
from typing import Any

import msgpack

from ..errors import CorruptedError
from .journal import DurableJournal, Entry

SNAPSHOT_NAME = "raft.snapshot"
SNAPSHOT_FORMAT = 1


def write_snapshot(path: str, last: Entry, previous: Entry, cluster: list[str], machine: Any) -> None:
    """Write and fsync one snapshot file at `path`."""
    body = msgpack.packb({"format": SNAPSHOT_FORMAT, "last": list(last), "previous": list(previous),
                          "cluster": sorted(cluster), "machine": machine}, use_bin_type=True)
    with open(path, "wb") as f:
        f.write(len(body).to_bytes(8, "little") + zlib.crc32(body).to_bytes(4, "little") + body)
        f.flush()
        os.fsync(f.fileno())


def read_snapshot(path: str) -> dict[str, Any]:
    """Decode a snapshot file; CorruptedError when its size, checksum or format is wrong."""
    with open(path, "rb") as f:
        data = f.read()
    size = int.from_bytes(data[:8], "little")
    body = data[12:12 + size]
    if len(data) < 12 or len(body) != size or zlib.crc32(body) != int.from_bytes(data[8:12], "little"):
        raise CorruptedError(f"snapshot body of {len(body)} bytes does not match its header "
                             f"(size {size}, checksum)", path, 12)
    snap = msgpack.unpackb(body, raw=False)
    if not isinstance(snap, dict) or snap.get("format") != SNAPSHOT_FORMAT:
        raise CorruptedError(f"snapshot format is not {SNAPSHOT_FORMAT}", path, 12)
    snap["last"] = _entry(snap["last"])
    snap["previous"] = _entry(snap["previous"])
    return snap


def _entry(fields: list) -> Entry:
    return (bytes(fields[0]), int(fields[1]), int(fields[2]))


def align_journal(journal: DurableJournal, previous: Entry, last: Entry) -> None:
    """Compact `journal` to start at the snapshot's two entries when it holds them further on.

    pysyncobj clears the whole journal when it does not start with those two entries (the crash
    window between writing a snapshot and compacting the journal), which would drop acknowledged
    entries after the snapshot.
    """
    for position in range(len(journal) - 1):
        if journal[position] == previous and journal[position + 1] == last:
            if position:
                journal.deleteEntriesTo(position)
            return
