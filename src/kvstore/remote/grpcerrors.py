"""etcd's gRPC errors mapped onto the kvstore hierarchy by meaning; no raw gRPC exception leaves the client.

etcd sends its errors as a gRPC status code plus one of the fixed texts of ``rpctypes`` (``etcdserver:
mvcc: required revision has been compacted``, ...). The text decides the kvstore error; the code only
decides what is left. Each error also gets a *retry class* (see :func:`retry_class`): whether the request
certainly did not reach etcd's Raft log (safe to send again, even a write), may have (only a read may be
sent again), or failed for good.
"""
from __future__ import annotations

from typing import Any

import grpc

from ..errors import (AuthFailed, Compacted, DuplicateKey, EmptyKey, FutureRevision, KeyNotFound, KVError, LeaseExists,
                      LeaseNotFound, LeaseProvided, LeaseTTLTooLarge, NoLeader, RequestTooLarge, Timeout, TooManyOps,
                      ValueProvided)

__all__ = ["AuthFailed", "details_of", "retry_class", "SAFE", "AMBIGUOUS", "FINAL", "AUTH_EXPIRED", "map_error"]

SAFE = "safe"            # not applied: send again on another endpoint, even a write
AMBIGUOUS = "ambiguous"  # may have been applied: a read is sent again, a write raises Timeout
FINAL = "final"          # etcd answered with an error: raise it
AUTH_EXPIRED = "auth"    # the token expired: authenticate again, then send again


def details_of(error: grpc.RpcError) -> str:
    details = error.details() if hasattr(error, "details") else None  # type: ignore[attr-defined]
    return str(details or "")


def code_of(error: grpc.RpcError) -> Any:
    return error.code() if hasattr(error, "code") else None  # type: ignore[attr-defined]


# texts etcd returns when the member refused the request before proposing it (nothing applied)
# (etcd's gRPC interceptor checks for a leader before the request reaches the server). Not "server
# stopped": processInternalRaftRequestOnce also answers ErrStopped after the proposal, when the member
# stops while waiting for its apply, and the rest of the cluster may commit it.
_NOT_PROPOSED = ("etcdserver: no leader", "etcdserver: not capable", "etcdserver: too many requests")
# the connection was never made: the request was not sent
_NOT_SENT = ("failed to connect", "connection refused", "name resolution", "dns resolution failed",
             "no address", "connect failed", "getaddrinfo")


def retry_class(error: grpc.RpcError) -> str:
    """How the client may go on after ``error`` (one of SAFE, AMBIGUOUS, FINAL, AUTH_EXPIRED)."""
    code = code_of(error)
    text = details_of(error)
    lower = text.lower()
    if "invalid auth token" in lower or "auth: revision in header is old" in lower:
        return AUTH_EXPIRED
    if code == grpc.StatusCode.UNAVAILABLE:
        if text.startswith(_NOT_PROPOSED):
            return SAFE
        # anything else unavailable ("leader changed", a connection reset mid-call) may have been applied
        if any(needle in lower for needle in _NOT_SENT):
            return SAFE
        return AMBIGUOUS
    if code == grpc.StatusCode.DEADLINE_EXCEEDED or code == grpc.StatusCode.CANCELLED:
        return AMBIGUOUS
    if text.startswith("etcdserver: request timed out"):
        return AMBIGUOUS
    return FINAL


def map_error(error: grpc.RpcError, *, value_size: int = 0, limit: int = 0, revision: int = 0,
              lease: int = 0, key: bytes = b"", field: str = "ignore_value", where: str = "") -> KVError:
    """The kvstore error for a FINAL (or exhausted) etcd error. Extra facts of the request fill in the
    fields the embedded store's errors carry (the value size and limit, the revision, the lease)."""
    code = code_of(error)
    text = details_of(error)
    lower = text.lower()
    if "required revision has been compacted" in lower:
        return Compacted(revision, 0)  # the caller fills compact_revision when it can read it
    if "required revision is a future revision" in lower:
        return FutureRevision(revision, 0)
    if "too many operations in txn request" in lower:
        return TooManyOps("request", 0, 0)  # the caller knows the counts
    if "request is too large" in lower or (code == grpc.StatusCode.RESOURCE_EXHAUSTED
                                          and "larger than max" in lower):
        return RequestTooLarge(value_size, limit)  # the request's keys and values, etcd's --max-request-bytes
    if "duplicate key given in txn request" in lower:
        return DuplicateKey(key)
    if "key is not provided" in lower:
        return EmptyKey()
    if "requested lease not found" in lower:
        return LeaseNotFound(lease)
    if "lease already exists" in lower:
        return LeaseExists(lease)
    if "too large lease ttl" in lower:
        return LeaseTTLTooLarge(0, 0)
    if "value is provided" in lower:
        return ValueProvided(key)
    if "lease is provided" in lower:
        return LeaseProvided(key, lease)
    if "key not found" in lower:
        return KeyNotFound(key, field)
    if any(word in lower for word in ("authentication failed", "permission denied", "user name is empty",
                                      "user name not found", "invalid auth token", "invalid auth management",
                                      "authentication is not enabled", "user not found")):
        return AuthFailed(f"etcd{where}: {text} (gRPC {getattr(code, 'name', code)})")
    if code == grpc.StatusCode.UNAVAILABLE and ("no leader" in lower or "leader changed" in lower
                                                 or "not capable" in lower):
        return NoLeader(f"etcd{where}: {text}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED) \
            or "request timed out" in lower:
        return Timeout(f"etcd{where}: {text or code}: the request may or may not have been applied")
    return KVError(f"etcd{where}: {text} (gRPC {getattr(code, 'name', code)})")
