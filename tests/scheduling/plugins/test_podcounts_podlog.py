"""podcounts fed by the scheduler cache's pod change log: counters pivoted on a label move by each pod bound
or removed instead of recounting nodes, and are built from the cache's label index; after any sequence of cache changes (binds, removals, label and
deletion-timestamp updates, node additions, removals and relabels, pods on nodes the cache does not know
yet, a trimmed log, pods replaced by versions the counts cannot tell apart), syncs made or skipped, every counter handed out equals a recount from scratch
(its running total of every node's count included), also when the counters' own log of nodes to recount was
trimmed past a counter not asked for meanwhile."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from pluginharness import node, pod

import objects
from scheduling.cache import Cache
from scheduling.plugins.podcounts import CounterCache, DomainCounter
from scheduling.plugins.podtopologyspread import _Matcher

KEYS = ("zone",)
SELECTORS = {
    "app-a": objects.LabelSelector.from_dict({"matchLabels": {"app": "a"}}),
    "app-a-tier": objects.LabelSelector.from_dict({"matchLabels": {"app": "a"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "db"]}]}),
    "not-b": objects.LabelSelector.from_dict({"matchExpressions": [  # no In requirement: no pivot
        {"key": "app", "operator": "NotIn", "values": ["b"]}]}),
}
MATCHERS = {(ns, name): _Matcher(ns, sel) for ns in ("default", "other") for name, sel in SELECTORS.items()}
MATCHERS[("default", "none")] = _Matcher("default", None)
# One counter for two keys counted independently (PodTopologySpread's system defaults: hostname and zone).
INDEPENDENT = {("independent", name): MATCHERS[("default", name)] for name in SELECTORS}


def _recount(cache: Cache, match, key: str = "zone") -> tuple[dict, dict]:
    node_count = {ni.name: sum(1 for p in ni.pods.values() if match(p)) for ni in cache.list()}
    sums: dict = {}
    for ni in cache.list():
        if key in ni.labels:
            sums[ni.labels[key]] = sums.get(ni.labels[key], 0) + node_count[ni.name]
    return node_count, sums


def _check_independent(counters: CounterCache, cache: Cache, identity) -> None:
    counter = counters.get(identity, lambda: DomainCounter(INDEPENDENT[identity], ("zone", "rack"), ordered=True,
                                                           independent=True))
    for key in ("zone", "rack"):
        node_count, sums = _recount(cache, INDEPENDENT[identity], key)
        assert counter.node_count == node_count
        assert counter.sums[key] == sums
        assert counter.totals[key] == sum(sums.values())
        assert counter.total == sum(node_count.values())
        assert counter.minimum(key) == min(sums.values(), default=0)


def _check_label_index(cache: Cache) -> None:
    """The label index holds exactly the labels of the pods in the NodeInfos, with their node."""
    expected: dict = {}
    for name, ni in cache._nodes.items():
        for key, p in ni.pods.items():
            for label, value in (p.metadata.labels or {}).items():
                expected.setdefault((p.metadata.namespace or "default", label, value), {})[key] = name
    assert cache._labelled == expected
    for (namespace, label, value), holders in expected.items():
        assert cache.pods_labelled(namespace, label, value) == holders


def _counter(counters: CounterCache, identity):
    return counters.get(identity, lambda: DomainCounter(MATCHERS[identity], KEYS, ordered=True))


step = st.tuples(
    st.sampled_from(["bind", "bind", "bind", "remove_pod", "remove_pod", "relabel_pod", "terminate_pod",
                     "refresh_pod", "refresh_pod", "add_node", "remove_node", "relabel_node", "bind_unknown_node"]),
    st.integers(0, 50), st.sampled_from(["a", "b"]), st.sampled_from(["web", "db", "cache", None]),
    st.sampled_from(["default", "other"]), st.sampled_from(sorted(MATCHERS)),
    st.sampled_from(["sync and ask", "sync and ask", "sync", "nothing"]))


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, min_size=5, max_size=60), limit=st.sampled_from([4, 8192, 8192]),
       size=st.sampled_from([2, 64, 64]), log_limit=st.sampled_from([2, 8192]))
def test_pod_log_counts_equal_a_recount(steps, limit, size, log_limit):
    cache = Cache()
    cache.pod_log_limit = limit  # a small log is trimmed often: the counters must fall back to recounting
    for i in range(3):
        cache.add_node(node(f"n{i}", labels={"zone": f"z{i % 2}"}))
    counters = CounterCache(size=size, log_limit=log_limit)
    counters.sync(cache.list())
    pods: dict[str, objects.Pod] = {}
    for serial, (op, index, app, tier, namespace, ask, then) in enumerate(steps):
        names = [ni.name for ni in cache.list()]
        bound = sorted(pods)
        labels = {"app": app, **({"tier": tier} if tier else {})}
        if op == "bind" and names:
            p = pod(f"p{serial}", namespace=namespace, labels=labels, node_name=names[index % len(names)])
            cache.add_pod(p)
            pods[p.key] = p
        elif op == "bind_unknown_node":
            p = pod(f"p{serial}", namespace=namespace, labels=labels, node_name=f"late{index % 2}")
            cache.add_pod(p)
            pods[p.key] = p
        elif op == "remove_pod" and bound:
            cache.remove_pod(pods.pop(bound[index % len(bound)]))
        elif op in ("relabel_pod", "terminate_pod", "refresh_pod") and bound:
            old = pods[bound[index % len(bound)]]
            d = objects.to_dict(old)
            if op == "relabel_pod":
                d["metadata"]["labels"] = labels
            elif op == "refresh_pod":  # a new version the counts cannot tell apart (a status write)
                d["status"] = {"phase": "Running"}
            else:
                d["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            new = objects.from_dict(d)
            cache.update_pod(new)
            pods[new.key] = new
        elif op == "add_node":
            cache.add_node(node(f"late{index % 2}" if index % 3 else f"m{serial}",
                                labels={**({"zone": f"z{index % 3}"} if index % 4 else {}),
                                        **({"rack": f"r{index % 2}"} if index % 3 else {})}))
        elif op == "remove_node" and len(names) > 1:
            cache.remove_node(names[index % len(names)])
        elif op == "relabel_node" and names:
            name = names[index % len(names)]
            cache.update_node(node(name, labels={**({"zone": f"z{index % 3}"} if index % 4 else {}),
                                                 **({"rack": f"r{index % 2}"} if index % 5 else {})}))
        _check_label_index(cache)
        if then != "nothing":
            counters.sync(cache.list())
        if then == "sync and ask":
            counter = _counter(counters, ask)
            node_count, sums = _recount(cache, MATCHERS[ask])
            assert counter.node_count == node_count
            assert counter.total == sum(node_count.values())
            assert counter.sums["zone"] == sums
            assert counter.minimum("zone") == min(sums.values(), default=0)
            _check_independent(counters, cache, ("independent", ask[1]) if ask[1] in SELECTORS else
                               ("independent", "app-a"))
    counters.sync(cache.list())
    for identity in MATCHERS:
        counter = _counter(counters, identity)
        node_count, sums = _recount(cache, MATCHERS[identity])
        assert counter.node_count == node_count, identity
        assert counter.total == sum(node_count.values()), identity
        assert counter.sums["zone"] == sums, identity
        assert counter.totals["zone"] == sum(sums.values())


def test_a_counter_asked_for_between_a_change_and_the_next_sync_is_not_counted_twice():
    """The plugins sync before they ask; a counter that recounts a node after pods changed there but before
    the sync that replays those changes must not meet them twice."""
    cache = Cache()
    cache.add_node(node("n0", labels={"zone": "z"}))
    counters = CounterCache()
    counters.sync(cache.list())
    identity = ("default", "app-a")
    _counter(counters, identity)
    counters.sync(cache.list())
    cache.update_node(node("n0", labels={"zone": "y"}))  # a relabel: the counter recounts n0 when asked
    counters.sync(cache.list())
    cache.add_pod(pod("p1", labels={"app": "a"}, node_name="n0"))
    assert _counter(counters, identity).node_count == {"n0": 1}  # recounted with p1 already on n0
    counters.sync(cache.list())
    assert _counter(counters, identity).node_count == {"n0": 1}
    assert _counter(counters, identity).sums["zone"] == {"y": 1}


def test_matcher_pivots():
    assert MATCHERS[("default", "app-a")].pivots() == (("default", "app", "a"),)
    assert MATCHERS[("other", "app-a-tier")].pivots() == (("other", "app", "a"),)  # the fewest values
    assert MATCHERS[("default", "not-b")].pivots() is None
    assert MATCHERS[("default", "none")].pivots() == ()
