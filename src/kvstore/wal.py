"""The write-ahead log: numbered segment files of checksummed records, fsync policies, group commit, recovery.

Layout of a WAL directory (see docs/kvstore-wal.md for the byte formats and the recovery rules)::

    0000000000000000-0000000000000001.wal   segment 0, first record has sequence 1
    0000000000000001-00000000000186a1.wal   segment 1, created when segment 0 reached segment_bytes
    00000000000186a0.snap                   snapshot covering records 1..0x186a0

The store calls :meth:`WAL.append` under its apply lock (so sequence numbers follow revisions) and
:meth:`WAL.wait_durable` after releasing it, so that concurrent writers can share one fsync.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import threading
import time
import zlib
from typing import Any, Callable, Iterator

from .errors import CorruptedError, InvalidArgument, KVError, StoreClosed
from .framing import (MAX_RECORD_BYTES, SEGMENT_HEADER, SegmentHeader, decode_segment_header,
                      encode_segment_header, find_valid_record, scan_records)
from .snapshot import fsync_directory, list_snapshots, read_snapshot, write_snapshot

__all__ = ["WAL", "open_wal", "OPEN_OPTIONS", "FSYNC_POLICIES", "DEFAULT_SEGMENT_BYTES", "segment_name"]

FSYNC_POLICIES = ("always", "batch", "never")
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024  # etcd's SegmentSizeBytes
OPEN_OPTIONS = ("segment_bytes", "fsync_function")  # open_wal's keyword options, passed on by kvstore.open
_SEGMENT_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")
_READ_CHUNK = 8 * 1024 * 1024
_PREALLOCATE_BYTES = 16 * 1024 * 1024  # segment space allocated at a time (the Raft journal's step too)
_GATHER_MIN, _GATHER_MAX = 0.0002, 0.002  # bounds of the wait for returning writers (seconds)
_LATE_SECONDS = 0.05  # how long a writer that did not come back in time is not waited for
_monotonic = time.monotonic
_get_ident = threading.get_ident
_new_waiter = threading.Lock
_pack_length = struct.Struct("<I").pack
_pack_header = struct.Struct("<II").pack
_crc32 = zlib.crc32


def segment_name(number: int, first_seq: int) -> str:
    """The file name of segment ``number`` whose first record has sequence ``first_seq`` (etcd's scheme)."""
    return f"{number:016x}-{first_seq:016x}.wal"


class _Segment:
    __slots__ = ("number", "first_seq", "path", "size")

    def __init__(self, number: int, first_seq: int, path: str, size: int) -> None:
        self.number = number
        self.first_seq = first_seq
        self.path = path
        self.size = size


class WAL:
    """An open write-ahead log. Build it with :func:`open_wal`, which also recovers what was written before.

    Thread-safe. ``append`` frames a record into the current segment and returns its sequence number;
    ``wait_durable(seq)`` returns once that record is as durable as the fsync policy promises.
    """

    def __init__(self, directory: str, policy: str, segment_bytes: int, fsync: Callable[[int], None],
                 segments: list[_Segment], last_seq: int, snapshot_seq: int, snapshot_bytes: int,
                 directory_lock: int) -> None:
        self.directory = directory
        self._directory_lock = directory_lock
        self.policy = policy
        self.segment_bytes = segment_bytes
        self._fsync_function = fsync
        self._segments = segments  # oldest first; the last one is open for appends
        self._lock = threading.Lock()
        self._synced = threading.Condition(self._lock)
        self._pending = bytearray()  # framed records not yet handed to the OS ("batch" only)
        self._buffered = policy == "batch"  # "always" and "never" hand each record to the OS in append
        self._never = policy == "never"
        self._last_seq = last_seq
        self._written_seq = last_seq
        self._synced_seq = last_seq
        self._syncing = False  # a group-commit leader is writing/fsyncing outside the lock
        self._flight_seq = last_seq  # the last record the leader's fsync in flight covers
        # Followers blocked in wait_durable, each on its own acquired lock that a release wakes: those whose
        # record the fsync in flight covers, and those who need the next one. Completing an fsync wakes
        # exactly the followers it covers (a Condition's notify_all would wake every follower, and each would
        # then queue for the WAL's lock before most of them found they must wait again).
        self._flight_waiters: list[tuple[Any, int]] = []  # (lock, thread ident) of each waiter
        self._next_waiters: list[tuple[Any, int]] = []
        self._wake_chain: list[tuple[Any, int]] = []  # followers the last fsync covered, not yet woken
        # Threads (by ident) the last fsync woke, its leader included, not yet back with a record; those of
        # them the next fsync waits for (all but the ones late recently); when the late ones count again.
        self._woken: set[int] = set()
        self._returning: set[int] = set()
        self._late: dict[int, float] = {}
        self._gather_until = 0.0  # until when the next fsync may wait for them
        self._gather_timer: Any = None  # the next waiter that holds that deadline (while in _next_waiters)
        self._snapshot_thread: threading.Thread | None = None  # the snapshot being written, if any
        self._failure: BaseException | None = None
        self._closed = False
        self._snapshot_seq = snapshot_seq
        self._snapshot_bytes = snapshot_bytes
        self._records_since_snapshot = max(0, last_seq - snapshot_seq)
        self._bytes_since_snapshot = _replayed_bytes(segments, snapshot_seq)
        self.fsync_count = 0  #: fsync calls on segment files so far (tests and benches read it)
        # off for "never" (no sync to spare) and once the file system refuses posix_fallocate
        self._preallocate = policy != "never"
        self._fd = self._file_end = self._allocated = 0
        self._open_current(segments[-1])

    # -- what the store needs to decide when to snapshot -------------------------------------------------
    @property
    def last_seq(self) -> int:
        """Sequence number of the last appended record (0 when none was ever written)."""
        return self._last_seq

    @property
    def snapshot_seq(self) -> int:
        """Sequence number of the last record covered by the newest snapshot (0 when there is none)."""
        return self._snapshot_seq

    @property
    def records_since_snapshot(self) -> int:
        """Records appended after the newest snapshot: what recovery would replay now."""
        return self._records_since_snapshot

    @property
    def bytes_since_snapshot(self) -> int:
        """Framed record bytes of the segments recovery would read now (those holding a record after the
        newest snapshot): with :attr:`records_since_snapshot`, what a store weighs to decide on a snapshot."""
        return self._bytes_since_snapshot

    @property
    def size(self) -> int:
        """Bytes on disk: every segment plus the newest snapshot (etcd's ``dbSize`` role)."""
        with self._lock:
            return sum(s.size for s in self._segments) + self._snapshot_bytes

    # -- writing ------------------------------------------------------------------------------------------
    def append(self, payload: bytes) -> int:
        """Frame ``payload`` as the next record and return its sequence number (1, 2, 3, ...).

        Under ``"always"`` and ``"never"`` the frame is handed to the OS at once (one ``write(2)``); under
        ``"batch"`` it is buffered until the group-commit leader writes every buffered frame with one
        ``write(2)``. Under ``"always"`` and ``"batch"`` nothing is durable before :meth:`wait_durable`.
        """
        length = len(payload)
        if length > MAX_RECORD_BYTES:
            raise InvalidArgument(f"WAL record payload is {length} bytes, over the limit "
                                  f"MAX_RECORD_BYTES={MAX_RECORD_BYTES}")
        header = _pack_header(_crc32(payload, _crc32(_pack_length(length))), length)
        with self._lock:
            if self._closed or self._failure is not None:
                self._check_usable()
            segment = self._segments[-1]
            while segment.size >= self.segment_bytes and self._last_seq >= segment.first_seq:
                self._roll_locked(segment)  # may wait for a leader's fsync, letting another append roll first
                segment = self._segments[-1]
            seq = self._last_seq + 1
            if self._buffered:
                pending = self._pending
                pending += header
                pending += payload
            else:
                framed_bytes = header + payload
                try:
                    _pwrite_all(self._fd, framed_bytes, self._reserve_locked(len(framed_bytes)))
                except BaseException as error:
                    self._fail_locked(error)  # part of the frame may be in the file: nothing may follow it
                    raise
                self._written_seq = seq
            self._last_seq = seq
            if self._woken:
                ident = _get_ident()
                if ident in self._woken:  # back with its next record while the next fsync gathers
                    self._woken.discard(ident)
                    self._returning.discard(ident)
                    self._late.pop(ident, None)
            framed = length + 8
            segment.size += framed
            self._records_since_snapshot += 1
            self._bytes_since_snapshot += framed
            return seq

    def wait_durable(self, seq: int) -> None:
        """Return once record ``seq`` is as durable as the policy promises.

        ``"always"`` and ``"batch"``: after an fsync that covers the record. Concurrent callers share fsyncs
        (group commit): one caller becomes the leader, writes every buffered record and fsyncs once while
        the others wait; a later fsync covers every earlier record. ``"never"``: at once (``append`` handed
        the record's bytes to the OS: they survive a crash of this process, not of the machine).
        """
        if seq > self._last_seq:
            raise InvalidArgument(f"wait_durable seq={seq} was never appended (last_seq={self._last_seq})")
        if self._never or self._synced_seq >= seq:
            return
        lock = self._lock
        lock.acquire()
        held = True
        try:
            while self._synced_seq < seq:
                self._check_usable()
                if self._syncing:
                    waiter = _new_waiter()
                    waiter.acquire()
                    entry = (waiter, _get_ident())
                    (self._flight_waiters if seq <= self._flight_seq else self._next_waiters).append(entry)
                    timeout = -1.0
                elif self._returning and (timeout := self._gather_until - _monotonic()) > 0:
                    # Writers the last fsync woke are coming back with their next records: wait for them
                    # (or until the deadline) so that one fsync covers them too. One waiter holds the
                    # deadline; the others sleep until an fsync covers them or the lead is handed on.
                    waiter = _new_waiter()
                    waiter.acquire()
                    entry = (waiter, _get_ident())
                    if self._gather_timer in self._next_waiters:
                        timeout = -1.0
                    else:
                        self._gather_timer = entry
                    self._next_waiters.append(entry)
                else:
                    self._lead_one_fsync_locked()
                    continue
                lock.release()
                held = False
                woken = waiter.acquire(True, timeout)  # released by the fsync covering seq, to lead, on failure
                if self._wake_chain:
                    _wake_one(self._wake_chain)  # pass the wake-up on to the next follower the fsync covered
                if woken and self._synced_seq >= seq:
                    return  # the common case: covered, and the WAL's lock is not taken again
                lock.acquire()
                held = True
                if not woken:
                    self._forget_waiter_locked(entry)
        finally:
            if held:
                next_waiters = self._next_waiters
                if next_waiters and not self._syncing and self._gather_timer not in next_waiters:
                    next_waiters.pop()[0].release()  # hand the lead (or the gathering's deadline) to a follower
                lock.release()

    def _lead_one_fsync_locked(self) -> None:
        """As group-commit leader: write every buffered record and fsync once, with the lock released."""
        lock = self._lock
        self._syncing = True
        self._returning = set()  # (those not back yet still count as back in time until this fsync ends)
        data, self._pending = self._pending, bytearray()
        target, fd = self._last_seq, self._fd
        self._flight_seq = target
        self._flight_waiters, self._next_waiters = self._next_waiters, []  # they wait for this fsync now
        try:
            offset = self._reserve_locked(len(data)) if data else 0
        except BaseException as error:
            self._fail_locked(error)
            raise
        lock.release()
        try:
            started = _monotonic()
            if data:
                _pwrite_all(fd, data, offset)
            self._fsync(fd)
            finished = _monotonic()
        except BaseException as error:
            lock.acquire()
            self._fail_locked(error)
            raise
        lock.acquire()
        self._written_seq = max(self._written_seq, target)
        self._synced_seq = max(self._synced_seq, target)
        self._syncing = False
        covered, self._flight_waiters = self._flight_waiters, []
        # The writers about to be woken, and this leader's caller, are expected back with their next records,
        # except those that were late recently (a writer that pauses between its writes).
        late = self._late
        if self._woken:  # not back before the gathering's deadline nor during this fsync: a writer that pauses
            late_until = finished + _LATE_SECONDS
            for ident in self._woken:
                late[ident] = late_until
        self._woken = woken = {ident for _waiter, ident in covered}
        woken.add(_get_ident())
        if late:
            self._returning = {ident for ident in woken if late.get(ident, 0.0) < finished}
            if len(late) > 1024:  # threads come and go: forget the ones whose time is up
                self._late = {ident: until for ident, until in late.items() if until > finished}
        else:
            self._returning = set(woken)
        # Wake the covered followers one after another, not all at once: each woken follower wakes the next
        # (see wait_durable), so that the leader does not hold the GIL through a futex wake per follower
        # and at most two of them compete for the GIL at a time.
        leftover, self._wake_chain = self._wake_chain, covered
        _wake_all(leftover)  # a chain an earlier fsync started and that has not run out yet
        if covered:
            _wake_one(covered)
        self._gather_until = finished + min(max(finished - started, _GATHER_MIN), _GATHER_MAX)
        self._synced.notify_all()

    def sync(self) -> None:
        """Make every appended record durable now (write and fsync), whatever the policy."""
        with self._lock:
            self._check_usable()
            self._sync_all_locked()

    # -- snapshots ----------------------------------------------------------------------------------------
    def save_snapshot(self, payload: bytes, last_seq: int, *, background: bool = False) -> None:
        """Write a snapshot covering records up to ``last_seq`` atomically, then drop covered segments.

        Every record up to ``last_seq`` is fsynced first, so the log never ends before its snapshot. The
        current segment is closed and a new one begun, so that every older segment is covered and removed.

        ``background=True`` returns once the records are fsynced and the new segment begun; a thread
        writes and fsyncs the snapshot file (the slow part: the whole state) and then drops the covered
        segments, while appends go on into the new segment. A crash meanwhile loses nothing: the old
        segments stay until the snapshot is durable. If that thread fails, the WAL fails as on a failed
        fsync (etcd stops on a failed snapshot too). One snapshot at a time: a second call waits.
        """
        with self._lock:
            self._check_usable()
            while self._snapshot_thread is not None:
                self._synced.wait()
                self._check_usable()
            if not self._snapshot_seq <= last_seq <= self._last_seq:
                raise InvalidArgument(f"snapshot last_seq={last_seq} must be between the previous snapshot's "
                                      f"{self._snapshot_seq} and the last appended record {self._last_seq}")
            self._sync_all_locked()
            if self._last_seq >= self._segments[-1].first_seq:
                self._roll_locked(self._segments[-1])
            if background:
                thread = threading.Thread(target=self._write_snapshot, args=(payload, last_seq, True),
                                          name="kvstore-snapshot", daemon=True)
                self._snapshot_thread = thread
                thread.start()
                return
            self._snapshot_thread = threading.current_thread()
        self._write_snapshot(payload, last_seq, False)

    @property
    def snapshot_in_flight(self) -> bool:
        """True while a snapshot is being written (see ``save_snapshot(background=True)``)."""
        return self._snapshot_thread is not None

    def _write_snapshot(self, payload: bytes, last_seq: int, background: bool) -> None:
        try:
            path = write_snapshot(self.directory, payload, last_seq, self._fsync_function)
            with self._lock:
                if self._closed:
                    return  # close() waited for this thread only after a failure: leave the files as they are
                removed = False
                while len(self._segments) > 1 and self._segments[1].first_seq <= last_seq + 1:
                    os.remove(self._segments.pop(0).path)
                    removed = True
                for _seq, older in list_snapshots(self.directory):
                    if older != path:
                        os.remove(older)
                        removed = True
                if removed:
                    fsync_directory(self.directory, self._fsync_function)
                self._snapshot_seq = last_seq
                self._snapshot_bytes = os.path.getsize(path)
                self._records_since_snapshot = self._last_seq - last_seq
                self._bytes_since_snapshot = _replayed_bytes(self._segments, last_seq)
        except BaseException as error:
            if not background:
                raise
            with self._lock:
                if not self._closed:
                    self._fail_locked(error)
        finally:
            with self._lock:
                self._snapshot_thread = None
                self._synced.notify_all()

    def close(self) -> None:
        """Wait for a snapshot being written, write and fsync everything appended, then close the segment
        file. Idempotent."""
        with self._lock:
            while self._snapshot_thread is not None and self._snapshot_thread is not threading.current_thread():
                self._synced.wait()
            if self._closed:
                return
            try:
                if self._failure is None:
                    self._sync_all_locked()
                    self._trim_locked()
            finally:
                self._closed = True
                os.close(self._fd)
                os.close(self._directory_lock)  # releases the flock for the next opener
                self._wake_all_locked()

    def __enter__(self) -> WAL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals (called with self._lock held) ------------------------------------------------------------
    def _check_usable(self) -> None:
        if self._closed:
            raise StoreClosed()
        if self._failure is not None:
            raise KVError(f"the WAL in {self.directory} failed to write or fsync ({self._failure!r}); "
                          "its on-disk state is unknown, reopen it to recover") from self._failure

    def _fail_locked(self, error: BaseException) -> None:
        # after a failed fsync the kernel may have dropped dirty pages: nothing later may be acknowledged
        self._failure = error
        self._syncing = False
        self._wake_all_locked()

    def _fsync(self, fd: int) -> None:
        self._fsync_function(fd)
        self.fsync_count += 1

    def _open_current(self, segment: _Segment) -> None:
        """Make ``segment`` the one appended to: written at its logical end, preallocated beyond it."""
        fd = os.open(segment.path, os.O_WRONLY)
        self._fd = fd
        self._file_end = segment.size
        self._allocated = os.fstat(fd).st_size

    def _reserve_locked(self, length: int) -> int:
        """The file offset for the next ``length`` bytes of the current segment (allocated ahead)."""
        offset = self._file_end
        end = offset + length
        if end > self._allocated and self._preallocate:
            # Preallocated space (as etcd's WAL and the Raft journal): an fdatasync after writing inside
            # the file's size need not persist a new size each time. fallocate, not zeros written ahead:
            # a 300-byte write into freshly zero-filled page cache costs about 4x an append in CPU (5 vs
            # 1.3 us here), for no fsync rate gained on this ext4. Recovery cuts the zeros after the last
            # record (a torn tail); a closed or full segment is cut to its last record.
            target = max(end, min(self._allocated + _PREALLOCATE_BYTES, self.segment_bytes))
            try:
                os.posix_fallocate(self._fd, self._allocated, target - self._allocated)
                self._allocated = target
            except OSError as error:
                if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    raise
                self._preallocate = False  # this file system cannot: files grow by their writes
        self._file_end = end
        return offset

    def _trim_locked(self) -> None:
        """Cut the current segment to its last record (a closed segment holds no preallocated zeros)."""
        if self._allocated > self._file_end:
            os.ftruncate(self._fd, self._file_end)
            self._fsync_function(self._fd)
            self._allocated = self._file_end

    def _flush_locked(self) -> None:
        if self._pending:
            try:
                _pwrite_all(self._fd, self._pending, self._reserve_locked(len(self._pending)))
            except BaseException as error:
                self._fail_locked(error)
                raise
            self._pending = bytearray()
        self._written_seq = self._last_seq

    def _sync_all_locked(self) -> None:
        while self._syncing:
            self._synced.wait()
        if self._failure is not None:
            self._check_usable()
        if self._synced_seq < self._last_seq or self._pending:
            try:
                self._flush_locked()
                self._fsync(self._fd)
            except BaseException as error:
                self._fail_locked(error)
                raise
            self._synced_seq = self._last_seq
            self._wake_all_locked()

    def _wake_all_locked(self) -> None:
        """Wake every follower: each checks again whether it is covered, must lead, or must raise."""
        waiters = self._flight_waiters + self._next_waiters
        self._flight_waiters, self._next_waiters = [], []
        for waiter, _ident in waiters:
            waiter.release()
        _wake_all(self._wake_chain)
        self._synced.notify_all()

    def _forget_waiter_locked(self, entry: tuple[Any, int]) -> None:
        """Take a waiter whose wait timed out out of the lists it may be in."""
        for waiters in (self._next_waiters, self._flight_waiters, self._wake_chain):
            try:
                waiters.remove(entry)
                return
            except ValueError:
                pass
        # Released just as it timed out: that release was meant to wake someone; pass it on, or a chain of
        # wake-ups could stop at this waiter.
        _wake_one(self._wake_chain)

    def _roll_locked(self, current: _Segment) -> None:
        """Close ``current`` (fsynced in every policy: only the last segment may be torn), start the next."""
        self._sync_all_locked()
        if self._segments[-1] is not current or self._last_seq < current.first_seq:
            return  # another thread rolled over while this one waited for the group-commit leader
        try:
            self._trim_locked()  # only the last segment may end in zeros
        except BaseException as error:
            self._fail_locked(error)
            raise
        segment = _create_segment(self.directory, current.number + 1, self._last_seq + 1, self._fsync_function)
        os.close(self._fd)
        self._open_current(segment)
        self._segments.append(segment)


def _wake_one(waiters: list[tuple[Any, int]]) -> None:
    # pop() is atomic: a waiter popped by two threads at once is released by one of them only
    try:
        waiters.pop()[0].release()
    except IndexError:
        pass


def _wake_all(waiters: list[tuple[Any, int]]) -> None:
    while waiters:
        _wake_one(waiters)


def _replayed_bytes(segments: list[_Segment], snapshot_seq: int) -> int:
    """Record bytes of the segments that hold a record after ``snapshot_seq``: what recovery reads."""
    total = 0
    for segment, following in zip(segments, segments[1:] + [None]):
        if following is None or following.first_seq - 1 > snapshot_seq:
            total += segment.size - SEGMENT_HEADER.size
    return total


def _pwrite_all(fd: int, data: bytes | bytearray, offset: int) -> None:
    written = os.pwrite(fd, data, offset)
    if written < len(data):
        view = memoryview(data)
        while written < len(data):
            written += os.pwrite(fd, view[written:], offset + written)


def _write_all(fd: int, data: bytes | bytearray) -> None:
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)
        while written < len(data):
            written += os.write(fd, view[written:])


def _create_segment(directory: str, number: int, first_seq: int, fsync: Callable[[int], None]) -> _Segment:
    """Create a segment atomically: header written and fsynced in a temp file, renamed, directory fsynced."""
    path = os.path.join(directory, segment_name(number, first_seq))
    temporary = path + ".tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, encode_segment_header(number, first_seq))
        fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_directory(directory, fsync)
    return _Segment(number, first_seq, path, SEGMENT_HEADER.size)


def _read_file(path: str) -> bytes:
    with open(path, "rb", buffering=0) as source:
        size = os.fstat(source.fileno()).st_size
        chunks = []
        while True:
            chunk = source.read(max(_READ_CHUNK, size))
            if not chunk:
                break
            chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _header_of(path: str, data: bytes, number: int, first_seq: int) -> SegmentHeader:
    header = decode_segment_header(data)
    if isinstance(header, str):
        raise CorruptedError(header, path, 0)
    if (header.number, header.first_seq) != (number, first_seq):
        raise CorruptedError(f"segment header says number={header.number} first_seq={header.first_seq}, "
                             f"its file name says number={number} first_seq={first_seq}", path, 0)
    return header


def _scan_segment(path: str, data: bytes, is_last: bool) -> tuple[list[bytes], int]:
    """Records of one segment and the offset where they end; damage that is not a torn tail raises.

    The torn-tail rule: a frame that fails (short header, short payload, bad CRC) is a torn tail only in
    the last segment and only if no complete, checksum-valid frame starts anywhere after it in that
    segment. Anything else is damage in the middle of the log and raises CorruptedError(path, offset).
    """
    payloads, end = scan_records(data, SEGMENT_HEADER.size)
    if end == len(data):
        return payloads, end
    if not is_last:
        raise CorruptedError("record frame is damaged (bad length or CRC) in a segment that is not the last; "
                             "later segments hold records that would be lost", path, end)
    later = find_valid_record(data, end + 1)
    if later is not None:
        raise CorruptedError(f"record frame is damaged (bad length or CRC) but a valid record follows at "
                             f"offset {later}; refusing to drop it", path, end)
    return payloads, end


def open_wal(directory: str, fsync: str = "always", *, segment_bytes: int = DEFAULT_SEGMENT_BYTES,
             fsync_function: Callable[[int], None] = os.fdatasync) -> tuple[WAL, bytes | None, Iterator[bytes]]:
    """Open (creating if needed) the WAL in ``directory`` and recover it.

    Returns ``(wal, snapshot_payload_or_None, records)`` where ``records`` yields, in order, the payload of
    every record written after the newest snapshot. A torn last record is cut off (the file is truncated
    and fsynced before this returns); damage anywhere else raises :class:`CorruptedError` naming the file
    and byte offset -- segments before the last are verified while ``records`` is iterated, so a caller
    must consume it fully before trusting the state. ``fsync_function`` replaces ``os.fdatasync`` (as etcd's
    WAL: it persists data and the metadata needed to read it back, such as a file size, but not the
    modification time, which would cost a file-system journal commit per write; tests count
    calls with it).
    """
    if fsync not in FSYNC_POLICIES:
        raise InvalidArgument(f"fsync={fsync!r} is not one of {', '.join(FSYNC_POLICIES)}")
    if not isinstance(segment_bytes, int) or isinstance(segment_bytes, bool) or segment_bytes < 1024:
        raise InvalidArgument(f"segment_bytes={segment_bytes!r} must be an integer of at least 1024")
    directory = os.path.abspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise InvalidArgument(f"path={directory!r} exists and is not a directory; a durable store needs one")
    if not os.path.isdir(directory):
        os.makedirs(directory, exist_ok=True)
        fsync_directory(os.path.dirname(directory), fsync_function)
    directory_lock = _lock_directory(directory)
    try:
        return _recover(directory, fsync, segment_bytes, fsync_function, directory_lock)
    except BaseException:
        os.close(directory_lock)
        raise


def _lock_directory(directory: str) -> int:
    """Hold an exclusive flock on the directory while the WAL is open, as etcd locks its WAL files: a
    second opener would otherwise take the live writer's last record for a torn tail and cut it off."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise KVError(f"the WAL directory {directory} is already open (locked by this or another process); "
                      "close the other store first") from None
    return fd


def _recover(directory: str, fsync: str, segment_bytes: int, fsync_function: Callable[[int], None],
             directory_lock: int) -> tuple[WAL, bytes | None, Iterator[bytes]]:
    _remove_temporaries(directory, fsync_function)

    snapshot_payload: bytes | None = None
    snapshot_seq = snapshot_bytes = 0
    snapshots = list_snapshots(directory)
    if snapshots:
        snapshot_seq, snapshot_path = snapshots[-1]
        snapshot_payload = read_snapshot(snapshot_path).payload
        snapshot_bytes = os.path.getsize(snapshot_path)

    segments = _list_segments(directory)
    if not segments:
        if snapshots:
            raise CorruptedError(f"snapshot covers records up to {snapshot_seq} but no WAL segment exists "
                                 "(the current segment is never removed)", directory, None)
        segments = [_create_segment(directory, 0, 1, fsync_function)]
    _check_sequence(directory, segments, snapshot_seq)

    last = segments[-1]
    data = _read_file(last.path)
    _header_of(last.path, data, last.number, last.first_seq)
    last_payloads, end = _scan_segment(last.path, data, is_last=True)
    if end < len(data):
        with open(last.path, "r+b") as torn:
            torn.truncate(end)
            fsync_function(torn.fileno())
    last.size = end
    last_seq = last.first_seq + len(last_payloads) - 1
    if last_seq < snapshot_seq:
        raise CorruptedError(f"the WAL ends at record {last_seq} but the snapshot covers up to {snapshot_seq}",
                             last.path, end)
    for segment in segments[:-1]:
        segment.size = os.path.getsize(segment.path)
    wal = WAL(directory, fsync, segment_bytes, fsync_function, segments, last_seq, snapshot_seq, snapshot_bytes,
              directory_lock)
    return wal, snapshot_payload, _replay(segments, last_payloads, snapshot_seq)


def _replay(segments: list[_Segment], last_payloads: list[bytes], snapshot_seq: int) -> Iterator[bytes]:
    """Yield the payloads after ``snapshot_seq``, reading one earlier segment at a time."""
    for index, segment in enumerate(segments):
        if index == len(segments) - 1:
            payloads = last_payloads
        else:
            data = _read_file(segment.path)
            _header_of(segment.path, data, segment.number, segment.first_seq)
            payloads, _end = _scan_segment(segment.path, data, is_last=False)
            del data
            following = segments[index + 1]
            if segment.first_seq + len(payloads) != following.first_seq:
                raise CorruptedError(f"segment holds records {segment.first_seq}..."
                                     f"{segment.first_seq + len(payloads) - 1} but the next segment starts at "
                                     f"{following.first_seq}: records are missing", following.path, 0)
        skip = snapshot_seq + 1 - segment.first_seq
        if skip >= len(payloads):
            continue
        yield from (payloads[skip:] if skip > 0 else payloads)


def _list_segments(directory: str) -> list[_Segment]:
    segments = []
    for name in os.listdir(directory):
        match = _SEGMENT_NAME.match(name)
        if match:
            segments.append(_Segment(int(match.group(1), 16), int(match.group(2), 16),
                                     os.path.join(directory, name), 0))
    segments.sort(key=lambda segment: segment.number)
    return segments


def _check_sequence(directory: str, segments: list[_Segment], snapshot_seq: int) -> None:
    """Segment numbers must be consecutive and the first segment must reach back to the snapshot."""
    for previous, segment in zip(segments, segments[1:]):
        if segment.number != previous.number + 1:
            raise CorruptedError(f"WAL segment number {previous.number + 1} is missing between "
                                 f"{os.path.basename(previous.path)} and {os.path.basename(segment.path)}",
                                 segment.path, 0)
        if segment.first_seq <= previous.first_seq:
            raise CorruptedError(f"segment first_seq={segment.first_seq} does not follow the previous "
                                 f"segment's first_seq={previous.first_seq}", segment.path, 0)
    first = segments[0]
    if first.first_seq > snapshot_seq + 1 or first.first_seq < 1:
        covered = f"the snapshot covers up to {snapshot_seq}" if snapshot_seq else "there is no snapshot"
        raise CorruptedError(f"the oldest WAL segment starts at record {first.first_seq} but {covered}: "
                             f"records {snapshot_seq + 1}..{first.first_seq - 1} are missing", first.path, 0)


def _remove_temporaries(directory: str, fsync: Callable[[int], None]) -> None:
    # a .tmp file is a segment or snapshot whose creation a crash interrupted before its atomic rename
    leftovers = [name for name in os.listdir(directory) if name.endswith(".tmp")]
    for name in leftovers:
        os.remove(os.path.join(directory, name))
    if leftovers:
        fsync_directory(directory, fsync)
