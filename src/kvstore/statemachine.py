"""The revisioned key-value state machine shared by the embedded store and the Raft member.

``StateMachine.apply(command)`` is pure and deterministic: no clock, no I/O, no randomness, and it never
raises for a bad request -- the error comes back as a :class:`~kvstore.errors.KVError` *value*. Commands
are the plain lists documented in :mod:`kvstore.txn` plus::

    ["compact", revision]            ["grant", lease_id, ttl, now]     ["keepalive", lease_id, now]
    ["revoke", lease_id]             ["expire", lease_id, now]   (revoke only if due at ``now``)
    ["promote", now, extend]         (every lease expires ``extend`` + its TTL after ``now``: a new leader)

Revisions follow etcd: an empty store is at revision 1, every change (a put, a delete that deleted
something, a txn that wrote something, a revoke of a lease with keys) adds exactly one.

After each apply, ``last_record`` is what a write-ahead log must keep to replay the change (``None``
when nothing durable changed; an ``expire`` that fired is recorded as a plain ``revoke``). Every new
revision is handed to ``listener(revision, events)`` (the watch hub) and kept in an event log so
watchers can replay history since the compact revision.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import stateio
from .commands import check_command
from .errors import Compacted, FutureRevision, InvalidArgument, KeyNotFound, KVError, LeaseExists, \
    LeaseNotFound, ValueTooLarge
from .keyindex import KeyIndex
from .leases import LeaseTable
from .stateio import SNAPSHOT_FORMAT, gc_paused
from .txn import check_txn_command
from .types import DeleteResponse, Event, EventType, KeyValue, Lease, PutResponse, RangeResponse, SortOrder, \
    SortTarget, TxnResponse

__all__ = ["StateMachine", "Listener", "SNAPSHOT_FORMAT", "gc_paused"]

Listener = Callable[[int, list[Event]], None]
PUT = EventType.PUT
DELETE = EventType.DELETE
_NO_LIMIT = 1 << 62

_SORT_KEYS: dict[int, Callable[[KeyValue], Any]] = {
    SortTarget.KEY: lambda kv: kv.key,
    SortTarget.VERSION: lambda kv: kv.version,
    SortTarget.CREATE: lambda kv: kv.create_revision,
    SortTarget.MOD: lambda kv: kv.mod_revision,
    SortTarget.VALUE: lambda kv: kv.value,
}
_COMPARE_FIELDS = ("version", "create_revision", "mod_revision", "value", "lease")


class StateMachine:
    """etcd's MVCC key space plus the lease table, changed only through :meth:`apply`."""

    def __init__(self, max_txn_ops: int = 128, max_value_bytes: int = 1536 * 1024) -> None:
        self.index = KeyIndex()
        self.leases = LeaseTable()
        self.revision = 1
        self.compact_revision = 0
        self.max_txn_ops = max_txn_ops
        self.max_value_bytes = max_value_bytes
        self.listener: Listener | None = None
        # called with the revision before a restore replaces the state, so watchers can resync from it
        self.before_restore: Callable[[int], None] | None = None
        self.last_record: list[Any] | None = None
        # the event log: _log[i] holds the events of revision _log_first + i (an Event or a tuple of them)
        self._log: list[Any] = []
        self._log_first = 2
        self._pending: list[Event] = []
        self._handlers: dict[str, Callable[[list[Any]], Any]] = {
            "put": self._apply_put, "delete": self._apply_delete, "range": self._apply_range,
            "txn": self._apply_txn, "compact": self._apply_compact, "grant": self._apply_grant,
            "keepalive": self._apply_keepalive, "revoke": self._apply_revoke, "expire": self._apply_expire,
            "promote": self._apply_promote,
        }

    # ------------------------------------------------------------------ apply
    def apply(self, command: list[Any]) -> Any:
        """Apply one command; return its response, or the error as a value (nothing changed then)."""
        self.last_record = None
        if type(command) is list and len(command) == 7 and command[0] == "put":
            # the hot path: a put's shape is checked inline
            key, value, lease = command[1], command[2], command[3]
            if type(key) is bytes and key and type(value) is bytes and type(lease) is int and lease >= 0:
                return self._apply_put(command)
        error = check_command(command)
        if error is not None:
            return error
        return self._handlers[command[0]](command)

    def apply_checked(self, command: list[Any]) -> Any:
        """``apply`` of a command its caller checked: a txn that passed ``txn.check_txn_request`` with this
        machine's limits (the embedded store's ``Store.txn``), which ``apply`` would check again. The result
        and the change are ``apply``'s. Commands read from a log or the network go through ``apply``."""
        if type(command) is list and command and command[0] == "txn":
            self.last_record = None
            return self._apply_valid_txn(command)
        return self.apply(command)

    def _commit(self, revision: int, events: list[Event]) -> None:
        self.revision = revision
        self._log.append(events[0] if len(events) == 1 else tuple(events))
        if self.listener is not None:
            self.listener(revision, events)

    def _apply_put(self, command: list[Any]) -> Any:
        _, key, value, lease, want_prev, ignore_value, ignore_lease = command
        index = self.index
        prev = index.latest.get(key)
        # etcd's plain Put looks the lease up before the key (a put inside a txn checks the key first)
        if lease and lease not in self.leases.records:
            return LeaseNotFound(lease)
        if ignore_value or ignore_lease:
            if prev is None:
                return KeyNotFound(key, "ignore_value" if ignore_value else "ignore_lease")
            if ignore_value:
                value = prev.value
            if ignore_lease:
                lease = prev.lease
        if len(value) > self.max_value_bytes:
            return ValueTooLarge(len(value), self.max_value_bytes)
        revision = self.revision + 1
        # the hot path: _write_put and _commit inlined
        if prev is None:
            kv = KeyValue(key, value, revision, revision, 1, lease)
        else:
            kv = KeyValue(key, value, prev.create_revision, revision, prev.version + 1, lease)
            if prev.lease and prev.lease != lease:
                self.leases.detach(prev.lease, key)
        if lease:
            self.leases.attach(lease, key)
        index.record(kv)
        event = Event(PUT, kv, prev)
        self.revision = revision
        self._log.append(event)
        if self.listener is not None:
            self.listener(revision, [event])
        self.last_record = command
        return PutResponse(revision, prev if want_prev else None)

    def _take_pending(self) -> list[Event]:
        events = self._pending
        self._pending = []
        return events

    def _write_put(self, revision: int, key: bytes, value: bytes, lease: int, prev: KeyValue | None) -> None:
        if prev is None:
            kv = KeyValue(key, value, revision, revision, 1, lease)
        else:
            kv = KeyValue(key, value, prev.create_revision, revision, prev.version + 1, lease)
            if prev.lease and prev.lease != lease:
                self.leases.detach(prev.lease, key)
        if lease:
            self.leases.attach(lease, key)
        index = self.index
        # a watcher's prev_kv is the key at revision - 1, as etcd reads it (not an earlier write of this txn)
        event_prev = index.before(key, revision)
        index.record(kv)
        self._pending.append(Event(PUT, kv, event_prev))

    def _write_delete(self, revision: int, key: bytes, end: bytes | None) -> list[KeyValue]:
        index = self.index
        doomed = list(index.live_in(key, end, None))
        for prev in doomed:
            tombstone = KeyValue(prev.key, b"", 0, revision, 0, 0)
            if prev.lease:
                self.leases.detach(prev.lease, prev.key)
            event_prev = prev if prev.mod_revision < revision else index.before(prev.key, revision)
            index.record(tombstone)
            self._pending.append(Event(DELETE, tombstone, event_prev))
        return doomed

    def _apply_delete(self, command: list[Any]) -> Any:
        _, key, end, want_prev = command
        revision = self.revision + 1
        deleted = self._write_delete(revision, key, end)
        if not deleted:
            return DeleteResponse(0, [], self.revision)
        self._commit(revision, self._take_pending())
        self.last_record = command
        return DeleteResponse(len(deleted), deleted if want_prev else [], revision)

    # ------------------------------------------------------------------ reads
    def _apply_range(self, command: list[Any]) -> Any:
        return self.range(*command[1:])

    def range(self, key: bytes, end: bytes | None, revision: int = 0, limit: int = 0,
              sort_order: int = SortOrder.NONE, sort_target: int = SortTarget.KEY, keys_only: bool = False,
              count_only: bool = False, min_mod_revision: int = 0, max_mod_revision: int = 0,
              min_create_revision: int = 0, max_create_revision: int = 0) -> RangeResponse | KVError:
        """etcd's Range (server/etcdserver/apply.go), as a value-returning read of the current state."""
        at: int | None = None
        if revision > 0:
            if revision > self.revision:
                return FutureRevision(revision, self.revision)
            if revision < self.compact_revision:
                return Compacted(revision, self.compact_revision)
            if revision < self.revision or self._pending:
                at = revision  # inside a txn that wrote, an explicit revision excludes the txn's writes
        kvs = list(self.index.live_in(key, end, at))
        count = len(kvs)
        if count_only:
            return RangeResponse([], count, False, self.revision)
        if max_mod_revision:
            kvs = [kv for kv in kvs if kv.mod_revision <= max_mod_revision]
        if min_mod_revision:
            kvs = [kv for kv in kvs if kv.mod_revision >= min_mod_revision]
        if max_create_revision:
            kvs = [kv for kv in kvs if kv.create_revision <= max_create_revision]
        if min_create_revision:
            kvs = [kv for kv in kvs if kv.create_revision >= min_create_revision]
        order = sort_order
        if sort_target != SortTarget.KEY and order == SortOrder.NONE:
            order = SortOrder.ASCEND  # etcd: a non-key target sorts ascending by default
        if order == SortOrder.DESCEND:
            kvs.sort(key=_SORT_KEYS[sort_target], reverse=True)
        elif order == SortOrder.ASCEND and sort_target != SortTarget.KEY:
            kvs.sort(key=_SORT_KEYS[sort_target])
        more = False
        if limit and len(kvs) > limit:
            del kvs[limit:]
            more = True
        if keys_only:
            kvs = [kv.with_value(b"") for kv in kvs]
        return RangeResponse(kvs, count, more, self.revision)

    def events_since(self, revision: int, max_events: int,
                     compacted: int = 0) -> tuple[list[tuple[int, Any]], int]:
        """Logged revisions from ``revision`` on, stopping after about ``max_events`` events.

        Returns ``[(revision, Event | tuple of Events), ...]`` and the next revision to read.
        The caller checks ``revision >= compact_revision`` first. Revision ``compacted`` (the compact
        revision a watch started at) is given as etcd keeps it after compaction: see _compacted_entry.
        """
        base = self._log_first
        i = max(revision, base) - base
        compacted_at = compacted - base  # its position in the log (negative, never reached, when unset)
        batch = []
        seen = 0
        log = self._log
        while i < len(log) and seen < max_events:
            entry = log[i]
            if i == compacted_at:
                entry = _compacted_entry(entry)
            batch.append((base + i, entry))
            seen += 1 if type(entry) is Event else len(entry)
            i += 1
        return batch, base + i

    # ------------------------------------------------------------------ txn
    def _apply_txn(self, command: list[Any]) -> Any:
        error = check_txn_command(command, self.max_txn_ops, self.max_value_bytes)
        if error is not None:
            return error
        return self._apply_valid_txn(command)

    def _apply_valid_txn(self, command: list[Any]) -> Any:
        succeeded = True
        for compare in command[1]:  # every guard is read before any write, as etcd's compareToPath
            if not self._compare(compare):
                succeeded = False
                break
        ops = command[2] if succeeded else command[3]
        if self.flat_txns:
            for op in ops:
                if op[0] != "put" and op[0] != "delete":
                    break
            else:
                return self._apply_flat_branch(command, succeeded, ops)
        path = [succeeded]
        for op in ops:
            if op[0] == "txn":
                self._choose_path(op, path)
        error = self._check_path(command, path)
        if error is not None:
            return error
        revision = self.revision + 1
        response = self._run_txn(command, iter(path), revision)
        if self._pending:
            self._commit(revision, self._take_pending())
            self.last_record = command
        response.revision = self.revision
        return response

    # a branch of puts and deletes only (every Registry write) runs without the path machinery of nested
    # txns; False: every txn takes the general path (for the tests that compare both)
    flat_txns = True

    def _apply_flat_branch(self, command: list[Any], succeeded: bool, ops: list[Any]) -> Any:
        """``_apply_valid_txn`` when the chosen branch holds only puts and deletes: _check_path's put checks
        (in op order, deletes before a put counted) and _run_txn's writes, for one level."""
        deletes: list[tuple[bytes, bytes | None]] = []
        latest = self.index.latest
        for op in ops:
            if op[0] == "delete":
                deletes.append((op[1], op[2]))
                continue
            key, lease = op[1], op[3]
            if (op[5] or op[6]) and (key not in latest or any(_covers(d, key) for d in deletes)):
                return KeyNotFound(key, "ignore_value" if op[5] else "ignore_lease")
            if lease and lease not in self.leases.records:
                return LeaseNotFound(lease)
        revision = self.revision + 1
        responses = [self._txn_put(op, revision) if op[0] == "put" else self._txn_delete(op, revision)
                     for op in ops]
        if self._pending:
            self._commit(revision, self._take_pending())
            self.last_record = command
        return TxnResponse(succeeded, responses, self.revision)

    def _compare(self, compare: list[Any]) -> bool:
        target, result, key, end, operand = compare
        if end is None:
            # one key (every Registry write's guard): live_in's answer without the generator
            kv = self.index.latest.get(key)
            if kv is None:
                return False if target == 3 else _compare_result(0, result, operand)
            actual = kv.mod_revision if target == 2 else getattr(kv, _COMPARE_FIELDS[target])
            return actual == operand if result == 0 else _compare_result(actual, result, operand)
        kvs = list(self.index.live_in(key, end, None))
        if not kvs:
            if target == 3:  # a value guard on a missing key is always false in etcd
                return False
            return _compare_result(0, result, operand)
        field = _COMPARE_FIELDS[target]
        return all(_compare_result(getattr(kv, field), result, operand) for kv in kvs)

    def _choose_path(self, txn: list[Any], path: list[bool]) -> None:
        succeeded = True
        for compare in txn[1]:
            if not self._compare(compare):
                succeeded = False
                break
        path.append(succeeded)
        for op in txn[2] if succeeded else txn[3]:
            if op[0] == "txn":
                self._choose_path(op, path)

    def _check_path(self, txn: list[Any], path: list[bool]) -> KVError | None:
        """etcd's checkRequests: every put on the chosen path first, then every range."""
        return self._check_ops(txn, iter(path), "put") or self._check_ops(txn, iter(path), "range")

    def _check_ops(self, txn: list[Any], path: Any, kind: str,
                   deletes: list[tuple[bytes, bytes | None]] | None = None) -> KVError | None:
        """``deletes``: the ranges deleted earlier on the path, in the order the txn runs its ops."""
        if deletes is None:
            deletes = []
        succeeded = next(path)
        for op in txn[2] if succeeded else txn[3]:
            if op[0] == "txn":
                error = self._check_ops(op, path, kind, deletes)
                if error is not None:
                    return error
            elif op[0] == "delete":
                deletes.append((op[1], op[2]))
            elif op[0] != kind:
                continue
            elif kind == "put":
                _, key, _value, lease, _prev, ignore_value, ignore_lease = op
                # A from-key delete passes etcd's duplicate-key check, so an ignore_value / ignore_lease
                # put after it may find its key gone: etcd 3.4 panics there; we refuse the whole txn.
                if (ignore_value or ignore_lease) and (key not in self.index.latest or
                                                       any(_covers(d, key) for d in deletes)):
                    return KeyNotFound(key, "ignore_value" if ignore_value else "ignore_lease")
                if lease and lease not in self.leases.records:
                    return LeaseNotFound(lease)
            else:
                at = op[3]
                if at > self.revision:
                    return FutureRevision(at, self.revision)
                if 0 < at < self.compact_revision:
                    return Compacted(at, self.compact_revision)
        return None

    def _run_txn(self, txn: list[Any], path: Any, revision: int) -> TxnResponse:
        succeeded = next(path)
        responses: list[Any] = []
        for op in txn[2] if succeeded else txn[3]:
            kind = op[0]
            if kind == "put":
                responses.append(self._txn_put(op, revision))
            elif kind == "delete":
                responses.append(self._txn_delete(op, revision))
            elif kind == "range":
                read = self.range(*op[1:])
                if self._pending and isinstance(read, RangeResponse):
                    read.revision = revision  # etcd: a read after a write in a txn sees the txn's revision
                responses.append(read)
            else:
                responses.append(self._run_txn(op, path, revision))
        # a nested txn's header revision stays 0, as in etcd (only the outer header is filled)
        return TxnResponse(succeeded, responses, 0)

    def _txn_put(self, op: list[Any], revision: int) -> PutResponse:
        _, key, value, lease, want_prev, ignore_value, ignore_lease = op
        prev = self.index.latest.get(key)
        if ignore_value:
            value = prev.value  # type: ignore[union-attr]
        if ignore_lease:
            lease = prev.lease  # type: ignore[union-attr]
        self._write_put(revision, key, value, lease, prev)
        return PutResponse(revision, prev if want_prev else None)

    def _txn_delete(self, op: list[Any], revision: int) -> DeleteResponse:
        deleted = self._write_delete(revision, op[1], op[2])
        # etcd reports the txn's revision once anything was written so far, else the old one
        return DeleteResponse(len(deleted), deleted if op[3] else [], revision if self._pending else self.revision)

    # ------------------------------------------------------------------ compaction
    def _apply_compact(self, command: list[Any]) -> Any:
        revision = command[1]
        if revision <= self.compact_revision:
            return Compacted(revision, self.compact_revision)
        if revision > self.revision:
            return FutureRevision(revision, self.revision)
        self.compact_revision = revision
        self.index.compact(revision)
        # keep the events of the compact revision itself: etcd lets a watch start exactly there
        drop = revision - self._log_first
        if drop > 0:
            del self._log[:drop]
            self._log_first = revision
        if self._log_first == revision and self._log:
            # the value before the compact revision is gone: like etcd, which reads prev_kv at
            # mod_revision - 1 when it sends an event, those events now carry no prev_kv
            entry = self._log[0]
            stripped = tuple(Event(e.type, e.kv, None) for e in ((entry,) if type(entry) is Event else entry))
            self._log[0] = stripped[0] if len(stripped) == 1 else stripped
        self.last_record = command
        return self.revision

    # ------------------------------------------------------------------ leases
    def _apply_grant(self, command: list[Any]) -> Any:
        _, lease_id, ttl, now = command
        if lease_id in self.leases.records:
            return LeaseExists(lease_id)
        self.leases.grant(lease_id, ttl, now)
        self.last_record = command
        return Lease(lease_id, ttl)

    def _apply_keepalive(self, command: list[Any]) -> Any:
        _, lease_id, now = command
        record = self.leases.keepalive(lease_id, now)
        if record is None:
            return LeaseNotFound(lease_id)
        return Lease(lease_id, record.ttl)

    def _apply_revoke(self, command: list[Any]) -> Any:
        lease_id = command[1]
        record = self.leases.records.get(lease_id)
        if record is None:
            return LeaseNotFound(lease_id)
        revision = self.revision + 1
        for key in sorted(record.keys):  # etcd deletes a revoked lease's keys in key order
            self._write_delete(revision, key, None)
        del self.leases.records[lease_id]
        if self._pending:
            self._commit(revision, self._take_pending())
        self.last_record = ["revoke", lease_id]
        return self.revision

    def _apply_expire(self, command: list[Any]) -> Any:
        _, lease_id, now = command
        record = self.leases.records.get(lease_id)
        if record is None or record.expiry > now:
            return None  # kept alive (or revoked) since the caller saw it due
        return self._apply_revoke(["revoke", lease_id])

    def _apply_promote(self, command: list[Any]) -> Any:
        # etcd's lessor.Promote: a new Raft leader gives every lease its full TTL plus an election
        # timeout from ``now``, so no lease expires early because its leader changed. Not recorded:
        # the embedded store refreshes every lease when it opens (the same rule).
        _, now, extend = command
        self.leases.refresh(now + extend)
        return len(self.leases)

    # ------------------------------------------------------------------ snapshots
    def snapshot(self) -> dict[str, Any]:
        """The full state as a msgpack-able dict: retained history (as events), leases, revisions."""
        return stateio.snapshot_of(self)

    def snapshot_bytes(self) -> bytes:
        """``msgpack.packb(self.snapshot())``, streamed without the intermediate lists."""
        return stateio.snapshot_bytes_of(self)

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace the whole state with a :meth:`snapshot` result (the listener is not called)."""
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise InvalidArgument(f"snapshot format={snapshot.get('format')!r}, expected {SNAPSHOT_FORMAT}")
        if self.before_restore is not None:
            self.before_restore(self.revision)
        with gc_paused():
            self.index, self.leases, self._log = stateio.rebuild(snapshot)
        self.revision = snapshot["revision"]
        self.compact_revision = snapshot["compact_revision"]
        self._log_first = snapshot["log_first"]

    def hash_kv(self, revision: int = 0) -> int:
        """A 64-bit hash of the key space at ``revision`` (0: current), like etcd's HashKV."""
        at = self.revision if revision <= 0 else revision
        if at > self.revision:
            raise FutureRevision(at, self.revision)
        if at < self.compact_revision:
            raise Compacted(at, self.compact_revision)
        return stateio.hash_of(self.index, at, self.compact_revision)


def _compacted_entry(entry: Any) -> Any:
    """The events of the compact revision as etcd still has them once compaction ran: only each key's
    last revision there, and not if it is a tombstone (keyIndex.keep), so a watch starting at the compact
    revision sees the puts that survived and no deletes. (A watcher already past its start when the
    compaction comes still gets every event: losing deletes would leave its reader with ghost keys.)"""
    events = (entry,) if type(entry) is Event else entry
    last = {event.kv.key: i for i, event in enumerate(events)}
    kept = tuple(event for i, event in enumerate(events) if last[event.kv.key] == i and event.type is not DELETE)
    return kept if len(kept) != 1 else kept[0]


def _covers(deleted: tuple[bytes, bytes | None], key: bytes) -> bool:
    """Whether a delete of ``(start, end)`` (end None: one key; b"": to the last key) takes ``key``."""
    start, end = deleted
    if end is None:
        return key == start
    return start <= key and (end == b"" or key < end)


def _compare_result(actual: Any, result: int, operand: Any) -> bool:
    if result == 0:
        return bool(actual == operand)
    if result == 1:
        return bool(actual > operand)
    if result == 2:
        return bool(actual < operand)
    return bool(actual != operand)
