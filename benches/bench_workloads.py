"""Deployment, DaemonSet and StatefulSet controller throughput on the embedded store, beside the Registry's
raw create rate in the same run.

    python benches/bench_workloads.py [--pods 3000] [--deployments 10] [--nodes 500] [--statefulset 200]

Reference: --pods pods created with Registry.create from one thread (what any controller's writes cost at
least), measured before and after, averaged. A stand-in kubelet thread (a watch on pods: bind a daemon pod
to the node its matchFields affinity names, then write Running + Ready through update_status) plays every
node, so the figures are the controllers' and the Registry's, not a scheduler's. Measured, pods/s:
  * Deployments totalling --pods replicas created -> every pod available (Deployment + ReplicaSet controllers);
  * a rolling update of all of them (25% / 25%) -> every pod replaced and available;
  * a DaemonSet on --nodes Nodes -> numberAvailable == desiredNumberScheduled;
  * a StatefulSet of --statefulset replicas, Parallel, then OrderedReady (one pod at a time: the round
    trip controller -> kubelet -> controller per pod).
Prints the load average beside the figures.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import kvstore  # noqa: E402
import objects  # noqa: E402
from bench_controllers import print_against_reference  # noqa: E402
from controllers import ControllerManager  # noqa: E402
from controllers.daemonset import target_node  # noqa: E402
from controllers.podstate import format_time  # noqa: E402

LIMIT = 900.0   # every wait is bounded


def workload(kind: str, name: str, image: str = "v1", **spec: Any) -> Any:
    labels = {"app": name}
    return objects.from_dict({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
                              "spec": {"selector": {"matchLabels": labels}, **spec,
                                       "template": {"metadata": {"labels": labels},
                                                    "spec": {"containers": [{"name": "c", "image": image}]}}}})


class Kubelet:
    """Every pod it sees added goes Running and Ready at once (daemon pods bound first)."""

    def __init__(self, registry: objects.Registry) -> None:
        self.registry = registry
        self._stream = registry.watch("Pod", all_namespaces=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stream.stop()
        self._thread.join(30)

    def _run(self) -> None:
        while True:
            event = self._stream.get(0.2)
            if event is None:
                if self._stream.stopped:
                    return
                continue
            pod = event.object
            if event.type != "ADDED" or pod.metadata.deletion_timestamp:
                continue
            try:
                node = target_node(pod)
                if node and not pod.spec.node_name:
                    pod = self.registry.bind(pod.metadata.name, node, pod.metadata.namespace)
                ready = [objects.Condition(type="Ready", status="True", last_transition_time=format_time(time.time()))]
                self.registry.update_status(pod.replace(status=pod.status.replace(phase="Running", conditions=ready)))
            except (objects.NotFound, objects.Conflict):
                pass


def wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + LIMIT
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"not done within {LIMIT:.0f} s: {what}")
        time.sleep(0.05)


def timed(start: Callable[[], None], done: Callable[[], bool], what: str) -> float:
    started = time.perf_counter()
    start()
    wait(done, what)
    return time.perf_counter() - started


def run(pods: int, deployments: int, nodes: int, stateful: int, workers: int) -> dict[str, float]:
    store = kvstore.open()
    registry = objects.Registry(store)
    for i in range(nodes):
        registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i}"}}))
    manager = ControllerManager(registry, controllers=["deployment", "replicaset", "daemonset", "statefulset"],
                                workers=workers, metrics=False)
    manager.start()
    kubelet = Kubelet(registry)
    rates: dict[str, float] = {}
    try:
        per = pods // deployments
        names = [f"web{i}" for i in range(deployments)]

        def rolled_out(image: str) -> bool:
            for d in registry.list("Deployment", "default").items:
                s = d.status
                if (s.observed_generation != d.metadata.generation or s.updated_replicas != per
                        or s.available_replicas != per or s.replicas != per
                        or d.spec.template.spec.containers[0].image != image):
                    return False
            return True
        elapsed = timed(lambda: [registry.create(workload("Deployment", n, replicas=per)) for n in names],
                        lambda: rolled_out("v1"), "deployments available")
        rates["Deployment create -> available"] = per * deployments / elapsed

        def update() -> None:
            for n in names:
                d = registry.get("Deployment", n, "default")
                c = [c.replace(image="v2") for c in d.spec.template.spec.containers]
                registry.update(d.replace(spec=d.spec.replace(template=d.spec.template.replace(
                    spec=d.spec.template.spec.replace(containers=c)))))
        elapsed = timed(update, lambda: rolled_out("v2"), "rolling update")
        rates["Deployment rolling update (25%/25%)"] = per * deployments / elapsed

        def daemons_up() -> bool:
            s = registry.get("DaemonSet", "agent", "default").status
            return s.desired_number_scheduled == nodes and s.number_available == nodes
        elapsed = timed(lambda: registry.create(workload("DaemonSet", "agent")), daemons_up, "daemonset")
        rates["DaemonSet create -> available"] = nodes / elapsed

        for policy in ("Parallel", "OrderedReady"):
            name = policy.lower()

            def sts_up(name: str = name) -> bool:
                s = registry.get("StatefulSet", name, "default").status
                return s.ready_replicas == stateful
            elapsed = timed(lambda: registry.create(workload("StatefulSet", name, replicas=stateful,
                                                             podManagementPolicy=policy, serviceName=name)),
                            sts_up, f"statefulset {policy}")
            rates[f"StatefulSet {policy} create -> ready"] = stateful / elapsed
        return rates
    finally:
        kubelet.stop()
        manager.stop()
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--deployments", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--statefulset", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # Conflicts are retried by design; their log lines are not the bench
    print_against_reference(args.pods, lambda: run(args.pods, args.deployments, args.nodes, args.statefulset,
                                                   args.workers))


if __name__ == "__main__":
    main()
