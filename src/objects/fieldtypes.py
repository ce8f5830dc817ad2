"""Field types: how one JSON value of a model is read (appending every problem) and written back.

Each type's ``parse(value, parent, key, errs)`` returns the Python value (None when unusable) and appends a
:class:`FieldError` per problem, with the path built only when there is one to report; ``emit`` is None
when the value is written as it is.

Strings read are interned (``sys.intern``): a decoded object's strings are mostly the same few values
(namespaces, label values, images, owner names and uids, condition types, timestamps of one second), and
every decode would otherwise hold copies of its own; at 150,000 pods they were a third of a pod's memory.
Interned strings are freed as any other when nothing holds them.
"""
from __future__ import annotations

import math
from sys import intern
from typing import Any, Callable, ClassVar, Iterable

from .errors import FieldError, ValidationError
from .listmemo import list_memo

__all__ = ["Check", "Errors", "INT32", "INT64", "join", "json_type", "type_error", "FieldType", "Str", "Enum",
           "Int", "Bool", "IntOrString", "StrList", "StrMap", "Nested", "Value", "ListOf", "Raw", "as_field_type",
           "check_json", "check_json_at", "copy_json", "report_duplicates"]

Check = Callable[[Any], "list[str]"]
Errors = list[FieldError]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_MAX_RAW_DEPTH = 64


def join(parent: str, key: str | int) -> str:
    """The field path of ``key`` under ``parent`` as the API server prints it (``a.b[0].c``)."""
    if type(key) is int:
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def report_duplicates(items: Iterable[Any], identity: Callable[[Any], Any], path: Callable[[int], str],
                      errs: Errors, shown: Callable[[Any], Any] | None = None, message: str = "") -> None:
    """field.Duplicate for every item whose ``identity`` an earlier item had (None items and identities
    are skipped: they were reported as invalid already, or are unset)."""
    seen: set[Any] = set()
    for i, item in enumerate(items):
        key = None if item is None else identity(item)
        if key is None:
            continue
        if key in seen:
            errs.append(FieldError(path(i), message, key if shown is None else shown(item), "Duplicate value"))
        seen.add(key)


def json_type(value: Any) -> str:
    """The JSON type name of a Python value, for "must be of type" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def type_error(parent: str, key: str | int, value: Any, expected: str) -> FieldError:
    """The error for a value of the wrong JSON type."""
    return FieldError(join(parent, key), f"must be of type {expected}", json_type(value))


# ---------------------------------------------------------------------------------------------------------
# Field types: each knows how to read one JSON value (appending errors) and how to write it back.


class FieldType:
    """How one JSON value is read and written.  ``emit`` is None when the value is written as it is."""

    __slots__ = ()
    emit: Callable[[Any], Any] | None = None

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        raise NotImplementedError


class Str(FieldType):
    """A string, optionally checked by ``check(value) -> list of problems``."""

    __slots__ = ("check",)

    def __init__(self, check: Check | None = None) -> None:
        self.check = check

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not str:
            errs.append(type_error(parent, key, value, "string"))
            return None
        if self.check is not None:
            for problem in self.check(value):
                errs.append(FieldError(join(parent, key), problem, value))
        return intern(value)


class Enum(FieldType):
    """A string out of a fixed set, reported as the API server's "Unsupported value"."""

    __slots__ = ("values", "message")

    def __init__(self, *values: str) -> None:
        self.values = frozenset(values)
        self.message = "supported values: " + ", ".join(f'"{v}"' for v in sorted(values))

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not str:
            errs.append(type_error(parent, key, value, "string"))
            return None
        if value not in self.values:
            errs.append(FieldError(join(parent, key), self.message, value, "Unsupported value"))
        return intern(value)


class Int(FieldType):
    """An integer within ``[low, high]`` (int32 unless told); booleans and floats are refused."""

    __slots__ = ("low", "high", "message")

    def __init__(self, low: int = INT32[0], high: int = INT32[1]) -> None:
        self.low, self.high = low, high
        if (low, high) in (INT32, INT64):
            self.message = f"must be between {low} and {high}, inclusive"
        elif high in (INT32[1], INT64[1]):
            self.message = f"must be greater than or equal to {low}"
        else:
            self.message = f"must be between {low} and {high}, inclusive"

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not int:
            if isinstance(value, float) and value.is_integer() and self.low <= value <= self.high:
                return int(value)  # JSON has one number type: 3.0 is the integer 3
            errs.append(type_error(parent, key, value, "integer"))
            return None
        if not self.low <= value <= self.high:
            message = self.message
            if value > self.high and self.high in (INT32[1], INT64[1]) and self.low not in (INT32[0], INT64[0]):
                # above a type's bound: name that bound, not the lower one the message speaks of
                bits = 32 if self.high == INT32[1] else 64
                message = f"must be less than or equal to {self.high} (the int{bits} maximum)"
            errs.append(FieldError(join(parent, key), message, value))
        return value


class Bool(FieldType):
    """A JSON boolean."""

    __slots__ = ()

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not bool:
            errs.append(type_error(parent, key, value, "boolean"))
            return None
        return value


class IntOrString(FieldType):
    """Kubernetes' IntOrString (``targetPort``, ``maxUnavailable``): an int32 or a string."""

    __slots__ = ("check",)

    def __init__(self, check: Check | None = None) -> None:
        self.check = check

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is int:
            if not INT32[0] <= value <= INT32[1]:
                errs.append(FieldError(join(parent, key),
                                       f"must be between {INT32[0]} and {INT32[1]}, inclusive", value))
        elif type(value) is not str:
            errs.append(type_error(parent, key, value, "integer or string"))
            return None
        if self.check is not None:
            for problem in self.check(value):
                errs.append(FieldError(join(parent, key), problem, value))
        return intern(value) if type(value) is str else value


class StrList(FieldType):
    """A list of strings, each optionally checked."""

    __slots__ = ("check",)
    collection: ClassVar[type] = list
    emit = staticmethod(list)

    def __init__(self, check: Check | None = None) -> None:
        self.check = check

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not list:
            errs.append(type_error(parent, key, value, "array"))
            return None
        check = self.check
        for i, item in enumerate(value):
            if type(item) is not str:
                errs.append(type_error(join(parent, key), i, item, "string"))
            elif check is not None:
                for problem in check(item):
                    errs.append(FieldError(join(join(parent, key), i), problem, item))
        return [intern(item) for item in value if type(item) is str]


class StrMap(FieldType):
    """A map of string to string (labels, annotations, nodeSelector, data), keys and values checked."""

    __slots__ = ("key_check", "value_check")
    collection: ClassVar[type] = dict
    emit = staticmethod(dict)

    def __init__(self, key_check: Check | None = None, value_check: Check | None = None) -> None:
        self.key_check, self.value_check = key_check, value_check

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not dict:
            errs.append(type_error(parent, key, value, "object"))
            return None
        key_check, value_check = self.key_check, self.value_check
        for k, v in value.items():
            if type(k) is not str:
                errs.append(FieldError(join(parent, key), "keys must be strings", repr(k)))
                continue
            if key_check is not None:
                for problem in key_check(k):
                    errs.append(FieldError(join(parent, key), problem, k))
            if type(v) is not str:
                errs.append(type_error(join(parent, key), k, v, "string"))
            elif value_check is not None:
                for problem in value_check(v):  # the API server reports label values at the map's path
                    errs.append(FieldError(join(parent, key), problem, v))
        return {k: intern(v) if type(v) is str else v for k, v in value.items()}


class Nested(FieldType):
    """A nested model object."""

    __slots__ = ("cls",)

    def __init__(self, cls: Any) -> None:  # a Model subclass
        self.cls = cls

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        return self.cls._read(value, parent, key, errs)

    @staticmethod
    def emit(value: Any) -> Any:
        return value.to_dict()


class Value(FieldType):
    """A value class with ``from_dict(value, path)`` (raising ValidationError) and ``to_dict()``."""

    __slots__ = ("cls", "expected")

    def __init__(self, cls: Any, expected: str = "object") -> None:
        self.cls = cls
        self.expected = expected

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        path = join(parent, key)
        before = len(errs)
        check_json(value, path, errs)  # value classes keep unknown fields: they must be storable JSON
        if len(errs) > before:
            return None
        try:
            return self.cls.from_dict(value, path)
        except ValidationError as e:
            errs.extend(e.errors)
        except RecursionError:
            errs.append(FieldError(path, "is nested too deeply", json_type(value)))
        except Exception as e:  # noqa: BLE001 - a value class must never leak a crash for bad input
            errs.append(FieldError(path, str(e) or f"must be a valid {self.expected}", json_type(value)))
        return None

    @staticmethod
    def emit(value: Any) -> Any:
        return value.to_dict()


def as_field_type(ftype: FieldType | type) -> FieldType:
    """A model class (one with ``_read``) reads as Nested, any other class as a Value."""
    if isinstance(ftype, type):
        return Nested(ftype) if hasattr(ftype, "_read") else Value(ftype)
    return ftype


class ListOf(FieldType):
    """A list of nested models or values."""

    __slots__ = ("item", "item_emit", "memo")
    collection: ClassVar[type] = list

    def __init__(self, item: FieldType | type) -> None:
        self.item = item = as_field_type(item)
        self.item_emit = item.emit
        self.memo = list_memo(item.cls, _SCALARS) if isinstance(item, Nested) else None

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not list:
            errs.append(type_error(parent, key, value, "array"))
            return None
        memo = self.memo
        content = None
        if memo is not None and value:
            content = memo.key(value)
            if content is not None:
                hit = memo.get(content)
                if hit is not None:
                    return hit
        path = join(parent, key)
        parse = self.item.parse
        before = len(errs)
        items = [parse(v, path, i, errs) for i, v in enumerate(value)]
        if content is not None and len(errs) == before:
            memo.put(content, items)  # type: ignore[union-attr]
        return items

    def emit(self, value: Any) -> Any:  # type: ignore[override]
        item_emit = self.item_emit
        if item_emit is None:
            return list(value)
        return [item_emit(v) for v in value]


class Raw(FieldType):
    """Any JSON value, kept as it is (checked to be plain JSON: str, int, float, bool, None, list, dict)."""

    __slots__ = ()

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        return check_json_at(value, parent, key, errs)

    @staticmethod
    def emit(value: Any) -> Any:
        return copy_json(value)


_SCALARS = (Str, Enum, Int, Bool, IntOrString)  # field types whose value a shallow copy of a model copies


def check_json(value: Any, path: str, errs: Errors, depth: int = 0) -> Any:
    """A private copy of ``value``, appending an error for anything JSON (and msgpack) cannot carry."""
    t = type(value)
    if t is str:
        return intern(value)
    if t is dict or t is list:
        try:
            return _copy_checked(value, depth)
        except _Unfit:
            pass
    return _check_json_walk(value, path, errs, depth)


def check_json_at(value: Any, parent: str, key: str | int, errs: Errors) -> Any:
    """``check_json(value, join(parent, key), errs)``, the path built only when there is a problem."""
    t = type(value)
    if t is str:
        return intern(value)
    if t is dict or t is list:
        try:
            return _copy_checked(value, 0)
        except _Unfit:
            pass
    return _check_json_walk(value, join(parent, key), errs)


class _Unfit(Exception):
    """A raw value holds something check_json reports: the walk with paths names it."""


_LOW, _HIGH = INT64[0], 2**64 - 1
_isfinite = math.isfinite


def _copy_checked(value: Any, depth: int) -> Any:
    """What check_json returns for the list or dict ``value`` at ``depth`` when nothing in it is to be
    reported, built without a path per value (most raw values are fine: the paths were most of the work);
    raises _Unfit at the first problem."""
    if depth >= _MAX_RAW_DEPTH:
        raise _Unfit
    depth += 1
    if type(value) is dict:
        out = {}
        for k, v in value.items():
            t = type(v)
            if type(k) is not str:
                raise _Unfit
            if t is str:
                out[k] = intern(v)
            elif t is dict or t is list:
                out[k] = _copy_checked(v, depth)
            elif t is bool or v is None or (t is int and _LOW <= v <= _HIGH) or (t is float and _isfinite(v)):
                out[k] = v
            else:
                raise _Unfit
        return out
    items = []
    append = items.append
    for v in value:
        t = type(v)
        if t is str:
            append(intern(v))
        elif t is dict or t is list:
            append(_copy_checked(v, depth))
        elif t is bool or v is None or (t is int and _LOW <= v <= _HIGH) or (t is float and _isfinite(v)):
            append(v)
        else:
            raise _Unfit
    return items


def _check_json_walk(value: Any, path: str, errs: Errors, depth: int = 0) -> Any:
    """check_json walking every value with its path: the reference, and the way a value with a problem is
    reported."""
    t = type(value)
    if t is str:
        return intern(value)
    if t is bool or value is None:
        return value
    if t is int:
        if not INT64[0] <= value <= 2**64 - 1:
            errs.append(FieldError(path, "must be a number that fits in 64 bits", value))
        return value
    if t is float:
        if not math.isfinite(value):
            errs.append(FieldError(path, "must be a finite number", str(value)))
        return value
    if depth >= _MAX_RAW_DEPTH:
        errs.append(FieldError(path, f"must be nested at most {_MAX_RAW_DEPTH} levels deep", json_type(value)))
        return None
    if t is list:
        return [_check_json_walk(v, f"{path}[{i}]", errs, depth + 1) for i, v in enumerate(value)]
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                errs.append(FieldError(path, "keys must be strings", repr(k)))
            else:
                out[k] = _check_json_walk(v, join(path, k), errs, depth + 1)
        return out
    errs.append(FieldError(path, "must be a JSON value", t.__name__))
    return None


def copy_json(value: Any) -> Any:
    """A copy of plain JSON sharing nothing mutable with ``value`` (objects never share state with callers)."""
    t = type(value)
    if t is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if t is list:
        return [copy_json(v) for v in value]
    return value
