"""Label selectors: ``metav1.LabelSelector`` (matchLabels / matchExpressions) and the ``kubectl -l`` form.

A selector compiles once, when built, into a tuple of small checks (or, for the common
matchLabels-only selector, into a plain tuple of key/value pairs), because the scheduler calls
:meth:`LabelSelector.matches` millions of times.

Semantics are Kubernetes': an empty selector matches everything (a *missing* selector is ``None`` in the
models and matches nothing where Kubernetes says so); ``In`` needs the label present with one of the
values; ``NotIn`` and ``DoesNotExist`` are satisfied by a missing label; ``Gt`` / ``Lt`` need the label
present and parse it as a base-10 int64 (a non-integer label never matches).
"""
from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Self, Sequence, TypeVar

from .errors import FieldError, ValidationError
from .immutable import Immutable
from .labelsyntax import check_label_key, check_label_value, check_labels

IN = "In"
NOT_IN = "NotIn"
EXISTS = "Exists"
DOES_NOT_EXIST = "DoesNotExist"
GT = "Gt"
LT = "Lt"
SELECTOR_OPERATORS = (IN, NOT_IN, EXISTS, DOES_NOT_EXIST)
NODE_SELECTOR_OPERATORS = (IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT)

_INT64_RE = re.compile(r"^[+-]?[0-9]+$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EMPTY: Mapping[str, str] = {}

# Check codes of a compiled requirement, tested in this order of likelihood by _match_checks.
_C_IN, _C_NOT_IN, _C_EXISTS, _C_DOES_NOT_EXIST, _C_GT, _C_LT = range(6)
_CODE = {IN: _C_IN, NOT_IN: _C_NOT_IN, EXISTS: _C_EXISTS, DOES_NOT_EXIST: _C_DOES_NOT_EXIST,
         GT: _C_GT, LT: _C_LT}


def parse_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): the int, or None when it is not one."""
    if not _INT64_RE.match(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def check_requirement(key: Any, operator: Any, values: Any, path: str,
                      operators: Sequence[str] = SELECTOR_OPERATORS) -> list[FieldError]:
    """Every problem of one requirement (ValidateLabelSelectorRequirement / NodeSelectorRequirement)."""
    errors = check_label_key(key, f"{path}.key")
    if values is None:
        values = []
    if not isinstance(values, (list, tuple)):
        return errors + [FieldError(f"{path}.values", "must be a list of strings", repr(values))]
    if operator in (IN, NOT_IN):
        if not values:
            errors.append(FieldError(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'",
                                     type="Required value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if values:
            errors.append(FieldError(f"{path}.values",
                                     "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                                     type="Forbidden"))
    elif operator in (GT, LT) and operator in operators:
        if len(values) != 1:
            errors.append(FieldError(f"{path}.values",
                                     "must be specified single value when `operator` is 'Lt' or 'Gt'",
                                     type="Required value"))
        elif not isinstance(values[0], str) or parse_int64(values[0]) is None:
            errors.append(FieldError(f"{path}.values[0]", "must be an integer", values[0]))
        return errors
    else:
        shown = operator if isinstance(operator, str) else repr(operator)
        errors.append(FieldError(f"{path}.operator", "not a valid selector operator", shown))
        return errors
    for i, value in enumerate(values):
        errors.extend(check_label_value(value, f"{path}.values[{i}]"))
    return errors


class Requirement(Immutable):
    """One matchExpressions entry: ``key``, ``operator`` (In NotIn Exists DoesNotExist Gt Lt), ``values``."""

    __slots__ = ("key", "operator", "values", "_symbol", "_check", "_given_empty_values")

    def __init__(self, key: str, operator: str, values: Iterable[str] = (), path: str = "requirement",
                 operators: Sequence[str] = NODE_SELECTOR_OPERATORS, symbol: str = "") -> None:
        if not isinstance(values, (list, tuple, str, dict)) and hasattr(values, "__iter__"):
            values = list(values)  # a generator or set from Python callers; JSON shapes stay as they are
        errors = check_requirement(key, operator, values, path, operators)
        if errors:
            raise ValidationError(errors)
        self.key: str = key
        self.operator: str = operator
        self.values: tuple[str, ...] = tuple(values)
        self._symbol = symbol  # how `kubectl -l` spelled it ("=", "!="), for printing only
        self._given_empty_values = False  # "values: []" in the input is written back
        code = _CODE[operator]
        if code in (_C_GT, _C_LT):
            arg: Any = parse_int64(values[0])
        elif code in (_C_IN, _C_NOT_IN):
            arg = frozenset(values)
        else:
            arg = None
        self._check = (code, key, arg)

    @classmethod
    def from_dict(cls, d: Any, path: str = "requirement",
                  operators: Sequence[str] = SELECTOR_OPERATORS) -> Self:
        """Read ``{"key", "operator", "values"}``; ValidationError lists every problem."""
        if not isinstance(d, dict):
            raise ValidationError(FieldError(path, "must be an object", repr(d)))
        if "operator" not in d:
            raise ValidationError(FieldError(f"{path}.operator", "", type="Required value"))
        values = d.get("values")
        requirement = cls(d.get("key", ""), d["operator"], [] if values is None else values, path, operators)
        requirement._given_empty_values = values == []
        return requirement

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``values`` omitted when empty."""
        out: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.values or self._given_empty_values:
            out["values"] = list(self.values)
        return out

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether a labels map satisfies this requirement."""
        return _match_checks(labels or _EMPTY, (self._check,))

    def __str__(self) -> str:
        op, key, values = self.operator, self.key, self.values
        if op == EXISTS:
            return key
        if op == DOES_NOT_EXIST:
            return "!" + key
        if op == GT:
            return f"{key}>{values[0]}"
        if op == LT:
            return f"{key}<{values[0]}"
        if self._symbol and len(values) == 1:
            return f"{key}{self._symbol}{values[0]}"
        word = "in" if op == IN else "notin"
        return f"{key} {word} ({','.join(sorted(set(values)))})"

    def __repr__(self) -> str:
        return f"Requirement({self.key!r}, {self.operator!r}, {list(self.values)!r})"

    def _identity(self) -> tuple:
        return (self.key, self.operator, frozenset(self.values))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Requirement):
            return self._identity() == other._identity()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._identity())


def _match_checks(labels: Mapping[str, str], checks: tuple) -> bool:
    """All compiled checks hold for ``labels``; one loop, no calls per requirement."""
    get = labels.get
    for code, key, arg in checks:
        value = get(key)
        if code == _C_IN:
            if value is None or value not in arg:
                return False
        elif code == _C_NOT_IN:
            if value is not None and value in arg:
                return False
        elif code == _C_EXISTS:
            if value is None:
                return False
        elif code == _C_DOES_NOT_EXIST:
            if value is not None:
                return False
        else:
            if value is None:
                return False
            number = parse_int64(value)
            if number is None:
                return False
            if code == _C_GT:
                if not number > arg:
                    return False
            elif not number < arg:
                return False
    return True


def _always(labels: Mapping[str, str] | None) -> bool:
    return True


def _int_compare(value: str | None, bound: int, greater: bool) -> bool:
    if value is None:
        return False
    number = parse_int64(value)
    if number is None:
        return False
    return number > bound if greater else number < bound


@lru_cache(maxsize=4096)  # pods stamped from one template share selectors: compile each shape once
def compile_matcher(pairs: tuple[tuple[str, str], ...], checks: tuple) -> Callable[[Any], bool]:
    """One Python function deciding ``pairs`` (label == value) AND ``checks``, built once per selector.

    The body is a single boolean expression over ``labels.get`` with the keys as literals and the value
    sets as closure constants: no loop and no call per requirement on the scheduler's hot path. Keys are
    validated label keys and appear only through ``repr``, so the generated source is always well formed.
    """
    if not pairs and not checks:
        return _always
    namespace: dict[str, Any] = {"_EMPTY": _EMPTY, "_int_compare": _int_compare}
    terms = []
    for key, value in pairs:
        terms.append(f"get({key!r}) == {value!r}")
    for i, (code, key, arg) in enumerate(checks):
        if code == _C_IN:
            namespace[f"s{i}"] = arg
            terms.append(f"get({key!r}) in s{i}")
        elif code == _C_NOT_IN:
            namespace[f"s{i}"] = arg
            terms.append(f"get({key!r}) not in s{i}")
        elif code == _C_EXISTS:
            terms.append(f"{key!r} in labels")
        elif code == _C_DOES_NOT_EXIST:
            terms.append(f"{key!r} not in labels")
        else:
            terms.append(f"_int_compare(get({key!r}), {int(arg)}, {code == _C_GT})")
    source = ("def match(labels):\n"
              "    if labels is None:\n"
              "        labels = _EMPTY\n"
              "    get = labels.get\n"
              f"    return {' and '.join(terms)}\n")
    exec(compile(source, "<label selector>", "exec"), namespace)  # noqa: S102 - see docstring
    return namespace["match"]  # type: ignore[no-any-return]


_R = TypeVar("_R", bound=Requirement)


def read_match_expressions(d: dict[str, Any], path: str, kind: type[_R], errors: list[FieldError]) -> list[_R]:
    """The ``matchExpressions`` of ``d``, each read by ``kind.from_dict``; absent or null is none. What is
    wrong (not a list, an entry's problems) is added to ``errors``, so the caller reports it with the rest."""
    raw = d.get("matchExpressions")
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(FieldError(f"{path}.matchExpressions", "must be a list", repr(raw)))
        return []
    expressions = []
    for i, item in enumerate(raw):
        try:
            expressions.append(kind.from_dict(item, f"{path}.matchExpressions[{i}]"))
        except ValidationError as exc:
            errors.extend(exc.errors)
    return expressions


class LabelSelector(Immutable):
    """``metav1.LabelSelector``: matchLabels ANDed with matchExpressions. Empty matches everything.

    ``selector.matches(labels) -> bool`` tells whether an object with these labels (a dict, or None for
    none) is selected; it is compiled once per selector (see :func:`compile_matcher`).
    """

    __slots__ = ("match_labels", "match_expressions", "_extra", "matches")

    def __init__(self, match_labels: Mapping[str, str] | None = None,
                 match_expressions: Sequence[Requirement] | None = None, path: str = "selector") -> None:
        labels = dict(match_labels or {})
        errors = check_labels(labels, f"{path}.matchLabels")
        if errors:
            raise ValidationError(errors)
        # Read-only views: the compiled matcher below was built from these and must stay in step.
        self.match_labels: Mapping[str, str] = MappingProxyType(labels)
        self.match_expressions: tuple[Requirement, ...] = tuple(match_expressions or ())
        self._extra: dict[str, Any] = {}
        # matches(labels) -> bool: whether an object with these labels is selected. An instance
        # attribute holding the compiled function, so a call costs one Python call, not two.
        self.matches: Callable[[Mapping[str, str] | None], bool] = compile_matcher(
            tuple(labels.items()), tuple(r._check for r in self.match_expressions))

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def everything(cls) -> "LabelSelector":
        """The empty selector, which matches every object."""
        return cls()

    @classmethod
    def from_dict(cls, d: Any, path: str = "selector") -> "LabelSelector":
        """Read ``{"matchLabels": {...}, "matchExpressions": [...]}``, validating as the API server does."""
        if not isinstance(d, dict):
            raise ValidationError(FieldError(path, "must be an object", repr(d)))
        errors: list[FieldError] = []
        labels = d.get("matchLabels")
        labels = {} if labels is None else labels
        errors.extend(check_labels(labels, f"{path}.matchLabels"))
        expressions = read_match_expressions(d, path, Requirement, errors)
        if errors:
            raise ValidationError(errors)
        selector = cls(labels, expressions, path)  # type: ignore[arg-type]
        # Unknown fields, and known ones given empty, are written back as they came: a round trip loses nothing.
        selector._extra = {k: v for k, v in d.items()
                           if k not in ("matchLabels", "matchExpressions") or v in ({}, [], None)}
        return selector

    @classmethod
    def from_set(cls, labels: Mapping[str, str]) -> "LabelSelector":
        """``labels.SelectorFromSet``: every key equal to its value (a pod's nodeSelector, say)."""
        return cls(labels)

    @classmethod
    def parse(cls, text: str, path: str = "labelSelector") -> "LabelSelector":
        """Parse the ``kubectl -l`` form: "app=web,tier!=db,env in (prod,staging),!canary,key,n>3"."""
        if not isinstance(text, str):
            raise ValidationError(FieldError(path, "must be a string", repr(text)))
        from .labelparser import parse_requirements  # the grammar needs Requirement: import late
        requirements = parse_requirements(text, path)
        labels: dict[str, str] = {}
        expressions: list[Requirement] = []
        for req in requirements:
            if req._symbol in ("=", "==") and req.key not in labels:
                labels[req.key] = req.values[0]
            else:
                expressions.append(req)
        return cls(labels, expressions, path)

    # --- use ----------------------------------------------------------------------------------
    @property
    def empty(self) -> bool:
        """True for the selector that matches everything."""
        return not self.match_labels and not self.match_expressions

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        """Every requirement (matchLabels as In with one value), sorted by key as Kubernetes does."""
        reqs = [Requirement(k, IN, (v,), symbol="=") for k, v in self.match_labels.items()]
        reqs.extend(self.match_expressions)
        return tuple(sorted(reqs, key=lambda r: r.key))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; empty fields omitted, unknown fields written back."""
        out: dict[str, Any] = dict(self._extra)
        if self.match_labels:
            out["matchLabels"] = dict(self.match_labels)
        if self.match_expressions:
            out["matchExpressions"] = [r.to_dict() for r in self.match_expressions]
        return out

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"LabelSelector.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LabelSelector):
            return frozenset(self.requirements) == frozenset(other.requirements)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self.requirements))
