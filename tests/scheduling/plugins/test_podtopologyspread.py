"""PodTopologySpread: the Kubernetes docs' examples (maxSkew, minDomains, node inclusion policies,
matchLabelKeys, cluster-level defaults), and hypothesis against the exhaustive reference as the cluster
changes under one plugin instance."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from pluginharness import (HOST, ZONE, Handle, bind_and_maybe_delete, filter_reasons, node, node_infos,
                           nodes_strategy, pod, pods_strategy, scores, spread_spec)

from scheduling import reference as R
from scheduling.framework import ConfigError, CycleState
from scheduling.plugins.podtopologyspread import ERR_CONSTRAINTS, ERR_MISSING_LABEL, PodTopologySpread

FOO = {"matchLabels": {"foo": "bar"}}


def _plugin(infos, args=None):
    return PodTopologySpread(args or {}, Handle(infos))


def _batch_scores(plugin, p, feasible, same_list):
    """The scheduler's batch path (``normalized_scores``), on the list PreScore saw or on a copy of it."""
    state = CycleState()
    status = plugin.pre_score(state, p, feasible)
    if status is not None and status.is_skip:
        return {i.name: 0 for i in feasible}
    nodes = feasible if same_list else list(feasible)
    return dict(zip([i.name for i in nodes], plugin.normalized_scores(state, p, nodes)))


def _batch_reasons(plugin, p, infos):
    """The scheduler's batch path (``filter_nodes``)."""
    state = CycleState()
    _, status = plugin.pre_filter(state, p, infos)
    if status is not None and status.is_skip:
        return {i.name: None for i in infos}
    return {i.name: None if s is None or s.is_success else s.reasons[0]
            for i, s in zip(infos, plugin.filter_nodes(state, p, infos))}


def _spread(max_skew, key, selector=FOO, when="DoNotSchedule", **extra):
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when, "labelSelector": selector, **extra}


def _docs_cluster(extra_nodes=()):
    # The docs' 4-node cluster: zoneA = node1, node2; zoneB = node3, node4; "foo: bar" pods on node1, node2, node3.
    nodes = [node("node1", labels={ZONE: "zoneA"}), node("node2", labels={ZONE: "zoneA"}),
             node("node3", labels={ZONE: "zoneB"}), node("node4", labels={ZONE: "zoneB"}), *extra_nodes]
    existing = [pod(f"e{i}", labels={"foo": "bar"}, node_name=n) for i, n in enumerate(["node1", "node2", "node3"])]
    return nodes, existing


def test_docs_example_one_constraint():
    nodes, existing = _docs_cluster()
    infos = node_infos(nodes, existing)
    p = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE)])
    assert filter_reasons(_plugin(infos), p, infos) == {
        "node1": ERR_CONSTRAINTS, "node2": ERR_CONSTRAINTS, "node3": None, "node4": None}


def test_docs_example_two_constraints_zone_and_node():
    # zone maxSkew 1 sends the pod to zoneB; node maxSkew 1 then rules out node3 (it already has one): node4.
    nodes, existing = _docs_cluster()
    infos = node_infos(nodes, existing)
    p = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE), _spread(1, HOST)])
    reasons = filter_reasons(_plugin(infos), p, infos)
    assert [n for n, r in reasons.items() if r is None] == ["node4"]


def test_node_without_the_key_is_unresolvable_and_not_counted():
    nodes, existing = _docs_cluster([node("node5")])
    infos = node_infos(nodes, existing + [pod("x", labels={"foo": "bar"}, node_name="node5")])
    p = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE)])
    reasons = filter_reasons(_plugin(infos), p, infos)
    assert reasons["node5"] == ERR_MISSING_LABEL and reasons["node4"] is None


def test_min_domains_counts_missing_domains_as_zero():
    nodes = [node("a", labels={ZONE: "z1"}), node("b", labels={ZONE: "z2"})]
    infos = node_infos(nodes, [pod("e1", labels={"foo": "bar"}, node_name="a"),
                               pod("e2", labels={"foo": "bar"}, node_name="b")])
    p = pod("p", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE, minDomains=3)])
    assert set(filter_reasons(_plugin(infos), p, infos).values()) == {ERR_CONSTRAINTS}
    q = pod("q", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE, minDomains=2)])
    assert set(filter_reasons(_plugin(infos), q, infos).values()) == {None}


def test_node_affinity_policy_honor_and_ignore():
    # Docs: with nodeAffinityPolicy Honor (default) nodes the pod cannot go to are left out of the skew.
    nodes = [node("a", labels={ZONE: "z1", "disk": "ssd"}), node("b", labels={ZONE: "z2"})]
    infos = node_infos(nodes, [pod("e", labels={"foo": "bar"}, node_name="a")])
    honor = pod("p", labels={"foo": "bar"}, nodeSelector={"disk": "ssd"},
                topologySpreadConstraints=[_spread(1, ZONE)])
    assert filter_reasons(_plugin(infos), honor, infos)["a"] is None  # z2 does not count: min is z1's 1
    ignore = pod("q", labels={"foo": "bar"}, nodeSelector={"disk": "ssd"},
                 topologySpreadConstraints=[_spread(1, ZONE, nodeAffinityPolicy="Ignore")])
    assert filter_reasons(_plugin(infos), ignore, infos)["a"] == ERR_CONSTRAINTS


def test_node_taints_policy_honor_leaves_out_tainted_nodes():
    nodes = [node("a", labels={ZONE: "z1"}),
             node("b", labels={ZONE: "z2"}, taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])]
    infos = node_infos(nodes, [pod("e", labels={"foo": "bar"}, node_name="a")])
    honor = pod("p", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE, nodeTaintsPolicy="Honor")])
    assert filter_reasons(_plugin(infos), honor, infos)["a"] is None
    default = pod("q", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE)])
    assert filter_reasons(_plugin(infos), default, infos)["a"] == ERR_CONSTRAINTS


def test_match_label_keys_spreads_each_revision_on_its_own():
    nodes = [node("a", labels={ZONE: "z1"}), node("b", labels={ZONE: "z2"})]
    old = [pod(f"old{i}", labels={"app": "x", "rev": "1"}, node_name="a") for i in range(3)]
    infos = node_infos(nodes, old)
    c = _spread(1, ZONE, {"matchLabels": {"app": "x"}}, matchLabelKeys=["rev"])
    new = pod("new", labels={"app": "x", "rev": "2"}, topologySpreadConstraints=[c])
    assert set(filter_reasons(_plugin(infos), new, infos).values()) == {None}
    same = pod("same", labels={"app": "x", "rev": "1"}, topologySpreadConstraints=[c])
    assert filter_reasons(_plugin(infos), same, infos)["a"] == ERR_CONSTRAINTS


def test_soft_constraint_scores_the_emptier_zone_higher():
    nodes = [node(f"{z}{i}", labels={ZONE: z}) for z in ("z1", "z2") for i in range(2)]
    infos = node_infos(nodes, [pod(f"e{i}", labels={"foo": "bar"}, node_name="z10") for i in range(4)])
    p = pod("p", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE, when="ScheduleAnyway")])
    s = scores(_plugin(infos), p, infos)
    assert s["z20"] == s["z21"] == 100 and s["z10"] == s["z11"] < 100


def test_soft_constraint_score_by_hand():
    # Three zones holding 2, 1, 0 matching pods: raw = round(count * ln(3 + 2)) = 3, 2, 0; normalized
    # 100 * (3 + 0 - raw) // 3 = 0, 33, 100.
    nodes = [node(z, labels={ZONE: z}) for z in ("z1", "z2", "z3")]
    placed = [pod("a", labels={"foo": "bar"}, node_name="z1"), pod("b", labels={"foo": "bar"}, node_name="z1"),
              pod("c", labels={"foo": "bar"}, node_name="z2")]
    infos = node_infos(nodes, placed)
    p = pod("p", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE, when="ScheduleAnyway")])
    assert scores(_plugin(infos), p, infos) == {"z1": 0, "z2": 33, "z3": 100}


@pytest.mark.parametrize("args, fragment", [
    ({"defaultingType": "Sometimes"}, "defaultingType"),
    ({"defaultingType": "System", "defaultConstraints": [{"maxSkew": 1, "topologyKey": ZONE,
                                                          "whenUnsatisfiable": "DoNotSchedule"}]}, "must be empty"),
    ({"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "topologyKey": ZONE,
                                                        "whenUnsatisfiable": "DoNotSchedule",
                                                        "labelSelector": {}}]}, "without labelSelector"),
])
def test_bad_args_are_rejected(args, fragment):
    with pytest.raises(ConfigError, match=fragment):
        PodTopologySpread(args, None)


def test_preemption_extensions_move_domain_counts():
    nodes, existing = _docs_cluster()
    infos = node_infos(nodes, existing)
    plugin = _plugin(infos)
    p = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[_spread(1, ZONE)])
    state = CycleState()
    plugin.pre_filter(state, p, infos)
    node1 = infos[0]
    assert plugin.filter(state, p, node1) is not None
    what_if = state.clone()
    clone = node1.clone()
    clone.remove_pod(existing[0])
    plugin.pre_filter_extensions().remove_pod(what_if, p, existing[0], clone)
    assert plugin.filter(what_if, p, clone) is None
    assert plugin.filter(state, p, node1) is not None


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matches_the_reference_as_the_cluster_changes(data):
    nodes = data.draw(nodes_strategy())
    placed = data.draw(pods_strategy(nodes, with_affinity=False))
    infos = node_infos(nodes, placed)
    by_name = {i.name: i for i in infos}
    plugin = _plugin(infos)
    for step in range(data.draw(st.integers(1, 4))):
        spec = data.draw(spread_spec())
        if data.draw(st.booleans()):
            spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
        incoming = pod(f"p{step}", namespace=data.draw(st.sampled_from(["ns1", "ns2"])),
                       labels={"app": data.draw(st.sampled_from(["a", "b"]))}, **spec)
        cluster = R.Cluster(nodes, placed)
        expected = {n.metadata.name: R.topology_spread_reason(incoming, n, cluster) for n in nodes}
        assert filter_reasons(plugin, incoming, infos) == expected
        assert _batch_reasons(plugin, incoming, infos) == expected
        feasible_names = data.draw(st.sets(st.sampled_from([n.metadata.name for n in nodes]), min_size=1))
        feasible = [n for n in nodes if n.metadata.name in feasible_names]
        feasible_infos = [by_name[n.metadata.name] for n in feasible]
        expected_scores = R.plugin_scores(incoming, cluster, feasible)["PodTopologySpread"]
        assert scores(plugin, incoming, feasible_infos) == expected_scores
        assert _batch_scores(plugin, incoming, feasible_infos, data.draw(st.booleans())) == expected_scores
        placed = bind_and_maybe_delete(data, nodes, placed, by_name, incoming)
