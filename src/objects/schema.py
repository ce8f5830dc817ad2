"""Declare a model once; its field table drives construction, reading, validation and writing.

A model class lists ``FIELDS`` (``Field(attr, type)``); the :func:`model` decorator turns it into a
``__slots__`` class with a generated ``__init__`` and a table-driven reader.  Reading walks the *input*
dict once (not the field list), so an object costs one dict lookup per field present; every problem is
appended to an error list with its field path instead of stopping at the first one.

Empty-value rules (as the API server writes JSON):
- unset scalars are ``None`` and are not written;
- list and map fields are ``[]`` / ``{}`` when unset and are not written while empty (``omitempty``);
- nested-object fields marked ``always`` (``metadata``, ``spec``, ``status``, ``resources``) are never
  ``None``: when absent they hold a fresh empty object marked absent (its ``unknown_fields`` is
  :data:`ABSENT`), written back only if something was put in it, while an object that was present, even
  ``{}``, is written back as it came.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Iterable, TypeVar

from .errors import FieldError, ValidationError

Check = Callable[[Any], "list[str]"]
Errors = list[FieldError]
M = TypeVar("M", bound="Model")

# The unknown_fields of an object that stands in for an absent one (an immutable, empty mapping).
ABSENT: Any = MappingProxyType({})

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_MAX_RAW_DEPTH = 64


def join(parent: str, key: str | int) -> str:
    """The field path of ``key`` under ``parent`` as the API server prints it (``a.b[0].c``)."""
    if type(key) is int:
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


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
        return value


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
        return value


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
            errs.append(FieldError(join(parent, key), self.message, value))
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
        return value


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
        return [item for item in value if type(item) is str]


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
        return dict(value)


class Nested(FieldType):
    """A nested model object."""

    __slots__ = ("cls",)

    def __init__(self, cls: type[Model]) -> None:
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


class ListOf(FieldType):
    """A list of nested models or values."""

    __slots__ = ("item", "item_emit")
    collection: ClassVar[type] = list

    def __init__(self, item: FieldType | type) -> None:
        self.item = item = as_field_type(item)
        self.item_emit = item.emit

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        if type(value) is not list:
            errs.append(type_error(parent, key, value, "array"))
            return None
        path = join(parent, key)
        parse = self.item.parse
        return [parse(v, path, i, errs) for i, v in enumerate(value)]

    def emit(self, value: Any) -> Any:  # type: ignore[override]
        item_emit = self.item_emit
        if item_emit is None:
            return list(value)
        return [item_emit(v) for v in value]


class Raw(FieldType):
    """Any JSON value, kept as it is (checked to be plain JSON: str, int, float, bool, None, list, dict)."""

    __slots__ = ()

    def parse(self, value: Any, parent: str, key: str | int, errs: Errors) -> Any:
        return check_json(value, join(parent, key), errs)

    @staticmethod
    def emit(value: Any) -> Any:
        return copy_json(value)


def check_json(value: Any, path: str, errs: Errors, depth: int = 0) -> Any:
    """A private copy of ``value``, appending an error for anything JSON (and msgpack) cannot carry."""
    t = type(value)
    if t is str or t is bool or value is None:
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
        return [check_json(v, f"{path}[{i}]", errs, depth + 1) for i, v in enumerate(value)]
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                errs.append(FieldError(path, "keys must be strings", repr(k)))
            else:
                out[k] = check_json(v, join(path, k), errs, depth + 1)
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


# ---------------------------------------------------------------------------------------------------------
# Fields and models


class Field:
    """One JSON field of a model: the snake_case attribute, its camelCase key and its type.

    ``required`` reports "Required value" when absent or null; ``always`` (nested objects only) makes
    the attribute hold an empty object marked absent instead of None when absent.
    """

    __slots__ = ("attr", "key", "type", "required", "always", "emit", "collection")

    def __init__(self, attr: str, ftype: FieldType | type, key: str | None = None, *,
                 required: bool = False, always: bool = False) -> None:
        ftype = as_field_type(ftype)
        self.attr = attr
        self.key = key or camel(attr)
        self.type = ftype
        self.required = required
        self.always = always
        self.emit = ftype.emit
        self.collection = getattr(ftype, "collection", None)


def as_field_type(ftype: FieldType | type) -> FieldType:
    """A model class reads as Nested, any other class as a Value (``from_dict`` / ``to_dict``)."""
    if isinstance(ftype, type):
        return Nested(ftype) if issubclass(ftype, Model) else Value(ftype)
    return ftype


def camel(attr: str) -> str:
    """``node_name`` -> ``nodeName``; a trailing underscore (``continue_``) is dropped."""
    head, *rest = attr.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Model:
    """Base of every model: a ``__slots__`` value object read from and written to Kubernetes JSON."""

    __slots__ = ("unknown_fields",)
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    DERIVED: ClassVar[tuple[str, ...]] = ()
    _by_key: ClassVar[dict[str, Field]] = {}
    _required: ClassVar[tuple[Field, ...]] = ()
    _has_rules: ClassVar[bool] = False
    unknown_fields: dict[str, Any] | None

    # -- reading ------------------------------------------------------------------------------------------
    @classmethod
    def _read(cls: type[M], value: Any, parent: str, key: str | int, errs: Errors) -> M | None:
        if type(value) is not dict and not isinstance(value, dict):
            errs.append(type_error(parent, key, value, "object"))
            return None
        path = join(parent, key)
        before = len(errs)
        by_key = cls._by_key
        kwargs: dict[str, Any] = {}
        unknown: dict[str, Any] | None = None
        for k, v in value.items():
            f = by_key.get(k)
            if f is None:
                if unknown is None:
                    unknown = {}
                if type(k) is not str:
                    errs.append(FieldError(path, "keys must be strings", repr(k)))
                    continue
                unknown[k] = check_json(v, join(path, k), errs)
            elif v is not None:
                kwargs[f.attr] = f.type.parse(v, path, k, errs)
        if cls._required:
            for f in cls._required:
                if kwargs.get(f.attr) is None and value.get(f.key) is None:
                    errs.append(FieldError(join(path, f.key), "", None, "Required value"))
        try:
            obj = cls(**kwargs)
            obj.unknown_fields = unknown
            if cls._has_rules:
                obj.validate(path, errs)
        except ValidationError as e:  # a derived value that cannot be computed from valid-looking fields
            errs.extend(e.errors)
            return None
        except Exception:
            if len(errs) > before:
                return None  # derived values and cross-field rules of parts already reported as invalid
            raise
        return obj

    @classmethod
    def from_dict(cls: type[M], value: Any, path: str = "") -> M:
        """Read and validate one JSON object of this model; raises ValidationError listing every problem."""
        errs: Errors = []
        obj = cls._read(value, "", path, errs)
        if errs or obj is None:
            raise ValidationError(errs or [FieldError(path, "must be of type object", json_type(value))])
        return obj

    def validate(self, path: str, errs: Errors) -> None:
        """Cross-field rules; a model overrides it to append FieldErrors (fields are already typed)."""

    # -- writing ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The Kubernetes JSON shape: camelCase keys, no unset or empty fields, unknown fields kept."""
        out: dict[str, Any] = {}
        for f in self.FIELDS:
            v = getattr(self, f.attr)
            if v is None:
                continue
            if f.collection is not None:
                if not v:
                    continue
            elif f.always and v.unknown_fields is ABSENT:
                nested = v.to_dict()
                if nested:  # something was set on the stand-in: write it
                    out[f.key] = nested
                continue
            out[f.key] = v if f.emit is None else f.emit(v)
        if self.unknown_fields:
            for k, v in self.unknown_fields.items():
                out[k] = copy_json(v)
        return out

    # -- values ---------------------------------------------------------------------------------------------
    def replace(self: M, **changes: Any) -> M:
        """A copy with some fields changed (like ``dataclasses.replace``); derived values are recomputed.

        Objects are values: change a nested part with ``pod.replace(spec=pod.spec.replace(...))``.
        """
        kwargs = {f.attr: getattr(self, f.attr) for f in self.FIELDS}
        unknown = changes.pop("unknown_fields", self.unknown_fields)
        for name in changes:
            if name not in kwargs:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
        kwargs.update(changes)
        new = type(self)(**kwargs)
        new.unknown_fields = unknown
        return new

    def _copy(self: M, **changes: Any) -> M:
        """A shallow copy with some attributes changed and derived values carried over unchanged."""
        new = object.__new__(type(self))
        for name in self.__slots_all__:  # type: ignore[attr-defined]
            object.__setattr__(new, name, changes[name] if name in changes else getattr(self, name))
        return new

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f.attr) == getattr(other, f.attr) for f in self.FIELDS) and (
            (self.unknown_fields or None) == (other.unknown_fields or None))  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable containers inside: not hashable

    def __repr__(self) -> str:
        parts = []
        for f in self.FIELDS:
            v = getattr(self, f.attr)
            if v is None or (f.collection is not None and not v) or (
                    f.always and v.unknown_fields is ABSENT and not v.to_dict()):
                continue
            parts.append(f"{f.attr}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def model(cls: type[M]) -> type[M]:
    """Class decorator: build the slotted class, its ``__init__`` and its reading table from FIELDS."""
    fields: tuple[Field, ...] = cls.__dict__["FIELDS"]
    derived: tuple[str, ...] = cls.__dict__.get("DERIVED", ())
    namespace = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    namespace["__slots__"] = tuple(f.attr for f in fields) + tuple(derived)
    new = type(cls)(cls.__name__, cls.__bases__, namespace)
    new.__qualname__ = cls.__qualname__
    new._by_key = {f.key: f for f in fields}
    new._required = tuple(f for f in fields if f.required)
    new._has_rules = new.validate is not Model.validate
    new.__slots_all__ = ("unknown_fields",) + namespace["__slots__"]  # type: ignore[attr-defined]
    new.__init__ = _make_init(fields, has_derive="_derive" in namespace)  # type: ignore[misc]
    new.__init__.__doc__ = f"Build a {cls.__name__}; unset lists/maps become empty, derived values are computed."
    return new


def absent(cls: type[M]) -> M:
    """A fresh empty ``cls`` standing in for an absent object (not written back while it stays empty)."""
    obj = cls()
    obj.unknown_fields = ABSENT
    return obj


def _make_init(fields: Iterable[Field], has_derive: bool) -> Callable[..., None]:
    """Generate ``__init__`` so building an object costs one assignment per field and no loop."""
    params, body, env = ["self"], [], {}
    for i, f in enumerate(fields):
        a = f.attr
        params.append(f"{a}=None")
        if f.collection is list:
            body.append(f"self.{a} = [] if {a} is None else {a}")
        elif f.collection is dict:
            body.append(f"self.{a} = {{}} if {a} is None else {a}")
        elif f.always:
            env[f"_c{i}"] = f.type.cls  # type: ignore[attr-defined]
            env["absent"] = absent
            body.append(f"self.{a} = absent(_c{i}) if {a} is None else {a}")
        else:
            body.append(f"self.{a} = {a}")
    body.append("self.unknown_fields = None")
    if has_derive:
        body.append("self._derive()")
    src = f"def __init__({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)
    exec(src, env)  # noqa: S102 - code generated from our own field table, no outside input
    return env["__init__"]  # type: ignore[no-any-return]
