"""Kubernetes resource quantities (apimachinery's ``resource.Quantity``), exactly.

A quantity is kept as an integer count of nano-units, so arithmetic is exact and there is no float
anywhere. Parsing follows ``resource.ParseQuantity`` rule for rule, including its corners:

* values are rounded *away from zero* to a whole nano-unit ("0.1n" is "1n") — you asked for some
  resource, you get some;
* a binary-suffixed value too big for an int64 is capped at 2**63-1 (only on the parse path that the
  API server caps; "12E" keeps its value);
* the format (``DecimalSI``, ``BinarySI``, ``DecimalExponent``) comes from the suffix and decides how the
  value prints;
* a string already in canonical form is printed back as it was written ("100m" stays "100m", and so do
  Kubernetes' own oddities such as "+5" or "1E3"), otherwise the canonical form is computed as
  ``CanonicalizeBytes`` does ("1.5Gi" -> "1536Mi", "0.5" -> "500m", "1000" -> "1k").

Differences from Go: values never overflow (Python ints), so ``value()`` of "12E" is 12*10**18
instead of an overflowed int64; exponents are limited to +-1000 so a hostile string cannot make us
compute a number with a billion digits; a DecimalSI value beyond the largest suffix prints with "E"
(Go prints a wrong bare mantissa there).
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Union

from .errors import FieldError, ValidationError
from .immutable import Immutable

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"
FORMATS = (DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT)

QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

_NANO = 10**9
_INT64_MAX = 2**63 - 1
_MAX_ABS_EXPONENT = 1000
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX_BY_EXPONENT = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_SUFFIX_BY_POWER = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")


class _Malformed(Exception):
    """Internal: why a string is not a quantity (turned into a ValidationError with a field path)."""


def _scan(text: str) -> tuple[bool, str, str, str, str]:
    """Split like apimachinery's parseQuantityString: (positive, value, num, denom, suffix)."""
    positive = True
    pos = 0
    end = len(text)
    if text[0] == "-":
        positive = False
        pos = 1
    elif text[0] == "+":
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    if pos >= end:
        return positive, text, num, "", ""
    denom = ""
    if text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
        if pos >= end:
            return positive, text, num, denom, ""
    value = text[:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_LETTERS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise _Malformed(f"quantities must match the regular expression '{QUANTITY_PATTERN}'")
    return positive, value, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, like apimachinery's suffixer.interpret."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[0] in "+-" else digits
        if body and all(c in _DIGITS for c in body):
            exponent = int(digits)
            if abs(exponent) > _MAX_ABS_EXPONENT:
                raise _Malformed(f"exponent {exponent} is out of range: must be within +-{_MAX_ABS_EXPONENT}")
            return 10, exponent, DECIMAL_EXPONENT
    raise _Malformed("unable to parse quantity's suffix")


def _fast_path(positive: bool, num: str, denom: str, exponent: int, fmt: str,
               text: str) -> tuple[int, str, str | None] | None:
    """ParseQuantity's int64 fast path; returns None where Go falls through to the slow path.

    It matters which path a value takes: only the fast path may keep the original text as the
    printed form, and only the slow path caps binary values at int64.
    """
    mantissa = 1
    if fmt == BINARY_SI:
        scale = 0
        if denom:
            return None
        mantissa = 1 << exponent
        precision = 15 - len(num) - (exponent * 3) // 10 - 1
    else:
        scale = exponent
        precision = 18 - (len(num) + len(denom))
    if precision < 0:
        return None
    scale -= len(denom)
    if scale < -9:
        return None
    shifted = num + denom
    value = int(shifted)
    result = value * mantissa
    if result > _INT64_MAX:
        return None
    if not positive:
        result = -result
    nanos = result * 10 ** (scale + 9)
    if fmt == BINARY_SI:
        canonical = value & 0x07 != 0
    else:
        canonical = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return nanos, fmt, (text if canonical else None)


def _slow_path(positive: bool, value: str, base: int, exponent: int, fmt: str) -> tuple[int, str, None]:
    """ParseQuantity's arbitrary-precision path: exact value, rounded away from zero to nanos."""
    digits = value.lstrip("+-")
    whole, _, fraction = digits.partition(".")
    if not (whole or fraction) or not (whole + fraction).isdigit():
        raise _Malformed("unable to parse numeric part of quantity")
    if len(whole) + len(fraction) > 4000:
        raise _Malformed("too many digits: at most 4000")
    amount = Fraction(int(whole + fraction or "0"), 10 ** len(fraction))
    amount *= Fraction(10) ** exponent if base == 10 else 2**exponent
    nanos = -((-amount * _NANO).__floor__())  # ceil of a non-negative amount: away from zero
    if fmt == BINARY_SI and nanos > _INT64_MAX * _NANO:
        nanos = _INT64_MAX * _NANO
    if fmt == BINARY_SI and 0 < nanos < _NANO:
        fmt = DECIMAL_SI
    return (nanos if positive else -nanos), fmt, None


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple[int, str, str | None]:
    """(nanos, format, canonical text or None) for a quantity string; raises _Malformed."""
    if not text:
        raise _Malformed("quantities must match the regular expression '" + QUANTITY_PATTERN + "'")
    if text == "0":
        return 0, DECIMAL_SI, "0"
    if len(text) > 4100:
        raise _Malformed("too long: at most 4100 characters")
    positive, value, num, denom, suffix = _scan(text)
    base, exponent, fmt = _interpret(suffix)
    fast = _fast_path(positive, num, denom, exponent, fmt, text)
    if fast is not None:
        return fast
    return _slow_path(positive, value, base, exponent, fmt)


def _round_away(nanos: int, unit: int) -> int:
    """nanos / unit rounded away from zero, as int64Amount.AsScaledInt64 does."""
    whole, rest = divmod(abs(nanos), unit)
    if rest:
        whole += 1
    return whole if nanos >= 0 else -whole


def _decimal_parts(nanos: int) -> tuple[int, int]:
    """(mantissa, exponent) with exponent a multiple of 3 and as few trailing zeros as that allows."""
    mantissa, exponent = nanos, -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    shift = exponent % 3
    return mantissa * 10**shift, exponent - shift


def _canonical(nanos: int, fmt: str) -> str:
    """The string CanonicalizeBytes produces for this value and format."""
    if nanos == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 * _NANO < nanos < 1024 * _NANO or nanos % _NANO:
            fmt = DECIMAL_SI
        else:
            number = nanos // _NANO
            power = 0
            while power < 6 and number % 1024 == 0:
                number //= 1024
                power += 1
            return f"{number}{_BINARY_SUFFIX_BY_POWER[power]}"
    mantissa, exponent = _decimal_parts(nanos)
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    if exponent > 18:
        mantissa, exponent = mantissa * 10 ** (exponent - 18), 18
    return f"{mantissa}{_DECIMAL_SUFFIX_BY_EXPONENT[exponent]}"


QuantityLike = Union["Quantity", str, int]


class Quantity(Immutable):
    """A resource quantity such as "100m", "1.5Gi" or "12e6", with exact arithmetic.

    ``Quantity(str)`` parses as the API server does (raising :class:`ValidationError` naming the
    value); ``Quantity(int)`` is a whole DecimalSI number; ``Quantity(float)`` parses the float's
    shortest decimal text, like a YAML number. Quantities are immutable values: equal when their
    amounts are equal, whatever their format, and hashable accordingly.
    """

    __slots__ = ("_nanos", "_format", "_text")

    def __init__(self, value: QuantityLike | float = 0, path: str = "quantity") -> None:
        self._text: str | None
        if isinstance(value, str):
            try:
                self._nanos, self._format, self._text = _parse(value)
            except _Malformed as exc:
                raise ValidationError(FieldError(path, _message(exc), value)) from None
        elif isinstance(value, Quantity):
            self._nanos, self._format, self._text = value._nanos, value._format, value._text
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(FieldError(path, "must be a quantity", repr(value)))
        elif isinstance(value, int):
            self._nanos, self._format, self._text = value * _NANO, DECIMAL_SI, None
        else:
            if value != value or value in (float("inf"), float("-inf")):
                raise ValidationError(FieldError(path, "must be a quantity", repr(value)))
            text = repr(value)
            try:
                self._nanos, self._format, self._text = _parse(text)
            except _Malformed as exc:
                raise ValidationError(FieldError(path, _message(exc), text)) from None

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, path: str = "quantity") -> "Quantity":
        """Parse a quantity string (``resource.ParseQuantity``)."""
        if not isinstance(text, str):
            raise ValidationError(FieldError(path, "must be a quantity", repr(text)))
        return cls(text, path)

    @classmethod
    def from_dict(cls, d: object, path: str = "quantity") -> "Quantity":
        """Read a quantity from its JSON form: a string, or a number as YAML manifests allow."""
        if isinstance(d, (str, int, float)) and not isinstance(d, bool):
            return cls(d, path)
        raise ValidationError(FieldError(path, "must be a quantity", repr(d)))

    @classmethod
    def from_milli(cls, milli: int, format: str = DECIMAL_SI) -> "Quantity":
        """``resource.NewMilliQuantity``: ``milli`` thousandths of a unit."""
        return cls._make(milli * 1_000_000, format)

    @classmethod
    def from_value(cls, value: int, format: str = DECIMAL_SI) -> "Quantity":
        """``resource.NewQuantity``: a whole number of units in the given format."""
        return cls._make(value * _NANO, format)

    @classmethod
    def _make(cls, nanos: int, format: str, text: str | None = None) -> "Quantity":
        if format not in FORMATS:
            raise ValidationError(FieldError("format", "", format, "Unsupported value"))
        q = object.__new__(cls)
        q._nanos, q._format, q._text = nanos, format, text
        return q

    # --- views --------------------------------------------------------------------------------
    @property
    def format(self) -> str:
        """"DecimalSI", "BinarySI" or "DecimalExponent": decides how the value prints."""
        return self._format

    @property
    def nanos(self) -> int:
        """The exact amount in nano-units (10**-9)."""
        return self._nanos

    def value(self) -> int:
        """The amount in whole units, rounded away from zero ("1500m" -> 2)."""
        return _round_away(self._nanos, _NANO)

    def milli_value(self) -> int:
        """The amount in thousandths, rounded away from zero ("1n" -> 1)."""
        return _round_away(self._nanos, 1_000_000)

    def scaled_value(self, scale: int) -> int:
        """The amount in units of 10**scale (scale >= -9), rounded away from zero."""
        if scale < -9:
            raise ValidationError(FieldError("scale", "must be at least -9", scale))
        return _round_away(self._nanos, 10 ** (scale + 9))

    def as_fraction(self) -> Fraction:
        """The exact amount as a Fraction of units."""
        return Fraction(self._nanos, _NANO)

    def as_approximate_float(self) -> float:
        """The amount as a float, for display only."""
        return self._nanos / _NANO

    def is_zero(self) -> bool:
        """True for a zero amount."""
        return self._nanos == 0

    def sign(self) -> int:
        """-1, 0 or 1."""
        return (self._nanos > 0) - (self._nanos < 0)

    def to_dict(self) -> str:
        """The JSON form: the canonical string."""
        return str(self)

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = self._text = _canonical(self._nanos, self._format)
        return text

    def __repr__(self) -> str:
        return f'Quantity("{self}")'

    # --- arithmetic (Add / Sub / Neg / Mul keep the left format unless the left is zero) -----
    def _other(self, other: object) -> "Quantity | None":
        if isinstance(other, Quantity):
            return other
        if isinstance(other, (int, str)) and not isinstance(other, bool):
            return Quantity(other)
        return None

    def __add__(self, other: QuantityLike) -> "Quantity":
        y = self._other(other)
        if y is None:
            return NotImplemented
        return Quantity._make(self._nanos + y._nanos, self._format if self._nanos else y._format)

    __radd__ = __add__

    def __sub__(self, other: QuantityLike) -> "Quantity":
        y = self._other(other)
        if y is None:
            return NotImplemented
        return Quantity._make(self._nanos - y._nanos, self._format if self._nanos else y._format)

    def __rsub__(self, other: QuantityLike) -> "Quantity":
        y = self._other(other)
        if y is None:
            return NotImplemented
        return y - self

    def __neg__(self) -> "Quantity":
        return Quantity._make(-self._nanos, self._format)

    def __abs__(self) -> "Quantity":
        return self if self._nanos >= 0 else -self

    def __mul__(self, factor: int) -> "Quantity":
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Quantity._make(self._nanos * factor, self._format)

    __rmul__ = __mul__

    # --- comparison -----------------------------------------------------------------------------
    def cmp(self, other: QuantityLike) -> int:
        """-1, 0 or 1, like ``Quantity.Cmp``."""
        y = self._other(other)
        if y is None:
            raise TypeError(f"cannot compare Quantity with {type(other).__name__}")
        return (self._nanos > y._nanos) - (self._nanos < y._nanos)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self._nanos == other._nanos
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._nanos)

    def __lt__(self, other: "Quantity") -> bool:
        if isinstance(other, Quantity):
            return self._nanos < other._nanos
        return NotImplemented

    def __le__(self, other: "Quantity") -> bool:
        if isinstance(other, Quantity):
            return self._nanos <= other._nanos
        return NotImplemented

    def __gt__(self, other: "Quantity") -> bool:
        if isinstance(other, Quantity):
            return self._nanos > other._nanos
        return NotImplemented

    def __ge__(self, other: "Quantity") -> bool:
        if isinstance(other, Quantity):
            return self._nanos >= other._nanos
        return NotImplemented

    def __bool__(self) -> bool:
        return self._nanos != 0



def _message(exc: _Malformed) -> str:
    reason = str(exc)
    if reason.startswith("quantities must match") or reason.startswith("unable to parse"):
        return "must be a quantity"
    return f"must be a quantity: {reason}"


def parse_quantity(text: str, path: str = "quantity") -> Quantity:
    """``resource.ParseQuantity``: the Quantity for ``text`` or a ValidationError naming it."""
    return Quantity.parse(text, path)
