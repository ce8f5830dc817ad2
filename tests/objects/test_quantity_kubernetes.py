"""Quantity against the behaviour apimachinery's own tests pin down (values, formats, printed forms).

Each vector is (input, expected amount as mantissa * 10**exponent, format) or (input, printed); these are
facts about resource.Quantity, checked here value by value.
"""
from fractions import Fraction

import pytest

from objects.quantity import BINARY_SI as BIN, DECIMAL_EXPONENT as EXP, DECIMAL_SI as DEC, Quantity

CAP = 2**63 - 1

PARSED = [
    ("0", 0, 0, DEC), ("0n", 0, 0, DEC), ("0u", 0, 0, DEC), ("0m", 0, 0, DEC), ("0Ki", 0, 0, BIN),
    ("0k", 0, 0, DEC), ("0Mi", 0, 0, BIN), ("0M", 0, 0, DEC), ("0Gi", 0, 0, BIN), ("0G", 0, 0, DEC),
    ("0Ti", 0, 0, BIN), ("0T", 0, 0, DEC), ("1", 1, 0, DEC),
    ("1Ki", 1024, 0, BIN), ("8Ki", 8 * 1024, 0, BIN), ("7Mi", 7 * 2**20, 0, BIN), ("6Gi", 6 * 2**30, 0, BIN),
    ("5Ti", 5 * 2**40, 0, BIN), ("4Pi", 4 * 2**50, 0, BIN), ("3Ei", 3 * 2**60, 0, BIN),
    ("10Ti", 10 * 2**40, 0, BIN), ("100Ti", 100 * 2**40, 0, BIN),
    ("5n", 5, -9, DEC), ("4u", 4, -6, DEC), ("3m", 3, -3, DEC), ("9", 9, 0, DEC), ("8k", 8, 3, DEC),
    ("50k", 5, 4, DEC), ("7M", 7, 6, DEC), ("6G", 6, 9, DEC), ("5T", 5, 12, DEC), ("40T", 4, 13, DEC),
    ("300T", 3, 14, DEC), ("2P", 2, 15, DEC), ("1E", 1, 18, DEC),
    ("1E-3", 1, -3, EXP), ("1e3", 1, 3, EXP), ("1E6", 1, 6, EXP), ("1e9", 1, 9, EXP), ("1E12", 1, 12, EXP),
    ("1e15", 1, 15, EXP), ("1E18", 1, 18, EXP), ("1e14", 1, 14, EXP), ("1e13", 1, 13, EXP),
    ("100.035k", 100035, 0, DEC),
    ("0.001", 1, -3, DEC), ("0.0005k", 5, -1, DEC), ("0.005", 5, -3, DEC), ("0.05", 5, -2, DEC),
    ("0.5", 5, -1, DEC), ("0.00050k", 5, -1, DEC), ("0.00500", 5, -3, DEC), ("0.05000", 5, -2, DEC),
    ("0.50000", 5, -1, DEC), ("0.5e0", 5, -1, EXP), ("0.5e-1", 5, -2, EXP), ("0.5e-2", 5, -3, EXP),
    ("10.035M", 10035, 3, DEC), ("1.2e3", 12, 2, EXP), ("1.3E+6", 13, 5, EXP), ("1.40e9", 14, 8, EXP),
    ("1.53E12", 153, 10, EXP), ("1.6e15", 16, 14, EXP), ("1.7E18", 17, 17, EXP),
    ("9.01", 901, -2, DEC), ("8.1k", 81, 2, DEC), ("7.123456M", 7123456, 0, DEC),
    ("6.987654321G", 6987654321, 0, DEC), ("5.444T", 5444, 9, DEC), ("40.1T", 401, 11, DEC),
    ("300.2T", 3002, 11, DEC), ("2.5P", 25, 14, DEC), ("1.01E", 101, 16, DEC),
    ("3.001n", 4, -9, DEC), ("1.1E-9", 2, -9, EXP), ("0.0000000001", 1, -9, DEC),
    ("0.0000000005", 1, -9, DEC), ("0.00000000050", 1, -9, DEC), ("0.5e-9", 1, -9, EXP), ("0.9n", 1, -9, DEC),
    ("0.00000012345", 124, -9, DEC), ("0.00000012354", 124, -9, DEC),
    ("9Ei", CAP, 0, BIN), ("9223372036854775807Ki", CAP, 0, BIN), ("12E", 12, 18, DEC),
    ("100.035Ki", 10243584, -2, BIN), ("0.5Mi", 524288, 0, BIN), ("0.05Gi", 536870912, -1, BIN),
    ("0.025Ti", 274877906944, -1, BIN),
    ("0.000000000001Ki", 2, -9, DEC), (".001", 1, -3, DEC), (".0001k", 100, -3, DEC), ("1.", 1, 0, DEC),
    ("1.G", 1, 9, DEC),
]


@pytest.mark.parametrize("sign", ["", "-", "+"])
@pytest.mark.parametrize("text, mantissa, exponent, fmt", PARSED)
def test_parse_values_and_formats(text, mantissa, exponent, fmt, sign):
    q = Quantity(sign + text)
    expected = Fraction(mantissa) * Fraction(10) ** exponent
    assert q.as_fraction() == (-expected if sign == "-" else expected)
    assert q.format == fmt


# (amount as mantissa * 10**exponent, format) -> canonical text, and an alternate spelling printing the same
PRINTED = [
    (2**30, 0, BIN, "1Gi", "1024Mi"), (300 * 2**20, 0, BIN, "300Mi", "307200Ki"), (6 * 1024, 0, BIN, "6Ki", ""),
    (1001 * 2**30, 0, BIN, "1001Gi", "1025024Mi"), (2**40, 0, BIN, "1Ti", "1024Gi"), (5, 0, BIN, "5", "5000m"),
    (500, -3, BIN, "500m", "0.5"), (1, 9, DEC, "1G", "1000M"), (1000, 6, DEC, "1G", "0.001T"),
    (1, -3, DEC, "1m", "1000u"), (80, -3, DEC, "80m", ""), (1080, -3, DEC, "1080m", "1.08"),
    (108, -2, DEC, "1080m", "1080000000n"), (300, 6, DEC, "300M", ""), (1, 12, DEC, "1T", ""),
    (1234567, 6, DEC, "1234567M", ""), (1234567, -3, BIN, "1234567m", ""), (3, 3, DEC, "3k", ""),
    (1025, 0, BIN, "1025", ""), (0, 0, DEC, "0", ""), (0, 0, BIN, "0", ""), (1, 9, EXP, "1e9", ".001e12"),
    (1, -3, EXP, "1e-3", "0.001e0"), (1, -9, EXP, "1e-9", "1000e-12"), (80, -3, EXP, "80e-3", ""),
    (300, 6, EXP, "300e6", ""), (1, 12, EXP, "1e12", ""), (3, 3, EXP, "3e3", ""), (0, 0, EXP, "0", "00"),
    (1, -9, DEC, "1n", ""), (80, -9, DEC, "80n", ""), (1080, -9, DEC, "1080n", ""), (1, -6, DEC, "1u", ""),
    (80, -6, DEC, "80u", ""), (1080, -6, DEC, "1080u", ""),
]


@pytest.mark.parametrize("mantissa, exponent, fmt, text, alternate", PRINTED)
def test_canonical_printing(mantissa, exponent, fmt, text, alternate):
    nanos = int(Fraction(mantissa) * Fraction(10) ** exponent * 10**9)
    assert str(Quantity._make(nanos, fmt)) == text
    assert str(Quantity._make(-nanos, fmt)) == ("-" + text if nanos else "0")
    assert str(Quantity(text)) == text                       # canonical text is kept as parsed
    if alternate:
        assert str(Quantity(alternate)) == text


@pytest.mark.parametrize("text, printed", [
    ("1Ki", "1Ki"), ("1Mi", "1Mi"), ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1000M", "1G"), (".001Ki", "1024m"),
    (".000001Ki", "1024u"), (".000000001Ki", "1024n"), (".000000000001Ki", "2n")])
def test_parse_then_print(text, printed):
    assert str(Quantity(text)) == printed
    assert str(Quantity("-" + text)) == "-" + printed


@pytest.mark.parametrize("milli, fmt, printed", [
    (1, DEC, "1m"), (1000, DEC, "1"), (1234000, DEC, "1234"), (1024, BIN, "1024m"), (1024 * 1024, BIN, "1048576m")])
def test_new_milli_quantity(milli, fmt, printed):
    assert str(Quantity.from_milli(milli, fmt)) == printed


@pytest.mark.parametrize("value, fmt, printed", [
    (1, DEC, "1"), (1000, DEC, "1k"), (1234000, DEC, "1234k"), (1024, BIN, "1Ki"), (1024 * 1024, BIN, "1Mi")])
def test_new_quantity(value, fmt, printed):
    q = Quantity.from_value(value, fmt)
    assert str(q) == printed and Quantity(printed).value() == value


@pytest.mark.parametrize("value, scale, printed", [
    (1, -9, "1n"), (1000, -9, "1u"), (1, -6, "1u"), (1000, -6, "1m"), (1, -3, "1m"), (1000, -3, "1"), (1, 0, "1"),
    (0, -9, "0")])
def test_scaled_values(value, scale, printed):
    q = Quantity._make(value * 10 ** (scale + 9), DEC)
    assert str(q) == printed and Quantity(printed).scaled_value(scale) == value


def test_round_up_and_comparisons():
    assert Quantity("9.01").scaled_value(-1) == 91 and Quantity("-9.01").scaled_value(-1) == -91
    assert Quantity("9.01").scaled_value(0) == 10 and Quantity("9.01").scaled_value(2) == 1
    assert Quantity("10000T") > Quantity("100Gi") and Quantity("100m") > Quantity("50m")
    assert str(-Quantity("9010m")) == "-9010m"
    assert str(Quantity("100m") + Quantity("0")) == "100m" and str(Quantity("0") + Quantity("1Gi")) == "1Gi"
    assert str(Quantity("0") - Quantity("1Gi")) == "-1Gi"
