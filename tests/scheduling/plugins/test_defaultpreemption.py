"""DefaultPreemption through the Scheduler: the Kubernetes docs' preemption rules — lower priority only,
fewest PDB violations, lowest victim priority, fewest victims, preemptionPolicy Never, nomination — and a
hypothesis property: the nominated node fits the pod once the (strictly lower-priority) victims are gone."""
from __future__ import annotations

import objects
import pytest
from hypothesis import given, settings, strategies as st
from pluginharness import node, pod

from scheduling import Scheduler
from scheduling.framework import ConfigError
from scheduling.plugins.defaultpreemption import DefaultPreemption, pdb_violations


def _scheduler(nodes, pods):
    s = Scheduler(seed=1)
    for n in nodes:
        s.add_node(n)
    for p in pods:
        s.add_pod(p)
    return s


def _only(results, key):
    return next(r for r in results if r.pod.key == key)


def test_high_priority_pod_preempts_and_is_then_bound():
    s = _scheduler([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=1, node_name="n1")])
    s.add_pod(pod("high", cpu="1", priority=100))
    first = _only(s.schedule_pending(), "default/high")
    assert first.node_name is None and first.nominated_node_name == "n1"
    assert [v.key for v in first.victims] == ["default/low"]
    again = _only(s.schedule_pending(include_backoff=True), "default/high")
    assert again.node_name == "n1"


def test_equal_or_higher_priority_pods_are_never_victims():
    s = _scheduler([node("n1", cpu="2")], [pod("peer", cpu="1500m", priority=100, node_name="n1")])
    s.add_pod(pod("high", cpu="1", priority=100))
    r = _only(s.schedule_pending(), "default/high")
    assert r.nominated_node_name is None and not r.victims
    assert "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod" in r.message


def test_preemption_policy_never():
    s = _scheduler([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=1, node_name="n1")])
    s.add_pod(pod("polite", cpu="1", priority=100, preemptionPolicy="Never"))
    r = _only(s.schedule_pending(), "default/polite")
    assert r.nominated_node_name is None and "preemptionPolicy=Never" in r.message


def test_unresolvable_nodes_are_not_candidates():
    tainted = node("n1", cpu="2", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])
    s = _scheduler([tainted], [pod("low", cpu="1500m", priority=1, node_name="n1")])
    s.add_pod(pod("high", cpu="1", priority=100))
    r = _only(s.schedule_pending(), "default/high")
    assert r.nominated_node_name is None
    assert "1 Preemption is not helpful for scheduling" in r.message


def test_picks_the_node_with_the_lowest_priority_victims():
    nodes = [node("a", cpu="2"), node("b", cpu="2")]
    s = _scheduler(nodes, [pod("mid", cpu="1500m", priority=50, node_name="a"),
                           pod("low", cpu="1500m", priority=10, node_name="b")])
    s.add_pod(pod("high", cpu="1", priority=100))
    r = _only(s.schedule_pending(), "default/high")
    assert r.nominated_node_name == "b" and [v.key for v in r.victims] == ["default/low"]


def test_picks_the_node_with_fewer_victims_and_reprieves_the_most_important():
    nodes = [node("a", cpu="2"), node("b", cpu="2")]
    pods = [pod("a1", cpu="900m", priority=5, node_name="a"), pod("a2", cpu="900m", priority=5, node_name="a"),
            pod("b1", cpu="1800m", priority=5, node_name="b"),
            pod("b0", cpu="100m", priority=1, node_name="b")]
    s = _scheduler(nodes, pods)
    s.add_pod(pod("high", cpu="1100m", priority=100))
    r = _only(s.schedule_pending(), "default/high")
    # a: both a1 and a2 must go (2 victims, highest 5); b: b1 goes, b0 (lower) is reprieved as it still fits?
    # b0 (100m) + high (1100m) = 1200m <= 2000m: b0 stays; b has 1 victim of priority 5 -> b wins.
    assert r.nominated_node_name == "b" and [v.key for v in r.victims] == ["default/b1"]


def test_pod_disruption_budget_steers_preemption():
    nodes = [node("a", cpu="2"), node("b", cpu="2")]
    s = _scheduler(nodes, [pod("guarded", cpu="1500m", priority=1, labels={"app": "db"}, node_name="a"),
                           pod("free", cpu="1500m", priority=1, labels={"app": "web"}, node_name="b")])
    s.add_pdb(objects.from_dict({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                 "metadata": {"name": "db", "namespace": "default"},
                                 "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}},
                                 "status": {"disruptionsAllowed": 0}}))
    s.add_pod(pod("high", cpu="1", priority=100))
    r = _only(s.schedule_pending(), "default/high")
    assert r.nominated_node_name == "b"


def test_pdb_violations_spend_the_budget_in_order():
    pdb = objects.from_dict({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                             "metadata": {"name": "x", "namespace": "default"},
                             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "x"}}},
                             "status": {"disruptionsAllowed": 1}})
    pods = [pod(f"p{i}", labels={"app": "x"}) for i in range(3)] + [pod("other", labels={"app": "y"})]
    violating, fine = pdb_violations(pods, [pdb])
    assert [p.metadata.name for p in violating] == ["p1", "p2"]
    assert [p.metadata.name for p in fine] == ["p0", "other"]


@pytest.mark.parametrize("args", [{"minCandidateNodesPercentage": 101}, {"minCandidateNodesAbsolute": -1},
                                  {"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0}])
def test_bad_args(args):
    with pytest.raises(ConfigError, match="DefaultPreemption.args"):
        DefaultPreemption(args, None)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_nominated_node_fits_once_lower_priority_victims_are_gone(data):
    count = data.draw(st.integers(1, 4))
    nodes = [node(f"n{i}", cpu="2", pods=data.draw(st.integers(2, 4))) for i in range(count)]
    placed = []
    for i in range(data.draw(st.integers(1, 10))):
        target = data.draw(st.sampled_from(nodes)).metadata.name
        cpu = data.draw(st.sampled_from(["300m", "500m", "900m"]))
        if sum(int(p.requests["cpu"]) for p in placed if p.spec.node_name == target) + int(cpu[:-1]) > 2000:
            continue
        if sum(1 for p in placed if p.spec.node_name == target) >= 2:
            continue
        placed.append(pod(f"e{i}", cpu=cpu, priority=data.draw(st.integers(0, 5)), node_name=target))
    s = _scheduler(nodes, placed)
    priority = data.draw(st.integers(0, 6))
    s.add_pod(pod("incoming", cpu=data.draw(st.sampled_from(["500m", "1", "1500m", "2500m"])), priority=priority))
    r = _only(s.schedule_pending(), "default/incoming")
    if r.node_name is not None or r.nominated_node_name is None:
        return
    assert r.victims and all(v.priority_value < priority for v in r.victims)
    assert all(v.spec.node_name == r.nominated_node_name for v in r.victims)
    again = _only(s.schedule_pending(include_backoff=True), "default/incoming")
    assert again.node_name is not None
