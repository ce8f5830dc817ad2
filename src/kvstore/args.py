"""Argument coercion shared by the public builders: bytes for keys and values, etcd's range ends.

Range ends are normalised once, here, to the form the state machine uses:
``None`` means "just this key", ``b""`` means "every key >= key" (etcd's ``range_end = "\\0"``),
anything else is an exclusive upper bound.
"""
from __future__ import annotations

from typing import Any

from .errors import EmptyKey, InvalidArgument, InvalidType
from .types import Lease

__all__ = ["to_bytes", "to_key", "range_end_for", "prefix_end", "to_int", "to_bool", "to_lease_id", "ALL_KEYS"]

ALL_KEYS = b""  # normalised form of etcd's range_end "\0"


def to_bytes(field: str, value: Any) -> bytes:
    """``value`` as bytes: bytes pass through, bytearray/memoryview are copied, str is UTF-8 encoded."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise InvalidType(field, value, "bytes or str")


def to_key(field: str, value: Any) -> bytes:
    """A non-empty key as bytes."""
    key = to_bytes(field, value)
    if not key:
        raise EmptyKey(field)
    return key


def prefix_end(prefix: bytes) -> bytes:
    """etcd's ``GetPrefixRangeEnd``: the smallest key greater than every key starting with ``prefix``;
    ``ALL_KEYS`` when no such key exists (the prefix is all 0xff bytes)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return ALL_KEYS


def range_end_for(key: Any, range_end: Any, prefix: bool, field: str = "key") -> tuple[bytes, bytes | None]:
    """Normalise ``(key, range_end, prefix)`` as etcd's client and server do.

    ``prefix=True`` on an empty key means every key (etcd's ``WithPrefix`` on ``""`` sends ``"\\0"``, ``"\\0"``).
    """
    if prefix:
        if range_end is not None:
            raise InvalidArgument("range_end and prefix=True are exclusive: pass one of them")
        raw = to_bytes(field, key)
        if not raw:
            return b"\x00", ALL_KEYS
        return raw, prefix_end(raw)
    key_bytes = to_key(field, key)
    if range_end is None:
        return key_bytes, None
    end = to_bytes("range_end", range_end)
    if end == b"\x00":
        return key_bytes, ALL_KEYS
    if not end:
        # etcd treats an empty range_end as "no range end": a single-key request
        return key_bytes, None
    return key_bytes, end


def to_int(field: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """An int (bools refused) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidType(field, value, "int")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{field}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidArgument(f"{field}={value} is above the maximum {maximum}")
    return int(value)


def to_bool(field: str, value: Any) -> bool:
    """A real bool (so a misplaced positional argument is caught)."""
    if not isinstance(value, bool):
        raise InvalidType(field, value, "bool")
    return value


def to_lease_id(lease: Any, field: str = "lease", minimum: int = 0) -> int:
    """A lease ID from an int or a granted :class:`kvstore.Lease` (python-etcd3 passes Lease objects)."""
    return to_int(field, lease.id if isinstance(lease, Lease) else lease, minimum=minimum)
