"""A txn is checked once on the embedded store: the one-walk check of flat txns (``flat_txn_ok``), the
state machine's ``apply_checked`` and the builders' common cases, each against the general path."""
from __future__ import annotations

import msgpack
import hypothesis.strategies as st
import pytest
from hypothesis import example, given, settings

import kvstore
from kvstore import Compare, KVError, Op, StateMachine
from kvstore.args import range_end_for
from kvstore.commands import check_command
from kvstore.txn import build_txn, check_txn_command, check_txn_request, flat_txn_ok

keys = st.sampled_from([b"a", b"b", b"c", b"", b"abcdefgh"])
junk = st.one_of(st.none(), st.booleans(), st.integers(-2, 6), st.binary(max_size=3), st.text(max_size=2),
                 st.lists(st.integers(0, 2), max_size=2))
compares = st.one_of(
    st.builds(lambda t, r, k, o: [t, r, k, None, o], st.integers(-1, 5), st.integers(-1, 4), keys,
              st.one_of(st.integers(-1, 3), st.binary(max_size=3))),
    st.builds(lambda t, r, k, e, o: [t, r, k, e, o], st.integers(0, 4), st.integers(0, 3), keys,
              st.sampled_from([b"", b"z"]), st.integers(0, 3)),
    st.lists(junk, max_size=6),
)
ops = st.one_of(
    st.builds(lambda k, v, lease: ["put", k, v, lease, False, False, False], keys,
              st.one_of(st.binary(max_size=12), st.text(max_size=2)), st.integers(-1, 2)),
    st.builds(lambda k, e: ["delete", k, e, False], keys, st.sampled_from([None, b"", b"z", "z"])),
    st.builds(lambda k: Op.get(k), st.sampled_from([b"a", b"b"])),
    st.builds(lambda k: build_txn([], [Op.put(k, b"n")], []), st.sampled_from([b"a", b"b"])),
    st.lists(junk, min_size=1, max_size=8).map(lambda items: ["put", *items]),
    st.lists(junk, max_size=4),
)
# mostly well formed, so many pass the checks (the shapes above alone seldom do)
usual_compares = st.builds(lambda t, r, k, n, v: [t, r, k, None, v if t == 3 else n], st.integers(0, 4),
                           st.integers(0, 3), st.sampled_from([b"a", b"b", b"c"]), st.integers(0, 6),
                           st.binary(max_size=2))
usual_ops = st.one_of(
    st.builds(lambda k, v, lease: ["put", k, v, lease, False, False, False], st.sampled_from([b"a", b"b", b"d"]),
              st.binary(max_size=14), st.sampled_from([0, 0, 1, 2])),
    st.builds(lambda k: ["delete", k, None, False], st.sampled_from([b"a", b"b", b"d"])),
    st.builds(lambda k, prev, which: ["put", k, b"", 0, prev, which, not which], st.sampled_from([b"a", b"b", b"d"]),
              st.booleans(), st.booleans()),  # ignore_value / ignore_lease: the key must exist
    st.builds(lambda k, e, prev: ["delete", k, e, prev], st.sampled_from([b"a", b"b"]),
              st.sampled_from([b"", b"c", None]), st.booleans()),
)
txns = st.one_of(
    st.builds(lambda c, s, f: ["txn", c, s, f], st.lists(compares, max_size=3), st.lists(ops, max_size=3),
              st.lists(ops, max_size=2)),
    st.builds(lambda c, s, f: ["txn", c, s, f], st.lists(usual_compares, max_size=3),
              st.lists(usual_ops, max_size=3), st.lists(usual_ops, max_size=2)),
)
limits = st.tuples(st.integers(1, 3), st.integers(0, 12), st.integers(1, 8), st.integers(1, 30))


def _request_check(command, max_txn_ops, max_value_bytes, max_key_bytes, max_request_bytes):
    try:
        return check_txn_request(command, max_txn_ops, max_value_bytes, max_key_bytes, max_request_bytes)
    except (IndexError, TypeError, AttributeError) as error:  # both checks fail to read it: not one it passes
        return error


@settings(max_examples=600, deadline=None)
@given(txns, limits)
def test_the_flat_check_passes_only_txns_the_full_checks_pass(command, limit):
    if flat_txn_ok(command, *limit):
        assert _request_check(command, *limit) is None
        assert check_command(command) is None
        assert check_txn_command(command, limit[0], limit[1]) is None


@pytest.mark.parametrize("command", [
    build_txn([Compare.create_revision("/registry/pods/ns/p") == 0], [Op.put("/registry/pods/ns/p", b"v")], []),
    build_txn([Compare.mod_revision(b"/r/p") == 7], [Op.put(b"/r/p", b"v" * 100)], [Op.get(b"/r/p")][:0]),
    build_txn([Compare.mod_revision(b"/r/p") == 7], [Op.delete(b"/r/p")], []),
    build_txn([Compare.value(b"k") == b"v", Compare.version(b"j") > 1], [Op.put(b"k", b"w"), Op.put(b"j", b"")],
              [Op.delete(b"k")]),
])
def test_a_registry_write_takes_the_flat_check(command):
    assert flat_txn_ok(command, 128, 1 << 20, 1 << 20, 1 << 20)
    assert check_txn_request(command, 128, 1 << 20, 1 << 20, 1 << 20) is None


def _seeded() -> StateMachine:
    state = StateMachine(max_txn_ops=3, max_value_bytes=12)
    for command in (Op.put(b"a", b"1"), Op.put(b"b", b"2"), ["grant", 1, 10, 0.0], Op.put(b"c", b"3", lease=1),
                    Op.delete(b"b")):
        state.apply(command)
    return state


def _state_of(state: StateMachine):
    return state.revision, state.hash_kv(), msgpack.packb(state.snapshot()), state.last_record


@settings(max_examples=400, deadline=None)
@given(txns)
def test_apply_checked_is_apply_on_every_checked_txn(command):
    if _request_check(command, 3, 12, 8, 30) is not None:
        return
    general, checked = _seeded(), _seeded()
    seen: list[tuple[str, object]] = []
    general.listener = lambda revision, events: seen.append(("general", revision, events))
    checked.listener = lambda revision, events: seen.append(("checked", revision, events))
    assert repr(general.apply(command)) == repr(checked.apply_checked(command))
    assert _state_of(general) == _state_of(checked)
    assert [item[1:] for item in seen if item[0] == "general"] == [item[1:] for item in seen if item[0] == "checked"]


def test_apply_checked_of_other_commands_is_apply():
    state = _seeded()
    assert repr(state.apply_checked(["compact", 99])) == repr(state.apply(["compact", 99]))  # FutureRevision
    assert isinstance(state.apply_checked(["nope"]), kvstore.InvalidArgument)
    assert state.apply_checked(Op.put(b"z", b"1")).revision == 6


@pytest.mark.parametrize("bad", [["put", b"k"], ["put", 5, b"v", 0, False, False, False], ["range", b"k"],
                                 ["txn", [], [["put"]], []], ["delete", b"k", None]])
def test_a_malformed_hand_made_op_is_refused_with_a_typed_error_and_changes_nothing(store, bad):
    before = store.revision
    with pytest.raises(kvstore.InvalidArgument, match="malformed"):
        store.txn(success=[bad])
    assert store.revision == before


def test_the_embedded_store_checks_a_txn_once_with_the_state_machine_s_limits(clock):
    with kvstore.open(clock=clock, max_txn_ops=2, max_value_bytes=5) as store:
        assert store._checked_txns
        with pytest.raises(kvstore.TooManyOps):
            store.txn([], [Op.put(b"a", b""), Op.put(b"b", b""), Op.put(b"c", b"")])
        with pytest.raises(kvstore.ValueTooLarge):
            store.txn([], [Op.put(b"a", b"123456")])
        with pytest.raises(kvstore.DuplicateKey):
            store.txn([], [Op.put(b"a", b"1"), Op.delete(b"a")])
        assert store.txn([Compare.version(b"a") == 0], [Op.put(b"a", b"1")], []).succeeded
        assert store.revision == 2


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=4), st.text(max_size=3)), st.integers(-3, 3), st.binary(max_size=3),
       st.sampled_from(["version", "create_revision", "mod_revision", "lease", "value"]),
       st.sampled_from(["__eq__", "__ne__", "__lt__", "__gt__"]))
def test_the_builders_common_cases_build_what_the_general_path_builds(key, number, data, target, operator):
    try:
        key_bytes, end = range_end_for(key, None, False)
    except KVError as error:
        with pytest.raises(type(error)):
            getattr(Compare, target)(key)
        with pytest.raises(type(error)):
            Op.put(key, data)
        return
    built = getattr(Compare, target)(key)
    assert (built.key, built.range_end) == (key_bytes, end)
    operand = data if target == "value" else number
    encoded = getattr(built, operator)(operand).encode()
    general = getattr(Compare(built.target, key_bytes, end), operator)(bytearray(data) if target == "value"
                                                                         else _Int(number)).encode()
    assert encoded == general and type(encoded[4]) is type(general[4])
    assert Op.put(key, data) == Op.put(bytearray(key_bytes), bytearray(data), lease=0, prev_kv=False)


class _Int(int):
    """An int the builders' common case does not take (not exactly ``int``): the general path."""


@settings(max_examples=300, deadline=None)
@given(st.lists(txns, min_size=1, max_size=8))
@example([["txn", [], [["delete", b"a", b"", False], ["put", b"a", b"", 0, False, True, False]], []]])  # etcd's quirk
@example([["txn", [[2, 0, b"a", None, 2]], [["put", b"d", b"", 0, False, False, True]], [["put", b"a", b"", 0, True,
                                                                                          True, False]]]])
def test_the_flat_branch_path_is_the_general_path(commands):
    """A branch of puts and deletes runs without the nested-txn path machinery (StateMachine.flat_txns): the
    same responses, errors, state, events and WAL records as the general path, command after command."""
    general, flat = _seeded(), _seeded()
    general.flat_txns = False
    seen: list[tuple[str, object]] = []
    general.listener = lambda revision, events: seen.append(("general", revision, events))
    flat.listener = lambda revision, events: seen.append(("flat", revision, events))
    for command in commands:
        if _request_check(command, 3, 12, 8, 30) is not None:
            continue
        assert repr(general.apply(command)) == repr(flat.apply_checked(command))
        assert _state_of(general) == _state_of(flat)
    assert [item[1:] for item in seen if item[0] == "general"] == [item[1:] for item in seen if item[0] == "flat"]
