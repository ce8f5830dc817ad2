"""CPU cost of one Registry status write, the status-only path (objects.statuswrite) against the general
path (whole object decoded, validated, defaulted and encoded again), measured in the same run; and of a
hollow kubelet's Lease renewal (a plain ``update``), without and with ``Registry._update_fast``.

    PYTHONPATH=src python benches/bench_status_writes.py [--rounds 5] [--batch 200]

Writes as the simulation makes them (in-memory store, models' codec): a hollow kubelet's pod status
patches (Pending, then Running with conditions and containerStatuses, ``controllers.kubeletstatus``) on
bound pods of the density Deployment's template, a node heartbeat patch, and the Deployment controller's
``update_status`` (counters and the Available condition), a node Lease renewal (``update`` of the
kubelet's Lease, ``controllers.kubeletstatus.lease_object``, a new renewTime). The two paths alternate by
batches on one registry (``Registry._status_fast`` and ``_update_fast``), so load changes hit both alike; figures are CPU microseconds per
write (``time.process_time``), the median of the rounds, with the load average.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any, Callable

import kvstore
import objects
from controllers.kubeletstatus import (lease_object, node_conditions, node_object, pending_status, running_status,
                                      rfc3339)
from objects.leaderelection import micro_time
from objects.registry import Registry

NOW = 1_700_000_000.0
NAMESPACE = "density"
TOLERATIONS = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
               for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]


def _pod(i: int) -> Any:
    """A pod as the ReplicaSet controller stamps it from borgsim's density template."""
    return objects.from_dict({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"density-0-abcde-{i:05d}", "namespace": NAMESPACE,
                     "labels": {"name": "density-0", "group": "density", "pod-template-hash": "7c9d8b6f5"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "density-0-7c9d8b6f5",
                                          "uid": "5f0c6b3a-0000-4000-8000-000000000001", "controller": True,
                                          "blockOwnerDeletion": True}]},
        "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                 "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}],
                 "terminationGracePeriodSeconds": 1, "tolerations": TOLERATIONS}})


def _deployment(i: int) -> Any:
    name = f"density-{i}"
    return objects.from_dict({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"group": "density"}},
        "spec": {"replicas": 30, "selector": {"matchLabels": {"name": name}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "template": {"metadata": {"labels": {"name": name, "group": "density"}},
                              "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                                       "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}],
                                       "terminationGracePeriodSeconds": 1, "tolerations": TOLERATIONS}}}})


def _patch(pod: Any, status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": pod.metadata.resource_version}, "status": status}


class Workload:
    """Objects to write, fresh for every batch of each path."""

    def __init__(self, registry: Registry, pods: int, deployments: int, leases: int) -> None:
        self.registry = registry
        registry.create(objects.from_dict(node_object("node-0", {}, 0, rfc3339(NOW))))
        self.nodes = 1
        self.pending: list[Any] = []
        # references in the same run: the writes that go through the whole object (create) or their own path
        self.create_us = self.bind_us = 0.0
        fresh = [_pod(i) for i in range(pods)]
        start = time.process_time()
        created = [registry.create(pod) for pod in fresh]
        self.create_us = (time.process_time() - start) / max(1, pods) * 1e6
        start = time.process_time()
        self.pending = [registry.bind(pod.metadata.name, "node-0", NAMESPACE) for pod in created]
        self.bind_us = (time.process_time() - start) / max(1, pods) * 1e6
        self.running: list[Any] = []
        self.deployments = [registry.create(_deployment(i)) for i in range(deployments)]
        self.leases = [registry.create(objects.from_dict(lease_object(f"node-{i}", f"uid-{i}", micro_time(NOW), 40)))
                       for i in range(leases)]
        self.renewals = 0

    # Each returns the timed part: the registry calls, with the kubelet's / controller's bodies built before.
    def pod_pending(self, n: int) -> Callable[[], None]:
        pods, self.pending = self.pending[:n], self.pending[n:]
        patches = [(pod.metadata.name, _patch(pod, pending_status(pod, rfc3339(NOW), "172.16.0.1",
                                                                  f"10.0.{i // 250}.{i % 250}")))
                   for i, pod in enumerate(pods)]

        def run() -> None:
            for name, patch in patches:
                self.running.append(self.registry.patch_status("Pod", name, patch, NAMESPACE))
        return run

    def pod_running(self, n: int) -> Callable[[], None]:
        pods, self.running = self.running[:n], self.running[n:]
        stamp = rfc3339(NOW + 2)
        patches = [(pod.metadata.name, _patch(pod, running_status(pod, stamp, "172.16.0.1", pod.status.pod_ip,
                                                                  pod.status.start_time, stamp, 0)))
                   for pod in pods]

        def run() -> None:
            for name, patch in patches:
                self.registry.patch_status("Pod", name, patch, NAMESPACE)
        return run

    def node_heartbeat(self, n: int) -> Callable[[], None]:
        nodes = [node_object(f"node-{self.nodes + i}", {}, i, rfc3339(NOW)) for i in range(n)]
        self.nodes += n
        stored = [self.registry.create(objects.from_dict(node)) for node in nodes]
        since = {c.type: c.last_transition_time for c in stored[0].status.conditions}
        patches = [(node.metadata.name, _patch(node, {"conditions": node_conditions(rfc3339(NOW + 10), since)}))
                   for node in stored]

        def run() -> None:
            for name, patch in patches:
                self.registry.patch_status("Node", name, patch)
        return run

    def deployment_status(self, n: int) -> Callable[[], None]:
        available = objects.Condition(type="Available", status="True", reason="MinimumReplicasAvailable",
                                      message="Deployment has minimum availability.",
                                      last_update_time=rfc3339(NOW), last_transition_time=rfc3339(NOW))
        writes = []
        for d in self.deployments[:n]:
            ready = (d.status.ready_replicas or 0) % 30 + 1
            status = d.status.replace(observed_generation=d.metadata.generation, replicas=30, updated_replicas=30,
                                      ready_replicas=ready, available_replicas=ready,
                                      unavailable_replicas=30 - ready, conditions=[available])
            writes.append(d.replace(status=status))

        def run() -> None:
            self.deployments[:n] = [self.registry.update_status(d) for d in writes]
        return run


    def lease_renewal(self, n: int) -> Callable[[], None]:
        self.renewals += 1
        renew = micro_time(NOW + 10 * self.renewals)
        leases = self.leases[:n]
        writes = [objects.from_dict(lease_object(lease.metadata.name, f"uid-{i}", renew, 40,
                                                 lease.metadata.resource_version))
                  for i, lease in enumerate(leases)]

        def run() -> None:
            self.leases[:n] = [self.registry.update(lease) for lease in writes]
        return run


def _cpu_us(action: Callable[[], None], writes: int) -> float:
    start = time.process_time()
    action()
    return (time.process_time() - start) / writes * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200, help="writes per batch")
    args = parser.parse_args()
    rounds, batch = args.rounds, args.batch
    with kvstore.open() as store:
        registry = Registry(store, clock=lambda: NOW)
        work = Workload(registry, pods=2 * rounds * batch, deployments=batch, leases=batch)
        rows = [("pod patch_status Pending (kubelet, first status)", work.pod_pending),
                ("pod patch_status Pending -> Running", work.pod_running),
                ("node patch_status heartbeat conditions", work.node_heartbeat),
                ("deployment update_status (counters, Available)", work.deployment_status),
                ("update Lease (kubelet renewal, new renewTime)", work.lease_renewal)]
        results: dict[str, dict[bool, list[float]]] = {name: {False: [], True: []} for name, _ in rows}
        for name, make in rows:
            for r in range(rounds):
                for fast in ((False, True) if r % 2 == 0 else (True, False)):  # alternate who goes first
                    registry._status_fast = registry._update_fast = fast
                    results[name][fast].append(_cpu_us(make(batch), batch))
    load = os.getloadavg()
    print(f"CPU us per write, median of {rounds} rounds of {batch}; load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'write':<52} {'general':>9} {'fast':>9} {'ratio':>7}")
    for name, _ in rows:
        general = statistics.median(results[name][False])
        status = statistics.median(results[name][True])
        print(f"{name:<52} {general:>9.0f} {status:>9.0f} {general / status:>6.1f}x")
    print(f"{'reference: pod create (whole pod, admission)':<52} {work.create_us:>9.0f}")
    print(f"{'reference: pod bind (its own path)':<52} {work.bind_us:>9.0f}")


if __name__ == "__main__":
    main()
