"""The embedded engine: applies commands locally, logs each durable change to the WAL, and recovers.

Recovery on open: the latest snapshot (if any) is restored, then every WAL record after it is applied
in order; each record is one msgpack-encoded command (``StateMachine.last_record``). Finally every
lease gets its full TTL again from the store's clock, as etcd's lessor does on promotion.
"""
from __future__ import annotations

import threading
from typing import Any

import msgpack

from .errors import CorruptedError, KVError, StoreClosed
from .stateio import gc_paused
from .statemachine import StateMachine
from .txn import Command

__all__ = ["EmbeddedEngine", "recover"]


class EmbeddedEngine:
    """Applies commands locally; with a WAL, appends each durable change and waits for its durability.

    If the WAL fails (a write or fsync error), the in-memory state may hold a change the log does not:
    from then on every write is refused with the original error (as etcd stops on a WAL error); reads
    keep working. Reopen the store to recover from the log.
    """

    def __init__(self, state: StateMachine, wal: Any = None, snapshot_every: int = 0) -> None:
        self.state = state
        self.lock = threading.RLock()
        self.wal = wal
        self.snapshot_every = snapshot_every
        self._closed = False
        self._failure: KVError | None = None
        self._pack = msgpack.Packer(use_bin_type=True).pack  # reused: only called under self.lock

    applies_checked = True  # propose(command, checked=True) skips the state machine's checks (Store.txn)

    def propose(self, command: Command, checked: bool = False) -> Any:
        """Apply ``command`` (``checked``: one ``txn.check_txn_request`` passed with the state machine's limits)
        and log it; the response, or the error as a value."""
        wal = self.wal
        with self.lock:
            if self._closed:
                return StoreClosed()
            if self._failure is not None:
                return self._failure
            state = self.state
            result = state.apply_checked(command) if checked else state.apply(command)
            record = state.last_record
            if record is None or wal is None:
                return result
            try:
                seq = wal.append(self._pack(record))
                # a snapshot costs time in proportion to the store, so take one only after at least as
                # many records as the store has keys: replay stays bounded, the cost per write constant.
                # It is encoded here, under the lock (a consistent state), and written to disk by the
                # WAL's thread while writes go on (the file's write and fsync are most of its cost).
                since = wal.records_since_snapshot
                if (self.snapshot_every and since >= self.snapshot_every and since >= len(state.index.history)
                        and not wal.snapshot_in_flight):
                    wal.save_snapshot(state.snapshot_bytes(), wal.last_seq, background=True)
            except BaseException as error:
                return self._fail(error)
        try:
            wal.wait_durable(seq)
        except BaseException as error:
            with self.lock:
                return self._fail(error)
        return result

    def _fail(self, error: BaseException) -> KVError:
        if isinstance(error, StoreClosed):
            return error
        failure = error if isinstance(error, KVError) else KVError(f"the WAL failed, writes are refused: {error!r}")
        self._failure = failure
        if not isinstance(error, Exception):
            raise error  # KeyboardInterrupt and friends still propagate
        return failure

    def read_barrier(self) -> None:
        """Local reads are always linearizable in embedded mode."""

    def save_snapshot(self) -> None:
        if self.wal is None:
            return
        with self.lock:
            if self._failure is not None:
                raise self._failure
            self.wal.save_snapshot(self.state.snapshot_bytes(), self.wal.last_seq)

    def db_size(self) -> int:
        return 0 if self.wal is None else int(self.wal.size)

    def close(self) -> None:
        with self.lock:
            if self._closed:
                return
            self._closed = True
            if self.wal is not None:
                self.wal.close()


def recover(state: StateMachine, snapshot: bytes | None, records: Any) -> None:
    """Rebuild ``state`` from a snapshot payload and the WAL record payloads written after it."""
    with gc_paused():
        _recover(state, snapshot, records)


def _recover(state: StateMachine, snapshot: bytes | None, records: Any) -> None:
    if snapshot is not None:
        try:
            state.restore(msgpack.unpackb(snapshot, raw=False))
        except (ValueError, TypeError, KeyError, msgpack.ExtraData) as error:
            raise CorruptedError(f"snapshot does not decode as a kvstore state: {error}") from error
    apply = state.apply
    unpack = msgpack.unpackb
    for number, payload in enumerate(records):
        try:
            command = unpack(payload, raw=False)
        except (ValueError, msgpack.ExtraData) as error:
            raise CorruptedError(f"WAL record {number} after the snapshot does not decode: {error}") from error
        result = apply(command)
        if isinstance(result, KVError):
            raise CorruptedError(f"WAL record {number} after the snapshot does not replay: {result}")
