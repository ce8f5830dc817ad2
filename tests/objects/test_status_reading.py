"""Reading statuses without the work that repeats: lists of conditions remembered by their content
(objects.listmemo), raw JSON (containerStatuses, podIPs, ...) copied without a path per value
(fieldtypes.check_json), IPv4 addresses checked without building them (validation.ip_address). Each reads
exactly as the reading it replaces: the same values of the same types, the same errors, nothing shared."""
from __future__ import annotations

import copy
import ipaddress
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objects import Condition, Node, Pod
from objects.fieldtypes import Str, _check_json_walk, check_json, check_json_at
from objects.listmemo import ListMemo, list_memo
from objects.schema import Field, Model, model
from objects.validation import ip_address
from reading_helpers import exact, reference_reads

STAMPS = ["2023-11-14T22:13:20Z", "2023-11-14T22:13:21Z", "yesterday"]

# ------------------------------------------------------------------------------------------------ raw JSON


class Text(str):
    """A str subclass: not plain JSON."""


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([2**63 - 1, -2**63, 2**64 - 1, 2**64, -2**63 - 1]),
    st.sampled_from([0.0, -0.0, 1.0, 1.5, math.nan, math.inf, -math.inf]), st.text("ab", max_size=2),
    st.sampled_from([b"x", Text("a"), (1, 2), {1, 2}, object()]))
raw_values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.text("xyz", min_size=1, max_size=2), st.sampled_from([1, None, b"k"])), inner,
                    max_size=3)), max_leaves=12)


def _nested(depth: int, leaf: object) -> object:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def _containers(value: object) -> set[int]:
    if type(value) is dict:
        return {id(value)}.union(*(_containers(v) for v in value.values()))
    if type(value) is list:
        return {id(value)}.union(*(_containers(v) for v in value))
    return set()


def _same_read(value: object, depth: int = 0) -> None:
    walked, fast, at = [], [], []
    want = _check_json_walk(value, "status.x", walked, depth)
    got = check_json(value, "status.x", fast, depth)
    assert exact(got, want)
    assert [str(e) for e in fast] == [str(e) for e in walked]
    if depth == 0:
        got_at = check_json_at(value, "status", "x", at)
        assert exact(got_at, want) and [str(e) for e in at] == [str(e) for e in walked]
    assert not _containers(got) & _containers(value)  # a private copy


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_values, st.sampled_from([0, 0, 1, 62]))
def test_raw_json_reads_as_the_walk_with_paths(value, depth):
    _same_read(value, depth)


@pytest.mark.parametrize("levels", [63, 64, 65, 70])
@pytest.mark.parametrize("leaf", [1, math.nan, [], {}])
def test_the_nesting_limit_is_the_walks(levels, leaf):
    _same_read(_nested(levels, leaf))
    _same_read(_nested(levels - 2, leaf), depth=2)


# ------------------------------------------------------------------------------------------------ conditions

condition = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["Ready", "Initialized", 7]),
    "status": st.sampled_from(["True", "False", "True", "Maybe", None, True]),
    "lastTransitionTime": st.sampled_from(STAMPS),
    "lastHeartbeatTime": st.sampled_from(STAMPS[:2]),
    "reason": st.sampled_from(["KubeletReady", 7, "7", Text("R"), "R"]),
    "observedGeneration": st.sampled_from([1, 1.0, True, "1", -1, 2**70, 3.5]),
    "extra": st.sampled_from([[1], "x", math.nan])})
condition_lists = st.one_of(st.lists(condition, max_size=4), st.sampled_from([[], (), "x"]),
                            st.lists(condition, min_size=1, max_size=2).map(tuple))


def _read(value):
    errs: list = []
    items = Pod._by_key["status"].type.cls._by_key["conditions"].type.parse(value, "status", "conditions", errs)
    return items, [str(e) for e in errs]


def _described(items):
    """Every attribute of every item, with its type (equal models could still differ in types)."""
    if items is None:
        return None
    return [None if c is None else [(name, type(getattr(c, name)), repr(getattr(c, name)))
                                    for name in c.__slots_all__] for c in items]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(condition_lists, min_size=1, max_size=6))
def test_condition_lists_read_as_item_by_item(lists):
    """Lists read one after the other, often the same content again (remembered), bad values after good
    ones of the same shape: each reads as the item-by-item read, and nothing read is shared."""
    read_before = []
    for value in lists:
        got, errs = _read(copy.deepcopy(value))
        with reference_reads():
            want, want_errs = _read(copy.deepcopy(value))
        assert errs == want_errs
        assert _described(got) == _described(want)
        assert [c.to_dict() for c in got or () if c is not None] == [c.to_dict() for c in want or () if c is not None]
        for earlier in read_before:  # no object read is another's
            assert not {id(c) for c in earlier if c is not None} & {id(c) for c in got or () if c is not None}
        for c in got or ():
            if c is not None:
                c.status, c.type = "Changed", "Changed"  # an owner editing what it read changes no later read
        read_before.append(got or [])
        again, _ = _read(copy.deepcopy(value))
        assert _described(again) == _described(want)


# Values that print, compare or pack alike but read differently.
TWINS = {"True": [True, Text("True")], "7": [7, 7.0], "R": [Text("R"), ("R",)], 1: [1.0, True, "1"],
         STAMPS[0]: [Text(STAMPS[0]), STAMPS[0] + " "]}
good_condition = st.fixed_dictionaries({"type": st.just("Ready"), "status": st.just("True")}, optional={
    "reason": st.sampled_from(["7", "R"]), "observedGeneration": st.just(1),
    "lastTransitionTime": st.just(STAMPS[0])})


@st.composite
def twin_sequences(draw):
    """A good list, then lists of the same shape with one value swapped for a twin (and back)."""
    base = draw(st.lists(good_condition, min_size=1, max_size=3))
    sequence = [base]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(base) - 1))
        key = draw(st.sampled_from(sorted(k for k, v in base[i].items() if v in TWINS)))
        variant = copy.deepcopy(base)
        variant[i][key] = draw(st.sampled_from(TWINS[base[i][key]]))
        sequence += [variant, base]
    return sequence


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(twin_sequences())
def test_twins_of_a_remembered_list_read_as_item_by_item(lists):
    for value in lists:
        got, errs = _read(copy.deepcopy(value))
        with reference_reads():
            want, want_errs = _read(copy.deepcopy(value))
        assert (errs, _described(got)) == (want_errs, _described(want))


def test_a_condition_list_is_read_once_per_content():
    value = [{"type": "Ready", "status": "True", "lastTransitionTime": STAMPS[0]},
             {"type": "PodScheduled", "status": "True", "lastTransitionTime": STAMPS[0]}]
    memo = Pod._by_key["status"].type.cls._by_key["conditions"].type.memo
    first, _ = _read(value)
    assert memo.get(memo.key(value)) is not None
    second, _ = _read(copy.deepcopy(value))
    assert [c.to_dict() for c in second] == value and all(a is not b for a, b in zip(first, second))
    node_memo = Node._by_key["status"].type.cls._by_key["conditions"].type.memo
    assert node_memo is not None and Condition.LISTS_REMEMBERED


def test_the_memo_keeps_at_most_its_capacity_oldest_first():
    memo = ListMemo(2)
    for i in range(3):
        value = [{"type": "Ready", "status": "True", "reason": str(i)}]
        memo.put(memo.key(value), [Condition._read(value[0], "", 0, [])])
    assert memo.get(memo.key([{"type": "Ready", "status": "True", "reason": "0"}])) is None
    assert memo.get(memo.key([{"type": "Ready", "status": "True", "reason": "2"}]))[0].reason == "2"


def test_only_models_of_scalars_without_rules_can_have_their_lists_remembered():
    @model
    class Nesting(Model):
        LISTS_REMEMBERED = 8
        FIELDS = (Field("conditions", Condition),)

    @model
    class Ruled(Model):
        LISTS_REMEMBERED = 8
        FIELDS = (Field("name", Str()),)

        def validate(self, path, errs):
            pass
    scalars = (Str,)
    for cls in (Nesting, Ruled):
        with pytest.raises(TypeError, match="cannot have its lists remembered"):
            list_memo(cls, scalars)


# ------------------------------------------------------------------------------------------------ IPv4

octets = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "010", "٣", "1 ", "+1", "", "0x1"]))
addresses = st.one_of(
    st.lists(octets, min_size=3, max_size=5).map(".".join),
    st.sampled_from(["10.0.0.1\n", "fd00::1", "::ffff:10.0.0.1", "10.0.0.1/24", "localhost"]))


@settings(max_examples=500, deadline=None)
@given(addresses)
def test_ip_addresses_are_checked_as_ipaddress_reads_them(text):
    try:
        ipaddress.ip_address(text)
        valid = True
    except ValueError:
        valid = False
    assert (not ip_address(text)) == valid
