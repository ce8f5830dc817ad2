"""LabelSelector and Requirement: Kubernetes matching, the kubectl -l grammar, validation."""
import pytest
from hypothesis import given, settings, strategies as st

from objects.errors import ValidationError
from objects.labels import LabelSelector, Requirement


def test_empty_selector_matches_everything():
    assert LabelSelector().matches({}) and LabelSelector().matches(None)
    assert LabelSelector.from_dict({}).matches({"a": "b"})
    assert LabelSelector.parse("").empty


def test_kubectl_form():
    sel = LabelSelector.parse("app=web,tier!=db,env in (prod,staging),!canary,key")
    base = {"app": "web", "env": "prod", "key": ""}
    assert sel.matches(base)
    assert not sel.matches({**base, "tier": "db"})
    assert sel.matches({**base, "tier": "cache"})
    assert not sel.matches({**base, "canary": "yes"})
    assert not sel.matches({"app": "web", "env": "prod"})          # key must exist
    assert not sel.matches({**base, "env": "dev"})
    assert not sel.matches({**base, "app": "api"})
    assert str(sel) == "app=web,!canary,env in (prod,staging),key,tier!=db"  # sorted by key
    assert sel.to_dict() == {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["db"]},
            {"key": "env", "operator": "In", "values": ["prod", "staging"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "key", "operator": "Exists"},
        ]}


@pytest.mark.parametrize("text, labels, expected", [
    ("a==b", {"a": "b"}, True),
    ("a=", {"a": ""}, True),
    ("a=", {}, False),
    ("a!=b", {}, True),
    ("a notin (b)", {}, True),
    ("a in ()", {"a": ""}, True),
    ("a in (x,,y)", {"a": ""}, True),
    ("n>5", {"n": "6"}, True),
    ("n>5", {"n": "5"}, False),
    ("n>5", {"n": "six"}, False),
    ("n>5", {}, False),
    ("n<5", {"n": "-7"}, True),
    ("a , b", {"a": "1", "b": "2"}, True),
    ("example.com/a=b", {"example.com/a": "b"}, True),
])
def test_requirement_semantics(text, labels, expected):
    assert LabelSelector.parse(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["a b", "a in b", "!a=b", "a,", ",a", "a in (b", "a=b=c", "-a=b",
                                  "a=-b", "x>a", "a=(b)", "a/b/c=d", "=", "a in (b c)"])
def test_parse_errors_name_the_selector(text):
    with pytest.raises(ValidationError) as info:
        LabelSelector.parse(text)
    assert text in str(info.value) or "Invalid value" in str(info.value)


def test_from_dict_reports_every_problem_with_its_path():
    d = {"matchLabels": {"a/b/c": "x", "ok": "-bad"},
         "matchExpressions": [{"key": "a", "operator": "Foo"},
                              {"key": "b", "operator": "In"},
                              {"key": "c", "operator": "Exists", "values": ["x"]}]}
    with pytest.raises(ValidationError) as info:
        LabelSelector.from_dict(d, "spec.selector")
    paths = [e.path for e in info.value.errors]
    assert paths == ["spec.selector.matchLabels", "spec.selector.matchLabels",
                     "spec.selector.matchExpressions[0].operator", "spec.selector.matchExpressions[1].values",
                     "spec.selector.matchExpressions[2].values"]
    assert 'spec.selector.matchExpressions[0].operator: Invalid value: "Foo": not a valid selector operator' \
        in str(info.value)
    assert "spec.selector.matchExpressions[2].values: Forbidden: may not be specified" in str(info.value)


def test_gt_is_not_a_label_selector_operator_in_manifests():
    with pytest.raises(ValidationError):
        LabelSelector.from_dict({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})


@pytest.mark.parametrize("bad", [None, [], "a=b", {"matchLabels": []}, {"matchLabels": {"a": 1}},
                                 {"matchExpressions": {}}, {"matchExpressions": [1]},
                                 {"matchExpressions": [{"key": 1, "operator": "In", "values": ["a"]}]},
                                 {"matchExpressions": [{"key": "a", "operator": "In", "values": "a"}]}])
def test_wrong_shapes_give_validation_errors(bad):
    with pytest.raises(ValidationError):
        LabelSelector.from_dict(bad)


def test_round_trip_and_unknown_fields_kept():
    d = {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "c", "operator": "In", "values": ["d"]}],
         "x-extra": 1}
    assert LabelSelector.from_dict(d).to_dict() == d


def test_equality_is_semantic():
    assert LabelSelector.parse("a=b,c") == LabelSelector.from_dict(
        {"matchExpressions": [{"key": "c", "operator": "Exists"}], "matchLabels": {"a": "b"}})
    assert hash(LabelSelector.parse("a in (x,y)")) == hash(LabelSelector.parse("a in (y,x)"))


# --- property: the compiled matcher agrees with the definition ----------------------------------

keys = st.sampled_from(["a", "b", "c", "x.io/d"])
vals = st.sampled_from(["", "1", "2", "v", "10"])
label_maps = st.dictionaries(keys, vals, max_size=4)


@st.composite
def requirements(draw):
    op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
    values = draw(st.lists(vals, min_size=1, max_size=3)) if op in ("In", "NotIn") else []
    return {"key": draw(keys), "operator": op, "values": values} if values else {"key": draw(keys), "operator": op}


def reference_match(d, labels):
    for k, v in (d.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for r in d.get("matchExpressions") or []:
        k, op, values = r["key"], r["operator"], r.get("values", [])
        present = k in labels
        if op == "In" and not (present and labels[k] in values):
            return False
        if op == "NotIn" and present and labels[k] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, vals, max_size=3), st.lists(requirements(), max_size=4), label_maps)
def test_matches_agrees_with_reference(match_labels, exprs, labels):
    d = {}
    if match_labels:
        d["matchLabels"] = match_labels
    if exprs:
        d["matchExpressions"] = exprs
    sel = LabelSelector.from_dict(d)
    assert sel.matches(labels) == reference_match(d, labels)
    reparsed = LabelSelector.parse(str(sel))
    assert reparsed.matches(labels) == sel.matches(labels)
    assert LabelSelector.from_dict(sel.to_dict()) == sel


def test_requirement_matches_alone():
    assert Requirement("a", "In", ["x"]).matches({"a": "x"})
    assert Requirement("a", "Gt", ["3"]).matches({"a": "4"})
    assert not Requirement("a", "Lt", ["3"]).matches(None)


json_like = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
                         lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)),
                         max_leaves=12)
shaped = st.fixed_dictionaries({}, optional={
    "matchLabels": st.one_of(json_like, st.dictionaries(st.text(max_size=5), json_like, max_size=3)),
    "matchExpressions": st.one_of(json_like, st.lists(st.fixed_dictionaries({}, optional={
        "key": st.one_of(json_like, keys), "operator": st.one_of(json_like, st.sampled_from(["In", "Exists", "Gt"])),
        "values": st.one_of(json_like, st.lists(st.one_of(vals, json_like), max_size=3))}), max_size=3))})


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_like, shaped))
def test_from_dict_fuzz_gives_only_validation_errors(d):
    try:
        sel = LabelSelector.from_dict(d)
    except ValidationError:
        return
    assert LabelSelector.from_dict(sel.to_dict()) == sel


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=!,() inotx<>5\t.-/", max_size=20))
def test_parse_fuzz_gives_only_validation_errors(text):
    try:
        sel = LabelSelector.parse(text)
    except ValidationError:
        return
    assert LabelSelector.parse(str(sel)) == sel


@pytest.mark.parametrize("d", [{"matchLabels": {}}, {"matchExpressions": []},
                               {"matchExpressions": [{"key": "a", "operator": "Exists", "values": []}]},
                               {"matchLabels": {}, "matchExpressions": [], "x": {"y": 1}}])
def test_empty_fields_given_are_written_back(d):
    assert LabelSelector.from_dict(d).to_dict() == d


def test_selectors_are_values():
    sel = LabelSelector.parse("a=b")
    with pytest.raises(TypeError):
        sel.match_labels["a"] = "c"      # read-only: the compiled matcher was built from it
    assert sel.matches({"a": "b"})


def test_copies_are_the_same_value():
    import copy
    sel = LabelSelector.parse("a=b,c in (d)")
    assert copy.deepcopy(sel) is sel and copy.copy(sel) is sel
    assert copy.deepcopy({"s": sel})["s"].matches({"a": "b", "c": "d"})
