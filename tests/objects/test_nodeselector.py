"""NodeSelector: terms ORed, requirements ANDed, empty terms match nothing, matchFields on metadata.name."""
import pytest
from hypothesis import given, settings, strategies as st

from objects.errors import ValidationError
from objects.nodeselector import NodeSelector, NodeSelectorRequirement, NodeSelectorTerm


def sel(*terms):
    return NodeSelector.from_dict({"nodeSelectorTerms": list(terms)})


def expr(key, op, *values):
    d = {"key": key, "operator": op}
    if values:
        d["values"] = list(values)
    return d


def test_terms_are_ored_and_requirements_anded():
    s = sel({"matchExpressions": [expr("zone", "In", "a", "b"), expr("gpu", "Exists")]},
            {"matchExpressions": [expr("arch", "In", "arm64")]})
    assert s.matches({"zone": "a", "gpu": "1"})
    assert not s.matches({"zone": "a"})
    assert s.matches({"arch": "arm64"})
    assert not s.matches({})


def test_empty_term_matches_nothing():
    assert not sel({}).matches({"a": "b"})
    assert not NodeSelectorTerm().matches({})
    assert sel({}, {"matchExpressions": [expr("a", "Exists")]}).matches({"a": ""})
    assert not NodeSelector([]).matches({})


@pytest.mark.parametrize("requirement, labels, expected", [
    (expr("n", "Gt", "5"), {"n": "6"}, True),
    (expr("n", "Gt", "5"), {"n": "5"}, False),
    (expr("n", "Lt", "5"), {"n": "4"}, True),
    (expr("n", "Lt", "5"), {"n": "x"}, False),
    (expr("n", "Lt", "5"), {}, False),
    (expr("n", "NotIn", "1"), {}, True),
    (expr("n", "DoesNotExist"), {"n": "1"}, False),
])
def test_operators(requirement, labels, expected):
    assert sel({"matchExpressions": [requirement]}).matches(labels) is expected


def test_match_fields_on_metadata_name():
    s = sel({"matchFields": [expr("metadata.name", "In", "node-1")]})
    assert s.matches({}, {"metadata.name": "node-1"})
    assert not s.matches({}, {"metadata.name": "node-2"})
    s2 = sel({"matchExpressions": [expr("z", "Exists")], "matchFields": [expr("metadata.name", "NotIn", "n1")]})
    assert s2.matches({"z": ""}, {"metadata.name": "n2"})
    assert not s2.matches({"z": ""}, {"metadata.name": "n1"})
    assert not s2.matches({}, {"metadata.name": "n2"})


@pytest.mark.parametrize("term, path_part", [
    ({"matchFields": [expr("metadata.labels", "In", "x")]}, "matchFields[0].key"),
    ({"matchFields": [expr("metadata.name", "Exists")]}, "matchFields[0].operator"),
    ({"matchFields": [expr("metadata.name", "In", "a", "b")]}, "matchFields[0].values"),
    ({"matchExpressions": [expr("a", "Gt", "1", "2")]}, "matchExpressions[0].values"),
    ({"matchExpressions": [expr("a", "Gt", "x")]}, "matchExpressions[0].values[0]"),
    ({"matchExpressions": [expr("a", "In")]}, "matchExpressions[0].values"),
    ({"matchExpressions": [expr("a", "Near", "x")]}, "matchExpressions[0].operator"),
    ({"matchExpressions": [{"key": "a"}]}, "matchExpressions[0].operator"),
])
def test_validation_names_the_field(term, path_part):
    with pytest.raises(ValidationError) as info:
        NodeSelector.from_dict({"nodeSelectorTerms": [term]}, "spec.affinity.nodeAffinity.required")
    assert f"spec.affinity.nodeAffinity.required.nodeSelectorTerms[0].{path_part}" in str(info.value)


@pytest.mark.parametrize("bad", [None, {}, {"nodeSelectorTerms": []}, {"nodeSelectorTerms": "x"},
                                 {"nodeSelectorTerms": [1]}, {"nodeSelectorTerms": [{"matchFields": {}}]}])
def test_wrong_shapes(bad):
    with pytest.raises(ValidationError):
        NodeSelector.from_dict(bad)


def test_round_trip():
    d = {"nodeSelectorTerms": [{"matchExpressions": [expr("a", "In", "x")],
                                "matchFields": [expr("metadata.name", "In", "n")]}, {}]}
    assert NodeSelector.from_dict(d).to_dict() == d
    assert NodeSelector.from_dict(d) == NodeSelector.from_dict(d)
    assert NodeSelectorRequirement("a", "Gt", ["1"]).to_dict() == expr("a", "Gt", "1")


label_keys = st.sampled_from(["a", "b"])
label_values = st.sampled_from(["1", "2", "x"])


@st.composite
def terms(draw):
    exprs = []
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]))
        if op in ("In", "NotIn"):
            exprs.append(expr(draw(label_keys), op, *draw(st.lists(label_values, min_size=1, max_size=2))))
        elif op in ("Gt", "Lt"):
            exprs.append(expr(draw(label_keys), op, draw(st.sampled_from(["1", "2"]))))
        else:
            exprs.append(expr(draw(label_keys), op))
    return {"matchExpressions": exprs} if exprs else {}


def reference_requirement(r, labels):
    k, op, vals = r["key"], r["operator"], r.get("values", [])
    v = labels.get(k)
    if op == "In":
        return v is not None and v in vals
    if op == "NotIn":
        return v is None or v not in vals
    if op == "Exists":
        return v is not None
    if op == "DoesNotExist":
        return v is None
    if v is None or not v.isdigit():
        return False
    return int(v) > int(vals[0]) if op == "Gt" else int(v) < int(vals[0])


@settings(max_examples=300, deadline=None)
@given(st.lists(terms(), min_size=1, max_size=3), st.dictionaries(label_keys, label_values))
def test_matches_agrees_with_reference(ts, labels):
    expected = any(t.get("matchExpressions") and all(reference_requirement(r, labels) for r in t["matchExpressions"])
                   for t in ts)
    assert sel(*ts).matches(labels) is expected


json_like = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                         lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)),
                         max_leaves=10)
requirement_like = st.fixed_dictionaries({}, optional={
    "key": st.one_of(json_like, label_keys, st.just("metadata.name")),
    "operator": st.one_of(json_like, st.sampled_from(["In", "NotIn", "Exists", "Gt"])),
    "values": st.one_of(json_like, st.lists(st.one_of(label_values, json_like), max_size=2))})
term_like = st.fixed_dictionaries({}, optional={"matchExpressions": st.one_of(json_like, st.lists(requirement_like, max_size=2)),
                                                "matchFields": st.one_of(json_like, st.lists(requirement_like, max_size=2))})


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_like, st.fixed_dictionaries({"nodeSelectorTerms": st.one_of(json_like, st.lists(term_like, max_size=3))})))
def test_from_dict_fuzz_gives_only_validation_errors(d):
    try:
        s = NodeSelector.from_dict(d)
    except ValidationError:
        return
    assert NodeSelector.from_dict(s.to_dict()) == s
    s.matches({"a": "1"}, {"metadata.name": "x"})


def test_empty_fields_given_are_written_back():
    d = {"nodeSelectorTerms": [{"matchExpressions": [], "matchFields": []},
                               {"matchExpressions": [{"key": "a", "operator": "Exists", "values": []}]}]}
    assert NodeSelector.from_dict(d).to_dict() == d
    assert NodeSelector.from_dict(d).matches({"a": "1"}) and not NodeSelector.from_dict(d).matches({})
