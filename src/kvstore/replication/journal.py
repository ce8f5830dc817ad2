"""The Raft journal pysyncobj writes through, made durable and checked.

pysyncobj 0.3.17's FileJournal is an mmap that is never fsynced, has no checksums, and renames its
`.meta` file without fsync. This journal keeps pysyncobj's interface (add / deleteEntriesFrom /
deleteEntriesTo / clear / term and vote) but stores:

- `raft.log`: a header, then records `u32 length | u32 crc32 | msgpack [index, term, command]`.
  Appends are buffered in memory and made durable by `sync()` (`write_durably`), which the member
  calls before any acknowledgement leaves the process (so an entry is never acknowledged, nor a vote
  granted, before it is on disk) and before a leader counts its own copy towards a commit. A leader
  runs a sync on another thread while it sends AppendEntries (`LeaderSync`): appends never wait
  for it, and a sync() waits for the one in flight. The file is preallocated in 16 MiB steps and
  zero-filled beyond the last record, as etcd's WAL is, so a sync rarely has to persist a new file
  size (about half the cost on ext4).
- `raft.meta`: msgpack {term, vote, commit} with a crc32, replaced atomically (write, fsync, rename,
  fsync the directory) every time the term or the vote changes.

On open, a torn tail (a damaged last record followed by nothing but zeroes, i.e. an append that
never finished and so was never acknowledged) is cut off; any other damage raises `CorruptedError`
naming the file and the offset, never a silently shorter history.
"""
from __future__ import annotations

import errno
import os
import struct
import threading
import zlib
from typing import Any, Optional

import msgpack

from ..errors import CorruptedError

LOG_NAME = "raft.log"
META_NAME = "raft.meta"
MAGIC = b"BKRAFT1\n"
_RECORD_HEAD = struct.Struct("<II")
PREALLOCATE_BYTES = 16 << 20

Entry = tuple[bytes, int, int]  # pysyncobj's (command, index, term)


def fsync_directory(directory: str) -> None:
    """Make renames and file creations inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomically(path: str, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new content."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_directory(os.path.dirname(os.path.abspath(path)))


def write_durably(fd: int, data: bytes, offset: int) -> None:
    """Write `data` at `offset` and make it durable (data and the metadata to find it: fdatasync).

    Linux's per-write RWF_DSYNC does both in one system call, so a thread releases the GIL once
    for the whole sync (a leader's sync runs beside the thread that encodes its AppendEntries).
    """
    view = memoryview(data)
    while view and _RWF_DSYNC[0]:
        try:
            count = os.pwritev(fd, [view], offset, _RWF_DSYNC[0])
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            _RWF_DSYNC[0] = 0  # an older kernel or another file system: write, then fdatasync
            break
        view, offset = view[count:], offset + count
    if not view:
        return
    while view:
        count = os.pwrite(fd, view, offset)
        view, offset = view[count:], offset + count
    os.fdatasync(fd)  # the size only changes at a preallocation, which fdatasync covers too


_RWF_DSYNC = [getattr(os, "RWF_DSYNC", 0)]


def encode_record(entry: Entry) -> bytes:
    """Frame one journal entry: length, crc32 of the body, msgpack body."""
    command, index, term = entry
    body = msgpack.packb([index, term, command], use_bin_type=True)
    return _RECORD_HEAD.pack(len(body), zlib.crc32(body)) + body


def decode_records(data: bytes, path: str) -> tuple[list[Entry], list[int], int]:
    """Parse a whole journal file: (entries, their offsets, end of the last good record).

    A damaged last record, or a tail of zero bytes, is a torn append and ends the log; damage
    followed by more data raises CorruptedError.
    """
    if not data.startswith(MAGIC):
        raise CorruptedError(f"journal header is {data[:len(MAGIC)]!r}, expected {MAGIC!r}", path, 0)
    entries: list[Entry] = []
    offsets: list[int] = []
    pos = len(MAGIC)
    end = len(data)
    while pos < end:
        if end - pos < _RECORD_HEAD.size:
            return _torn(entries, offsets, pos, data, path)
        length, crc = _RECORD_HEAD.unpack_from(data, pos)
        body_start = pos + _RECORD_HEAD.size
        body = data[body_start:body_start + length]
        if length == 0 or len(body) < length or zlib.crc32(body) != crc:
            return _torn(entries, offsets, pos, data, path, body_start + length)
        index, term, command = msgpack.unpackb(body, raw=False)
        if entries and index != entries[-1][1] + 1:
            raise CorruptedError(f"journal entry index {index} does not follow {entries[-1][1]}", path, pos)
        entries.append((bytes(command), int(index), int(term)))
        offsets.append(pos)
        pos = body_start + length
    return entries, offsets, pos


def _torn(entries: list[Entry], offsets: list[int], pos: int, data: bytes, path: str,
          record_end: Optional[int] = None) -> tuple[list[Entry], list[int], int]:
    # Torn: the damaged record runs past the end, or only zeroes (preallocation) follow it.
    end = len(data) if record_end is None else max(record_end, pos + _RECORD_HEAD.size)
    if end >= len(data) or not data[end:].strip(b"\0"):
        return entries, offsets, pos
    raise CorruptedError(
        f"damaged journal record followed by {len(data) - pos} more bytes (checksum mismatch inside "
        "the journal, not a torn tail)", path, pos)


class DurableJournal:
    """pysyncobj's Journal interface over a checksummed, fsynced append-only file."""

    def __init__(self, directory: str, preallocate: int = PREALLOCATE_BYTES) -> None:
        os.makedirs(directory, exist_ok=True)
        self._preallocate_step = preallocate
        self.directory = directory
        self.path = os.path.join(directory, LOG_NAME)
        self.meta_path = os.path.join(directory, META_NAME)
        # Appends come from pysyncobj's tick thread; a leader's sync() may run on another thread
        # (LeaderSync) meanwhile. _lock serialises writes to the file (held through fdatasync);
        # _buffer_lock only guards the hand-over of buffered records, so appends never wait for a disk.
        self._lock = threading.Lock()
        self._buffer_lock = threading.Lock()
        self._meta = self._read_meta()
        self._meta_saved = dict(self._meta)
        self._entries, self._offsets, self._fd, self._written = self._open_log()
        self._allocated = os.fstat(self._fd).st_size
        self._pending = bytearray()  # records after _written, not yet handed to the file
        self._end = self._written  # where the next record goes: _written + in flight + pending

    # -- pysyncobj's Journal interface -------------------------------------------------------------

    def add(self, command: bytes, idx: int, term: int) -> None:
        """Append one entry; durable after the next sync()."""
        if self._entries and idx != self._entries[-1][1] + 1:
            raise ValueError(f"journal index {idx} does not follow {self._entries[-1][1]}")
        entry = (bytes(command), idx, term)
        record = encode_record(entry)
        with self._buffer_lock:
            self._offsets.append(self._end)
            self._pending += record
            self._end += len(record)
        self._entries.append(entry)

    def clear(self) -> None:
        """Drop every entry (pysyncobj calls this before installing a snapshot)."""
        self._rewrite([])

    def deleteEntriesFrom(self, entryFrom: int) -> None:  # noqa: N802 - pysyncobj's name
        """Drop the entries at list positions >= entryFrom (a conflicting suffix)."""
        if entryFrom >= len(self._entries):
            return
        cut = self._offsets[entryFrom]
        del self._entries[entryFrom:]
        del self._offsets[entryFrom:]
        with self._lock, self._buffer_lock:  # no sync in flight: _pending starts at _written
            if cut >= self._written:
                del self._pending[cut - self._written:]
            else:
                self._pending.clear()
                os.ftruncate(self._fd, cut)  # the conflicting records must not come back
                os.fsync(self._fd)
                self._written = self._allocated = cut
            self._end = cut

    def deleteEntriesTo(self, entryTo: int) -> None:  # noqa: N802 - pysyncobj's name
        """Drop the entries at list positions < entryTo (covered by a snapshot)."""
        self._rewrite(self._entries[entryTo:])

    @property
    def size(self) -> int:
        """Bytes of records, written or buffered."""
        return self._end

    def __getitem__(self, item: Any) -> Any:
        return self._entries[item]

    def __len__(self) -> int:
        return len(self._entries)

    def _destroy(self) -> None:
        with self._lock:
            if self._fd >= 0:
                self._sync_locked()
                os.close(self._fd)
                self._fd = -1

    def flush(self) -> None:
        """Same as sync(): pysyncobj calls flush() when it wants data on disk."""
        self.sync()

    def setRaftCommitIndex(self, raftCommitIndex: int) -> None:  # noqa: N802
        """Remember the commit index; saved lazily, a stale value is only relearned from the leader."""
        self._meta["commit"] = raftCommitIndex

    def getRaftCommitIndex(self) -> int:  # noqa: N802
        """The commit index saved last (1 for a new journal, as pysyncobj expects)."""
        return int(self._meta.get("commit", 1))

    def setCurrentTerm(self, term: int, votedForNodeId: Optional[str]) -> None:  # noqa: N802
        """Persist term and vote before any message reflecting them is sent (Raft §5.1)."""
        self._meta["term"] = term
        self._meta["vote"] = votedForNodeId
        self._save_meta()

    def getCurrentTerm(self) -> int:  # noqa: N802
        """The persisted current term."""
        return int(self._meta.get("term", 0))

    def getVotedForNodeId(self) -> Optional[str]:  # noqa: N802
        """The persisted vote of the current term."""
        return self._meta.get("vote")

    def onOneSecondTimer(self) -> None:  # noqa: N802
        """pysyncobj's periodic hook: flush the log and save the commit index."""
        self.sync()
        self._save_meta()

    # -- durability ------------------------------------------------------------------------------

    @property
    def durable(self) -> bool:
        """Whether every record added so far is on disk."""
        return self._written == self._end

    def sync(self) -> None:
        """Return once every record added before the call is on disk (waiting for a sync already in
        flight on another thread, then writing and fsyncing the rest); no-op when all is durable."""
        if self._written == self._end:
            return
        with self._lock:
            self._sync_locked()

    def _sync_locked(self) -> None:
        if self._fd < 0:
            return
        with self._buffer_lock:
            data = bytes(self._pending)
            self._pending.clear()
        if not data:
            return
        end = self._written + len(data)
        if end > self._allocated:
            self._preallocate(end + self._preallocate_step)
        try:
            write_durably(self._fd, data, self._written)
        except BaseException:
            with self._buffer_lock:  # not durable: the next sync() writes it again, in order
                self._pending[0:0] = data
            raise
        self._written = end

    def _preallocate(self, size: int) -> None:
        try:
            os.posix_fallocate(self._fd, 0, size)
        except OSError:  # a file system without fallocate: pwrite extends the file instead
            return
        self._allocated = size

    def _rewrite(self, entries: list[Entry]) -> None:
        with self._lock:
            body = bytearray(MAGIC)
            offsets = []
            for entry in entries:
                offsets.append(len(body))
                body += encode_record(entry)
            write_file_atomically(self.path, bytes(body))
            if self._fd >= 0:
                os.close(self._fd)
            self._fd = os.open(self.path, os.O_WRONLY)
            self._entries = list(entries)
            self._offsets = offsets
            with self._buffer_lock:
                self._written = self._allocated = self._end = len(body)
                self._pending.clear()

    def _open_log(self) -> tuple[list[Entry], list[int], int, int]:
        if not os.path.exists(self.path):
            write_file_atomically(self.path, MAGIC)
        with open(self.path, "rb") as f:
            data = f.read()
        entries, offsets, good_end = decode_records(data, self.path)
        fd = os.open(self.path, os.O_WRONLY)
        if data[good_end:].strip(b"\0"):
            os.ftruncate(fd, good_end)  # a torn, never-acknowledged append
            os.fsync(fd)
        return entries, offsets, fd, good_end

    # -- meta ------------------------------------------------------------------------------------

    def _read_meta(self) -> dict[str, Any]:
        if not os.path.exists(self.meta_path):
            return {}
        with open(self.meta_path, "rb") as f:
            data = f.read()
        if len(data) < 4:
            raise CorruptedError(f"term/vote record is {len(data)} bytes, too short for a checksum",
                                 self.meta_path, 0)
        crc, body = struct.unpack_from("<I", data)[0], data[4:]
        if zlib.crc32(body) != crc:
            raise CorruptedError("checksum mismatch in the term/vote record", self.meta_path, 4)
        meta = msgpack.unpackb(body, raw=False)
        if not isinstance(meta, dict):
            raise CorruptedError(f"term/vote record is a {type(meta).__name__}, expected a map",
                                 self.meta_path, 4)
        return meta

    def _save_meta(self) -> None:
        if self._meta == self._meta_saved:
            return
        body = msgpack.packb(self._meta, use_bin_type=True)
        write_file_atomically(self.meta_path, struct.pack("<I", zlib.crc32(body)) + body)
        self._meta_saved = dict(self._meta)
