"""Speed of the object models on the scheduler's hot path: reading pods and nodes, copies, writing.

    python -m pytest benches/bench_objects.py --benchmark-only   # pytest-benchmark
    python benches/bench_objects.py                              # one table, references alongside

References measured in the same run: ``json.loads`` of the same pod (the floor any reader of the text pays)
and ``copy.deepcopy`` of its dict (what copying a plain-dict pod costs).  The last row builds 60,000 pods
from the scheduler benchmark's template, as ``scheduling.bench`` does.
"""
from __future__ import annotations

import copy
import json
import pathlib
import sys
import time
from typing import Any, Callable

import objects

HERE = pathlib.Path(__file__).resolve().parent
MANIFESTS = HERE.parent / "tests" / "objects" / "manifests"

# A typical pod: the scheduler_perf template with a name and namespace, as the benchmark creates them.
TYPICAL_POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "pod-123", "namespace": "sched-0", "labels": {"color": "blue"}},
    "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                             "ports": [{"containerPort": 80}],
                             "resources": {"requests": {"cpu": "100m", "memory": "500Mi"},
                                           "limits": {"cpu": "100m", "memory": "500Mi"}}}],
             "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                 {"labelSelector": {"matchLabels": {"color": "blue"}},
                  "topologyKey": "topology.kubernetes.io/zone", "namespaces": ["sched-0", "sched-1"]}]}}},
}
TYPICAL_POD_TEXT = json.dumps(TYPICAL_POD)
MINIMAL_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d"},
               "spec": {"containers": [{"name": "pause", "image": "pause",
                                        "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {
            "kubernetes.io/hostname": "node-1", "topology.kubernetes.io/zone": "zone1"}},
        "spec": {}, "status": {"capacity": {"pods": "110", "cpu": "4", "memory": "32Gi"},
                               "allocatable": {"pods": "110", "cpu": "4", "memory": "32Gi"},
                               "conditions": [{"type": "Ready", "status": "True"}]}}
FULL_POD = next(d for d in objects.load(MANIFESTS / "pod-scheduling.yaml")).to_dict()
POD = objects.from_dict(TYPICAL_POD)


def read_typical_pod() -> Any:
    return objects.from_dict(TYPICAL_POD)


def read_minimal_pod() -> Any:
    return objects.from_dict(MINIMAL_POD)


def read_full_pod() -> Any:
    return objects.from_dict(FULL_POD)


def read_node() -> Any:
    return objects.from_dict(NODE)


def write_typical_pod() -> Any:
    return objects.to_dict(POD)


def bind_pod() -> Any:
    return POD.with_node_name("node-1")


def replace_pod() -> Any:
    return POD.replace(spec=POD.spec.replace(node_name="node-1"))


def msgpack_round_trip() -> Any:
    return objects.from_msgpack(objects.to_msgpack(POD))


def ref_json_loads() -> Any:
    return json.loads(TYPICAL_POD_TEXT)


def ref_deepcopy() -> Any:
    return copy.deepcopy(TYPICAL_POD)


def make_60000_pods() -> int:
    template = dict(TYPICAL_POD)
    count = 0
    for i in range(60_000):
        doc = dict(template)
        doc["metadata"] = {**template["metadata"], "name": f"pod-{i}"}
        objects.from_dict(doc)
        count += 1
    return count


# --- pytest-benchmark ------------------------------------------------------------------------------------

def test_read_typical_pod(benchmark: Any) -> None:
    pod = benchmark(read_typical_pod)
    assert pod.requests == {"cpu": 100, "memory": 500 * 1024 * 1024}


def test_read_minimal_pod(benchmark: Any) -> None:
    benchmark(read_minimal_pod)


def test_read_full_pod(benchmark: Any) -> None:
    benchmark(read_full_pod)


def test_read_node(benchmark: Any) -> None:
    assert benchmark(read_node).allocatable_resources["cpu"] == 4000


def test_write_typical_pod(benchmark: Any) -> None:
    assert benchmark(write_typical_pod) == TYPICAL_POD


def test_bind_pod(benchmark: Any) -> None:
    assert benchmark(bind_pod).spec.node_name == "node-1"


def test_replace_pod(benchmark: Any) -> None:
    assert benchmark(replace_pod).spec.node_name == "node-1"


def test_msgpack_round_trip(benchmark: Any) -> None:
    assert benchmark(msgpack_round_trip) == POD


def test_reference_json_loads(benchmark: Any) -> None:
    benchmark(ref_json_loads)


def test_reference_deepcopy(benchmark: Any) -> None:
    benchmark(ref_deepcopy)


# --- table ---------------------------------------------------------------------------------------------

def _per_call(fn: Callable[[], Any], seconds: float = 0.5) -> float:
    """Best of 5 runs of the mean time per call, in microseconds."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start > seconds / 5:
            break
        calls *= 2
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    rows = [
        ("from_dict typical pod (scheduler_perf template)", read_typical_pod),
        ("from_dict minimal pod", read_minimal_pod),
        ("from_dict corpus pod (every scheduling field)", read_full_pod),
        ("from_dict node", read_node),
        ("to_dict typical pod", write_typical_pod),
        ("pod.with_node_name", bind_pod),
        ("pod.replace(spec=spec.replace(node_name))", replace_pod),
        ("msgpack round trip typical pod", msgpack_round_trip),
        ("reference: json.loads of the typical pod", ref_json_loads),
        ("reference: copy.deepcopy of the typical pod dict", ref_deepcopy),
    ]
    print(f"{'operation':<52} {'us/call':>10}")
    for name, fn in rows:
        print(f"{name:<52} {_per_call(fn):>10.1f}")
    start = time.perf_counter()
    make_60000_pods()
    print(f"{'60,000 typical pods with from_dict (total seconds)':<52} {time.perf_counter() - start:>10.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
