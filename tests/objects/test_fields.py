"""FieldSelector: fields.ParseSelector grammar and matching on model objects and dicts."""
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st

from objects.errors import ValidationError
from objects.fields import FieldSelector, escape_value


def pod(name="p", namespace="default", node_name=None):
    return SimpleNamespace(metadata=SimpleNamespace(name=name, namespace=namespace),
                           spec=SimpleNamespace(node_name=node_name), status=SimpleNamespace(phase="Pending"))


def test_parse_and_match_objects():
    s = FieldSelector.parse("metadata.name=a,spec.nodeName!=")
    assert s.matches(pod("a", node_name="n1"))
    assert not s.matches(pod("a"))                         # unbound: nodeName reads as ""
    assert not s.matches(pod("b", node_name="n1"))
    assert FieldSelector.parse("spec.nodeName=").matches(pod())
    assert FieldSelector.parse("metadata.namespace==kube-system").matches(pod(namespace="kube-system"))
    assert FieldSelector.parse("").matches(pod()) and FieldSelector.parse("").empty


def test_match_dicts_and_field_sets():
    s = FieldSelector.parse("metadata.namespace=ns,status.phase!=Failed")
    assert s.matches({"metadata": {"namespace": "ns"}, "status": {"phase": "Running"}})
    assert not s.matches({"metadata": {"namespace": "ns"}, "status": {"phase": "Failed"}})
    assert s.matches_fields({"metadata.namespace": "ns"})
    assert FieldSelector.parse("spec.unschedulable=true").matches({"spec": {"unschedulable": True}})


def test_escapes():
    s = FieldSelector.parse(r"metadata.name=a\,b\=c\\d")
    assert s.terms == (("metadata.name", "=", "a,b=c\\d"),)
    assert FieldSelector.parse(str(s)) == s


@pytest.mark.parametrize("text", ["spec.foo=bar", "metadata.name", "metadata.name=a=b", r"metadata.name=a\x",
                                  "metadata.name=a\\", "metadata.labels=x"])
def test_errors(text):
    with pytest.raises(ValidationError) as info:
        FieldSelector.parse(text)
    assert str(info.value).startswith("fieldSelector: Invalid value:")


def test_requires_exact_match():
    s = FieldSelector.parse("metadata.namespace=ns,metadata.name!=x")
    assert s.requires_exact_match("metadata.namespace") == "ns"
    assert s.requires_exact_match("metadata.name") is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=8), st.text(max_size=8), st.booleans())
def test_printed_form_parses_back(value, other, equal):
    s = FieldSelector.one_term("metadata.name", value, equal)
    assert FieldSelector.parse(str(s)) == s
    assert s.matches(pod(name=other)) is ((other == value) == equal)
    assert escape_value(value).count(",") == escape_value(value).count("\\,")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="metadn.ams=!,\\xspec.nodeNa", max_size=30))
def test_parse_fuzz_gives_only_validation_errors(text):
    try:
        s = FieldSelector.parse(text)
    except ValidationError:
        return
    assert FieldSelector.parse(str(s)) == s


def test_from_dict_and_to_dict_are_the_string_form():
    s = FieldSelector.from_dict("spec.nodeName=n1", "spec.fieldSelector")
    assert s.to_dict() == "spec.nodeName=n1"
    with pytest.raises(ValidationError):
        FieldSelector.from_dict({"a": 1})
