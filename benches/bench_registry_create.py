"""CPU cost of one Registry.create and one Registry.bind of a pod, on the embedded store (models' codec).

    PYTHONPATH=src python benches/bench_registry_create.py [--rounds 5] [--pods 2000] [--src OTHER/src]

Pods as scheduler_perf's SchedulingBasic creates them (one template, small requests, a port), and as a
ReplicaSet stamps them (labels, an ownerReference), created one after the other into a fresh in-memory
store with one watcher (as the scheduler's), then bound. Figures are CPU microseconds per call
(``time.process_time``), the best of the rounds, with the load average. ``--src`` also measures another
checkout (its ``src`` directory) in the same sitting, the two alternating round by round.
"""
from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

CONTAINER = {"name": "pause", "image": "registry.k8s.io/pause:3.10", "ports": [{"containerPort": 80}],
             "resources": {"requests": {"cpu": "100m", "memory": "500Mi"},
                           "limits": {"cpu": "100m", "memory": "500Mi"}}}
SHAPES = {
    "SchedulingBasic": lambda i: {"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": f"pod-{i}", "namespace": "sched-1"},
                                  "spec": {"containers": [CONTAINER]}},
    "ReplicaSet pod": lambda i: {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": f"web-7c9d8b6f5-{i:05d}", "namespace": "sched-1",
        "labels": {"app": "web", "pod-template-hash": "7c9d8b6f5"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7c9d8b6f5",
                             "uid": "5f0c6b3a-0000-4000-8000-000000000001", "controller": True,
                             "blockOwnerDeletion": True}]},
        "spec": {"containers": [CONTAINER], "terminationGracePeriodSeconds": 30}},
}


def _round(shape: str, pods: int) -> tuple[float, float]:
    """(CPU us per create, per bind) of ``pods`` pods of ``shape`` into a fresh store."""
    import kvstore
    import objects

    built = [objects.from_dict(copy.deepcopy(SHAPES[shape](i))) for i in range(pods)]
    names = [(p.metadata.name, p.metadata.namespace) for p in built]
    with kvstore.open() as store:
        registry = objects.Registry(store)
        stream = registry.watch("Pod", all_namespaces=True)
        gc.collect()
        started = time.process_time()
        for pod in built:
            registry.create(pod)
        created = time.process_time()
        for i, (name, namespace) in enumerate(names):
            registry.bind(name, f"node-{i % 50}", namespace)
        bound = time.process_time()
        stream.stop()
    return (created - started) / pods * 1e6, (bound - created) / pods * 1e6


def _child(pods: int) -> None:
    print(json.dumps({shape: _round(shape, pods) for shape in SHAPES}))


def _measure(src: str, pods: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, __file__, "--child", "--pods", str(pods)], env=env, check=True,
                         capture_output=True, text=True, timeout=600).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--src", action="append", default=[], help="another checkout's src directory")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.pods)
        return
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    sources = [here] + [os.path.abspath(s) for s in args.src]
    best: dict[str, dict[str, list[float]]] = {s: {} for s in sources}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for src in sources:
            for shape, figures in _measure(src, args.pods).items():
                kept = best[src].setdefault(shape, [float("inf"), float("inf")])
                best[src][shape] = [min(a, b) for a, b in zip(kept, figures)]
    load.append(os.getloadavg()[0])
    print(f"CPU us per call, best of {args.rounds} rounds x {args.pods} pods (load average {load[0]:.1f}-{load[1]:.1f})")
    print(f"{'source':40s} {'pod':16s} {'create':>8s} {'bind':>8s}")
    for src in sources:
        for shape, (create, bind) in best[src].items():
            print(f"{src[-40:]:40s} {shape:16s} {create:8.1f} {bind:8.1f}")


if __name__ == "__main__":
    main()
