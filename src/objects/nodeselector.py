"""Node selectors (``v1.NodeSelector``), matched as component-helpers' ``nodeaffinity`` does.

* ``NodeSelector``: its terms are ORed; no terms matches no node.
* ``NodeSelectorTerm``: its matchExpressions (on node labels) and matchFields (on node fields) are
  ANDed; a term with neither matches nothing ("nil or empty term selects no objects").
* ``NodeSelectorRequirement``: operators In NotIn Exists DoesNotExist Gt Lt on labels; matchFields
  support only ``metadata.name`` with In / NotIn and exactly one value.

As in Kubernetes, matchFields are only consulted when the caller passes node fields (the scheduler
passes ``{"metadata.name": node_name}``). Where the API server would accept a malformed requirement
and then never match it (a Gt value that is not an integer), ``from_dict`` rejects it instead, naming
the field.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Self, Sequence

from .errors import FieldError, ValidationError
from .immutable import Immutable
from .labelsyntax import dns1123_subdomain_problems
from .labels import (DOES_NOT_EXIST, EXISTS, GT, IN, LT, NODE_SELECTOR_OPERATORS, NOT_IN, Requirement,
                     compile_matcher, read_match_expressions)

NODE_FIELD_SELECTOR_KEYS = ("metadata.name",)

__all__ = ["NodeSelector", "NodeSelectorTerm", "NodeSelectorRequirement", "IN", "NOT_IN", "EXISTS",
           "DOES_NOT_EXIST", "GT", "LT"]


class NodeSelectorRequirement(Requirement):
    """One requirement of a node selector term: ``key``, ``operator``, ``values``."""

    __slots__ = ()

    def __init__(self, key: str, operator: str, values: Iterable[str] = (), path: str = "requirement",
                 operators: Sequence[str] = NODE_SELECTOR_OPERATORS) -> None:
        super().__init__(key, operator, values, path, operators)

    @classmethod
    def from_dict(cls, d: Any, path: str = "requirement",
                  operators: Sequence[str] = NODE_SELECTOR_OPERATORS) -> Self:
        """Read ``{"key", "operator", "values"}`` of a matchExpressions entry (Gt and Lt allowed)."""
        return super().from_dict(d, path, operators)

    def __repr__(self) -> str:
        return f"NodeSelectorRequirement({self.key!r}, {self.operator!r}, {list(self.values)!r})"


class _FieldRequirement(Immutable):
    """A matchFields entry: ``metadata.name`` In / NotIn one value (nodeSelectorRequirementsAsFieldSelector)."""

    __slots__ = ("key", "operator", "values")

    def __init__(self, key: str, operator: str, values: Sequence[str]) -> None:
        self.key, self.operator, self.values = key, operator, tuple(values)

    @staticmethod
    def check(d: Any, path: str) -> list[FieldError]:
        """ValidateNodeFieldSelectorRequirement: In / NotIn, one value, a known key, a valid node name."""
        if not isinstance(d, dict):
            return [FieldError(path, "must be an object", repr(d))]
        errors = []
        key, operator, values = d.get("key"), d.get("operator"), d.get("values")
        if operator not in (IN, NOT_IN):
            errors.append(FieldError(f"{path}.operator", "not a valid selector operator",
                                     operator if isinstance(operator, str) else repr(operator)))
        elif not isinstance(values, list) or len(values) != 1:
            errors.append(FieldError(f"{path}.values", "must be only one value when `operator` is 'In' or "
                                     "'NotIn' for node field selector", type="Required value"))
        if key not in NODE_FIELD_SELECTOR_KEYS:
            errors.append(FieldError(f"{path}.key", "not a valid field selector key",
                                     key if isinstance(key, str) else repr(key)))
        elif isinstance(values, list):
            for i, value in enumerate(values):
                if not isinstance(value, str):
                    errors.append(FieldError(f"{path}.values[{i}]", "must be a string", repr(value)))
                else:
                    errors.extend(FieldError(f"{path}.values[{i}]", msg, value)
                                  for msg in dns1123_subdomain_problems(value))
        return errors

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "operator": self.operator, "values": list(self.values)}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _FieldRequirement):
            return (self.key, self.operator, self.values) == (other.key, other.operator, other.values)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.key, self.operator, self.values))


class NodeSelectorTerm(Immutable):
    """matchExpressions (node labels) ANDed with matchFields (node fields); empty matches nothing."""

    __slots__ = ("match_expressions", "match_fields", "_labels_match", "_field_checks", "_empty", "_extra")

    def __init__(self, match_expressions: Sequence[NodeSelectorRequirement] | None = None,
                 match_fields: Sequence[Any] | None = None) -> None:
        self.match_expressions: tuple[NodeSelectorRequirement, ...] = tuple(match_expressions or ())
        fields: list[_FieldRequirement] = []
        for i, f in enumerate(match_fields or ()):
            d = f.to_dict() if isinstance(f, (_FieldRequirement, Requirement)) else f
            errors = _FieldRequirement.check(d, f"matchFields[{i}]")
            if errors:
                raise ValidationError(errors)
            fields.append(_FieldRequirement(d["key"], d["operator"], d["values"]))
        self.match_fields: tuple[_FieldRequirement, ...] = tuple(fields)
        self._labels_match = compile_matcher((), tuple(r._check for r in self.match_expressions))
        self._field_checks = tuple((f.operator == IN, f.key, f.values[0]) for f in self.match_fields)
        self._empty = not self.match_expressions and not self.match_fields
        self._extra: dict[str, Any] = {}

    @classmethod
    def from_dict(cls, d: Any, path: str = "nodeSelectorTerm") -> "NodeSelectorTerm":
        """Read ``{"matchExpressions": [...], "matchFields": [...]}``; every problem is reported."""
        if not isinstance(d, dict):
            raise ValidationError(FieldError(path, "must be an object", repr(d)))
        errors: list[FieldError] = []
        expressions = read_match_expressions(d, path, NodeSelectorRequirement, errors)
        fields = d.get("matchFields")
        fields = [] if fields is None else fields
        if not isinstance(fields, list):
            errors.append(FieldError(f"{path}.matchFields", "must be a list", repr(fields)))
            fields = []
        for i, item in enumerate(fields):
            errors.extend(_FieldRequirement.check(item, f"{path}.matchFields[{i}]"))
        if errors:
            raise ValidationError(errors)
        term = cls(expressions, fields)
        term._extra = {k: v for k, v in d.items()
                       if k not in ("matchExpressions", "matchFields") or v in ([], None)}
        return term

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; empty lists omitted."""
        out: dict[str, Any] = dict(self._extra)
        if self.match_expressions:
            out["matchExpressions"] = [r.to_dict() for r in self.match_expressions]
        if self.match_fields:
            out["matchFields"] = [f.to_dict() for f in self.match_fields]
        return out

    def matches(self, labels: Mapping[str, str] | None, fields: Mapping[str, str] | None = None) -> bool:
        """Whether a node with these labels (and fields, e.g. ``{"metadata.name": name}``) matches."""
        if self._empty or not self._labels_match(labels):
            return False
        if self._field_checks and fields:
            for is_in, key, value in self._field_checks:
                if (fields.get(key, "") == value) != is_in:
                    return False
        return True

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeSelectorTerm):
            return (self.match_expressions, self.match_fields) == (other.match_expressions, other.match_fields)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.match_expressions, self.match_fields))

    def __repr__(self) -> str:
        return f"NodeSelectorTerm.from_dict({self.to_dict()!r})"


class NodeSelector:
    """``v1.NodeSelector``: a node matches when any of ``node_selector_terms`` matches it."""

    __slots__ = ("node_selector_terms", "_live_terms", "_extra")
    # _live_terms: (labels matcher, field checks) of each non-empty term, for one flat loop in matches().

    def __init__(self, node_selector_terms: Sequence[NodeSelectorTerm] | None = None) -> None:
        self.node_selector_terms: tuple[NodeSelectorTerm, ...] = tuple(node_selector_terms or ())
        self._live_terms = tuple((t._labels_match, t._field_checks) for t in self.node_selector_terms
                                 if not t._empty)
        self._extra: dict[str, Any] = {}

    @classmethod
    def from_dict(cls, d: Any, path: str = "nodeSelector") -> "NodeSelector":
        """Read ``{"nodeSelectorTerms": [...]}``; at least one term is required, as the API server says."""
        if not isinstance(d, dict):
            raise ValidationError(FieldError(path, "must be an object", repr(d)))
        raw = d.get("nodeSelectorTerms")
        if not raw:
            raise ValidationError(FieldError(f"{path}.nodeSelectorTerms", "must have at least one node selector term",
                                             type="Required value"))
        if not isinstance(raw, list):
            raise ValidationError(FieldError(f"{path}.nodeSelectorTerms", "must be a list", repr(raw)))
        errors: list[FieldError] = []
        terms: list[NodeSelectorTerm] = []
        for i, item in enumerate(raw):
            try:
                terms.append(NodeSelectorTerm.from_dict(item, f"{path}.nodeSelectorTerms[{i}]"))
            except ValidationError as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)
        selector = cls(terms)
        selector._extra = {k: v for k, v in d.items() if k != "nodeSelectorTerms"}
        return selector

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {"nodeSelectorTerms": [t.to_dict() for t in self.node_selector_terms]}
        out.update(self._extra)
        return out

    def matches(self, labels: Mapping[str, str] | None, fields: Mapping[str, str] | None = None) -> bool:
        """Whether any term matches the node's labels (and fields)."""
        for labels_match, field_checks in self._live_terms:
            if not labels_match(labels):
                continue
            if field_checks and fields:
                if any((fields.get(key, "") == value) != is_in for is_in, key, value in field_checks):
                    continue
            return True
        return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeSelector):
            return self.node_selector_terms == other.node_selector_terms
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.node_selector_terms)

    def __repr__(self) -> str:
        return f"NodeSelector.from_dict({self.to_dict()!r})"
