"""The state machine contract: pure, deterministic, never raises, errors change nothing, snapshots."""
from __future__ import annotations

import msgpack
import hypothesis.strategies as st
from hypothesis import given, settings

import kvstore
from kvstore import Compare, KVError, Op, StateMachine

junk = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.binary(max_size=2) |
                    st.sampled_from(["put", "delete", "range", "txn", "compact", "grant", "keepalive",
                                     "revoke", "expire", "nope"]),
                    lambda inner: st.lists(inner, max_size=8), max_leaves=20)
commands = st.one_of(junk, st.lists(junk, max_size=8).map(lambda items: [*items]),
                     st.tuples(st.sampled_from(["put", "delete", "range", "txn", "compact", "grant", "keepalive",
                                                "revoke", "expire"]), st.lists(junk, max_size=12))
                     .map(lambda pair: [pair[0], *pair[1]]))


def seeded() -> StateMachine:
    state = StateMachine()
    for command in (Op.put(b"a", b"1"), Op.put(b"b", b"2"), ["grant", 7, 10, 0.0], Op.put(b"c", b"3", lease=7),
                    Op.delete(b"b")):
        state.apply(command)
    return state


@settings(max_examples=150, deadline=None)
@given(commands)
def test_apply_never_raises_and_an_error_changes_nothing(command):
    state = seeded()
    before = (state.revision, state.hash_kv(), msgpack.packb(state.snapshot()))
    result = state.apply(command)
    if isinstance(result, KVError):
        assert (state.revision, state.hash_kv(), msgpack.packb(state.snapshot())) == before
        assert state.last_record is None


write_ops = st.one_of(
    st.builds(lambda k, v: Op.put(k, v), st.sampled_from([b"a", b"b", b"c"]), st.binary(max_size=2)),
    st.builds(lambda k: Op.delete(k, b"\0"), st.sampled_from([b"a", b"b", b"c"])),
    st.builds(lambda k, n: kvstore.txn.build_txn([Compare.version(k) == n], [Op.put(k, b"t")], [Op.delete(k)]),
              st.sampled_from([b"a", b"b"]), st.integers(0, 2)),
    st.builds(lambda n: ["compact", n], st.integers(1, 8)),
    st.builds(lambda i, t: ["grant", i, t, 0.0], st.integers(1, 3), st.integers(1, 5)),
    st.builds(lambda i: ["revoke", i], st.integers(1, 3)),
    st.builds(lambda k, i: Op.put(k, b"l", lease=i), st.sampled_from([b"a", b"b"]), st.integers(1, 3)),
    st.builds(lambda i, now: ["expire", i, now], st.integers(1, 3), st.floats(0, 10)),
    # etcd's quirk: a from-key delete may follow (or precede) a put of the same key in one txn
    st.builds(lambda k, flip: kvstore.txn.build_txn([], [Op.put(k, b"q"), Op.delete(k, b"\0")][::flip], []),
              st.sampled_from([b"a", b"b"]), st.sampled_from([1, -1])),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(write_ops, max_size=30))
def test_same_commands_same_state_and_the_wal_records_replay_to_it(ops):
    first, second, replayed = StateMachine(), StateMachine(), StateMachine()
    for op in ops:
        a, b = first.apply(op), second.apply(op)
        assert repr(a) == repr(b)
        if first.last_record is not None:
            # what a WAL keeps must replay, through msgpack, to the same state
            record = msgpack.unpackb(msgpack.packb(first.last_record, use_bin_type=True), raw=False)
            assert not isinstance(replayed.apply(record), KVError)
    assert first.hash_kv() == second.hash_kv() == replayed.hash_kv()
    assert first.revision == replayed.revision and first.compact_revision == replayed.compact_revision
    encoded = msgpack.packb(first.snapshot(), use_bin_type=True)
    assert first.snapshot_bytes() == encoded  # the streamed encoding is the same bytes
    restored = StateMachine()
    restored.restore(msgpack.unpackb(encoded, raw=False))
    assert restored.hash_kv() == first.hash_kv()
    assert restored.events_since(0, 10 ** 6) == first.events_since(0, 10 ** 6)  # prev_kv included
    assert sorted(restored.leases.records) == sorted(first.leases.records)


def test_an_expire_that_fires_is_recorded_as_a_revoke():
    state = StateMachine()
    state.apply(["grant", 5, 10, 0.0])
    assert state.apply(["expire", 5, 9.0]) is None and state.last_record is None
    assert state.apply(["expire", 5, 10.0]) == 1
    assert state.last_record == ["revoke", 5]


def test_keepalive_is_not_a_durable_record():
    state = StateMachine()
    state.apply(["grant", 5, 10, 0.0])
    assert state.apply(["keepalive", 5, 3.0]) == kvstore.Lease(5, 10)
    assert state.last_record is None


def test_listener_gets_each_revision_with_its_events():
    state = StateMachine()
    seen = []
    state.listener = lambda revision, events: seen.append((revision, [e.kv.key for e in events]))
    state.apply(Op.put(b"a", b"1"))
    state.apply(kvstore.txn.build_txn([], [Op.put(b"b", b"1"), Op.put(b"c", b"1")], []))
    state.apply(Op.delete(b"zz"))
    assert seen == [(2, [b"a"]), (3, [b"b", b"c"])]


def test_hash_kv_differs_for_different_key_spaces_and_checks_the_revision():
    first, second = StateMachine(), StateMachine()
    first.apply(Op.put(b"a", b"1"))
    second.apply(Op.put(b"a", b"2"))
    assert first.hash_kv() != second.hash_kv()
    assert first.hash_kv(1) == second.hash_kv(1)
    try:
        first.hash_kv(3)
    except kvstore.FutureRevision:
        pass
    else:
        raise AssertionError("hash_kv of a future revision")


def test_unknown_snapshot_format_is_refused():
    state = StateMachine()
    try:
        state.restore({"format": 99})
    except kvstore.InvalidArgument as error:
        assert "format=99" in str(error)
    else:
        raise AssertionError("restore accepted an unknown format")
