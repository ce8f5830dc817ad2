"""NodeResourcesFit: the filter's reasons (cpu, memory, pods, extended resources, init containers,
overhead, ignored resources) and the three scoring strategies, with numbers worked by hand."""
from __future__ import annotations

import pathlib
import sys

import objects
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling.framework import CycleState, NodeInfo  # noqa: E402
from scheduling.plugins import NodeResourcesFit  # noqa: E402

GI = 1024**3


def _info(n, *bound) -> NodeInfo:
    info = NodeInfo(n)
    for p in bound:
        info.add_pod(p)
    return info


def _reasons(p, info, args=None) -> tuple:
    status = NodeResourcesFit(args).filter(CycleState(), p, info)
    return () if status is None else status.reasons


def _gpu_node(name: str, gpus: str) -> object:
    return objects.from_dict({"kind": "Node", "apiVersion": "v1", "metadata": {"name": name}, "status": {
        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10", "example.com/gpu": gpus}}})


def _pod_with(name: str, **spec) -> object:
    return objects.from_dict({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name}, "spec": spec})


def test_fits_and_every_insufficient_resource() -> None:
    info = _info(node("n", cpu="2", memory="4Gi"), pod("a", cpu="1500m", memory="3Gi", node_name="n"))
    assert _reasons(pod("ok", cpu="500m", memory="1Gi"), info) == ()
    assert _reasons(pod("p", cpu="600m", memory="2Gi"), info) == ("Insufficient cpu", "Insufficient memory")


def test_too_many_pods_even_for_pods_requesting_nothing() -> None:
    info = _info(node("n", pods=1), pod("a", node_name="n"))
    assert _reasons(pod("p", cpu=None, memory=None), info) == ("Too many pods",)


def test_extended_resources_and_ignored_resources() -> None:
    info = NodeInfo(_gpu_node("g", "1"))
    two = _pod_with("p", containers=[{"name": "c", "image": "x", "resources": {
        "requests": {"example.com/gpu": "2"}, "limits": {"example.com/gpu": "2"}}}])
    assert _reasons(two, info) == ("Insufficient example.com/gpu",)
    assert _reasons(two, info, {"ignoredResources": ["example.com/gpu"]}) == ()
    assert _reasons(two, info, {"ignoredResourceGroups": ["example.com"]}) == ()
    assert _reasons(two, NodeInfo(node("plain"))) == ("Insufficient example.com/gpu",)


def test_init_containers_count_at_their_peak_and_overhead_is_added() -> None:
    p = _pod_with("p", initContainers=[{"name": "init", "image": "x", "resources": {"requests": {"cpu": "3"}}}],
                  containers=[{"name": "a", "image": "x", "resources": {"requests": {"cpu": "1"}}},
                              {"name": "b", "image": "x", "resources": {"requests": {"cpu": "1"}}}],
                  overhead={"cpu": "500m"})
    assert p.requests["cpu"] == 3500
    assert _reasons(p, NodeInfo(node("n", cpu="3"))) == ("Insufficient cpu",)
    assert _reasons(p, NodeInfo(node("n", cpu="4"))) == ()


def test_least_allocated_score_by_hand() -> None:
    # cpu: (4000 - (1000 + 1000)) * 100 / 4000 = 50; memory: (8Gi - (2Gi + 2Gi)) * 100 / 8Gi = 50 -> 50
    info = _info(node("n", cpu="4", memory="8Gi"), pod("a", cpu="1", memory="2Gi", node_name="n"))
    plugin = NodeResourcesFit()
    state = CycleState()
    p = pod("p", cpu="1", memory="2Gi")
    plugin.pre_score(state, p, [info])
    assert plugin.score(state, p, info) == 50
    # a pod requesting nothing counts as 100m / 200Mi: cpu (4000-1100)*100//4000 = 72, mem 73 -> 72
    empty = pod("e", cpu=None, memory=None)
    state = CycleState()
    plugin.pre_score(state, empty, [info])
    mem = (8 * GI - (2 * GI + 200 * 1024**2)) * 100 // (8 * GI)
    assert plugin.score(state, empty, info) == (72 + mem) // 2


def test_most_allocated_and_weights() -> None:
    args = {"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 3},
                                                                       {"name": "memory", "weight": 1}]}}
    plugin = NodeResourcesFit(args)
    info = _info(node("n", cpu="4", memory="8Gi"))
    p = pod("p", cpu="1", memory="4Gi")
    assert plugin.score(CycleState(), p, info) == (25 * 3 + 50 * 1) // 4


@pytest.mark.parametrize("cpu, expected", [("0", 0), ("2", 50), ("4", 100), ("3", 75)])
def test_requested_to_capacity_ratio_shape(cpu: str, expected: int) -> None:
    args = {"scoringStrategy": {"type": "RequestedToCapacityRatio",
                                "resources": [{"name": "cpu", "weight": 1}],
                                "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0},
                                                                       {"utilization": 100, "score": 10}]}}}
    plugin = NodeResourcesFit(args)
    info = _info(node("n", cpu="4"))
    p = pod("p", cpu=cpu if cpu != "0" else None, memory=None)
    if cpu == "0":  # the non-zero default 100m counts: 100 * 100 / 4000 = 2 (utilization) -> score 2
        expected = 2
    assert plugin.score(CycleState(), p, info) == expected
