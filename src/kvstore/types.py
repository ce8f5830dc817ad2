"""The values the store hands out, shaped like etcd v3's protobuf messages.

All of them are immutable by convention (``__slots__``, no setters used by the store): a
:class:`KeyValue` returned by a read may be shared with the store's history and with every watcher.
"""
from __future__ import annotations

import enum
from typing import Any

from .errors import InvalidArgument

__all__ = [
    "KeyValue", "Event", "EventType", "PutResponse", "RangeResponse", "DeleteResponse", "TxnResponse",
    "WatchResponse", "WatchFilter", "Lease", "LeaseTimeToLive", "Status", "SortOrder", "SortTarget",
]


class KeyValue:
    """One revision of a key, as etcd's ``mvccpb.KeyValue``.

    ``version`` counts puts since the key was (re)created, starting at 1; deleting a key ends its life.
    ``lease`` is 0 when the key has no lease. A delete event carries a "tombstone" KeyValue: the key, the
    ``mod_revision`` of the delete and zeros elsewhere, exactly as etcd sends it.
    """

    __slots__ = ("key", "value", "create_revision", "mod_revision", "version", "lease")

    def __init__(self, key: bytes, value: bytes, create_revision: int, mod_revision: int, version: int,
                 lease: int = 0) -> None:
        self.key = key
        self.value = value
        self.create_revision = create_revision
        self.mod_revision = mod_revision
        self.version = version
        self.lease = lease

    def _astuple(self) -> tuple[bytes, bytes, int, int, int, int]:
        return (self.key, self.value, self.create_revision, self.mod_revision, self.version, self.lease)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyValue):
            return NotImplemented
        return self._astuple() == other._astuple()

    def __hash__(self) -> int:
        return hash(self._astuple())

    def __repr__(self) -> str:
        return (f"KeyValue(key={self.key!r}, value={self.value!r:.60}, create_revision={self.create_revision}, "
                f"mod_revision={self.mod_revision}, version={self.version}, lease={self.lease})")

    def with_value(self, value: bytes) -> KeyValue:
        """A copy with another value (``keys_only`` reads use ``b""``)."""
        return KeyValue(self.key, value, self.create_revision, self.mod_revision, self.version, self.lease)


class EventType(enum.IntEnum):
    """etcd's ``mvccpb.Event.EventType``: PUT = 0, DELETE = 1."""

    PUT = 0
    DELETE = 1


class Event:
    """One change seen by a watcher: ``type``, the ``kv`` after it, and ``prev_kv`` if asked for."""

    __slots__ = ("type", "kv", "prev_kv")

    def __init__(self, type: EventType, kv: KeyValue, prev_kv: KeyValue | None = None) -> None:
        self.type = type
        self.kv = kv
        self.prev_kv = prev_kv

    @property
    def revision(self) -> int:
        """The revision that produced this event (``kv.mod_revision``)."""
        return self.kv.mod_revision

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.type, self.kv, self.prev_kv) == (other.type, other.kv, other.prev_kv)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Event({self.type.name}, {self.kv!r}, prev_kv={self.prev_kv!r})"


class WatchFilter(enum.IntEnum):
    """etcd's ``WatchCreateRequest.FilterType``: drop put events, or drop delete events."""

    NOPUT = 0
    NODELETE = 1


class SortOrder(enum.IntEnum):
    """etcd's ``RangeRequest.SortOrder``."""

    NONE = 0
    ASCEND = 1
    DESCEND = 2


class SortTarget(enum.IntEnum):
    """etcd's ``RangeRequest.SortTarget``."""

    KEY = 0
    VERSION = 1
    CREATE = 2
    MOD = 3
    VALUE = 4


class _Record:
    """Shared ``__eq__``/``__repr__`` for the response records below."""

    __slots__ = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"


class PutResponse(_Record):
    """``revision`` of the put; ``prev_kv`` when asked for and the key existed."""

    __slots__ = ("revision", "prev_kv")

    def __init__(self, revision: int, prev_kv: KeyValue | None = None) -> None:
        self.revision = revision
        self.prev_kv = prev_kv


class RangeResponse(_Record):
    """``kvs`` found, ``count`` of keys in the range (before limit and revision filters, as etcd),
    ``more`` when ``limit`` cut the list, ``revision`` of the store when the read was served."""

    __slots__ = ("kvs", "count", "more", "revision")

    def __init__(self, kvs: list[KeyValue], count: int, more: bool, revision: int) -> None:
        self.kvs = kvs
        self.count = count
        self.more = more
        self.revision = revision


class DeleteResponse(_Record):
    """``deleted`` count; ``prev_kvs`` when asked for; ``revision`` after the delete (unchanged if none)."""

    __slots__ = ("deleted", "prev_kvs", "revision")

    def __init__(self, deleted: int, prev_kvs: list[KeyValue], revision: int) -> None:
        self.deleted = deleted
        self.prev_kvs = prev_kvs
        self.revision = revision


class TxnResponse(_Record):
    """``succeeded`` tells which branch ran; ``responses`` has one response per op of that branch."""

    __slots__ = ("succeeded", "responses", "revision")

    def __init__(self, succeeded: bool, responses: list[Any], revision: int) -> None:
        self.succeeded = succeeded
        self.responses = responses
        self.revision = revision


class WatchResponse(_Record):
    """One batch of a watch stream, as etcd's ``WatchResponse``: the ``events`` of one revision, or a
    progress notification (``progress_notify=True``, no events) carrying the store ``revision``."""

    __slots__ = ("events", "revision", "progress_notify")

    def __init__(self, events: tuple[Event, ...], revision: int, progress_notify: bool = False) -> None:
        self.events = events
        self.revision = revision
        self.progress_notify = progress_notify


class _Bound(_Record):
    """The store a record came from (not part of its value: equality and repr ignore it)."""

    __slots__ = ("_store",)


class Lease(_Bound):
    """A granted lease: its ``id`` and ``ttl`` in seconds.

    A lease returned by a store's ``grant``, ``keepalive`` or ``leases`` also answers python-etcd3's
    ``refresh()`` (``store.keepalive(id)``) and ``revoke()`` (``store.revoke(id)``).
    """

    __slots__ = ("id", "ttl")

    def __init__(self, id: int, ttl: int, store: Any = None) -> None:
        self.id = id
        self.ttl = ttl
        self._store = store

    def _bound_store(self) -> Any:
        if self._store is None:
            raise InvalidArgument(f"lease {self.id} was not returned by a store: call store.keepalive(id) "
                                  "or store.revoke(id)")
        return self._store

    def refresh(self) -> Lease:
        """Restart the lease's TTL (python-etcd3's ``Lease.refresh``; etcd's LeaseKeepAlive)."""
        return self._bound_store().keepalive(self.id)  # type: ignore[no-any-return]

    def revoke(self) -> int:
        """Revoke the lease and delete its keys (python-etcd3's ``Lease.revoke``); the store revision."""
        return self._bound_store().revoke(self.id)  # type: ignore[no-any-return]


class LeaseTimeToLive(_Record):
    """``ttl`` remaining (whole seconds, -1 when the lease does not exist, as etcd), ``granted_ttl``,
    and the attached ``keys`` when asked for."""

    __slots__ = ("id", "ttl", "granted_ttl", "keys")

    def __init__(self, id: int, ttl: int, granted_ttl: int, keys: list[bytes]) -> None:
        self.id = id
        self.ttl = ttl
        self.granted_ttl = granted_ttl
        self.keys = keys


class Status(_Record):
    """The store's ``revision``, ``compact_revision``, number of live ``keys``, ``leases`` and the
    ``db_size`` in bytes on disk (WAL segments and snapshots; 0 in memory)."""

    __slots__ = ("revision", "compact_revision", "keys", "leases", "db_size")

    def __init__(self, revision: int, compact_revision: int, keys: int, leases: int, db_size: int) -> None:
        self.revision = revision
        self.compact_revision = compact_revision
        self.keys = keys
        self.leases = leases
        self.db_size = db_size
