"""Controller throughput on the embedded store, beside the Registry's raw create rate in the same run.

    python benches/bench_controllers.py [--pods 5000] [--replicasets 10] [--workers 4]

Reference: the same number of pods created with Registry.create from one thread (what any controller's
writes cost at least). Measured: ReplicaSets totalling --pods replicas created at once with the replicaset
controller running -> every pod exists and every status is written (pods/s); then every ReplicaSet deleted
(Background) with the garbage collector running -> every pod gone (pods/s). Events are recorded as in
kube-controller-manager (one SuccessfulCreate per pod). Prints the load average beside the figures.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import kvstore  # noqa: E402
import objects  # noqa: E402
from controllers import ControllerManager  # noqa: E402


def replica_set(name: str, replicas: int) -> object:
    labels = {"app": name}
    return objects.from_dict({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
                              "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                                       "template": {"metadata": {"labels": labels},
                                                    "spec": {"containers": [{"name": "c", "image": "i"}]}}}})


def reference(pods: int) -> float:
    store = kvstore.open()
    registry = objects.Registry(store)
    template = objects.apply_defaults(replica_set("ref", 1)).spec.template  # defaulted, as a stored one
    started = time.perf_counter()
    for i in range(pods):
        registry.create(objects.Pod(api_version="v1", kind="Pod",
                                    metadata=objects.ObjectMeta(name=f"ref-{i}", namespace="default",
                                                                labels=dict(template.metadata.labels)),
                                    spec=template.spec))
    elapsed = time.perf_counter() - started
    store.close()
    return pods / elapsed


def print_against_reference(pods: int, measure: Callable[[], dict[str, float]]) -> None:
    """Run ``measure`` between two runs of ``reference(pods)`` and print each rate it returns beside the
    two runs' mean, with the load average before and after (the machine is shared)."""
    load = os.getloadavg()[0]
    ref_before = reference(pods)
    rates = measure()
    ref = (ref_before + reference(pods)) / 2  # before and after: the mean of two warm-ups
    print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"{'Registry.create, one thread (reference)':42s} {ref:8.0f} pods/s")
    for what, rate in rates.items():
        print(f"{what:42s} {rate:8.0f} pods/s  ({rate / ref:.2f}x reference)")


def run(pods: int, replicasets: int, workers: int) -> tuple[float, float]:
    store = kvstore.open()
    registry = objects.Registry(store)
    manager = ControllerManager(registry, controllers=["replicaset", "garbagecollector"], workers=workers,
                                metrics=False)
    manager.start()
    try:
        per = pods // replicasets
        started = time.perf_counter()
        for i in range(replicasets):
            registry.create(replica_set(f"rs{i}", per))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = all(r.status.replicas == per for r in registry.list("ReplicaSet", "default").items)
            if done:
                break
            time.sleep(0.05)
        assert done, "pods not created within 600 s"
        created = per * replicasets / (time.perf_counter() - started)
        assert manager.wait_idle(120)
        started = time.perf_counter()
        for i in range(replicasets):
            registry.delete("ReplicaSet", f"rs{i}", "default")
        while time.monotonic() < deadline and registry.list("Pod", "default", limit=1).items:
            time.sleep(0.05)
        deleted = per * replicasets / (time.perf_counter() - started)
        return created, deleted
    finally:
        manager.stop()
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--replicasets", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # Conflicts are retried by design; their log lines are not the bench

    def measure() -> dict[str, float]:
        created, deleted = run(args.pods, args.replicasets, args.workers)
        return {"ReplicaSet controller, create": created, "garbage collector, cascade delete": deleted}
    print_against_reference(args.pods, measure)


if __name__ == "__main__":
    main()
