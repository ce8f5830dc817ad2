"""borgkit kvstore: an etcd-v3-like MVCC key-value store to embed in a Python program.

    import kvstore
    with kvstore.open("/var/lib/app/kv") as store:          # durable; kvstore.open() keeps it in memory
        store.put(b"/config/a", b"1")
        store.get(b"/config/a").value                          # b"1"
        with store.watch(b"/config/", prefix=True) as w: ...

See docs/kvstore.md for the data model, the guarantees and a point-by-point comparison with etcd.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import (AuthFailed, Compacted, CorruptedError, DuplicateKey, EmptyKey, FutureRevision, InvalidArgument,
                     InvalidType, KeyNotFound, KeyTooLarge, KVError, LeaseError, LeaseExists, LeaseNotFound,
                     LeaseProvided, LeaseTTLTooLarge, NoLeader, NotReady, RequestTooLarge, RevisionError,
                     StoreClosed, Timeout, TooManyOps, ValueProvided, ValueTooLarge, WatchCanceled)
from .statemachine import StateMachine
from .store import (DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, DEFAULT_MAX_VALUE_BYTES,
                    Store)
from .txn import Compare, CompareResult, CompareTarget, Op
from .types import (DeleteResponse, Event, EventType, KeyValue, Lease, LeaseTimeToLive, PutResponse, RangeResponse,
                    SortOrder, SortTarget, Status, TxnResponse, WatchFilter, WatchResponse)
from .watch import Watcher

__all__ = [
    "open", "Store", "Watcher", "StateMachine", "Compare", "Op", "CompareTarget", "CompareResult",
    "KeyValue", "Event", "EventType", "PutResponse", "RangeResponse", "DeleteResponse", "TxnResponse",
    "WatchResponse", "WatchFilter", "Lease", "LeaseTimeToLive", "Status", "SortOrder", "SortTarget",
    "KVError", "InvalidArgument", "InvalidType", "EmptyKey", "ValueTooLarge", "TooManyOps", "DuplicateKey",
    "KeyNotFound", "ValueProvided", "LeaseProvided", "RevisionError", "Compacted", "FutureRevision",
    "LeaseError", "LeaseNotFound", "LeaseExists", "LeaseTTLTooLarge", "CorruptedError", "StoreClosed",
    "WatchCanceled", "NoLeader", "NotReady", "Timeout", "DEFAULT_MAX_VALUE_BYTES", "DEFAULT_MAX_TXN_OPS",
    "RequestTooLarge", "KeyTooLarge", "DEFAULT_MAX_KEY_BYTES", "DEFAULT_MAX_REQUEST_BYTES",
    "FSYNC_POLICIES", "connect", "AuthFailed",
]

FSYNC_POLICIES = ("always", "batch", "never")


def open(path: str | None = None, *, fsync: str = "always", clock: Callable[[], float] | None = None,
         max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES, max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
         snapshot_every: int | None = None, watch_queue_size: int = 1024, progress_notify_interval: float = 600.0,
         cluster: Any = None, max_key_bytes: int = DEFAULT_MAX_KEY_BYTES,
         max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, **options: Any) -> Any:
    """Open (or create) a store.

    ``path=None`` keeps everything in memory; a directory path makes it durable (WAL + snapshots; see
    docs/kvstore-wal.md). ``fsync``: ``"always"`` (a write returns after its record is fsynced),
    ``"batch"`` (group commit: concurrent writers share an fsync) or ``"never"`` (bytes handed to the OS).
    ``clock`` returns seconds (monotonic); when given, leases expire only when ``Store.expire_leases()``
    is called, so tests never sleep. ``snapshot_every``: WAL records between automatic snapshots (None:
    100,000; on a Raft member, log entries between Raft snapshots, None: ``Cluster.snapshot_entries``).
    ``max_key_bytes``, ``max_value_bytes``, ``max_request_bytes`` (a put's key + value, a txn's keys,
    values and range ends; etcd's ``--max-request-bytes``, 1.5 MiB by default) and ``max_txn_ops`` bound
    requests: one over a limit is refused, naming it, with nothing written.
    With ``cluster=`` the store is a Raft member: ``kvstore.replication.open(path, cluster=..., ...)``,
    which receives every option above.
    """
    if fsync not in FSYNC_POLICIES:
        raise InvalidArgument(f"fsync={fsync!r} is not one of {', '.join(FSYNC_POLICIES)}")
    if cluster is not None:
        from . import replication  # the Raft member lives in its own package, imported only when asked

        return replication.open(path, cluster=cluster, fsync=fsync, clock=clock, max_value_bytes=max_value_bytes,
                                max_txn_ops=max_txn_ops, snapshot_every=snapshot_every,
                                watch_queue_size=watch_queue_size, max_key_bytes=max_key_bytes,
                                max_request_bytes=max_request_bytes,
                                progress_notify_interval=progress_notify_interval, **options)
    from .embedded import EmbeddedEngine, recover

    state = StateMachine(max_txn_ops=max_txn_ops, max_value_bytes=max_value_bytes)
    wal = None
    if path is not None:
        from . import wal as wal_module

        unknown = sorted(set(options) - set(wal_module.OPEN_OPTIONS))
        if unknown:
            raise InvalidArgument(f"unknown options for a durable store: {', '.join(unknown)} (known: "
                                  f"{', '.join(wal_module.OPEN_OPTIONS)})")
        wal, snapshot, records = wal_module.open_wal(path, fsync=fsync, **options)
        try:
            recover(state, snapshot, records)
        except BaseException:
            wal.close()
            raise
    elif options:
        raise InvalidArgument(f"unknown options for an in-memory store: {', '.join(sorted(options))}")
    if snapshot_every is None:
        snapshot_every = 100_000
    engine = EmbeddedEngine(state, wal, snapshot_every=snapshot_every if path is not None else 0)
    store = Store(engine, clock=clock, max_value_bytes=max_value_bytes, max_txn_ops=max_txn_ops,
                  max_key_bytes=max_key_bytes, max_request_bytes=max_request_bytes,
                  watch_queue_size=watch_queue_size, progress_notify_interval=progress_notify_interval)
    state.leases.refresh((clock or _monotonic)())
    return store


def connect(endpoints: str | list[str], *, timeout: float = 5.0, username: str | None = None,
            password: str | None = None, ca_cert: Any = None, cert: Any = None, key: Any = None,
            max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES, max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
            max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, watch_queue_size: int = 1024) -> Any:
    """A client of a real etcd v3 cluster with the same methods, responses, errors and watches as the
    embedded :class:`Store` (see docs/kvstore-etcd.md). Needs ``pip install 'borgkit[etcd]'``.

    ``endpoints``: a list or a comma-separated string of ``host:port`` or URLs (``http://``, ``https://``);
    the client fails over between them. ``timeout``: seconds per request, failover included.
    ``username``/``password``: etcd's auth. ``ca_cert``, ``cert``, ``key``: PEM file paths or bytes
    (TLS; ``cert``/``key`` for client-certificate auth). ``max_value_bytes``, ``max_request_bytes`` (a
    put's key + value, a txn's keys and values) and ``max_txn_ops``: checked before sending, as the embedded
    store does; set them to the cluster's ``--max-request-bytes`` and ``--max-txn-ops``.
    ``watch_queue_size``: responses a watcher keeps for a slow consumer before its watch is detached (and
    created again from its next revision once the consumer has caught up).
    """
    try:
        from . import remote  # gRPC is loaded only by programs that connect to etcd
    except ImportError as error:
        raise ImportError(f"kvstore.connect needs the etcd extra: pip install 'borgkit[etcd]' ({error})") from error
    return remote.connect(endpoints, timeout=timeout, username=username, password=password, ca_cert=ca_cert,
                          cert=cert, key=key, max_value_bytes=max_value_bytes, max_txn_ops=max_txn_ops,
                          max_request_bytes=max_request_bytes, watch_queue_size=watch_queue_size)


def __getattr__(name: str) -> Any:
    # kvstore.Cluster and kvstore.Member live with the Raft member, imported (with pysyncobj) only when a
    # program asks for them, so embedded users never load it
    if name in ("Cluster", "Member"):
        from . import replication

        return getattr(replication, name)
    raise AttributeError(f"module 'kvstore' has no attribute {name!r}")


def _monotonic() -> float:
    import time

    return time.monotonic()

