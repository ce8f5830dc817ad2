"""KeyIndex, LeaseTable and prefix_end against plain models (hypothesis)."""
from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings

from kvstore.args import ALL_KEYS, prefix_end
from kvstore.keyindex import KeyIndex
from kvstore.leases import LeaseTable
from kvstore.types import KeyValue

small_keys = st.binary(min_size=1, max_size=3)
# each step: (key, None) deletes the key if live; (key, value) puts it; ("compact", n) compacts n back
steps = st.lists(st.one_of(st.tuples(small_keys, st.none() | st.binary(max_size=2)),
                           st.tuples(st.just("compact"), st.integers(0, 5))), max_size=60)


@settings(max_examples=200, deadline=None)
@given(steps, st.lists(st.tuples(small_keys, st.none() | small_keys | st.just(b"")), max_size=5))
def test_key_index_matches_a_model_of_every_revision(script, ranges):
    index = KeyIndex()
    states: list[dict[bytes, KeyValue]] = [{}, {}]  # revision -> live key space
    compacted = 0
    for step in script:
        key, value = step
        revision = len(states)
        state = dict(states[-1])
        if key == "compact":
            compacted = max(compacted, revision - 1 - value)
            index.compact(compacted)
            continue
        if value is None:
            if key not in state:
                continue
            del state[key]
            index.record(KeyValue(key, b"", 0, revision, 0, 0))
        else:
            prev = state.get(key)
            kv = KeyValue(key, value, prev.create_revision if prev else revision, revision,
                          prev.version + 1 if prev else 1, 0)
            state[key] = kv
            index.record(kv)
        states.append(state)
    assert index.latest == states[-1]
    assert list(index.keys) == sorted(index.history)
    for revision in range(max(compacted, 1), len(states)):
        for key in {k for s in states for k in s}:
            assert index.at(key, revision) == states[revision].get(key)
        for start, end in ranges:
            def inside(k):
                if end is None:
                    return k == start
                return k >= start and (end == ALL_KEYS or k < end)
            expected = [states[revision][k] for k in sorted(states[revision]) if inside(k)]
            assert list(index.live_in(start, end, revision)) == expected
    # compaction dropped every key whose history is only a deletion at or below the compact revision
    for key, revisions in index.history.items():
        assert revisions and (revisions[-1].mod_revision > compacted or revisions[-1].version)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4), st.binary(max_size=5))
def test_prefix_end_bounds_exactly_the_keys_with_the_prefix(prefix, key):
    end = prefix_end(prefix)
    in_range = key >= prefix and (end == ALL_KEYS or key < end)
    assert in_range == key.startswith(prefix)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["grant", "keepalive", "attach", "detach", "drop"]),
                          st.integers(1, 4), st.integers(1, 9), st.sampled_from([b"a", b"b"])), max_size=40),
       st.floats(0, 30))
def test_lease_table_due_and_keys_match_a_model(script, now):
    table = LeaseTable()
    model: dict[int, list] = {}  # id -> [ttl, expiry, keys]
    clock = 0.0
    for action, lease_id, ttl, key in script:
        clock += 1.0
        if action == "grant" and lease_id not in model:
            table.grant(lease_id, ttl, clock)
            model[lease_id] = [ttl, clock + ttl, set()]
        elif action == "keepalive":
            assert (table.keepalive(lease_id, clock) is None) == (lease_id not in model)
            if lease_id in model:
                model[lease_id][1] = clock + model[lease_id][0]
        elif action == "attach" and lease_id in model:
            table.attach(lease_id, key)
            model[lease_id][2].add(key)
        elif action == "detach":
            table.detach(lease_id, key)
            if lease_id in model:
                model[lease_id][2].discard(key)
        elif action == "drop" and lease_id in model:
            del table.records[lease_id]
            del model[lease_id]
    assert table.due(now) == [i for _, i in sorted((m[1], i) for i, m in model.items() if m[1] <= now)]
    assert {i: r.keys for i, r in table.records.items()} == {i: m[2] for i, m in model.items()}
    assert table.next_expiry() == min((m[1] for m in model.values()), default=float("inf"))
