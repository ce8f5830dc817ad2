"""Long-lived gRPC channels to the etcd members, the auth token, and failover between endpoints.

One channel per endpoint, opened on first use and kept for the life of the client (as etcd's clientv3
keeps its connection). Requests go to the *current* endpoint; when it cannot be reached, or answers that
it has no leader, the client moves on to the next endpoint and sends again until the request's deadline.
A write is sent again only when etcd certainly did not apply it (the connection was never made, or the
member refused it before proposing, as clientv3's ``isSafeRetryMutableRPC``); otherwise it raises
:class:`~kvstore.errors.Timeout` ("may or may not have been applied") like the embedded Raft member does.
Reads are sent again on any transient error.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import grpc
from aetcd import rpc

from ..errors import InvalidArgument, KVError, NoLeader, StoreClosed, Timeout
from .endpoints import Endpoint
from .grpcerrors import AMBIGUOUS, AUTH_EXPIRED, FINAL, SAFE, details_of, map_error, retry_class

__all__ = ["Connection", "Stubs"]

# gRPC channel settings: no message size cap on our side (etcd enforces --max-request-bytes and reports
# it), and a short reconnect backoff so a member that comes back is used again within a second
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.enable_retries", 0),  # retries are ours: they must know what a write may do
]
_PAUSE_AFTER_A_ROUND = 0.05  # every endpoint failed once: wait a little before the next round


class Stubs:
    """The etcd v3 service stubs on one channel."""

    __slots__ = ("endpoint", "channel", "kv", "watch", "lease", "maintenance", "auth")

    def __init__(self, endpoint: Endpoint, channel: grpc.Channel) -> None:
        self.endpoint = endpoint
        self.channel = channel
        self.kv = rpc.KVStub(channel)
        self.watch = rpc.WatchStub(channel)
        self.lease = rpc.LeaseStub(channel)
        self.maintenance = rpc.MaintenanceStub(channel)
        self.auth = rpc.AuthStub(channel)


def _read_pem(field: str, value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, (str, Path)):
        try:
            return Path(value).read_bytes()
        except OSError as error:
            raise InvalidArgument(f"{field}={str(value)!r} cannot be read: {error.strerror}") from None
    raise InvalidArgument(f"{field} must be a file path or PEM bytes, got {type(value).__name__}")


class Connection:
    """Channels to ``endpoints`` with failover; ``call`` sends one unary request."""

    def __init__(self, endpoints: list[Endpoint], *, timeout: float, username: str | None,
                 password: str | None, ca_cert: Any, cert: Any, key: Any) -> None:
        if (username is None) != (password is None):
            raise InvalidArgument("username and password go together: give both or neither")
        if (cert is None) != (key is None):
            raise InvalidArgument("cert and key go together: give both or neither")
        self.endpoints = endpoints
        self.timeout = timeout
        self._username = username
        self._password = password
        self._credentials: grpc.ChannelCredentials | None = None
        if any(endpoint.tls for endpoint in endpoints):
            self._credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_pem("ca_cert", ca_cert), private_key=_read_pem("key", key),
                certificate_chain=_read_pem("cert", cert))
        self._lock = threading.Lock()
        self._stubs: dict[Endpoint, Stubs] = {}
        self._current = 0
        self._token: str | None = None
        self._metadata: tuple[tuple[str, str], ...] | None = None
        self._closed = False

    # ------------------------------------------------------------------ channels
    def stubs(self, index: int | None = None) -> Stubs:
        """The stubs of the current endpoint (or of ``endpoints[index]``), opening its channel once."""
        with self._lock:
            if self._closed:
                raise StoreClosed()
            endpoint = self.endpoints[self._current if index is None else index]
            stubs = self._stubs.get(endpoint)
            if stubs is None:
                if endpoint.tls:
                    channel = grpc.secure_channel(endpoint.target, self._credentials, options=_CHANNEL_OPTIONS)
                else:
                    channel = grpc.insecure_channel(endpoint.target, options=_CHANNEL_OPTIONS)
                stubs = self._stubs[endpoint] = Stubs(endpoint, channel)
            return stubs

    @property
    def current(self) -> int:
        return self._current

    def fail_over(self, from_index: int) -> None:
        """The endpoint at ``from_index`` failed: use the next one (unless another thread moved already)."""
        with self._lock:
            if self._current == from_index:
                self._current = (from_index + 1) % len(self.endpoints)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...] | None:
        """gRPC metadata of every request: the auth token when username/password were given."""
        if self._username is not None and self._metadata is None:
            self.authenticate()
        return self._metadata

    def authenticate(self, stale: str | None = None) -> None:
        """Get a token with the username and password (again, when ``stale`` is the token that expired)."""
        with self._lock:
            if self._token is not None and self._token != stale:
                return
        request = rpc.AuthenticateRequest(name=self._username, password=self._password)
        response = self._send(lambda stubs: stubs.auth.Authenticate, request, idempotent=True, metadata=None,
                              what="authenticate")
        with self._lock:
            self._token = response.token
            self._metadata = (("token", response.token),)

    # ------------------------------------------------------------------ requests
    def call(self, method: Any, request: Any, *, idempotent: bool, what: str, timeout: float | None = None,
             **facts: Any) -> Any:
        """Send ``request`` with ``method(stubs)`` (e.g. ``lambda s: s.kv.Put``); fail over as described in
        the module docstring. ``facts`` fill in the fields of a mapped error (see ``map_error``)."""
        metadata = self.metadata
        try:
            return self._send(method, request, idempotent=idempotent, metadata=metadata, what=what,
                              timeout=timeout, **facts)
        except _TokenExpired:
            self.authenticate(stale=metadata[0][1] if metadata else None)
            return self._send(method, request, idempotent=idempotent, metadata=self._metadata, what=what,
                              timeout=timeout, **facts)

    def _send(self, method: Any, request: Any, *, idempotent: bool, metadata: Any, what: str,
              timeout: float | None = None, **facts: Any) -> Any:
        budget = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        tried_in_round = 0
        last: grpc.RpcError | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            index = self._current
            stubs = self.stubs(index)
            try:
                return method(stubs)(request, timeout=remaining, metadata=metadata)
            except grpc.RpcError as error:
                kind = retry_class(error)
                if kind == AUTH_EXPIRED and metadata is not None:
                    raise _TokenExpired() from None
                if kind == FINAL or kind == AUTH_EXPIRED:
                    raise map_error(error, where=f" {stubs.endpoint!r} {what}", **facts) from None
                last = error
                if kind == AMBIGUOUS and not idempotent:
                    self.fail_over(index)
                    raise Timeout(f"etcd {stubs.endpoint!r} {what}: {details_of(error) or error.code()}: the "
                                  "request may or may not have been applied") from None
                assert kind in (SAFE, AMBIGUOUS)
                self.fail_over(index)
                tried_in_round += 1
                if tried_in_round >= len(self.endpoints):
                    tried_in_round = 0
                    time.sleep(min(_PAUSE_AFTER_A_ROUND, max(0.0, deadline - time.monotonic())))
        endpoints = ", ".join(repr(endpoint) for endpoint in self.endpoints)
        text = "" if last is None else f": last error {details_of(last) or last.code()}"
        if last is not None and "no leader" in details_of(last).lower():
            raise NoLeader(f"etcd {what}: no leader within {budget} s at {endpoints}{text}")
        raise Timeout(f"etcd {what}: no answer within {budget} s from {endpoints}{text}")

    def close(self) -> None:
        """Close every channel (their streams end). Idempotent."""
        with self._lock:
            self._closed = True
            stubs, self._stubs = list(self._stubs.values()), {}
        for each in stubs:
            each.channel.close()


class _TokenExpired(KVError):
    """Internal: the auth token expired; authenticate again and resend once."""
