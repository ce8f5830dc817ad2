"""podcounts: the incremental per-node / per-domain counts equal a recount from scratch after any sequence
of node and pod changes (hypothesis), and the tracker reports exactly what changed."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from pluginharness import node, pod

from scheduling.framework import NodeInfo
from scheduling.plugins.podcounts import CounterCache, DomainCounter

KEYS = ("zone", "rack")


def _matches(p) -> bool:
    return (p.metadata.labels or {}).get("app") == "a"


def _recount(infos):
    node_count = {ni.name: sum(1 for p in ni.pods.values() if _matches(p)) for ni in infos}
    sums = {k: {} for k in KEYS}
    for ni in infos:
        if all(k in ni.labels for k in KEYS):
            for k in KEYS:
                v = ni.labels[k]
                sums[k][v] = sums[k].get(v, 0) + node_count[ni.name]
    return node_count, sums


ops = st.lists(st.tuples(st.sampled_from(["add_pod", "remove_pod", "relabel", "add_node", "remove_node"]),
                         st.integers(0, 5), st.sampled_from(["a", "b"]), st.sampled_from(["z1", "z2", None]),
                         st.sampled_from(["r1", None])), max_size=30)


@settings(max_examples=80, deadline=None)
@given(ops=ops)
def test_counts_follow_any_sequence_of_changes(ops):
    infos = {f"n{i}": NodeInfo(node(f"n{i}", labels={"zone": "z1", "rack": "r1"})) for i in range(3)}
    cache = CounterCache(size=2)
    cache.sync(list(infos.values()))
    counter = cache.get("q", lambda: DomainCounter(_matches, KEYS, ordered=True))
    serial = 0
    for op, index, app, zone, rack in ops:
        names = sorted(infos)
        serial += 1
        if op == "add_node" or not names:
            labels = {k: v for k, v in (("zone", zone), ("rack", rack)) if v}
            infos[f"m{serial}"] = NodeInfo(node(f"m{serial}", labels=labels))
        elif op == "remove_node":
            del infos[names[index % len(names)]]
        elif op == "relabel":
            ni = infos[names[index % len(names)]]
            labels = {k: v for k, v in (("zone", zone), ("rack", rack)) if v}
            ni.set_node(node(ni.name, labels=labels))
        elif op == "add_pod":
            ni = infos[names[index % len(names)]]
            ni.add_pod(pod(f"p{serial}", labels={"app": app}, node_name=ni.name))
        else:
            ni = infos[names[index % len(names)]]
            if ni.pods:
                ni.remove_pod(next(iter(ni.pods.values())))
        cache.sync(list(infos.values()))
        # a counter is current when handed out (it recounts the nodes changed since), and it is the same
        # counter, kept up to date, not rebuilt
        assert cache.get("q", lambda: DomainCounter(_matches, KEYS, ordered=True)) is counter
        node_count, sums = _recount(infos.values())
        assert counter.node_count == node_count
        for k in KEYS:
            assert counter.sums[k] == sums[k]
            assert counter.totals[k] == sum(sums[k].values())
            assert counter.minimum(k) == min(sums[k].values(), default=0)
    # A counter made late starts from the tracked state.
    late = cache.get("late", lambda: DomainCounter(_matches, KEYS))
    assert late.node_count == _recount(infos.values())[0]


def test_tracker_reports_changed_and_removed_nodes():
    a, b = NodeInfo(node("a")), NodeInfo(node("b"))
    cache = CounterCache()
    assert [ni.name for ni in cache.tracker.changes([a, b])[0]] == ["a", "b"]
    assert cache.tracker.changes([a, b]) == ([], [])
    a.add_pod(pod("p", node_name="a"))
    assert [ni.name for ni in cache.tracker.changes([a, b])[0]] == ["a"]
    assert cache.tracker.changes([a]) == ([], ["b"])


@settings(max_examples=40, deadline=None)
@given(ops=ops, asks=st.lists(st.sampled_from(["q", "r", "s"]), min_size=30, max_size=30))
def test_a_counter_handed_out_after_syncs_it_missed_equals_a_recount(ops, asks):
    """Counters recount lazily: one not asked for during many syncs (and evicted ones, size 2) is current
    once handed out."""
    infos = {f"n{i}": NodeInfo(node(f"n{i}", labels={"zone": "z1", "rack": "r1"})) for i in range(3)}
    cache = CounterCache(size=2)
    cache.sync(list(infos.values()))
    for serial, ((op, index, app, zone, rack), ask) in enumerate(zip(ops, asks)):
        names = sorted(infos)
        if op == "add_node" or not names:
            infos[f"m{serial}"] = NodeInfo(node(f"m{serial}", labels={"zone": zone or "z1", "rack": "r1"}))
        elif op == "remove_node":
            del infos[names[index % len(names)]]
        elif op == "add_pod":
            ni = infos[names[index % len(names)]]
            ni.add_pod(pod(f"p{serial}", labels={"app": app}, node_name=ni.name))
        cache.sync(list(infos.values()))
        if index % 2:
            continue  # this change is only noted
        counter = cache.get(ask, lambda: DomainCounter(_matches, KEYS, ordered=True))
        node_count, sums = _recount(infos.values())
        assert counter.node_count == node_count
        assert counter.sums == sums
