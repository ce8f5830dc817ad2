"""The values around the Registry: codecs, list pages, storage encoding, argument checks, retries."""
from __future__ import annotations

import copy
import datetime
from typing import Any, Callable, Mapping, Protocol

import msgpack

from .errors import Conflict, FieldError, ValidationError
from .labels import LabelSelector


# Where Registry.apply remembers the configuration it applied (kubectl's annotation).
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Codec(Protocol):
    """Turns objects into their JSON-shaped dicts and back (``objects.codec`` is the default)."""

    def to_dict(self, obj: Any) -> dict[str, Any]: ...

    def from_dict(self, d: dict[str, Any]) -> Any: ...


class _Unstructured:
    """A codec for plain dicts (like client-go's unstructured objects): copies in, copies out."""

    @staticmethod
    def to_dict(obj: Any) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise ValidationError(FieldError("<object>", "must be a JSON object (dict)", type(obj).__name__))
        return copy.deepcopy(obj)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> dict[str, Any]:
        return d


UNSTRUCTURED: Codec = _Unstructured()


class ObjectList:
    """One page of a list: ``items``, the ``resource_version`` it reflects, ``continue_`` (or None) and,
    as the API server, ``remaining_item_count`` (objects after this page; None when selectors filter)."""

    __slots__ = ("items", "resource_version", "continue_", "remaining_item_count")

    def __init__(self, items: list[Any], resource_version: str, continue_: str | None,
                 remaining_item_count: int | None = None) -> None:
        self.items = items
        self.resource_version = resource_version
        self.continue_ = continue_
        self.remaining_item_count = remaining_item_count

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"ObjectList({len(self.items)} items, resource_version={self.resource_version!r})"


# The last second formatted and its text: every create and bind of the same second writes the same stamp.
_LAST_STAMP: tuple[int, str] = (-1, "")


def now_rfc3339(clock: Callable[[], float]) -> str:
    """The clock's time as the API server writes timestamps (RFC 3339, seconds, UTC)."""
    global _LAST_STAMP
    now = clock()
    second = int(now)
    # Only where rounding to microseconds (fromtimestamp's) cannot carry into the next second.
    cacheable = now >= 0 and now - second < 0.999999
    last = _LAST_STAMP
    if cacheable and last[0] == second:
        return last[1]
    text = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if cacheable:
        _LAST_STAMP = (second, text)
    return text


def pack(d: Mapping[str, Any]) -> bytes:
    """The stored form of an object's dict: msgpack."""
    return msgpack.packb(d, use_bin_type=True)  # type: ignore[no-any-return]


def unpack(data: bytes) -> dict[str, Any]:
    """An object's dict from its stored form."""
    return msgpack.unpackb(data, raw=False, strict_map_key=False)  # type: ignore[no-any-return]


def meta_of(d: dict[str, Any]) -> dict[str, Any]:
    """``d["metadata"]``, created when absent; ValidationError when it is not an object."""
    meta = d.get("metadata")
    if meta is None:
        meta = d["metadata"] = {}
    elif not isinstance(meta, dict):
        raise ValidationError(FieldError("metadata", "must be an object", repr(meta)))
    return meta


def as_selector(value: Any, cls: Any) -> Any:
    """A LabelSelector / FieldSelector from itself, its string form, or (labels) its dict form."""
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, str):
        return cls.parse(value)
    if isinstance(value, dict) and cls is LabelSelector:
        return LabelSelector.from_dict(value)
    raise ValidationError(FieldError(cls.__name__, "must be a selector or its string form", repr(value)))


def check_segment(field: str, segment: Any) -> None:
    """path.ValidatePathSegmentName: whatever the codec, a name or namespace stays one key segment."""
    if segment is None:
        return
    if not isinstance(segment, str) or segment in (".", "..") or "/" in segment or "%" in segment:
        raise ValidationError(FieldError(field, "may not be '.' or '..' and may not contain '/' or '%'",
                                         segment if isinstance(segment, str) else repr(segment)))


def retry_on_conflict(action: Callable[[], Any], attempts: int = 100) -> Any:
    """``retry.RetryOnConflict``: run ``action`` until it does not raise Conflict (at most ``attempts``)."""
    for _ in range(attempts - 1):
        try:
            return action()
        except Conflict:
            continue
    return action()
