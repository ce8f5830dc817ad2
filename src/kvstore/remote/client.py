""":class:`EtcdStore`: the embedded :class:`kvstore.Store`'s API on a real etcd v3 cluster over gRPC.

Arguments are checked here exactly as the embedded store checks them (the same builders from
``kvstore.txn`` and ``kvstore.args``, the same limits: etcd's defaults), so bad input raises the same
error before anything is sent; what only etcd can know (compacted and future revisions, unknown leases,
missing keys) comes back as etcd's error mapped by meaning.
"""
from __future__ import annotations

import atexit
import gc
import threading
import weakref
from collections.abc import Iterable
from typing import Any

from aetcd import rpc

from ..args import range_end_for, to_bool, to_int
from ..callbacks import CallbackDispatcher
from ..etcd3compat import Etcd3Aliases
from ..errors import (Compacted, FutureRevision, InvalidArgument, KVError, LeaseNotFound,
                      LeaseTTLTooLarge, RequestTooLarge, StoreClosed, TooManyOps, ValueTooLarge)
from ..leases import MAX_LEASE_TTL
from ..store import DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, DEFAULT_MAX_VALUE_BYTES
from ..txn import Command, Compare, Op, build_txn, check_txn_request
from ..txn import _request_size as request_size
from ..types import (DeleteResponse, KeyValue, Lease, LeaseTimeToLive, PutResponse, RangeResponse, SortOrder,
                     SortTarget, Status, TxnResponse, WatchFilter)
from . import convert
from .connection import Connection
from .watcher import RemoteWatcher
from .watchstream import WatchStream

__all__ = ["EtcdStore"]

_ANY_KEY = b"\x00"  # a count-only range of this one key is the cheapest request that reads the revision

# Clients still open when the interpreter exits. gRPC's stream calls take a lock in their finalizer; at
# interpreter shutdown the daemon threads that release that lock are frozen, and a finalizer run by the
# last garbage collection then waits for it forever (seen as a child process that never exited). So the
# open clients are closed, and their garbage collected, while every thread still runs (atexit comes first).
_OPEN: "weakref.WeakSet[EtcdStore]" = weakref.WeakSet()


@atexit.register
def _close_open_clients() -> None:
    for store in list(_OPEN):
        store.close()
    gc.collect()


class EtcdStore(Etcd3Aliases):
    """A client of an etcd v3 cluster with the embedded store's methods, responses, errors and watches.

    Build one with :func:`kvstore.connect`. Thread-safe (one gRPC channel per endpoint, shared by every
    thread); a context manager. See docs/kvstore-etcd.md for what differs from the embedded store.
    """

    def __init__(self, connection: Connection, *, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
                 max_txn_ops: int = DEFAULT_MAX_TXN_OPS, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 watch_queue_size: int = 1024) -> None:
        self._connection = connection
        self._watch_queue_size = to_int("watch_queue_size", watch_queue_size, minimum=1)
        self._max_value_bytes = to_int("max_value_bytes", max_value_bytes, minimum=0)
        # etcd bounds keys only by its request limit (--max-request-bytes), as the embedded default does
        self._max_request_bytes = to_int("max_request_bytes", max_request_bytes, minimum=1)
        self._max_txn_ops = to_int("max_txn_ops", max_txn_ops, minimum=1)
        self._closed = False
        self._lock = threading.Lock()
        self._watchers: dict[int, RemoteWatcher] = {}
        self._next_watch_id = 1
        self._dispatcher = CallbackDispatcher()
        self._watch_stream = WatchStream(connection)
        _OPEN.add(self)

    @property
    def endpoints(self) -> list[str]:
        """The endpoints this client fails over between, as URLs."""
        return [repr(endpoint) for endpoint in self._connection.endpoints]

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed()

    # ------------------------------------------------------------------ KV
    def put(self, key: bytes | str, value: bytes | str | None = None, *, lease: Any = None, prev_kv: bool = False,
            ignore_value: bool = False, ignore_lease: bool = False) -> PutResponse:
        """Set ``key`` to ``value`` in a new revision (etcd Put); see :meth:`kvstore.Store.put`."""
        self._check_open()
        command = Op.put(key, value, lease=lease, prev_kv=prev_kv, ignore_value=ignore_value,
                         ignore_lease=ignore_lease)
        size = len(command[1]) + len(command[2])
        if len(command[2]) > self._max_value_bytes:
            raise ValueTooLarge(len(command[2]), self._max_value_bytes)
        if size > self._max_request_bytes:
            raise RequestTooLarge(size, self._max_request_bytes)
        response = self._connection.call(lambda s: s.kv.Put, convert.put_request(command), idempotent=False,
                                          what="put", value_size=size, limit=self._max_request_bytes,
                                          lease=command[3], key=command[1],
                                          field="ignore_lease" if ignore_lease else "ignore_value")
        return convert.put_response(response)

    def get(self, key: bytes | str, *, revision: int | None = None, serializable: bool = False) -> KeyValue | None:
        """The live value of ``key`` (at ``revision`` if given), or None. ``serializable=True`` is etcd's
        serializable read: the member answers from its own state, without asking the leader (as the Raft
        member's ``get(serializable=True)``)."""
        response = self._range(Op.range(key, revision=revision), to_bool("serializable", serializable))
        return response.kvs[0] if response.kvs else None

    def range(self, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False,
              limit: int = 0, revision: int | None = None, sort_order: SortOrder = SortOrder.NONE,
              sort_target: SortTarget = SortTarget.KEY, keys_only: bool = False, count_only: bool = False,
              min_mod_revision: int = 0, max_mod_revision: int = 0, min_create_revision: int = 0,
              max_create_revision: int = 0, serializable: bool = False) -> RangeResponse:
        """etcd Range, linearizable unless ``serializable=True``; see :meth:`kvstore.Store.range`."""
        return self._range(Op.range(key, range_end, prefix=prefix, limit=limit, revision=revision,
                                    sort_order=sort_order, sort_target=sort_target, keys_only=keys_only,
                                    count_only=count_only, min_mod_revision=min_mod_revision,
                                    max_mod_revision=max_mod_revision, min_create_revision=min_create_revision,
                                    max_create_revision=max_create_revision), to_bool("serializable", serializable))

    def _range(self, command: Command, serializable: bool = False) -> RangeResponse:
        self._check_open()
        request = convert.range_request(command)
        if serializable:
            request.serializable = True
        try:
            response = self._connection.call(lambda s: s.kv.Range, request,
                                              idempotent=True, what="range", revision=command[3])
        except (Compacted, FutureRevision) as error:
            raise self._revision_error(error, "revision") from None
        return convert.range_response(response)

    def delete(self, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False,
               prev_kv: bool = False) -> DeleteResponse:
        """Delete a key or a range in one revision; see :meth:`kvstore.Store.delete`."""
        self._check_open()
        command = Op.delete(key, range_end, prefix=prefix, prev_kv=prev_kv)
        response = self._connection.call(lambda s: s.kv.DeleteRange, convert.delete_request(command),
                                          idempotent=False, what="delete")
        return convert.delete_response(response)

    def txn(self, compare: Iterable[Compare] = (), success: Iterable[Command] = (),
            failure: Iterable[Command] = ()) -> TxnResponse:
        """etcd Txn; see :meth:`kvstore.Store.txn`."""
        self._check_open()
        command = build_txn(compare, success, failure)
        error = check_txn_request(command, self._max_txn_ops, self._max_value_bytes, self._max_request_bytes,
                                  self._max_request_bytes)
        if error is not None:
            raise error
        try:
            response = self._connection.call(lambda s: s.kv.Txn, convert.txn_request(command), idempotent=False,
                                              what="txn", value_size=request_size(command)[0],
                                              limit=self._max_request_bytes)
        except TooManyOps:
            longest = max(len(command[1]), len(command[2]), len(command[3]))
            raise TooManyOps("request", longest, longest - 1) from None  # etcd's --max-txn-ops is lower
        except (Compacted, FutureRevision) as error:
            raise self._revision_error(error, "revision") from None
        return convert.txn_response(response)

    def compact(self, revision: int) -> int:
        """Drop history below ``revision`` (physically: etcd answers once it is gone); returns the store
        revision. :class:`Compacted` at or below the compact revision, :class:`FutureRevision` above the
        store revision, as the embedded store."""
        self._check_open()
        revision = to_int("revision", revision, minimum=1)
        try:
            # not resent after an ambiguous failure: a second compaction at the same revision is Compacted
            response = self._connection.call(lambda s: s.kv.Compact,
                                              rpc.CompactionRequest(revision=revision, physical=True),
                                              idempotent=False, what="compact", revision=revision)
        except (Compacted, FutureRevision) as error:
            raise self._revision_error(error, "revision") from None
        return int(response.header.revision)

    def _revision_error(self, error: KVError, field: str) -> KVError:
        """Fill in what etcd's error text leaves out: the compact revision, or the current revision."""
        try:
            if isinstance(error, Compacted):
                return Compacted(error.revision, self._compact_revision(), field)
            if isinstance(error, FutureRevision):
                return FutureRevision(error.revision, self.revision, field)
        except KVError:
            pass
        return error

    # ------------------------------------------------------------------ watch
    def watch(self, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False,
              start_revision: int | None = None, prev_kv: bool = False, filters: Iterable[WatchFilter] = (),
              progress_notify: bool = False, callback: Any = None) -> RemoteWatcher:
        """Watch a key or range; see :meth:`kvstore.Store.watch`. Returns once etcd confirmed the watch,
        so every revision after the call is delivered."""
        self._check_open()
        key_bytes, end = range_end_for(key, range_end, to_bool("prefix", prefix))
        start = 0 if start_revision is None else to_int("start_revision", start_revision, minimum=0)
        checked_filters = []
        for item in filters:
            try:
                checked_filters.append(WatchFilter(item))
            except ValueError:
                raise InvalidArgument(f"filters item {item!r} is not a WatchFilter") from None
        if callback is not None and not callable(callback):
            raise InvalidArgument(f"callback={callback!r} is not callable")
        with self._lock:
            watch_id = self._next_watch_id
            self._next_watch_id += 1
            watcher = RemoteWatcher(self._watch_stream, watch_id, key_bytes, end, start, to_bool("prev_kv", prev_kv),
                                    checked_filters, to_bool("progress_notify", progress_notify), self._forget,
                                    self._watch_queue_size)
            self._watchers[watch_id] = watcher
        if callback is not None:
            watcher._callback = callback
            watcher._dispatcher = self._dispatcher
        watcher._start(self._connection.timeout)
        return watcher

    def _forget(self, watcher: RemoteWatcher) -> None:
        with self._lock:
            self._watchers.pop(watcher.id, None)

    def request_progress(self) -> None:
        """Ask etcd for a progress notification on every watcher created with ``progress_notify=True``."""
        self._check_open()
        self._watch_stream.request_progress(None)

    # ------------------------------------------------------------------ leases
    def grant(self, ttl: int, *, id: int | None = None) -> Lease:
        """Grant a lease of ``ttl`` seconds (etcd LeaseGrant; etcd picks the ID unless ``id`` is given)."""
        self._check_open()
        ttl = to_int("ttl", ttl, minimum=1)
        if ttl > MAX_LEASE_TTL:
            raise LeaseTTLTooLarge(ttl, MAX_LEASE_TTL)
        lease_id = 0 if id is None else to_int("id", id, minimum=1)
        response = self._connection.call(lambda s: s.lease.LeaseGrant, rpc.LeaseGrantRequest(TTL=ttl, ID=lease_id),
                                          idempotent=lease_id != 0, what="lease grant", lease=lease_id)
        if response.error:
            raise KVError(f"etcd lease grant ttl={ttl}: {response.error}")
        return Lease(response.ID, response.TTL, self)

    def keepalive(self, id: int) -> Lease:
        """Restart the lease's TTL (one round of etcd's LeaseKeepAlive stream); returns its granted TTL."""
        self._check_open()
        lease_id = to_int("id", id, minimum=1)

        def one_round(stubs: Any) -> Any:
            def send(request: Any, *, timeout: float, metadata: Any) -> Any:
                stream = stubs.lease.LeaseKeepAlive(iter((request,)), timeout=timeout, metadata=metadata)
                try:
                    return next(stream)
                finally:
                    stream.cancel()
            return send

        response = self._connection.call(one_round, rpc.LeaseKeepAliveRequest(ID=lease_id), idempotent=True,
                                          what="lease keepalive", lease=lease_id)
        if response.TTL <= 0:
            raise LeaseNotFound(lease_id, "id")  # clientv3's ErrLeaseNotFound for a TTL of 0
        return Lease(response.ID, response.TTL, self)

    def revoke(self, id: int) -> int:
        """Revoke a lease and delete its keys in one revision; returns the store revision."""
        self._check_open()
        lease_id = to_int("id", id, minimum=1)
        try:
            response = self._connection.call(lambda s: s.lease.LeaseRevoke, rpc.LeaseRevokeRequest(ID=lease_id),
                                              idempotent=False, what="lease revoke", lease=lease_id)
        except LeaseNotFound:
            raise LeaseNotFound(lease_id, "id") from None
        return int(response.header.revision)

    def time_to_live(self, id: int, keys: bool = False) -> LeaseTimeToLive:
        """Remaining and granted TTL of a lease (``ttl=-1`` for an unknown lease, as etcd)."""
        self._check_open()
        lease_id = to_int("id", id, minimum=1)
        response = self._connection.call(lambda s: s.lease.LeaseTimeToLive,
                                          rpc.LeaseTimeToLiveRequest(ID=lease_id, keys=to_bool("keys", keys)),
                                          idempotent=True, what="lease time-to-live", lease=lease_id)
        if response.TTL == -1:
            return LeaseTimeToLive(lease_id, -1, 0, [])
        return LeaseTimeToLive(lease_id, response.TTL, response.grantedTTL, sorted(response.keys))

    def leases(self) -> list[Lease]:
        """Every live lease (etcd LeaseLeases), by ID, with its granted TTL."""
        self._check_open()
        response = self._connection.call(lambda s: s.lease.LeaseLeases, rpc.LeaseLeasesRequest(), idempotent=True,
                                          what="lease leases")
        found = []
        for status in sorted(response.leases, key=lambda lease: lease.ID):
            ttl = self.time_to_live(status.ID)
            if ttl.ttl != -1:
                found.append(Lease(status.ID, ttl.granted_ttl, self))
        return found

    def expire_leases(self) -> list[int]:
        """etcd's leader expires leases by itself: nothing to do here; returns ``[]``."""
        self._check_open()
        return []

    # ------------------------------------------------------------------ maintenance
    @property
    def revision(self) -> int:
        """The current store revision (one linearizable read)."""
        self._check_open()
        response = self._connection.call(lambda s: s.kv.Range, rpc.RangeRequest(key=_ANY_KEY, count_only=True),
                                          idempotent=True, what="revision")
        return int(response.header.revision)

    def _compact_revision(self) -> int:
        response = self._connection.call(lambda s: s.maintenance.HashKV, rpc.HashKVRequest(revision=0),
                                          idempotent=True, what="hash kv")
        return max(1, int(response.compact_revision))

    def status(self) -> Status:
        """Revision, compact revision, live keys, leases and the member's database size in bytes."""
        self._check_open()
        keys = self._connection.call(lambda s: s.kv.Range,
                                     rpc.RangeRequest(key=b"\x00", range_end=b"\x00", count_only=True),
                                     idempotent=True, what="status")
        leases = self._connection.call(lambda s: s.lease.LeaseLeases, rpc.LeaseLeasesRequest(), idempotent=True,
                                       what="status")
        member = self._connection.call(lambda s: s.maintenance.Status, rpc.StatusRequest(), idempotent=True,
                                       what="status")
        return Status(int(keys.header.revision), self._compact_revision(), int(keys.count), len(leases.leases),
                      int(member.dbSize))

    def hash_kv(self, revision: int = 0) -> int:
        """etcd's HashKV of the key space at ``revision`` (0: current): equal on members with equal
        histories; not comparable with the embedded store's hash (another function)."""
        self._check_open()
        revision = to_int("revision", revision, minimum=0)
        try:
            response = self._connection.call(lambda s: s.maintenance.HashKV, rpc.HashKVRequest(revision=revision),
                                              idempotent=True, what="hash kv", revision=revision)
        except (Compacted, FutureRevision) as error:
            raise self._revision_error(error, "revision") from None
        return int(response.hash)

    def save_snapshot(self) -> None:
        """etcd snapshots by itself (``--snapshot-count``): nothing to do here."""
        self._check_open()

    def close(self) -> None:
        """End every watcher and close the channels. Idempotent."""
        if self._closed:
            return
        self._closed = True
        _OPEN.discard(self)
        with self._lock:
            watchers = list(self._watchers.values())
        for watcher in watchers:
            watcher.cancel()
        self._watch_stream.close()
        self._dispatcher.stop()
        self._connection.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> EtcdStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<kvstore.EtcdStore endpoints={','.join(self.endpoints)} closed={self._closed}>"


