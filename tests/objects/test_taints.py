"""Taints and tolerations: Kubernetes' ToleratesTaint rules and ValidateTolerations messages."""
import pytest
from hypothesis import given, settings, strategies as st

from objects.errors import ValidationError
from objects.taints import (Taint, Toleration, duplicate_taint_errors, find_untolerated_taint,
                            no_schedule_or_no_execute, tolerates)


@pytest.mark.parametrize("toleration, taint, expected", [
    (dict(operator="Exists"), ("k", "v", "NoSchedule"), True),           # empty key + Exists: everything
    (dict(operator="Exists"), ("other", "", "NoExecute"), True),
    (dict(key="k", operator="Exists"), ("k", "v", "NoSchedule"), True),
    (dict(key="k", operator="Exists"), ("j", "v", "NoSchedule"), False),
    (dict(key="k", value="v"), ("k", "v", "NoSchedule"), True),          # operator defaults to Equal
    (dict(key="k", value="v"), ("k", "w", "NoSchedule"), False),
    (dict(key="k", value="v", effect="NoExecute"), ("k", "v", "NoSchedule"), False),
    (dict(key="k", value="v", effect="NoSchedule"), ("k", "v", "NoSchedule"), True),
    (dict(key="k", operator="Equal"), ("k", "", "PreferNoSchedule"), True),
    (dict(key="k", operator="Exists", effect="NoExecute", toleration_seconds=30), ("k", "x", "NoExecute"), True),
])
def test_tolerates(toleration, taint, expected):
    assert Toleration(**toleration).tolerates(Taint(*taint)) is expected


@pytest.mark.parametrize("d, message", [
    ({"key": "k", "operator": "Foo"},
     'spec.tolerations[0].operator: Unsupported value: "Foo": supported values: "Equal", "Exists"'),
    ({"operator": "Equal", "value": "v"},
     'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty'),
    ({"key": "k", "operator": "Exists", "value": "v"},
     "spec.tolerations[0].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'"),
    ({"key": "k", "operator": "Exists", "tolerationSeconds": 5, "effect": "NoSchedule"},
     "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when"),
    ({"key": "k", "operator": "Exists", "effect": "Sometimes"},
     'spec.tolerations[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
     '"PreferNoSchedule", "NoExecute"'),
    ({"key": "-k", "operator": "Exists"}, "spec.tolerations[0].key: Invalid value: \"-k\""),
    ({"key": "k", "value": "-v"}, 'spec.tolerations[0].operator: Invalid value: "-v": a valid label must be'),
    ({"value": "v"}, 'spec.tolerations[0].operator: Invalid value: "": operator must be Exists when'),
])
def test_toleration_validation_messages(d, message):
    with pytest.raises(ValidationError) as info:
        Toleration.from_dict(d, "spec.tolerations[0]")
    assert message in str(info.value)


@pytest.mark.parametrize("d", [None, [], {"effect": "NoSchedule"}, {"key": "k", "effect": "Bad"},
                               {"key": "k"}, {"key": 3, "effect": "NoSchedule"},
                               {"key": "k", "value": "-x", "effect": "NoSchedule"}])
def test_bad_taints(d):
    with pytest.raises(ValidationError):
        Taint.from_dict(d, "spec.taints[0]")


def test_round_trips_keep_unknown_fields():
    t = {"key": "k", "value": "v", "effect": "NoExecute", "timeAdded": "2024-01-01T00:00:00Z", "x": 1}
    assert Taint.from_dict(t).to_dict() == t
    tol = {"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute", "tolerationSeconds": 3}
    assert Toleration.from_dict(tol).to_dict() == tol
    assert Toleration.from_dict({"key": "k"}).to_dict() == {"key": "k", "operator": "Equal"}


def test_list_helpers():
    taints = [Taint("a", "", "PreferNoSchedule"), Taint("b", "1", "NoSchedule"), Taint("c", "", "NoExecute")]
    tols = [Toleration("b", "Equal", "1")]
    assert find_untolerated_taint(taints, tols) == taints[0]
    assert find_untolerated_taint(taints, tols, no_schedule_or_no_execute) == taints[2]
    assert find_untolerated_taint(taints, tols + [Toleration(operator="Exists", effect="NoExecute")],
                                  no_schedule_or_no_execute) is None
    assert tolerates(tols, taints[1]) and not tolerates([], taints[1])
    assert str(taints[1]) == "b=1:NoSchedule" and taints[0].matches(Taint("a", "x", "PreferNoSchedule"))


keys = st.sampled_from(["", "a", "b"])
values = st.sampled_from(["", "1", "2"])
effects = st.sampled_from(["", "NoSchedule", "PreferNoSchedule", "NoExecute"])


@settings(max_examples=300, deadline=None)
@given(keys, st.sampled_from(["Equal", "Exists"]), values, effects, st.sampled_from(["a", "b"]), values,
       effects.filter(bool))
def test_tolerates_agrees_with_the_definition(key, op, value, effect, tkey, tvalue, teffect):
    if not key:
        op = "Exists"
    if op == "Exists":
        value = ""
    tol = Toleration(key, op, value, effect)
    expected = ((not effect or effect == teffect) and (not key or key == tkey)
                and (op == "Exists" or value == tvalue))
    assert tol.tolerates(Taint(tkey, tvalue, teffect)) is expected
    assert Toleration.from_dict(tol.to_dict()) == tol


json_like = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                         lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)),
                         max_leaves=10)
toleration_like = st.fixed_dictionaries({}, optional={
    "key": st.one_of(json_like, keys), "operator": st.one_of(json_like, st.sampled_from(["Equal", "Exists"])),
    "value": st.one_of(json_like, values), "effect": st.one_of(json_like, effects),
    "tolerationSeconds": st.one_of(json_like, st.integers()), "timeAdded": json_like})


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_like, toleration_like))
def test_from_dict_fuzz_gives_only_validation_errors(d):
    for cls in (Toleration, Taint):
        try:
            obj = cls.from_dict(d, "x")
        except ValidationError:
            continue
        assert cls.from_dict(obj.to_dict()) == obj


def test_duplicate_taints_by_key_and_effect():
    taints = [Taint("a", "1", "NoSchedule"), Taint("a", "2", "NoExecute"), Taint("a", "3", "NoSchedule")]
    errors = duplicate_taint_errors(taints)
    assert [str(e) for e in errors] == [
        'spec.taints[2]: Duplicate value: "a=3:NoSchedule": taints must be unique by key and effect pair']
    long_bad = "-" + "x" * 70
    with pytest.raises(ValidationError) as info:
        Taint.from_dict({"key": "k", "value": long_bad, "effect": "NoSchedule"}, "spec.taints[0]")
    assert len(info.value.errors) == 1 and ";" in info.value.errors[0].message
