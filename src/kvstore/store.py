"""The public :class:`Store`: argument checking, locking, the lease clock, and glue of the layers.

The one seam: a ``Store`` is built on an *engine* that owns the state machine and decides how a command
becomes applied. The embedded engine applies locally (and appends to the WAL); the Raft member engine
(``kvstore.replication``) proposes through the Raft log and applies on commit. An engine provides::

    engine.state                 the StateMachine (read by the store)
    engine.lock                  an RLock held around every apply; the store holds it for consistent reads
    engine.propose(command)      apply a command list (see kvstore.txn / kvstore.statemachine) and return
                                 the state machine's result (a response, or a KVError value)
    engine.read_barrier()        called before reads; a no-op when local reads are linearizable
    engine.db_size()             bytes on disk
    engine.save_snapshot()       persist a snapshot now (no-op in memory)
    engine.close()

Write path (embedded): check arguments -> build command -> ``engine.propose``: under the lock
``state.apply`` + ``wal.append`` -> release the lock -> ``wal.wait_durable(seq)`` -> return. A txn is
checked once: the store checks it whole (``txn.check_txn_request``) and an engine that declares
``applies_checked`` takes ``propose(command, checked=True)``, its state machine's ``apply_checked``; a
Raft member's state machine checks every command it reads from the log.
Reads at the current revision of a single key are a dict lookup without the lock.
"""
from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from .args import range_end_for, to_bool, to_bytes, to_int, to_key, to_lease_id
from .errors import InvalidArgument, KeyTooLarge, KVError, LeaseExists, LeaseTTLTooLarge, RequestTooLarge, \
    StoreClosed, ValueProvided, LeaseProvided, ValueTooLarge
from .etcd3compat import Etcd3Aliases
from .leases import MAX_LEASE_TTL
from .statemachine import StateMachine
from .txn import Compare, Command, Op, build_txn, check_txn_request, flat_txn_ok
from .types import DeleteResponse, KeyValue, Lease, LeaseTimeToLive, PutResponse, RangeResponse, SortOrder, \
    SortTarget, Status, TxnResponse, WatchFilter
from .watch import WatchCallback, Watcher, WatchHub

__all__ = ["Store", "DEFAULT_MAX_VALUE_BYTES", "DEFAULT_MAX_TXN_OPS", "DEFAULT_MAX_REQUEST_BYTES",
           "DEFAULT_MAX_KEY_BYTES"]

DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024  # etcd's --max-request-bytes default, 1.5 MiB
DEFAULT_MAX_VALUE_BYTES = DEFAULT_MAX_REQUEST_BYTES
DEFAULT_MAX_KEY_BYTES = DEFAULT_MAX_REQUEST_BYTES  # etcd bounds a key only by the request limit
DEFAULT_MAX_TXN_OPS = 128  # etcd's --max-txn-ops default
TICK_SECONDS = 0.5


class Store(Etcd3Aliases):
    """An etcd-v3-like key-value store: revisions, ranges, transactions, watches and leases.

    Build one with :func:`kvstore.open`. Thread-safe; a context manager. Keys and values are bytes
    (``str`` is accepted and encoded as UTF-8); results always carry bytes.
    """

    def __init__(self, engine: Any, *, clock: Callable[[], float] | None = None,
                 max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES, max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
                 watch_queue_size: int = 1024, progress_notify_interval: float = 600.0,
                 max_key_bytes: int = DEFAULT_MAX_KEY_BYTES,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        self._engine = engine
        self._lock = engine.lock
        self._max_value_bytes = to_int("max_value_bytes", max_value_bytes, minimum=0)
        self._max_key_bytes = to_int("max_key_bytes", max_key_bytes, minimum=1)
        self._max_request_bytes = to_int("max_request_bytes", max_request_bytes, minimum=1)
        self._max_txn_ops = to_int("max_txn_ops", max_txn_ops, minimum=1)
        self._clock = clock if clock is not None else time.monotonic
        # An engine whose state machine applies the very commands this store checked (the embedded one; not a
        # Raft member, whose state machine reads its commands from the log) is told a txn was checked, so the
        # state machine does not check it again: only when both enforce the same limits.
        state = engine.state
        self._checked_txns = bool(getattr(engine, "applies_checked", False)) \
            and state.max_txn_ops == self._max_txn_ops and state.max_value_bytes == self._max_value_bytes
        self._hub = WatchHub(engine.lock, engine.state, to_int("watch_queue_size", watch_queue_size, minimum=1))
        engine.state.listener = self._hub.publish
        engine.state.before_restore = self._hub.resync
        self._closed = False
        self._random = random.SystemRandom()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._progress_interval = progress_notify_interval
        self._next_progress = time.monotonic() + progress_notify_interval
        if clock is None:
            # leases expire by themselves only on the real clock; an injected clock drives expire_leases()
            self._ticker = threading.Thread(target=_tick, args=(weakref.ref(self), self._stop),
                                            name="kvstore-ticker", daemon=True)
            self._ticker.start()

    @property
    def _state(self) -> StateMachine:
        return self._engine.state  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ helpers
    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed()

    def _propose(self, command: Command) -> Any:
        if self._closed:
            raise StoreClosed()
        result = self._engine.propose(command)
        if isinstance(result, KVError):
            raise result
        return result

    # ------------------------------------------------------------------ KV
    def put(self, key: bytes | str, value: bytes | str | None = None, *, lease: Any = None, prev_kv: bool = False,
            ignore_value: bool = False, ignore_lease: bool = False) -> PutResponse:
        """Set ``key`` to ``value`` in a new revision (etcd Put).

        ``lease`` (an ID or a :class:`Lease`) attaches the key to a lease (a put without it detaches the key
        from its old lease); ``ignore_value``/``ignore_lease`` keep the current value/lease of an existing
        key (with ``ignore_value=True`` the value may be left out). Keys over ``max_key_bytes``, values over
        ``max_value_bytes`` and puts over ``max_request_bytes`` are refused, naming the limit.
        """
        if type(key) is not bytes or not key:
            key = to_key("key", key)
        if type(value) is not bytes:
            value = b"" if value is None and ignore_value is True else to_bytes("value", value)
        key_bytes, value_bytes = len(key), len(value)
        if value_bytes > self._max_value_bytes or key_bytes > self._max_key_bytes \
                or key_bytes + value_bytes > self._max_request_bytes:
            raise self._too_large(key, value)
        if lease is None:
            lease = 0
        elif type(lease) is not int or lease < 0:
            lease = to_lease_id(lease)
        if prev_kv is not False and prev_kv is not True:
            to_bool("prev_kv", prev_kv)
        if ignore_value is not False or ignore_lease is not False:
            if to_bool("ignore_value", ignore_value) and value:
                raise ValueProvided(key)
            if to_bool("ignore_lease", ignore_lease) and lease:
                raise LeaseProvided(key, lease)
        return self._propose(["put", key, value, lease, prev_kv, ignore_value, ignore_lease])  # type: ignore

    def _too_large(self, key: bytes, value: bytes = b"") -> RequestTooLarge:
        if len(value) > self._max_value_bytes:
            return ValueTooLarge(len(value), self._max_value_bytes)
        if len(key) > self._max_key_bytes:
            return KeyTooLarge(len(key), self._max_key_bytes)
        return RequestTooLarge(len(key) + len(value), self._max_request_bytes)

    def _check_key_size(self, key: bytes, end: bytes | None = None) -> None:
        limit = self._max_key_bytes
        if len(key) > limit or (end and len(end) > limit):
            raise KeyTooLarge(max(len(key), len(end or b"")), limit, "key" if len(key) > limit else "range_end")

    def get(self, key: bytes | str, *, revision: int | None = None) -> KeyValue | None:
        """The live value of ``key`` (at ``revision`` if given), or None."""
        if type(key) is not bytes or not key:
            key = to_key("key", key)
        if len(key) > self._max_key_bytes:
            self._check_key_size(key)
        if revision is None or revision == 0:
            if self._closed:
                raise StoreClosed()
            self._engine.read_barrier()
            return self._engine.state.index.latest.get(key)  # type: ignore[no-any-return]
        response = self._read(Op.range(key, revision=revision))
        return response.kvs[0] if response.kvs else None

    def range(self, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False,
              limit: int = 0, revision: int | None = None, sort_order: SortOrder = SortOrder.NONE,
              sort_target: SortTarget = SortTarget.KEY, keys_only: bool = False, count_only: bool = False,
              min_mod_revision: int = 0, max_mod_revision: int = 0, min_create_revision: int = 0,
              max_create_revision: int = 0) -> RangeResponse:
        """etcd Range: keys in ``[key, range_end)`` (``range_end=b"\\0"``: every key >= key; ``prefix=True``:
        every key starting with ``key``). ``count`` is the number of keys in the range before ``limit``
        and the revision filters, as in etcd; ``more`` tells that ``limit`` cut the result."""
        return self._read(Op.range(key, range_end, prefix=prefix, limit=limit, revision=revision,
                                   sort_order=sort_order, sort_target=sort_target, keys_only=keys_only,
                                   count_only=count_only, min_mod_revision=min_mod_revision,
                                   max_mod_revision=max_mod_revision, min_create_revision=min_create_revision,
                                   max_create_revision=max_create_revision))

    def _read(self, command: Command) -> RangeResponse:
        self._check_key_size(command[1], command[2])
        self._check_open()
        self._engine.read_barrier()
        with self._lock:
            result = self._engine.state.range(*command[1:])
        if isinstance(result, KVError):
            raise result
        return result  # type: ignore[no-any-return]

    def delete(self, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False,
               prev_kv: bool = False) -> DeleteResponse:
        """Delete a key or a range in one revision (no new revision when nothing was deleted, as etcd)."""
        command = Op.delete(key, range_end, prefix=prefix, prev_kv=prev_kv)
        self._check_key_size(command[1], command[2])
        return self._propose(command)  # type: ignore[no-any-return]

    def txn(self, compare: Iterable[Compare] = (), success: Iterable[Command] = (),
            failure: Iterable[Command] = ()) -> TxnResponse:
        """etcd Txn: if every guard in ``compare`` holds run ``success`` else ``failure``; atomic, one
        revision. A txn may not put the same key twice, nor put a key it deletes (:class:`DuplicateKey`)."""
        command = build_txn(compare, success, failure)
        if not flat_txn_ok(command, self._max_txn_ops, self._max_value_bytes, self._max_key_bytes,
                           self._max_request_bytes):
            error = check_txn_request(command, self._max_txn_ops, self._max_value_bytes, self._max_key_bytes,
                                      self._max_request_bytes)
            if error is not None:
                raise error
        if not self._checked_txns:
            return self._propose(command)  # type: ignore[no-any-return]
        if self._closed:
            raise StoreClosed()
        result = self._engine.propose(command, checked=True)
        if isinstance(result, KVError):
            raise result
        return result  # type: ignore[no-any-return]

    def compact(self, revision: int) -> int:
        """Drop history below ``revision``; returns the store revision. Compacting at or below the current
        compact revision raises :class:`Compacted`, above the store revision :class:`FutureRevision`."""
        return self._propose(["compact", to_int("revision", revision, minimum=1)])  # type: ignore

    # ------------------------------------------------------------------ watch
    def watch(self, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False,
              start_revision: int | None = None, prev_kv: bool = False, filters: Iterable[WatchFilter] = (),
              progress_notify: bool = False, callback: WatchCallback | None = None) -> Watcher:
        """Watch a key or range. From ``start_revision`` (default: the next revision) history is replayed,
        then live events follow: every event exactly once, in revision order. With ``callback`` the
        events (and a final :class:`Compacted` error, if any) are passed to it from the store's callback thread."""
        self._check_open()
        key_bytes, end = range_end_for(key, range_end, to_bool("prefix", prefix))
        self._check_key_size(key_bytes, end)
        start = 0 if start_revision is None else to_int("start_revision", start_revision, minimum=0)
        checked_filters = []
        for item in filters:
            try:
                checked_filters.append(WatchFilter(item))
            except ValueError:
                raise InvalidArgument(f"filters item {item!r} is not a WatchFilter") from None
        if callback is not None and not callable(callback):
            raise InvalidArgument(f"callback={callback!r} is not callable")
        # A replica first catches up with what the cluster committed (as a linearizable read), so a
        # start at or below a compaction acknowledged anywhere raises Compacted, and a watch without
        # start_revision starts after every write acknowledged before it.
        self._engine.read_barrier()
        return self._hub.watch(key_bytes, end, start, to_bool("prev_kv", prev_kv), checked_filters,
                               to_bool("progress_notify", progress_notify), callback)

    def request_progress(self) -> None:
        """Send a progress notification to every synced watcher created with ``progress_notify=True``."""
        self._check_open()
        self._hub.request_progress()

    # ------------------------------------------------------------------ leases
    def grant(self, ttl: int, *, id: int | None = None) -> Lease:
        """Grant a lease of ``ttl`` seconds; its ID is random unless ``id`` is given (etcd LeaseGrant)."""
        ttl = to_int("ttl", ttl, minimum=1)
        if ttl > MAX_LEASE_TTL:
            raise LeaseTTLTooLarge(ttl, MAX_LEASE_TTL)
        if id is not None:
            return self._bind(self._propose(["grant", to_int("id", id, minimum=1), ttl, self._clock()]))
        while True:
            try:
                return self._bind(self._propose(["grant", self._random.getrandbits(62) + 1, ttl, self._clock()]))
            except LeaseExists:
                continue  # a 62-bit collision: draw again

    def _bind(self, lease: Lease) -> Lease:
        """The lease, answering ``refresh()`` / ``revoke()`` through this store."""
        lease._store = self
        return lease

    def keepalive(self, id: int) -> Lease:
        """Restart the lease's TTL from now; returns its granted TTL (etcd LeaseKeepAlive)."""
        return self._bind(self._propose(["keepalive", to_lease_id(id, "id", 1), self._clock()]))

    def revoke(self, id: int) -> int:
        """Revoke a lease and delete its keys in one revision; returns the store revision."""
        return self._propose(["revoke", to_lease_id(id, "id", 1)])  # type: ignore

    def time_to_live(self, id: int, keys: bool = False) -> LeaseTimeToLive:
        """Remaining and granted TTL of a lease (``ttl=-1`` for an unknown lease, as etcd)."""
        lease_id = to_int("id", id, minimum=1)
        with_keys = to_bool("keys", keys)
        self._check_open()
        self._engine.read_barrier()
        now = self._clock()
        with self._lock:
            record = self._state.leases.records.get(lease_id)
            if record is None:
                return LeaseTimeToLive(lease_id, -1, 0, [])
            return LeaseTimeToLive(lease_id, record.remaining(now), record.ttl,
                                   sorted(record.keys) if with_keys else [])

    def leases(self) -> list[Lease]:
        """Every live lease (etcd LeaseLeases), by ID."""
        self._check_open()
        self._engine.read_barrier()
        with self._lock:
            records = sorted(self._state.leases.records.values(), key=lambda r: r.id)
            return [Lease(r.id, r.ttl, self) for r in records]

    def expire_leases(self) -> list[int]:
        """Revoke every lease whose TTL has run out by the store's clock; returns their IDs.

        Runs by itself twice a second on the real clock; with an injected ``clock`` call it after moving
        the clock."""
        self._check_open()
        now = self._clock()
        with self._lock:
            due = self._state.leases.due(now)
        expired = []
        for lease_id in due:
            result = self._engine.propose(["expire", lease_id, now])
            if isinstance(result, int):
                expired.append(lease_id)
        return expired

    # ------------------------------------------------------------------ maintenance
    @property
    def revision(self) -> int:
        """The current store revision."""
        return self._state.revision

    def status(self) -> Status:
        """Revision, compact revision, live keys, leases and bytes on disk."""
        self._check_open()
        with self._lock:
            state = self._state
            return Status(state.revision, state.compact_revision, len(state.index), len(state.leases),
                          self._engine.db_size())

    def hash_kv(self, revision: int = 0) -> int:
        """A hash of the key space at ``revision`` (0: current), equal on stores with equal histories."""
        self._check_open()
        with self._lock:
            return self._state.hash_kv(to_int("revision", revision, minimum=0))

    def save_snapshot(self) -> None:
        """Write a snapshot of the whole state now and drop the WAL it covers (no-op in memory)."""
        self._check_open()
        self._engine.save_snapshot()

    def _tick_once(self, now: float) -> None:
        self.expire_leases()
        self._notify_progress_if_due(now)

    def _notify_progress_if_due(self, now: float) -> None:
        if now >= self._next_progress:
            self._next_progress = now + self._progress_interval
            self._hub.request_progress()

    def close(self) -> None:
        """End every watcher, stop the lease ticker and close the WAL. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=5.0)
        self._hub.close()
        self._engine.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<kvstore.Store revision={self._state.revision} closed={self._closed}>"


def _tick(store_ref: weakref.ref[Store], stop: threading.Event) -> None:
    """The real-clock ticker: expires leases, sends periodic progress notifications. It holds the store
    only weakly, so a store dropped without close() can still be collected (and the thread ends)."""
    while not stop.wait(TICK_SECONDS):
        store = store_ref()
        if store is None:
            return
        try:
            store._tick_once(time.monotonic())
        except StoreClosed:
            return
        except KVError:
            pass  # e.g. NoLeader on a replicated engine: try again on the next tick
        del store
