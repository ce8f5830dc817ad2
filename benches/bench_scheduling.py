"""Micro-benchmarks of the scheduler (pytest-benchmark): one scheduling cycle, each cluster-wide plugin's
PreFilter+Filter and PreScore+Score over the nodes, and the cache update of one bind.

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
from scheduling.framework import CycleState, NodeScore
from scheduling.plugins.interpodaffinity import InterPodAffinity
from scheduling.plugins.podtopologyspread import PodTopologySpread

NODES = 1000
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
_names = itertools.count()


def _node(i: int) -> Any:
    return objects.from_dict({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": {ZONE: f"zone-{i % 3}", HOST: f"node-{i}"}},
        "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}})


def _pod(**spec: Any) -> Any:
    body = {"containers": [{"name": "c", "image": "pause:3.10",
                            "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]}
    body.update(spec)
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": f"p-{next(_names)}", "namespace": "b",
                                           "labels": {"color": "blue"}}, "spec": body})


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


@pytest.mark.parametrize("plugin_class, spec", [(InterPodAffinity, ANTI), (PodTopologySpread, SPREAD)],
                         ids=["InterPodAffinity", "PodTopologySpread"])
def test_filter_all_nodes(benchmark: Any, plugin_class: type, spec: dict) -> None:
    s = _cluster(**spec)
    plugin = s.framework().plugin(plugin_class.name)
    infos = s.cache.list()
    p = _pod(**spec)

    def run() -> None:
        state = CycleState()
        plugin.pre_filter(state, p, infos)
        if PodTopologySpread is plugin_class:
            for ni in infos:
                plugin.filter(state, p, ni)

    benchmark(run)


@pytest.mark.parametrize("plugin_class, spec", [(InterPodAffinity, ANTI), (PodTopologySpread, {
    "topologySpreadConstraints": [dict(SPREAD["topologySpreadConstraints"][0], whenUnsatisfiable="ScheduleAnyway")]})],
    ids=["InterPodAffinity", "PodTopologySpread"])
def test_score_all_nodes(benchmark: Any, plugin_class: type, spec: dict) -> None:
    s = _cluster(**spec)
    plugin = s.framework().plugin(plugin_class.name)
    infos = s.cache.list()
    p = _pod(**spec)

    def run() -> None:
        state = CycleState()
        plugin.pre_score(state, p, infos)
        scores = [NodeScore(ni.name, plugin.score(state, p, ni)) for ni in infos]
        plugin.normalize_score(state, p, scores)

    benchmark(run)


def test_cache_update_of_one_bind(benchmark: Any) -> None:
    s = _cluster()
    pods = iter([_pod(nodeName=f"node-{i % NODES}") for i in range(200_000)])
    benchmark(lambda: s.add_pod(next(pods)))


def test_reference_exhaustive_scoring_100_nodes(benchmark: Any) -> None:
    nodes = [_node(i) for i in range(100)]
    placed = [_pod(nodeName=f"node-{i % 100}", **ANTI) for i in range(200)]
    cluster = R.Cluster(nodes, placed)
    p = _pod(**ANTI)
    benchmark.pedantic(lambda: R.total_scores(p, cluster), rounds=3, iterations=1)
