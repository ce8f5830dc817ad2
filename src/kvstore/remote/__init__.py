"""``kvstore.connect()``: the kvstore API on a real etcd v3 cluster, over etcd's gRPC API.

Imported only by :func:`kvstore.connect`: the embedded store never loads gRPC. Needs the ``etcd`` extra
(``pip install 'borgkit[etcd]'``), which brings aetcd: its generated etcd v3 protobuf/gRPC stubs
(``aetcd.rpc``) are used on synchronous gRPC channels. See docs/kvstore-etcd.md.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InvalidArgument
from ..store import DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, DEFAULT_MAX_VALUE_BYTES
from .client import EtcdStore
from .connection import Connection
from .endpoints import Endpoint, parse_endpoints
from .grpcerrors import AuthFailed
from .watcher import RemoteWatcher

__all__ = ["connect", "EtcdStore", "RemoteWatcher", "Endpoint", "AuthFailed", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 5.0  # seconds per request, failover included (etcdctl's --command-timeout default)

PemSource = str | Path | bytes | None


def connect(endpoints: str | list[str], *, timeout: float = DEFAULT_TIMEOUT, username: str | None = None,
            password: str | None = None, ca_cert: PemSource = None, cert: PemSource = None,
            key: PemSource = None, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
            max_txn_ops: int = DEFAULT_MAX_TXN_OPS, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
            watch_queue_size: int = 1024) -> EtcdStore:
    """See :func:`kvstore.connect`."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgument(f"timeout={timeout!r} must be a number of seconds above 0")
    tls = ca_cert is not None or cert is not None
    parsed = parse_endpoints(endpoints, tls_default=tls)
    for name, value in (("username", username), ("password", password)):
        if value is not None and not isinstance(value, str):
            raise InvalidArgument(f"{name} must be a str, got {type(value).__name__}")
    connection = Connection(parsed, timeout=float(timeout), username=username, password=password,
                            ca_cert=ca_cert, cert=cert, key=key)
    return EtcdStore(connection, max_value_bytes=max_value_bytes, max_txn_ops=max_txn_ops,
                     max_request_bytes=max_request_bytes, watch_queue_size=watch_queue_size)


