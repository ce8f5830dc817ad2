"""InterPodAffinity: the Kubernetes docs' examples, and hypothesis against the exhaustive reference — filter
reasons and normalized scores on random clusters, with one plugin instance following the cluster as pods
come and go (its per-domain counts are incremental)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from pluginharness import (HOST, ZONE, Handle, bind_and_maybe_delete, affinity_spec, filter_reasons, node,
                           node_infos, nodes_strategy, pod, pods_strategy, scores)

from scheduling import reference as R
from scheduling.framework import ConfigError, CycleState
from scheduling.plugins.interpodaffinity import InterPodAffinity

NAMESPACES = {"ns1": {"team": "x"}, "ns2": {}}


def _plugin(infos, weight=1):
    return InterPodAffinity({"hardPodAffinityWeight": weight}, Handle(infos, NAMESPACES))


def _zones(spec):
    return [node(f"{z}-{i}", labels={ZONE: z}) for z, n in spec.items() for i in range(n)]


def test_docs_example_required_affinity_and_preferred_anti_affinity():
    nodes = _zones({"z1": 2, "z2": 2})
    existing = [pod("s1", labels={"security": "S1"}, node_name="z1-0"),
                pod("s2", labels={"security": "S2"}, node_name="z2-0")]
    infos = node_infos(nodes, existing)
    p = pod("with-pod-affinity", affinity={
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchExpressions": [{"key": "security", "operator": "In", "values": ["S1"]}]},
             "topologyKey": ZONE}]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
            "labelSelector": {"matchExpressions": [{"key": "security", "operator": "In", "values": ["S2"]}]},
            "topologyKey": ZONE}}]}})
    plugin = _plugin(infos)
    reasons = filter_reasons(plugin, p, infos)
    assert reasons == {"z1-0": None, "z1-1": None, "z2-0": "node(s) didn't match pod affinity rules",
                       "z2-1": "node(s) didn't match pod affinity rules"}
    assert scores(plugin, p, infos) == {"z1-0": 100, "z1-1": 100, "z2-0": 0, "z2-1": 0}


def test_docs_example_web_store_colocation_one_per_node():
    # The docs' redis-cache / web-server example: web pods avoid each other per host and want a cache pod.
    nodes = [node(f"n{i}") for i in range(3)]
    caches = [pod(f"cache-{i}", labels={"app": "store"}, node_name=f"n{i}") for i in range(2)]
    web_spec = {"affinity": {
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web-store"}}, "topologyKey": HOST}]},
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "store"}}, "topologyKey": HOST}]}}}
    web0 = pod("web-0", labels={"app": "web-store"}, node_name="n0", **web_spec)
    infos = node_infos(nodes, caches + [web0])
    plugin = _plugin(infos)
    reasons = filter_reasons(plugin, pod("web-1", labels={"app": "web-store"}, **web_spec), infos)
    assert reasons == {"n0": "node(s) didn't match pod anti-affinity rules", "n1": None,
                       "n2": "node(s) didn't match pod affinity rules"}


def test_existing_pods_anti_affinity_and_the_first_pod_rule():
    nodes = [node("n0"), node("n1")]
    guard = pod("guard", labels={"app": "g"}, node_name="n0", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST}]}})
    infos = node_infos(nodes, [guard])
    plugin = _plugin(infos)
    assert filter_reasons(plugin, pod("w", labels={"app": "web"}), infos) == {
        "n0": "node(s) didn't satisfy existing pods anti-affinity rules", "n1": None}
    self_affine = {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": ZONE}]}}}
    zoned = node_infos(_zones({"z1": 1, "z2": 1}), [])
    plugin = _plugin(zoned)
    assert filter_reasons(plugin, pod("w0", labels={"app": "web"}, **self_affine), zoned) == {
        "z1-0": None, "z2-0": None}
    assert set(filter_reasons(plugin, pod("x", labels={"app": "db"}, **self_affine), zoned).values()) == {
        "node(s) didn't match pod affinity rules"}


def test_pod_without_terms_and_no_existing_anti_affinity_is_skipped():
    infos = node_infos([node("n0")], [pod("a", node_name="n0")])
    plugin = _plugin(infos)
    _, status = plugin.pre_filter(CycleState(), pod("p"), infos)
    assert status is not None and status.is_skip
    assert plugin.pre_score(CycleState(), pod("p"), infos).is_skip


def test_hard_pod_affinity_weight_is_validated():
    with pytest.raises(ConfigError, match="hardPodAffinityWeight"):
        InterPodAffinity({"hardPodAffinityWeight": 101}, None)


def test_preemption_extensions_remove_a_blocking_pod():
    nodes = [node("n0")]
    blocker = pod("b", labels={"app": "web"}, node_name="n0")
    infos = node_infos(nodes, [blocker])
    plugin = _plugin(infos)
    p = pod("p", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST}]}})
    state = CycleState()
    plugin.pre_filter(state, p, infos)
    assert not plugin.filter(state, p, infos[0]) is None
    what_if = state.clone()
    clone = infos[0].clone()
    clone.remove_pod(blocker)
    plugin.pre_filter_extensions().remove_pod(what_if, p, blocker, clone)
    assert plugin.filter(what_if, p, clone) is None
    assert plugin.filter(state, p, infos[0]) is not None, "the original state is untouched"


def _cluster(nodes, placed):
    return R.Cluster(nodes, placed, namespace_labels=NAMESPACES)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matches_the_reference_as_the_cluster_changes(data):
    nodes = data.draw(nodes_strategy())
    placed = data.draw(pods_strategy(nodes, with_affinity=True))
    infos = node_infos(nodes, placed)
    by_name = {i.name: i for i in infos}
    weight = data.draw(st.integers(0, 3))
    plugin = _plugin(infos, weight)
    for step in range(data.draw(st.integers(1, 4))):
        incoming = pod(f"p{step}", namespace=data.draw(st.sampled_from(["ns1", "ns2"])),
                       labels={"app": data.draw(st.sampled_from(["a", "b"]))}, **data.draw(affinity_spec()))
        cluster = _cluster(nodes, placed)
        cluster.hard_pod_affinity_weight = weight
        expected = {n.metadata.name: R.inter_pod_affinity_reason(incoming, n, cluster) for n in nodes}
        assert filter_reasons(plugin, incoming, infos) == expected
        assert scores(plugin, incoming, infos) == R.plugin_scores(incoming, cluster, nodes)["InterPodAffinity"]
        # The cluster moves on: the pod lands somewhere, and sometimes a pod leaves.
        placed = bind_and_maybe_delete(data, nodes, placed, by_name, incoming)


class _GeneralPath:
    """The scheduler cache as the plugins read it, except that it claims pods with (anti-)affinity terms
    are placed: the plugin never takes its no-terms-anywhere shortcut, and syncs its counts every cycle."""

    def __init__(self, cache):
        self._cache = cache

    def __getattr__(self, name):
        return getattr(self._cache, name)

    def have_pods_with_affinity_list(self):
        return self._cache.list()

    def have_pods_with_required_anti_affinity_list(self):
        return self._cache.list()


def _verdicts(plugin, p, infos):
    state = CycleState()
    _, status = plugin.pre_filter(state, p, infos)
    skipped = status is not None and status.is_skip
    return skipped, filter_reasons(plugin, p, infos), scores(plugin, p, infos)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_no_terms_shortcut_decides_as_the_synced_counts(data):
    # A pod without terms of its own, in a cluster where no placed pod has any, skips PreFilter and PreScore
    # without bringing the counts up to date; the counts catch up later from the cache's logs. Differential:
    # the same changes through a scheduler Cache, one plugin reading it plainly, one forced down the general
    # path every cycle; every verdict, reason and score equal, also long after pods with terms came and went.
    from scheduling.cache import Cache
    nodes = data.draw(nodes_strategy())
    cache = Cache()
    cache.pod_log_limit = data.draw(st.sampled_from([4, 8192]))  # the pod log trimmed between syncs, or not
    for n in nodes:
        cache.add_node(n)
    fast = InterPodAffinity({}, Handle(cache.list(), NAMESPACES))
    fast.handle.snapshot = cache
    general = InterPodAffinity({}, Handle(cache.list(), NAMESPACES))
    general.handle.snapshot = _GeneralPath(cache)
    placed = []
    for step in range(data.draw(st.integers(1, 16))):
        with_terms = data.draw(st.booleans())
        spec = data.draw(affinity_spec()) if with_terms else {}
        incoming = pod(f"p{step}", namespace=data.draw(st.sampled_from(["ns1", "ns2"])),
                       labels={"app": data.draw(st.sampled_from(["a", "b"]))}, **spec)
        infos = cache.list()
        assert _verdicts(fast, incoming, infos) == _verdicts(general, incoming, infos)
        target = data.draw(st.sampled_from(nodes)).metadata.name
        bound = incoming.with_node_name(target)
        cache.add_pod(bound)
        placed.append(bound)
        if data.draw(st.booleans()):
            cache.remove_pod(placed.pop(data.draw(st.integers(0, len(placed) - 1))))
