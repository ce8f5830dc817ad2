"""The batch paths PodTopologySpread brought to the scheduler: ``selection.hybrid_window`` filtering chunks
of nodes at once (``filter_nodes`` batches, per-node fallback, Errors) must give exactly the plain walk's
window, examined count and Error; and ``plain_scores`` must check a batch's range (a tabled batch by its table),
and a tabled batch weighted into the totals must add as its list does."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st
from sortedcontainers import SortedList

from scheduling.framework import CycleState, PluginFailure, Status, TabledScores
from scheduling.cycle.selection import add_weighted, hybrid_window, plain_scores


class _Rejects:
    """A filter that is not node-local: rejects some positions, reports an Error on others."""

    def __init__(self, name, rejected, errors, batch):
        self.name = name
        self.rejected = rejected
        self.errors = errors
        if not batch:
            self.filter_nodes = lambda state, pod, nodes: None

    def filter(self, state, pod, ni):
        if ni.position in self.errors:
            return Status.error(f"{self.name} broke on {ni.name}")
        if ni.position in self.rejected:
            return Status.unschedulable(f"{self.name} says no")
        return Status() if ni.position % 5 == 0 else None  # an explicit Success now and then

    def filter_nodes(self, state, pod, nodes):
        return [self.filter(state, pod, ni) for ni in nodes]


def _plain_walk(feasible, plugins, nodes, start, to_find):
    """The window as the per-node walk finds it."""
    n = len(nodes)
    order = [i for i in feasible if i >= start] + [i for i in feasible if i < start]
    found = []
    for i in order:
        for plugin in plugins:
            status = plugin.filter(None, None, nodes[i])
            if status is not None and not status.is_success:
                if status.code.name == "ERROR":
                    raise PluginFailure(status.with_plugin(plugin.name))
                break
        else:
            found.append(i)
            if len(found) >= to_find:
                return found, (i - start) % n + 1
    return found, n


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hybrid_window_equals_the_plain_walk(data):
    n = data.draw(st.integers(1, 300))
    nodes = [SimpleNamespace(name=f"n{i}", position=i) for i in range(n)]
    positions = st.sets(st.integers(0, n - 1), max_size=n)
    feasible = SortedList(data.draw(positions))
    plugins = [_Rejects(f"P{k}", data.draw(positions), data.draw(st.sets(st.integers(0, n - 1), max_size=2)),
                        data.draw(st.booleans())) for k in range(data.draw(st.integers(1, 3)))]
    start = data.draw(st.integers(0, n - 1))
    to_find = data.draw(st.integers(1, n + 5))
    index = SimpleNamespace(feasible=feasible)
    try:
        expected = _plain_walk(feasible, plugins, nodes, start, to_find)
    except PluginFailure as exc:
        with pytest.raises(PluginFailure) as got:
            hybrid_window(index, plugins, CycleState(), None, nodes, start, to_find)
        assert got.value.status.message == exc.status.message
        return
    assert hybrid_window(index, plugins, CycleState(), None, nodes, start, to_find) == expected


def test_plain_scores_takes_a_batch_and_checks_its_range():
    nodes = [SimpleNamespace(name=f"n{i}") for i in range(3)]

    class Batch:
        def __init__(self, values):
            self.values = values

        def normalized_scores(self, state, pod, nodes):
            return self.values

        def score(self, state, pod, ni):
            raise AssertionError("the batch must be used")

    good = SimpleNamespace(name="Good", plugin=Batch([0, 50, 100]))
    assert plain_scores(None, good, CycleState(), None, nodes) == [0, 50, 100]
    wild = SimpleNamespace(name="Wild", plugin=Batch([0, 101, 100]))
    with pytest.raises(PluginFailure, match="'Wild' returns an invalid score 101 for node 'n1'"):
        plain_scores(None, wild, CycleState(), None, nodes)


def test_plain_scores_takes_tabled_scores_checks_their_range_and_weights_them_as_a_list():
    nodes = [SimpleNamespace(name=f"n{i}") for i in range(4)]

    class Tabled:
        def __init__(self, keys, table):
            self.keys, self.table = keys, table

        def tabled_scores(self, state, pod, nodes):
            return TabledScores(self.keys, self.table)

        def normalized_scores(self, state, pod, nodes):
            raise AssertionError("the tabled batch must be used")

    good = SimpleNamespace(name="Good", plugin=Tabled(["a", "b", "a", "c"], {"a": 100, "b": 0, "c": 37}))
    scores = plain_scores(None, good, CycleState(), None, nodes)
    assert list(scores) == [100, 0, 100, 37] and scores[3] == 37 and scores[1:3] == [0, 100] and len(scores) == 4
    for weight in (1, 2, 5):
        assert add_weighted([1, 2, 3, 4], weight, scores) == add_weighted([1, 2, 3, 4], weight, [100, 0, 100, 37])
    wild = SimpleNamespace(name="Wild", plugin=Tabled(["a", "b", "b"], {"a": 7, "b": 101}))
    with pytest.raises(PluginFailure, match="'Wild' returns an invalid score 101 for node 'n1'"):
        plain_scores(None, wild, CycleState(), None, nodes)


@settings(max_examples=150, deadline=None)
@given(keys=st.lists(st.integers(0, 255), max_size=40), weight=st.integers(1, 4), data=st.data())
def test_a_tabled_batch_keyed_by_bytes_adds_as_its_list_does(keys, weight, data):
    """Keys given as a bytearray (PodTopologySpread's counts of a window of runs) are mapped through
    ``bytes.translate`` when every weighted score fits a byte: the totals equal the list's, byte or not."""
    table = {k: data.draw(st.integers(0, 100)) for k in set(keys)}
    totals = data.draw(st.lists(st.integers(0, 500), min_size=len(keys), max_size=len(keys)))
    expected = [t + weight * table[k] for t, k in zip(totals, keys)]
    assert add_weighted(totals, weight, TabledScores(bytearray(keys), table)) == expected
    assert add_weighted(totals, weight, TabledScores(list(keys), table)) == expected


@settings(max_examples=300, deadline=None)
@given(data=st.data(), weight=st.integers(1, 3), seed=st.integers(0, 2**32))
def test_select_tabled_picks_as_select_over_the_added_totals(data, weight, seed):
    """``select_tabled`` (sums as byte codes, keys as bytes, joined and searched at C speed) against
    ``select`` over the totals ``add_weighted`` builds: the same position, the same draws; or None (the
    caller's general path) when the codes and the keys do not fit a byte together."""
    import random

    from scheduling.cycle.selection import select, select_tabled

    low = data.draw(st.booleans())  # small sums and scores: totals tie across keys
    values = data.draw(st.lists(st.integers(0, 12 if low else 400), min_size=1, max_size=70, unique=True))
    by_value = sorted(range(len(values)), key=values.__getitem__, reverse=True)
    n = data.draw(st.integers(1, 60))
    codes = bytearray(data.draw(st.lists(st.integers(0, len(values) - 1), min_size=n, max_size=n)))
    keys = bytearray(data.draw(st.lists(st.sampled_from(data.draw(
        st.lists(st.integers(0, 20), min_size=1, max_size=4, unique=True))), min_size=n, max_size=n)))
    table = {k: data.draw(st.integers(0, 4 if low else 100)) for k in set(keys)}
    general, fast = random.Random(seed), random.Random(seed)
    expected = select(add_weighted([values[c] for c in codes], weight, TabledScores(list(keys), table)), general)
    got = select_tabled(codes, values, by_value, keys, table, weight, fast)
    if got is None:
        assert len(values) > 256 >> max(table).bit_length()
        return
    assert got == expected
    assert fast.getstate() == general.getstate()
    import scheduling.cycle.selection as selection

    steps, selection._FIXED_POINT_STEPS = selection._FIXED_POINT_STEPS, 1  # the walk when counting stops early
    try:
        assert select_tabled(codes, values, by_value, keys, table, weight, random.Random(seed)) == expected
    finally:
        selection._FIXED_POINT_STEPS = steps


def test_a_byte_keyed_batch_missing_a_key_fails_as_the_list_does():
    """A table without one of the keys: the byte paths step aside, and the general path raises as before."""
    from scheduling.cycle.selection import select_tabled

    keys, table = bytearray([0, 1, 2]), {0: 10, 1: 20}
    with pytest.raises(KeyError):
        add_weighted([1, 2, 3], 2, TabledScores(list(keys), table))
    with pytest.raises(KeyError):
        add_weighted([1, 2, 3], 2, TabledScores(keys, table))
    assert select_tabled(bytearray([0, 0, 0]), [5], [0], keys, table, 2, None) is None
