"""Micro-benchmarks of the scheduler (pytest-benchmark): one scheduling cycle, every default plugin's
PreFilter + Filter and PreScore + Score + NormalizeScore over 1,000 nodes (the plain per-node definitions,
without the scheduler's equivalence-class caches and batch paths), and the cache update of one bind and of
one deletion.

    python -m pytest benches/bench_scheduling.py --benchmark-columns=mean,ops,rounds

The whole-workload numbers (pods/s against kube-scheduler's floors) come from ``python -m scheduling.bench``;
see docs/performance.md. ``test_reference_*`` is the reference measured in the same run: the exhaustive
``scheduling.reference`` scoring the same pod on a 100-node cluster (what a cycle costs without any index).
"""
from __future__ import annotations

import itertools
from typing import Any

import objects
import pytest

from scheduling import Scheduler
from scheduling import reference as R
from scheduling.framework import CycleState, NodeScore, Status

NODES = 1000
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
_names = itertools.count()


def _node(i: int) -> Any:
    return objects.from_dict({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": {ZONE: f"zone-{i % 3}", HOST: f"node-{i}"}},
        "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}})


def _pod(labels: dict[str, str] | None = None, **spec: Any) -> Any:
    body = {"containers": [{"name": "c", "image": "pause:3.10",
                            "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]}
    body.update(spec)
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": f"p-{next(_names)}", "namespace": "b",
                                           "labels": labels or {"color": "blue"}}, "spec": body})


ANTI = {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
    "weight": 1, "podAffinityTerm": {"labelSelector": {"matchLabels": {"color": "blue"}}, "topologyKey": HOST}}]}}}
SPREAD = {"topologySpreadConstraints": [{"maxSkew": 5, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                                         "labelSelector": {"matchLabels": {"color": "blue"}}}]}


def _cluster(nodes: int = NODES, pods_per_node: int = 2, **spec: Any) -> Scheduler:
    s = Scheduler()
    for i in range(nodes):
        s.add_node(_node(i))
    for i in range(nodes * pods_per_node):
        s.add_pod(_pod(nodeName=f"node-{i % nodes}", **spec))
    return s


@pytest.mark.parametrize("shape", ["basic", "preferred-anti-affinity", "topology-spread"])
def test_one_cycle(benchmark: Any, shape: str) -> None:
    spec = {"basic": {}, "preferred-anti-affinity": ANTI, "topology-spread": SPREAD}[shape]
    s = _cluster(**spec)

    def cycle() -> None:
        s.add_pod(_pod(**spec))
        (result,) = s.schedule_pending()
        assert result.node_name

    benchmark(cycle)


IMAGE = "registry.k8s.io/app:1.0"
WEB = {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST}
# For each plugin, a pending pod that gives it real work on the shared cluster (one whose PreFilter /
# PreScore would say Skip would time nothing).
FILTER_PODS: dict[str, dict[str, Any]] = {
    "NodeUnschedulable": {},
    "NodeName": {},
    "TaintToleration": {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "batch",
                                         "effect": "NoSchedule"}]},
    "NodeAffinity": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "In",
                                                     "values": ["zone-0", "zone-1"]}]}]}}}},
    "NodePorts": {"containers": [{"name": "c", "image": "pause:3.10", "ports": [{"containerPort": 80,
                                                                                 "hostPort": 8080}],
                                  "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]},
    "NodeResourcesFit": {},
    "PodTopologySpread": SPREAD,
    "InterPodAffinity": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [WEB]}}},
}
SCORE_PODS: dict[str, dict[str, Any]] = {
    "TaintToleration": {"tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]},
    "NodeAffinity": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 5, "preference": {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["zone-2"]}]}}]}}},
    "NodeResourcesFit": {},
    "PodTopologySpread": {"topologySpreadConstraints": [
        dict(SPREAD["topologySpreadConstraints"][0], whenUnsatisfiable="ScheduleAnyway")]},
    "InterPodAffinity": ANTI,
    "NodeResourcesBalancedAllocation": {},
    "ImageLocality": {"containers": [{"name": "c", "image": IMAGE,
                                      "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]},
}


def _varied_node(i: int) -> Any:
    """Every 7th node tainted NoSchedule, every 5th PreferNoSchedule, every 50th cordoned, every 3rd holds IMAGE."""
    taints = ([{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}] if i % 7 == 0 else []) + (
        [{"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}] if i % 5 == 0 else [])
    return objects.from_dict({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": {ZONE: f"zone-{i % 3}", HOST: f"node-{i}"}},
        "spec": {"taints": taints, "unschedulable": i % 50 == 0},
        "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"},
                   "images": [{"names": [IMAGE], "sizeBytes": 300 * 2**20}] if i % 3 == 0 else []}})


@pytest.fixture(scope="module")
def varied_cluster() -> Scheduler:
    """1,000 nodes of mixed taints, cordons and images; 2,000 pods, a tenth of them app=web with a host port,
    half carrying a preferred anti-affinity term."""
    s = Scheduler()
    for i in range(NODES):
        s.add_node(_varied_node(i))
    for i in range(2 * NODES):
        spec: dict[str, Any] = dict(ANTI) if i % 2 else {}
        labels = {"color": "blue"}
        if i % 10 == 0:
            spec.update(FILTER_PODS["NodePorts"])
            labels["app"] = "web"
        s.add_pod(_pod(labels, nodeName=f"node-{i % NODES}", **spec))
    return s


def test_every_default_plugin_has_a_filter_and_a_score_benchmark(varied_cluster: Scheduler) -> None:
    listed = varied_cluster.framework().list_plugins()
    assert sorted(FILTER_PODS) == sorted(listed["filter"])
    assert sorted(SCORE_PODS) == sorted(entry.split(":")[0] for entry in listed["score"])


@pytest.mark.parametrize("name", sorted(FILTER_PODS))
def test_filter_per_plugin(benchmark: Any, varied_cluster: Scheduler, name: str) -> None:
    """One plugin's PreFilter (when it has one) and Filter on every one of the 1,000 nodes."""
    fwk = varied_cluster.framework()
    plugin = fwk.plugin(name)
    has_pre_filter = plugin in fwk.pre_filter_plugins
    infos = varied_cluster.cache.list()
    p = _pod(**FILTER_PODS[name])

    def run() -> int:
        state = CycleState()
        if has_pre_filter:
            _, status = plugin.pre_filter(state, p, infos)
            assert status is None or status.is_success, status
        return sum(1 for ni in infos if (plugin.filter(state, p, ni) or Status()).is_success)

    feasible = benchmark(run)
    assert 0 <= feasible <= NODES


@pytest.mark.parametrize("name", sorted(SCORE_PODS))
def test_score_per_plugin(benchmark: Any, varied_cluster: Scheduler, name: str) -> None:
    """One plugin's PreScore (when it has one), Score on every one of the 1,000 nodes and NormalizeScore."""
    fwk = varied_cluster.framework()
    (scored,) = [sp for sp in fwk.score_plugins if sp.name == name]
    plugin = scored.plugin
    has_pre_score = plugin in fwk.pre_score_plugins
    infos = varied_cluster.cache.list()
    p = _pod(**SCORE_PODS[name])

    def run() -> list[NodeScore]:
        state = CycleState()
        if has_pre_score:
            status = plugin.pre_score(state, p, infos)
            assert status is None or status.is_success, status
        scores = [NodeScore(ni.name, plugin.score(state, p, ni)) for ni in infos]
        fwk.normalize(scored, state, p, scores)
        return scores

    scores = benchmark(run)
    assert len(scores) == NODES


def test_cache_update_of_one_bind(benchmark: Any) -> None:
    s = _cluster()
    pods = (_pod(nodeName=f"node-{i % NODES}") for i in itertools.count())
    # The pod is built in the untimed setup: only the cache's update is measured.
    benchmark.pedantic(s.add_pod, setup=lambda: ((next(pods),), {}), rounds=2000)


def test_cache_update_of_one_pod_deleted(benchmark: Any) -> None:
    s = _cluster()
    pods = (_pod(nodeName=f"node-{i % NODES}") for i in itertools.count())

    def bound() -> tuple[tuple[Any], dict]:
        p = next(pods)
        s.add_pod(p)
        return (p,), {}

    benchmark.pedantic(s.remove_pod, setup=bound, rounds=2000)


def test_reference_exhaustive_scoring_100_nodes(benchmark: Any) -> None:
    nodes = [_node(i) for i in range(100)]
    placed = [_pod(nodeName=f"node-{i % 100}", **ANTI) for i in range(200)]
    cluster = R.Cluster(nodes, placed)
    p = _pod(**ANTI)
    benchmark.pedantic(lambda: R.total_scores(p, cluster), rounds=3, iterations=1)
