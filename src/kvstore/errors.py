"""The kvstore exception hierarchy: every error the store raises is a :class:`KVError`.

Errors are plain values too: the state machine never raises, it *returns* one of these instances and the
store raises it in the caller's thread. Each message names the field, the value and the limit involved.
The names follow etcd's error strings (``mvcc: required revision has been compacted`` becomes
:class:`Compacted`, ``etcdserver: duplicate key given in txn request`` becomes :class:`DuplicateKey`, ...).
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "KVError", "InvalidArgument", "InvalidType", "EmptyKey", "RequestTooLarge", "KeyTooLarge", "ValueTooLarge",
    "TooManyOps", "DuplicateKey",
    "KeyNotFound", "ValueProvided", "LeaseProvided", "RevisionError", "Compacted", "FutureRevision",
    "LeaseError", "LeaseNotFound", "LeaseExists", "LeaseTTLTooLarge", "CorruptedError", "StoreClosed",
    "WatchCanceled", "NoLeader", "NotReady", "Timeout", "AuthFailed",
]


class KVError(Exception):
    """Root of every error raised by :mod:`kvstore`."""


class InvalidArgument(KVError, ValueError):
    """A request argument is malformed or out of its allowed range; nothing was written."""


class InvalidType(InvalidArgument, TypeError):
    """A request argument has the wrong Python type (for example a key that is neither bytes nor str)."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        super().__init__(f"{field} must be {expected}, got {type(value).__name__} {value!r:.80}")
        self.field = field
        self.value = value


class EmptyKey(InvalidArgument):
    """etcd's ``etcdserver: key is not provided``: keys must be at least one byte long."""

    def __init__(self, field: str = "key") -> None:
        super().__init__(f"{field} is empty: keys must be at least 1 byte (etcd: key is not provided)")
        self.field = field


class RequestTooLarge(InvalidArgument):
    """A request (its keys, values and range ends together) larger than the store's ``max_request_bytes``
    (etcd: request is too large; etcd's ``--max-request-bytes`` defaults to 1.5 MiB)."""

    def __init__(self, size: int, limit: int, field: str = "request", option: str = "max_request_bytes") -> None:
        super().__init__(f"{field} is {size} bytes, over the limit {option}={limit} (etcd: request is too large)")
        self.field = field
        self.size = size
        self.limit = limit
        self.option = option


class KeyTooLarge(RequestTooLarge):
    """A key longer than the store's ``max_key_bytes``."""

    def __init__(self, size: int, limit: int, field: str = "key") -> None:
        super().__init__(size, limit, field, "max_key_bytes")


class ValueTooLarge(RequestTooLarge):
    """A value is larger than the store's ``max_value_bytes`` (etcd: request is too large)."""

    def __init__(self, size: int, limit: int, field: str = "value") -> None:
        super().__init__(size, limit, field, "max_value_bytes")


class TooManyOps(InvalidArgument):
    """A transaction list (compare, success or failure) holds more than ``max_txn_ops`` entries."""

    def __init__(self, field: str, count: int, limit: int) -> None:
        super().__init__(f"txn {field} has {count} operations, over the limit max_txn_ops={limit} "
                         "(etcd: too many operations in txn request)")
        self.field = field
        self.count = count
        self.limit = limit


class DuplicateKey(InvalidArgument):
    """etcd's rule: a transaction may not put the same key twice, nor put a key it also deletes."""

    def __init__(self, key: bytes) -> None:
        super().__init__(f"txn writes key {key!r} more than once (etcd: duplicate key given in txn request)")
        self.key = key


class KeyNotFound(InvalidArgument):
    """``put(..., ignore_value=True)`` or ``ignore_lease=True`` on a key that does not exist."""

    def __init__(self, key: bytes, field: str) -> None:
        super().__init__(f"{field}=True needs an existing key, but key {key!r} does not exist "
                         "(etcd: key not found)")
        self.key = key
        self.field = field


class ValueProvided(InvalidArgument):
    """``put(..., ignore_value=True)`` with a non-empty value (etcd: value is provided)."""

    def __init__(self, key: bytes) -> None:
        super().__init__(f"put of key {key!r} has ignore_value=True and a non-empty value "
                         "(etcd: value is provided)")
        self.key = key


class LeaseProvided(InvalidArgument):
    """``put(..., ignore_lease=True)`` with a lease (etcd: lease is provided)."""

    def __init__(self, key: bytes, lease: int) -> None:
        super().__init__(f"put of key {key!r} has ignore_lease=True and lease={lease} (etcd: lease is provided)")
        self.key = key
        self.lease = lease


class RevisionError(KVError):
    """A revision outside the store's retained history (compacted or not yet written)."""


class Compacted(RevisionError):
    """The requested revision is older than the compact revision (etcd: required revision has been compacted)."""

    def __init__(self, revision: int, compact_revision: int, field: str = "revision") -> None:
        super().__init__(f"{field}={revision} has been compacted: the compact revision is {compact_revision}")
        self.revision = revision
        self.compact_revision = compact_revision
        self.field = field


class FutureRevision(RevisionError):
    """The requested revision is newer than the store's revision (etcd: required revision is a future revision)."""

    def __init__(self, revision: int, current_revision: int, field: str = "revision") -> None:
        super().__init__(f"{field}={revision} is a future revision: the current revision is {current_revision}")
        self.revision = revision
        self.current_revision = current_revision
        self.field = field


class LeaseError(KVError):
    """A lease request failed."""


class LeaseNotFound(LeaseError):
    """No lease with this ID exists (it was never granted, was revoked or has expired)."""

    def __init__(self, lease_id: int, field: str = "lease") -> None:
        super().__init__(f"{field}={lease_id}: lease not found")
        self.lease_id = lease_id
        self.field = field


class LeaseExists(LeaseError):
    """``grant(ttl, id=...)`` with an ID that is already in use."""

    def __init__(self, lease_id: int) -> None:
        super().__init__(f"id={lease_id}: lease already exists")
        self.lease_id = lease_id


class LeaseTTLTooLarge(LeaseError, InvalidArgument):
    """A TTL above etcd's MaxLeaseTTL (9,000,000,000 seconds)."""

    def __init__(self, ttl: int, limit: int) -> None:
        super().__init__(f"ttl={ttl} is over the limit max_lease_ttl={limit} (etcd: too large lease TTL)")
        self.ttl = ttl
        self.limit = limit


class CorruptedError(KVError):
    """Stored data is damaged (not a torn tail): names the file and the byte offset."""

    def __init__(self, message: str, path: str | None = None, offset: int | None = None) -> None:
        where = "" if path is None else f" in {path}" + ("" if offset is None else f" at offset {offset}")
        super().__init__(message + where)
        self.path = path
        self.offset = offset


class StoreClosed(KVError):
    """The store was closed; no further requests are accepted."""

    def __init__(self) -> None:
        super().__init__("the store is closed")


class WatchCanceled(KVError):
    """The watcher was canceled (by ``cancel()`` or by closing the store)."""


class NoLeader(KVError):
    """Replicated store: no Raft leader is known, the request cannot be proposed."""


class NotReady(KVError):
    """Replicated store: this member is not ready to serve the request yet."""


class Timeout(KVError):
    """A request did not complete within its deadline; it may or may not have been applied."""


class AuthFailed(KVError):
    """``kvstore.connect()``: etcd refused the credentials or the permission (authentication failed,
    permission denied, a user name is needed, ...); the message carries etcd's text."""
