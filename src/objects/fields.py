"""Field selectors (``fields.ParseSelector``): "metadata.name=a,spec.nodeName!=" with = == !=.

Terms are ANDed. Values use the API server's escapes (``\\,`` ``\\=`` ``\\\\``); an unescaped ``,`` or
``=`` inside a value is an error, as is any other escape. The API server decides per resource which
fields are selectable; here one table serves every kind: ``metadata.name``, ``metadata.namespace``,
``spec.nodeName``, ``spec.schedulerName``, ``status.phase``, ``status.nominatedNodeName`` and
``spec.unschedulable``. A field an object does not have reads as "" (so ``spec.nodeName!=`` selects the
bound pods), booleans read as "true" / "false", as Kubernetes renders them.
"""
from __future__ import annotations

from typing import Any, Mapping

from .errors import FieldError, ValidationError
from .immutable import Immutable

# field label -> attribute path on model objects (snake_case); dicts are read with the label's own path.
SELECTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
    "spec.nodeName": ("spec", "node_name"),
    "spec.schedulerName": ("spec", "scheduler_name"),
    "spec.unschedulable": ("spec", "unschedulable"),
    "status.phase": ("status", "phase"),
    "status.nominatedNodeName": ("status", "nominated_node_name"),
}
_OPERATORS = ("!=", "==", "=")


def _render(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def field_value(obj: Any, label: str) -> str:
    """The value of a selectable field of a model object or a JSON-shaped dict ("" when absent)."""
    if isinstance(obj, Mapping):
        current: Any = obj
        for part in label.split("."):
            current = current.get(part) if isinstance(current, Mapping) else None
            if current is None:
                return ""
        return _render(current)
    current = obj
    for attr in SELECTABLE_FIELDS[label]:
        current = getattr(current, attr, None)
        if current is None:
            return ""
    return _render(current)


def split_terms(text: str) -> list[str]:
    """Split a selector's text on the commas that are not escaped with a backslash (empty terms kept)."""
    terms, start, escaped = [], 0, False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out, escaped = [], False
    for c in value:
        if escaped:
            if c not in "\\,=":
                raise ValueError(f"invalid escape sequence: \\{c}")
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in ",=":
            raise ValueError(f"invalid selector: unescaped {c} in value")
        else:
            out.append(c)
    if escaped:
        raise ValueError("invalid escape sequence: \\")
    return "".join(out)


def escape_value(value: str) -> str:
    """``fields.EscapeValue``: backslash-escape \\ , and = for use in a selector string."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


class FieldSelector(Immutable):
    """A parsed field selector: terms (field, operator, value), ANDed. Empty matches everything."""

    __slots__ = ("terms", "_checks")

    def __init__(self, terms: tuple[tuple[str, str, str], ...] = (), path: str = "fieldSelector") -> None:
        errors = []
        for field, op, value in terms:
            if field not in SELECTABLE_FIELDS:
                errors.append(FieldError(path, f"field label not supported: {field}", field))
            if op not in _OPERATORS:
                errors.append(FieldError(path, "supported values: \"=\", \"==\", \"!=\"", op, "Unsupported value"))
        if errors:
            raise ValidationError(errors)
        # Sorted like the API server's parser, so equal selectors print and compare equal.
        self.terms: tuple[tuple[str, str, str], ...] = tuple(
            sorted((f, "!=" if op == "!=" else "=", v) for f, op, v in terms))
        self._checks: tuple[tuple[str, bool, str], ...] = tuple((f, op == "=", v) for f, op, v in self.terms)

    @classmethod
    def parse(cls, text: str, path: str = "fieldSelector") -> "FieldSelector":
        """Parse "metadata.name=a,spec.nodeName!=" (= and == mean equal, != not equal)."""
        if not isinstance(text, str):
            raise ValidationError(FieldError(path, "must be a string", repr(text)))
        terms = []
        for part in split_terms(text):
            if not part:
                continue
            for i in range(len(part)):
                op = next((o for o in _OPERATORS if part.startswith(o, i)), None)
                if op is not None:
                    field, raw = part[:i], part[i + len(op):]
                    break
            else:
                raise ValidationError(FieldError(path, f"invalid selector: can't understand '{part}'", text))
            try:
                value = _unescape(raw)
            except ValueError as exc:
                raise ValidationError(FieldError(path, str(exc), text)) from None
            terms.append((field.strip(), op, value))
        return cls(tuple(terms), path)

    @classmethod
    def from_dict(cls, d: Any, path: str = "fieldSelector") -> "FieldSelector":
        """Read the JSON form, which is the selector's string ("metadata.name=a")."""
        return cls.parse(d, path)

    def to_dict(self) -> str:
        """The JSON form: the selector's string."""
        return str(self)

    @classmethod
    def one_term(cls, field: str, value: str, equal: bool = True) -> "FieldSelector":
        """``fields.OneTermEqualSelector`` (or NotEqual): a single term."""
        return cls(((field, "=" if equal else "!=", value),))

    @property
    def empty(self) -> bool:
        """True for the selector that matches everything."""
        return not self.terms

    def requires_exact_match(self, field: str) -> str | None:
        """The value ``field`` must equal, if a term says ``field=value``; else None."""
        for f, op, v in self.terms:
            if f == field and op == "=":
                return v
        return None

    def matches(self, obj: Any) -> bool:
        """Whether a model object (or a JSON-shaped dict) satisfies every term."""
        for field, equal, value in self._checks:
            if (field_value(obj, field) == value) != equal:
                return False
        return True

    def matches_fields(self, fields: Mapping[str, str]) -> bool:
        """Whether a map of field label -> value (a ``fields.Set``) satisfies every term."""
        for field, equal, value in self._checks:
            if (fields.get(field, "") == value) != equal:
                return False
        return True

    def __str__(self) -> str:
        return ",".join(f"{f}{op}{escape_value(v)}" for f, op, v in self.terms)

    def __repr__(self) -> str:
        return f"FieldSelector.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FieldSelector):
            return self.terms == other.terms
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.terms)


