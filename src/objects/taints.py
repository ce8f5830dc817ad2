"""Node taints and pod tolerations, with Kubernetes' exact matching rules (``Toleration.ToleratesTaint``).

A toleration tolerates a taint when
  * its effect is empty or equal to the taint's effect, and
  * its key is empty or equal to the taint's key, and
  * its operator is ``Exists``, or ``Equal`` (the default) with an equal value.
So ``{operator: Exists}`` with no key and no effect tolerates every taint. Validation follows
``ValidateTolerations`` / ``validateNodeTaints``: an empty key needs ``Exists``; ``Exists`` takes no value;
``tolerationSeconds`` needs ``NoExecute``.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from .errors import FieldError, ValidationError
from .immutable import Immutable
from .fieldtypes import report_duplicates
from .labelsyntax import check_label_key, check_label_value

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"
TAINT_EFFECTS = (NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE)
EQUAL = "Equal"
EXISTS = "Exists"
TOLERATION_OPERATORS = (EQUAL, EXISTS)


def _unsupported(path: str, value: Any, supported: Sequence[str]) -> FieldError:
    """The API server's "Unsupported value" error, listing the ``supported`` values."""
    message = "supported values: " + ", ".join(f'"{v}"' for v in supported)
    return FieldError(path, message, _shown(value), "Unsupported value")


def _shown(value: Any) -> Any:
    return value if isinstance(value, str) else repr(value)


def _joined(errors: list[FieldError]) -> list[FieldError]:
    """One error whose message joins the problems with ";", as the API server reports label values."""
    if len(errors) < 2:
        return errors
    first = errors[0]
    return [FieldError(first.path, ";".join(e.message for e in errors), first.value, first.type)]


class Taint(Immutable):
    """A node taint: ``key``, ``value``, ``effect`` (NoSchedule, PreferNoSchedule, NoExecute)."""

    __slots__ = ("key", "value", "effect", "time_added", "_extra")

    def __init__(self, key: str, value: str = "", effect: str = NO_SCHEDULE, time_added: str | None = None,
                 path: str = "taint") -> None:
        errors = self.check(key, value, effect, path)
        if errors:
            raise ValidationError(errors)
        self.key: str = key
        self.value: str = value or ""
        self.effect: str = effect
        self.time_added: str | None = time_added
        self._extra: dict[str, Any] = {}

    @staticmethod
    def check(key: Any, value: Any, effect: Any, path: str) -> list[FieldError]:
        """Every problem of a taint (validateNodeTaints), as field errors."""
        errors = check_label_key(key, f"{path}.key")
        if value:
            errors.extend(_joined(check_label_value(value, f"{path}.value")))
        if not effect:
            errors.append(FieldError(f"{path}.effect", "", type="Required value"))
        elif effect not in TAINT_EFFECTS:
            errors.append(_unsupported(f"{path}.effect", effect, TAINT_EFFECTS))
        return errors

    @classmethod
    def from_dict(cls, d: Any, path: str = "taint") -> "Taint":
        """Read ``{"key", "value", "effect", "timeAdded"}``; unknown fields are kept."""
        if not isinstance(d, dict):
            raise ValidationError(FieldError(path, "must be an object", repr(d)))
        time_added = d.get("timeAdded")
        if time_added is not None and not isinstance(time_added, str):
            raise ValidationError(FieldError(f"{path}.timeAdded", "must be a timestamp string", repr(time_added)))
        taint = cls(d.get("key", ""), d.get("value") or "", d.get("effect", ""), time_added, path)
        taint._extra = {k: v for k, v in d.items() if k not in ("key", "value", "effect", "timeAdded")}
        return taint

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; empty value and timeAdded omitted."""
        out: dict[str, Any] = {"key": self.key}
        if self.value:
            out["value"] = self.value
        out["effect"] = self.effect
        if self.time_added is not None:
            out["timeAdded"] = self.time_added
        out.update(self._extra)
        return out

    def matches(self, other: "Taint") -> bool:
        """``Taint.MatchTaint``: same key and effect (the identity of a taint on a node)."""
        return self.key == other.key and self.effect == other.effect

    def __str__(self) -> str:
        # As kubectl prints taints: key=value:effect, or key:effect without a value.
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"

    def __repr__(self) -> str:
        return f"Taint({self.key!r}, {self.value!r}, {self.effect!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Taint):
            return (self.key, self.value, self.effect, self.time_added) == (
                other.key, other.value, other.effect, other.time_added)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.key, self.value, self.effect))


class Toleration(Immutable):
    """A pod toleration: ``key``, ``operator`` (Equal, Exists), ``value``, ``effect``, ``toleration_seconds``.

    An absent operator means ``Equal`` (Kubernetes' defaulting); an empty key with ``Exists`` tolerates
    every taint, an empty effect tolerates every effect.

    ``toleration.tolerates(taint) -> bool`` is ``ToleratesTaint``; it is a function specialised once per
    toleration (see :func:`compile_toleration`), since the scheduler calls it for every pod x node x taint.
    """

    __slots__ = ("key", "operator", "value", "effect", "toleration_seconds", "tolerates", "_extra")

    def __init__(self, key: str = "", operator: str = EQUAL, value: str = "", effect: str = "",
                 toleration_seconds: int | None = None, path: str = "toleration") -> None:
        errors = self.check(key, operator, value, effect, toleration_seconds, path)
        if errors:
            raise ValidationError(errors)
        operator = operator or EQUAL
        self.key: str = key or ""
        self.operator: str = operator
        self.value: str = value or ""
        self.effect: str = effect or ""
        self.toleration_seconds: int | None = toleration_seconds
        self.tolerates: Callable[[Taint], bool] = compile_toleration(
            self.key, operator == EXISTS, self.value, self.effect)
        self._extra: dict[str, Any] = {}

    @staticmethod
    def check(key: Any, operator: Any, value: Any, effect: Any, toleration_seconds: Any,
              path: str) -> list[FieldError]:
        """Every problem of a toleration (ValidateTolerations), as field errors."""
        errors: list[FieldError] = []
        if key:
            errors.extend(check_label_key(key, f"{path}.key"))
        elif operator != EXISTS:
            errors.append(FieldError(f"{path}.operator",
                                     "operator must be Exists when `key` is empty, which means \"match all "
                                     "values and all keys\"", _shown(operator)))
        if toleration_seconds is not None:
            if isinstance(toleration_seconds, bool) or not isinstance(toleration_seconds, int):
                errors.append(FieldError(f"{path}.tolerationSeconds", "must be an integer",
                                         _shown(toleration_seconds)))
            if effect != NO_EXECUTE:
                errors.append(FieldError(f"{path}.effect",
                                         "effect must be 'NoExecute' when `tolerationSeconds` is set",
                                         _shown(effect)))
        if operator in (EQUAL, "", None):
            if value:
                # The API server reports a bad value under `operator`, its problems joined by ";".
                errors.extend(_joined(check_label_value(value, f"{path}.operator")))
        elif operator == EXISTS:
            if value:
                errors.append(FieldError(f"{path}.operator", "value must be empty when `operator` is 'Exists'",
                                         _shown(value)))
        else:
            errors.append(_unsupported(f"{path}.operator", operator, TOLERATION_OPERATORS))
        if effect and effect not in TAINT_EFFECTS:
            errors.append(_unsupported(f"{path}.effect", effect, TAINT_EFFECTS))
        return errors

    @classmethod
    def from_dict(cls, d: Any, path: str = "toleration") -> "Toleration":
        """Read ``{"key", "operator", "value", "effect", "tolerationSeconds"}``; unknown fields are kept."""
        if not isinstance(d, dict):
            raise ValidationError(FieldError(path, "must be an object", repr(d)))
        shared = _shared_key(d)
        if shared is not None:
            found = _SHARED.get(shared)
            if found is not None:
                return found
        toleration = cls(d.get("key") or "", d.get("operator") or "", d.get("value") or "",
                         d.get("effect") or "", d.get("tolerationSeconds"), path)
        known = ("key", "operator", "value", "effect", "tolerationSeconds")
        toleration._extra = {k: v for k, v in d.items() if k not in known}
        if shared is not None:
            if len(_SHARED) >= _SHARED_MAX:
                _SHARED.clear()
            _SHARED[shared] = toleration
        return toleration

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (operator always written, as after defaulting); empty fields omitted."""
        out: dict[str, Any] = {}
        if self.key:
            out["key"] = self.key
        out["operator"] = self.operator
        if self.value:
            out["value"] = self.value
        if self.effect:
            out["effect"] = self.effect
        if self.toleration_seconds is not None:
            out["tolerationSeconds"] = self.toleration_seconds
        out.update(self._extra)
        return out

    def __repr__(self) -> str:
        return (f"Toleration({self.key!r}, {self.operator!r}, {self.value!r}, {self.effect!r}, "
                f"{self.toleration_seconds!r})")

    def _identity(self) -> tuple:
        return (self.key, self.operator, self.value, self.effect, self.toleration_seconds)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Toleration):
            return self._identity() == other._identity()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._identity())


# Tolerations read, shared: a Toleration is an immutable value and every pod of a template (every pod, for
# the default not-ready / unreachable ones) carries the same few, each with its compiled function.
_SHARED: dict[tuple[Any, ...], Toleration] = {}
_SHARED_MAX = 4096
_TOLERATION_FIELDS = frozenset(("key", "operator", "value", "effect", "tolerationSeconds"))


def _shared_key(d: dict[str, Any]) -> tuple[Any, ...] | None:
    """The key of a toleration's JSON form in ``_SHARED``: only plain string fields and an int (not bool)
    tolerationSeconds, no unknown fields; None for anything else (read as usual, errors and all)."""
    if not _TOLERATION_FIELDS.issuperset(d):
        return None
    key, operator, value, effect = d.get("key"), d.get("operator"), d.get("value"), d.get("effect")
    seconds = d.get("tolerationSeconds")
    for s in (key, operator, value, effect):
        if s is not None and type(s) is not str:
            return None
    if seconds is not None and type(seconds) is not int:
        return None
    return (key, operator, value, effect, seconds)


def compile_toleration(key: str, exists: bool, value: str, effect: str) -> Callable[[Taint], bool]:
    """ToleratesTaint specialised to one toleration: only the comparisons that can fail remain."""
    if exists:
        if not key:
            if not effect:
                return lambda taint: True
            return lambda taint: taint.effect == effect
        if not effect:
            return lambda taint: taint.key == key
        return lambda taint: taint.key == key and taint.effect == effect
    if not effect:
        return lambda taint: taint.key == key and taint.value == value
    return lambda taint: taint.key == key and taint.value == value and taint.effect == effect


def tolerates(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    """``TolerationsTolerateTaint``: some toleration in the list tolerates ``taint``."""
    for toleration in tolerations:
        if toleration.tolerates(taint):
            return True
    return False


def find_untolerated_taint(taints: Iterable[Taint], tolerations: Sequence[Toleration],
                           include: Callable[[Taint], bool] | None = None) -> Taint | None:
    """``FindMatchingUntoleratedTaint``: the first taint (passing ``include``) no toleration tolerates."""
    for taint in taints:
        if include is not None and not include(taint):
            continue
        if not tolerates(tolerations, taint):
            return taint
    return None


def duplicate_taint_errors(taints: Sequence[Taint], path: str = "spec.taints") -> list[FieldError]:
    """validateNodeTaints' uniqueness rule: at most one taint per (key, effect) pair."""
    errors: list[FieldError] = []
    report_duplicates(taints, lambda t: (t.key, t.effect), lambda i: f"{path}[{i}]", errors, str,
                      "taints must be unique by key and effect pair")
    return errors


def no_schedule_or_no_execute(taint: Taint) -> bool:
    """The filter the TaintToleration Filter plugin uses: effects that keep a pod off a node."""
    return taint.effect != PREFER_NO_SCHEDULE
