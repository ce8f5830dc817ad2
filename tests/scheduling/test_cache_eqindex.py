"""The equivalence-class index (scheduling.cycle.classindex): its sampling window equals a naive walk from the
round-robin start, and it follows node changes through the cache's change log (hypothesis); so does the score
table."""
from __future__ import annotations

import pathlib
import sys
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling.cache import Cache  # noqa: E402
from scheduling.cycle.classindex import FilterIndex, ScoreTable, runs_of  # noqa: E402
from scheduling.cycle.selection import Window  # noqa: E402
from scheduling.framework import CycleState, PluginFailure  # noqa: E402
from scheduling.plugins import NodeResourcesFit  # noqa: E402


def _naive_window(fits: list[bool], start: int, to_find: int) -> tuple[list[int], int]:
    n = len(fits)
    found = []
    for k in range(n):
        i = (start + k) % n
        if fits[i]:
            found.append(i)
            if len(found) >= to_find:
                return found, k + 1
    return found, n


@settings(max_examples=80, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=40), st.data())
def test_window_equals_a_naive_walk(fits: list[bool], data: st.DataObject) -> None:
    cache = Cache()
    for i, ok in enumerate(fits):
        cache.add_node(node(f"n{i:02}", cpu="2" if ok else "100m"))
    index = FilterIndex(cache, [NodeResourcesFit()])
    index.sync(CycleState(), pod("p", cpu="1"))
    start = data.draw(st.integers(0, len(fits) - 1))
    to_find = data.draw(st.integers(1, len(fits) + 1))
    assert index.window(start, len(fits), to_find) == _naive_window(fits, start, to_find)


def _change(cache: Cache, bound: set[int], i: int, op: str) -> None:
    """Bind pod x{i} to node n{i}, remove it, or resize n{i}, as `op` says (other ops: nothing here)."""
    if op == "add" and i not in bound:
        cache.add_pod(pod(f"x{i}", cpu="1", node_name=f"n{i}"))
        bound.add(i)
    elif op == "remove" and i in bound:
        cache.remove_pod(pod(f"x{i}"))
        bound.discard(i)
    elif op == "resize":
        cache.update_node(node(f"n{i}", cpu="4" if i % 2 else "2"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["add", "remove", "resize"])), max_size=25))
def test_index_follows_pod_and_node_changes(ops: list) -> None:
    cache = Cache()
    for i in range(6):
        cache.add_node(node(f"n{i}", cpu="2"))
    plugin = NodeResourcesFit()
    index = FilterIndex(cache, [plugin])
    probe = pod("probe", cpu="1500m")
    index.sync(CycleState(), probe)
    bound: set[int] = set()
    for i, op in ops:
        _change(cache, bound, i, op)
        index.sync(CycleState(), probe)
        truth = [plugin.filter(CycleState(), probe, ni) is None for ni in cache.list()]
        assert [s is None for s in index.status] == truth
        assert list(index.feasible) == [i for i, ok in enumerate(truth) if ok]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["add", "remove", "resize", "node", "score"])),
                max_size=25), st.data())
def test_score_table_follows_pod_and_node_changes(ops: list, data: st.DataObject) -> None:
    """The class's score table gives each node's score as the plugin computes it now, whatever changed, and
    its count of missing sums (which spares scanning a window for them) stays exact."""
    cache = Cache()
    for i in range(6):
        cache.add_node(node(f"n{i}", cpu="2"))
    plugin = NodeResourcesFit()
    scorer = SimpleNamespace(name=plugin.name, plugin=plugin, weight=3, normalizes=False)
    table = ScoreTable(cache, [scorer])
    probe = pod("probe", cpu="500m")
    bound: set[int] = set()
    for i, op in ops:
        _change(cache, bound, i, op)
        if op == "node":
            cache.add_node(node(f"m{len(cache.list())}", cpu="3"))
        nodes = cache.list()
        positions = data.draw(st.lists(st.integers(0, len(nodes) - 1), unique=True))
        totals = table.totals(positions, nodes, CycleState(), probe)
        assert totals == [3 * plugin.score(CycleState(), probe, nodes[p]) for p in positions]
        assert table.missing == table.fixed.count(None)


class _FlakyScore:
    """NodeResourcesFit's score, but an invalid one on the nodes named in ``bad`` (a node's score still
    depends on the node only, as the table assumes)."""

    def __init__(self, bad: set[str]) -> None:
        self.inner = NodeResourcesFit()
        self.bad = bad

    def score(self, state: CycleState, pod: object, ni: object) -> int:
        return 101 if ni.name in self.bad else self.inner.score(state, pod, ni)  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 9), st.lists(st.tuples(st.integers(0, 8), st.sampled_from(["add", "remove", "resize"])),
                                   max_size=25), st.data())
def test_score_table_reads_a_window_of_runs_as_it_scans_one(n: int, ops: list, data: st.DataObject) -> None:
    """A window given as runs of consecutive nodes (``spans``: the stale sums looked up in the runs) gets the
    totals, the missing count and the first invalid score's error a window scanned for None gets."""
    cache = Cache()
    for i in range(n):
        cache.add_node(node(f"n{i}", cpu="2"))
    plugin = _FlakyScore({f"n{j}" for j in data.draw(st.sets(st.integers(0, n - 1), max_size=2))})
    scorer = SimpleNamespace(name="Flaky", plugin=plugin, weight=2, normalizes=False)
    runs, scanned = ScoreTable(cache, [scorer]), ScoreTable(cache, [scorer])
    probe = pod("probe", cpu="500m")
    bound: set[int] = set()
    for i, op in ops:
        _change(cache, bound, i % n, op)
        nodes = cache.list()
        start = data.draw(st.integers(0, n - 1))
        length = data.draw(st.integers(2, n))
        positions = [(start + k) % n for k in range(length)]
        window = Window(nodes, positions, runs_of(positions, n))
        assert window.spans is not None
        outcomes = []
        for table, pick, spans in ((runs, window.pick, window.spans), (scanned, None, None)):
            try:
                outcomes.append(table.totals(positions, nodes, CycleState(), probe, pick, spans))
            except PluginFailure as e:
                outcomes.append(str(e))
            assert table.missing == table.fixed.count(None)
        assert outcomes[0] == outcomes[1]
        if not isinstance(outcomes[0], str):
            assert outcomes[0] == [2 * plugin.score(CycleState(), probe, nodes[p]) for p in positions]


class _Spread:
    """A node-local score taking many values: the node's name's number times ``step``, plus its pods."""

    def __init__(self, step: int) -> None:
        self.step = step

    def score(self, state: CycleState, pod: object, ni: object) -> int:
        return min(100, int(ni.name[1:]) * self.step + len(ni.pods))  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12), st.integers(0, 9), st.integers(1, 8),
       st.lists(st.tuples(st.integers(0, 11), st.sampled_from(["add", "remove", "resize"])), max_size=30), st.data())
def test_score_table_codes_name_the_sums(n: int, step: int, max_codes: int, ops: list, data: st.DataObject) -> None:
    """While a score table keeps byte codes, every computed sum is ``values[codes[i]]`` and ``by_value`` lists
    the codes from the highest sum down — through new sums, the codes running out (recoded from the sums the
    nodes have now) and too many sums (no codes until the next rebuild)."""
    import scheduling.cycle.classindex as classindex

    cache = Cache()
    for i in range(n):
        cache.add_node(node(f"n{i}", cpu="2"))
    scorer = SimpleNamespace(name="Spread", plugin=_Spread(step), weight=1, normalizes=False)
    table = ScoreTable(cache, [scorer])
    probe = pod("probe", cpu="100m")
    bound: set[int] = set()
    before, classindex.MAX_CODES = classindex.MAX_CODES, max_codes
    try:
        for i, op in ops:
            _change(cache, bound, i % n, op)
            nodes = cache.list()
            start, length = data.draw(st.integers(0, n - 1)), data.draw(st.integers(2, n))
            positions = [(start + k) % n for k in range(length)]
            window = Window(nodes, positions, runs_of(positions, n))
            totals = table.totals(positions, nodes, CycleState(), probe, window.pick, window.spans)
            if table.codes is None:
                continue
            assert len(table.values) <= max_codes
            assert [table.values[c] for c in table.by_value] == sorted(table.values, reverse=True)
            for i, total in enumerate(table.fixed):
                if total is not None:
                    assert table.values[table.codes[i]] == total
            assert [table.values[c] for c in table.codes_at(window.pick)] == totals
    finally:
        classindex.MAX_CODES = before
