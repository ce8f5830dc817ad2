"""LabelSelector against the behaviour apimachinery's labels tests pin down (grammar, printing, matching)."""
import pytest

from objects.errors import ValidationError
from objects.fields import FieldSelector
from objects.labels import LabelSelector


@pytest.mark.parametrize("text", ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1",
                                  "x>1,z<5"])
def test_good_strings_print_back_without_spaces(text):
    assert str(LabelSelector.parse(text)) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "!x=a", "x<a", "x in a", "x in (a", "x=(a,b)"])
def test_bad_strings(text):
    with pytest.raises(ValidationError):
        LabelSelector.parse(text)


def test_parse_is_deterministic():
    assert str(LabelSelector.parse("x=a,a=x")) == str(LabelSelector.parse("a=x,x=a"))


LABELSET = {"foo": "bar", "baz": "blah"}


@pytest.mark.parametrize("text, labels, expected", [
    ("", {"x": "y"}, True), ("x=y", {"x": "y"}, True), ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True), ("notin=in", {"notin": "in"}, True), ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True), ("x>1", {"x": "2"}, True), ("x<1", {"x": "0"}, True),
    ("x=z", {}, False), ("x=y", {"x": "z"}, False), ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False), ("x", {"y": "z"}, False), ("!x", {"x": "z"}, False),
    ("x>1", {"x": "0"}, False), ("x<1", {"x": "2"}, False),
    ("x in (z)", {"x": "z"}, True), ("x in (a,b,z)", {"x": "z"}, True), ("x in (z)", {"x": "d"}, False),
    ("foo=bar", LABELSET, True), ("baz=blah", LABELSET, True), ("foo=bar,baz=blah", LABELSET, True),
    ("foo=blah", LABELSET, False), ("baz=bar", LABELSET, False), ("foo=bar,foobar=bar,baz=blah", LABELSET, False),
])
def test_matches(text, labels, expected):
    assert LabelSelector.parse(text).matches(labels) is expected


def test_selector_from_set():
    assert LabelSelector.from_set({"x": "y"}).matches({"x": "y", "z": "w"})
    assert not LabelSelector.from_set({"x": "y"}).matches({"x": "z"})
    assert LabelSelector.from_set({}).matches({"x": "y"})


def test_field_selector_escapes_like_fields_package():
    fields = {"metadata.name": "=value\\,\\", "metadata.namespace": "ns"}
    sel = FieldSelector.parse("metadata.namespace=ns,metadata.name=\\=value\\\\\\,\\\\")
    assert sel.matches_fields(fields)
    for bad in ["metadata.name=a||metadata.namespace=b", "metadata.name==a==b", "metadata.name=a,b"]:
        with pytest.raises(ValidationError):
            FieldSelector.parse(bad)
