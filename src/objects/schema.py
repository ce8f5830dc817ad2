"""Declare a model once; its field table drives construction, reading, validation and writing.

A model class lists ``FIELDS`` (``Field(attr, type)``, types from :mod:`objects.fieldtypes`); the
:func:`model` decorator turns it into a ``__slots__`` class with a generated ``__init__`` and a table-driven
reader.  Reading walks the *input* dict once (not the field list), so an object costs one dict lookup per
field present; every problem is appended to an error list with its field path instead of stopping at the
first one.

Empty-value rules (as the API server writes JSON):
- unset scalars are ``None`` and are not written;
- list and map fields are ``[]`` / ``{}`` when unset and are not written while empty (``omitempty``);
- nested-object fields marked ``always`` (``metadata``, ``spec``, ``status``, ``resources``) are never
  ``None``: when absent they hold a fresh empty object marked absent (its ``unknown_fields`` is
  :data:`ABSENT`), written back only if something was put in it, while an object that was present, even
  ``{}``, is written back as it came.
"""
from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Iterable, TypeVar

from .errors import FieldError, ValidationError
from .fieldtypes import Errors, FieldType, as_field_type, check_json_at, copy_json, join, json_type, type_error

__all__ = ["ABSENT", "Field", "Model", "model", "absent", "camel", "MUTATIONS"]

M = TypeVar("M", bound="Model")

# The unknown_fields of an object that stands in for an absent one (an immutable, empty mapping).
ABSENT: Any = MappingProxyType({})

# How many times a field of a TRACKED model was assigned after the model was built. Derived values that
# read such fields (pod.requests, ...) remember the count they were checked at: while it has not moved,
# only the maps and lists they read can have changed, and those are compared with copies in one C-level
# comparison (see objects.derived).
MUTATIONS = [0]
_set = object.__setattr__


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


def camel(attr: str) -> str:
    """``node_name`` -> ``nodeName``; a trailing underscore (``continue_``) is dropped."""
    head, *rest = attr.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Model:
    """Base of every model: a ``__slots__`` value object read from and written to Kubernetes JSON."""

    __slots__ = ("unknown_fields",)
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    DERIVED: ClassVar[tuple[str, ...]] = ()
    TRACKED: ClassVar[bool] = False  # a field assigned after building counts in MUTATIONS (derived values read it)
    LISTS_REMEMBERED: ClassVar[int] = 0  # lists of it read once per content, this many kept (objects.listmemo)
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
                unknown[k] = check_json_at(v, path, k, errs)
            elif v is not None:
                kwargs[f.attr] = f.type.parse(v, path, k, errs)
        if cls._required:
            for f in cls._required:
                if kwargs.get(f.attr) is None and value.get(f.key) is None:
                    errs.append(FieldError(join(path, f.key), "", None, "Required value"))
        try:
            obj = cls(**kwargs)
            if cls.TRACKED:
                _set(obj, "unknown_fields", unknown)  # building is not a mutation
            else:
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
        _set(new, "unknown_fields", unknown)
        return new

    def _copy(self: M, **changes: Any) -> M:
        """A shallow copy with some attributes changed and derived values carried over unchanged."""
        new = object.__new__(type(self))
        for name in self.__slots_all__:  # type: ignore[attr-defined]
            object.__setattr__(new, name, changes[name] if name in changes else getattr(self, name))
        return new

    def __copy__(self: M) -> M:
        return self._copy()

    def __deepcopy__(self: M, memo: dict[int, Any]) -> M:
        """An independent copy; :data:`ABSENT` (a shared immutable marker, compared by identity) stays itself.
        Derived values start over (what they remember refers to this object's lists and maps)."""
        new = object.__new__(type(self))
        memo[id(self)] = new
        setattr_ = object.__setattr__
        for name in self.__copied__:  # type: ignore[attr-defined]
            setattr_(new, name, _fresh(getattr(self, name), memo))
        if self.DERIVED:
            new._derive()  # type: ignore[attr-defined]
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


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _fresh(value: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy`` for what models hold, without its bookkeeping for the plain JSON parts (which no
    two places of an object share): scalars and ABSENT as they are, lists and dicts rebuilt."""
    t = type(value)
    if t in _IMMUTABLE or value is ABSENT:
        return value
    if t is dict:
        return {k: _fresh(v, memo) for k, v in value.items()}
    if t is list:
        return [_fresh(v, memo) for v in value]
    if isinstance(value, Model):  # a model seen before in this copy stays shared, as deepcopy keeps it
        seen = memo.get(id(value))
        return seen if seen is not None else value.__deepcopy__(memo)
    return copy.deepcopy(value, memo)  # value classes (immutable: themselves) and derived tuples


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
    new.__copied__ = ("unknown_fields",) + tuple(f.attr for f in fields)  # type: ignore[attr-defined]
    tracked = bool(getattr(new, "TRACKED", False))
    if tracked:
        new.__setattr__ = _tracked_setattr  # type: ignore[assignment]
    new.__init__ = _make_init(fields, has_derive="_derive" in namespace, tracked=tracked)  # type: ignore[misc]
    new.__init__.__doc__ = f"Build a {cls.__name__}; unset lists/maps become empty, derived values are computed."
    if "_copy" not in namespace:
        new._copy = _make_copy(new.__slots_all__, tracked)  # type: ignore[attr-defined]
        new._copy.__doc__ = Model._copy.__doc__
    if "to_dict" not in namespace:
        new.to_dict = _make_to_dict(fields)  # type: ignore[method-assign]
        new.to_dict.__doc__ = Model.to_dict.__doc__
    if "replace" not in namespace:
        new.replace = _make_replace(fields)  # type: ignore[method-assign]
        new.replace.__doc__ = Model.replace.__doc__
    if "__deepcopy__" not in namespace:
        new.__deepcopy__ = _make_deepcopy(new.__copied__, tracked)  # type: ignore[attr-defined,method-assign]
        new.__deepcopy__.__doc__ = Model.__deepcopy__.__doc__
    return new


# The generated methods below do what Model's generic ones do (which stay the reference), unrolled over the
# class's own fields: one attribute read per field instead of a loop with getattr, a third of the time for
# the writes and copies every registry write makes.


def _make_copy(slots: tuple[str, ...], tracked: bool) -> Callable[..., Any]:
    """Generate ``_copy`` (see :meth:`Model._copy`) for a class with ``slots``."""
    def assign(name: str, expr: str) -> str:
        return f"_set(new, {name!r}, {expr})" if tracked else f"new.{name} = {expr}"

    body = ["new = _new(type(self))"]  # a plain subclass copies as itself
    body += [assign(name, f"self.{name}") for name in slots]
    body += ["for name, value in changes.items():", "    _set(new, name, value)", "return new"]
    src = "def _copy(self, **changes):\n" + "".join(f"    {line}\n" for line in body)
    env: dict[str, Any] = {"_set": _set, "_new": object.__new__}
    exec(src, env)  # noqa: S102 - code generated from our own field table, no outside input
    return env["_copy"]  # type: ignore[no-any-return]


def _make_deepcopy(copied: tuple[str, ...], tracked: bool) -> Callable[..., Any]:
    """Generate ``__deepcopy__`` (see :meth:`Model.__deepcopy__`) for a class copying ``copied``: a
    scalar is taken as it is without a call (a pod template's copy for every pod the ReplicaSet
    controller creates is mostly names, images and numbers)."""
    def assign(name: str, expr: str) -> str:
        return f"_set(new, {name!r}, {expr})" if tracked else f"new.{name} = {expr}"

    body = ["new = _new(type(self))", "memo[id(self)] = new"]
    for name in copied:
        body += [f"v = self.{name}", assign(name, "v if type(v) in _IMMUTABLE else _fresh(v, memo)")]
    body += ["if self.DERIVED:", "    new._derive()", "return new"]
    src = "def __deepcopy__(self, memo):\n" + "".join(f"    {line}\n" for line in body)
    env: dict[str, Any] = {"_set": _set, "_new": object.__new__, "_IMMUTABLE": _IMMUTABLE, "_fresh": _fresh}
    exec(src, env)  # noqa: S102 - code generated from our own field table, no outside input
    return env["__deepcopy__"]  # type: ignore[no-any-return]


def _make_replace(fields: Iterable[Field]) -> Callable[..., Any]:
    """Generate ``replace`` (see :meth:`Model.replace`) for ``fields``: the new object built from one
    keyword per field, without the generic one's dict of every field (a node Lease renewal's two replaces
    were a sixth of it)."""
    attrs = tuple(f.attr for f in fields)
    body = ["unknown = changes.pop('unknown_fields', self.unknown_fields)",
            "for name in changes:",
            "    if name not in _attrs:",
            "        raise TypeError(f'{type(self).__name__} has no field {name!r}')",
            "get = changes.get",
            "new = type(self)(" + ", ".join(f"{a}=get({a!r}, self.{a})" for a in attrs) + ")",
            "_set(new, 'unknown_fields', unknown)",
            "return new"]
    src = "def replace(self, **changes):\n" + "".join(f"    {line}\n" for line in body)
    env: dict[str, Any] = {"_set": _set, "_attrs": frozenset(attrs)}
    exec(src, env)  # noqa: S102 - code generated from our own field table, no outside input
    return env["replace"]  # type: ignore[no-any-return]


def _make_to_dict(fields: Iterable[Field]) -> Callable[..., dict[str, Any]]:
    """Generate ``to_dict`` (see :meth:`Model.to_dict`) for ``fields``."""
    from .fieldtypes import Nested
    body, env = ["out = {}"], {"ABSENT": ABSENT, "copy_json": copy_json, "_nested": Nested.emit}
    for i, f in enumerate(fields):
        if f.emit is None:
            emitted = "v"
        elif f.emit is Nested.emit:
            emitted = "v.to_dict()"
        else:
            env[f"_e{i}"] = f.emit
            emitted = f"_e{i}(v)"
        body.append(f"v = self.{f.attr}")
        if f.collection is not None:
            body.append(f"if v: out[{f.key!r}] = {emitted}")
        elif f.always:
            body += ["if v is not None:",
                     "    if v.unknown_fields is ABSENT:",
                     "        nested = v.to_dict()",
                     f"        if nested: out[{f.key!r}] = nested",
                     f"    else: out[{f.key!r}] = {emitted}"]
        else:
            body.append(f"if v is not None: out[{f.key!r}] = {emitted}")
    body += ["u = self.unknown_fields", "if u:", "    for k, v in u.items(): out[k] = copy_json(v)", "return out"]
    src = "def to_dict(self):\n" + "".join(f"    {line}\n" for line in body)
    exec(src, env)  # noqa: S102 - code generated from our own field table, no outside input
    return env["to_dict"]  # type: ignore[no-any-return]


def absent(cls: type[M]) -> M:
    """A fresh empty ``cls`` standing in for an absent object (not written back while it stays empty)."""
    obj = cls()
    _set(obj, "unknown_fields", ABSENT)
    return obj


def _tracked_setattr(self: Any, name: str, value: Any) -> None:
    """A TRACKED model's field assignment: counted, so derived values reading it are checked again."""
    _set(self, name, value)
    MUTATIONS[0] += 1


def _make_init(fields: Iterable[Field], has_derive: bool, tracked: bool = False) -> Callable[..., None]:
    """Generate ``__init__`` so building an object costs one assignment per field and no loop (a TRACKED
    model's assignments bypass its counting ``__setattr__``: building is not a mutation)."""
    params, body, env = ["self"], [], {"_set": _set}

    def assign(attr: str, expr: str) -> str:
        return f"_set(self, {attr!r}, {expr})" if tracked else f"self.{attr} = {expr}"

    for i, f in enumerate(fields):
        a = f.attr
        params.append(f"{a}=None")
        if f.collection is list:
            body.append(assign(a, f"[] if {a} is None else {a}"))
        elif f.collection is dict:
            body.append(assign(a, f"{{}} if {a} is None else {a}"))
        elif f.always:
            env[f"_c{i}"] = f.type.cls  # type: ignore[attr-defined]
            env["absent"] = absent
            body.append(assign(a, f"absent(_c{i}) if {a} is None else {a}"))
        else:
            body.append(assign(a, a))
    body.append(assign("unknown_fields", "None"))
    if has_derive:
        body.append("self._derive()")
    src = f"def __init__({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body)
    exec(src, env)  # noqa: S102 - code generated from our own field table, no outside input
    return env["__init__"]  # type: ignore[no-any-return]
