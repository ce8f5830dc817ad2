"""``LabelColumns`` (PodTopologySpread's per-key label columns in node order) against reading every node's
labels from scratch, as nodes come, change labels and go and pods come and go on a real scheduler Cache; and
what it says of a whole column (every node carries the key; every node has one value)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from pluginharness import ZONE, node, pod

from scheduling.cache import Cache
from scheduling.plugins.labelcolumns import MIXED, LabelColumns
from scheduling.cycle.classindex import runs_of
from scheduling.cycle.selection import Window

KEYS = [ZONE, "rack", "kubernetes.io/hostname"]


def _labels(draw):
    labels = {}
    if draw(st.booleans()):
        labels[ZONE] = draw(st.sampled_from(["z1", "z2", "z3"]))
    if draw(st.booleans()):
        labels["rack"] = draw(st.sampled_from(["r1", "r2"]))
    return labels


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_columns_follow_the_cache(data):
    cache = Cache()
    columns = LabelColumns()
    pods = []
    for step in range(data.draw(st.integers(1, 30))):
        nodes = cache.list()
        names = [ni.name for ni in nodes]
        op = data.draw(st.sampled_from(["add", "update", "remove", "pod", "unpod"]))
        if op == "add" or not names:
            cache.add_node(node(f"n{step}", labels=_labels(data.draw)))
        elif op == "update":
            cache.update_node(node(data.draw(st.sampled_from(names)), labels=_labels(data.draw)))
        elif op == "remove":
            cache.remove_node(data.draw(st.sampled_from(names)))
        elif op == "pod":
            pods.append(pod(f"p{step}", node_name=data.draw(st.sampled_from(names))))
            cache.add_pod(pods[-1])
        elif pods:
            cache.remove_pod(pods.pop(data.draw(st.integers(0, len(pods) - 1))))
        nodes = cache.list()
        key = data.draw(st.sampled_from(KEYS))
        assert columns.values(key, nodes) == [ni.labels.get(key) for ni in nodes]
        assert columns.complete(key, nodes) == all(key in ni.labels for ni in nodes)
        same = columns.uniform(key, nodes)
        if same is not MIXED:  # MIXED may stay after the column became uniform again: never the converse
            assert nodes and all(ni.labels.get(key) == same for ni in nodes)
        if nodes:
            positions = data.draw(st.lists(st.integers(0, len(nodes) - 1), max_size=len(nodes), unique=True))
            window = Window(nodes, positions)
            assert columns.values(key, window) == [ni.labels.get(key) for ni in window]
            assert columns.names(window) == [ni.name for ni in window]
        assert columns.values(key, list(nodes)) == [ni.labels.get(key) for ni in nodes]  # not the cache's list


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_counts_by_position_equal_the_counter_looked_up_by_name(data):
    """``LabelColumns.counts`` (a copy of a DomainCounter's counts in node order, replaying the names the
    counter touched) against ``node_count`` read by name, as nodes come and go and counts move, are recounted
    or rebuilt — and past the log's limit, where the copy starts again."""
    from scheduling.plugins.podcounts import DomainCounter

    cache = Cache()
    columns, other = LabelColumns(), LabelColumns()  # two readers of one counter
    counter = DomainCounter(lambda p: True, (ZONE,))
    for step in range(data.draw(st.integers(1, 40))):
        names = [ni.name for ni in cache.list()]
        op = data.draw(st.sampled_from(["add", "remove", "move", "moves", "update", "rebuild", "stranger"]))
        if op == "add" or not names:
            cache.add_node(node(f"n{step}", labels=_labels(data.draw)))
            counter.update(cache.find(f"n{step}"))
        elif op == "remove":
            name = data.draw(st.sampled_from(names))
            cache.remove_node(name)
            counter.remove(name)
        elif op == "move":
            counter.move(data.draw(st.sampled_from(names)), data.draw(st.sampled_from([1, -1, 2])))
        elif op == "moves":  # past the log's limit: len(node_count) + 1024 names
            name = data.draw(st.sampled_from(names))
            for _ in range(data.draw(st.integers(500, 1500))):
                counter.move(name, 1)
        elif op == "update":
            name = data.draw(st.sampled_from(names))
            cache.add_pod(pod(f"p{step}", node_name=name))
            counter.update(cache.find(name))
        elif op == "rebuild":
            counter = DomainCounter(lambda p: True, (ZONE,)).rebuild(cache.list())
        else:  # a pod counted on a node the cache does not list
            counter.move("elsewhere", 1)
        nodes = cache.list()
        expected = [counter.node_count.get(ni.name, 0) for ni in nodes]
        reader = data.draw(st.sampled_from([columns, other]))
        assert reader.counts(counter, nodes) == expected
        if nodes:
            positions = data.draw(st.lists(st.integers(0, len(nodes) - 1), max_size=len(nodes), unique=True))
            window = Window(nodes, positions)
            assert reader.counts(counter, window) == [counter.node_count.get(ni.name, 0) for ni in window]
            # A window of runs gets a slice of the copy: a bytearray while every count fits a byte.
            start, length = data.draw(st.integers(0, len(nodes) - 1)), data.draw(st.integers(2, len(nodes) + 1))
            rotation = [(start + k) % len(nodes) for k in range(min(length, len(nodes)))]
            runs = Window(nodes, rotation, runs_of(rotation, len(nodes)))
            got = reader.counts(counter, runs)
            assert list(got) == [counter.node_count.get(ni.name, 0) for ni in runs]
            if len(rotation) > 1 and all(0 <= counter.node_count.get(ni.name, 0) <= 255 for ni in nodes):
                assert type(LabelColumns().counts(counter, runs)) is bytearray  # a fresh copy
        assert reader.counts(counter, list(nodes)) is None  # not the cache's list: the caller looks names up


@settings(max_examples=200, deadline=None)
@given(totals=st.lists(st.integers(0, 3), min_size=1, max_size=60), seed=st.integers(0, 2**32))
def test_select_picks_the_nth_best_in_search_order(totals, seed):
    """``select`` (its C-speed search for the nth equal total) against a plain scan: the same position and
    the same random draws."""
    import random
    from scheduling.cycle.selection import select

    best = max(totals)
    ties = [i for i, t in enumerate(totals) if t == best]
    mirror = random.Random(seed)
    expected = ties[0] if len(ties) == 1 else ties[mirror.randrange(len(ties))]
    rng = random.Random(seed)
    assert select(totals, rng) == expected
    assert rng.random() == mirror.random()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_window_runs_pick_what_the_positions_pick(data):
    """``runs_of`` on what ``FilterIndex.window`` returns (a rotation of the sorted feasible positions), and
    ``Window.pick`` through those runs, against picking every position."""
    from scheduling.cycle.classindex import runs_of

    n = data.draw(st.integers(1, 40))
    feasible = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
    start = data.draw(st.integers(0, len(feasible) - 1))
    take = data.draw(st.integers(1, len(feasible)))
    rotated = feasible[start:] + feasible[:start]
    positions = rotated[:take]
    spans = runs_of(positions, n)
    if spans is not None:
        assert [i for a, b in spans for i in range(a, b)] == positions
    else:  # not runs: some gap inside
        assert len(positions) < 2 or any((q - p) % n != 1 for p, q in zip(positions, positions[1:]))
    nodes = [f"node-{i}" for i in range(n)]
    seq = [f"value-{i}" for i in range(n)]
    assert Window(nodes, positions, spans).pick(seq) == [seq[i] for i in positions]
    assert Window(nodes, positions).pick(seq) == [seq[i] for i in positions]
