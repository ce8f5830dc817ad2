"""A cluster at rest writes nothing but heartbeats: every default controller, hollow nodes as kubelets and the
real scheduler, with a Deployment, a ReplicaSet, a ReplicationController, a DaemonSet, a StatefulSet, a
finished Job and a Service; once they have converged, the store's revisions over a while are the nodes'
Lease renewals only, and syncing every object again (as a resync or a stray event does) writes nothing
either. kube-controller-manager compares each status with the one read and skips an unchanged write; a
write of an unchanged status wakes the writer's own informer, which syncs and writes again (the loop
seen holding the GIL in the 1,000-node failure of docs/simulation.md). Write calls are counted, not store
revisions: the Registry, as the API server, stores nothing for an unchanged object, but the call costs a
whole decode, validation and encode."""
from __future__ import annotations

import threading
import time

import objects
import pytest


from ctrl_helpers import WAIT, replica_set, wait_for
from workload_helpers import daemon_set, deployment, stateful_set, whole_cluster

SETTLE = 1.5   # seconds the store is watched at rest (heartbeats come every 0.5 s: several per node)


@pytest.fixture
def cluster(registry):
    with whole_cluster(registry, heartbeat_interval=0.5) as running:
        yield running


def _job(name: str) -> objects.Job:
    return objects.from_dict({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                              "spec": {"template": {"metadata": {"annotations": {"borgkit.io/run-seconds": "0"}},
                                                    "spec": {"restartPolicy": "Never",
                                                             "containers": [{"name": "c", "image": "i"}]}}}})


def _service(name: str, app: str) -> objects.Service:
    return objects.from_dict({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                              "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}})


def _workloads(registry) -> None:
    registry.create(deployment("web", 3, minReadySeconds=1))
    registry.create(replica_set("plain", 2))
    registry.create(replica_set("legacy", 1, kind="ReplicationController"))
    registry.create(daemon_set("agent"))
    registry.create(stateful_set("db", 2))
    registry.create(_job("once"))
    registry.create(_service("web", "web"))


def _converged(registry) -> bool:
    pods = registry.list("Pod", "default").items
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp
               and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)]
    web = registry.get("Deployment", "web", "default").status
    job = registry.get("Job", "once", "default").status
    endpoints = [e for e in registry.list("Endpoints", "default").items if e.metadata.name == "web"]
    return (len(running) == 3 + 2 + 1 + 3 + 2 and web.available_replicas == 3 and web.updated_replicas == 3
            and any(c.type == "Complete" and c.status == "True" for c in job.conditions)
            and bool(endpoints) and sum(len(s.addresses) for s in endpoints[0].subsets) == 3)


WRITES = ("create", "apply", "update", "update_status", "patch", "patch_status", "bind", "delete")


class _Writes:
    """Every write call on the Registry while open, by method and kind (a write of an unchanged object adds
    no store revision, as the API server's, but costs a whole decode / validate / encode: calls are
    counted, not revisions)."""

    def __init__(self, registry) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._registry = registry
        for method in WRITES:
            setattr(registry, method, self._counting(method, getattr(registry, method)))

    def _counting(self, method: str, real):
        def call(*args, **kwargs):
            first = args[0] if args else None
            kind = first if isinstance(first, str) else getattr(first, "kind", "?")
            if method == "bind":
                kind = "Pod"
            with self._lock:
                self.calls.append((method, kind))
            return real(*args, **kwargs)
        return call

    def others(self) -> list[tuple[str, str]]:
        with self._lock:
            return [c for c in self.calls if c[1] != "Lease"]

    def leases(self) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c[1] == "Lease")

    def close(self) -> None:
        for method in WRITES:
            self._registry.__dict__.pop(method, None)


def _settle(registry, manager) -> None:
    wait_for(lambda: _converged(registry), WAIT, "every workload converged")
    # minReadySeconds and the Job's completion move statuses a little later: wait until a look finds nothing
    # to do and the next one too
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert manager.wait_idle(WAIT)
        time.sleep(1.2)
        if manager.wait_idle(WAIT) and _converged(registry):
            return
    raise AssertionError("the cluster did not come to rest")


def test_a_cluster_at_rest_writes_nothing_but_heartbeats(registry, cluster) -> None:
    _, manager = cluster
    _workloads(registry)
    _settle(registry, manager)
    writes = _Writes(registry)
    try:
        time.sleep(SETTLE)
        assert writes.leases() > 0   # the heartbeats were counted: the counter was in place
        assert writes.others() == []
    finally:
        writes.close()


def test_syncing_every_object_again_at_rest_writes_nothing(registry, cluster) -> None:
    _, manager = cluster
    _workloads(registry)
    _settle(registry, manager)
    keys = []
    for kind in ("Deployment", "ReplicaSet", "ReplicationController", "DaemonSet", "StatefulSet", "Job",
                 "Service", "Pod"):
        keys += [f"{o.metadata.namespace}/{o.metadata.name}" for o in registry.list(kind, "default").items]
    keys += [n.metadata.name for n in registry.list("Node").items]
    writes = _Writes(registry)
    try:
        for name, controller in manager.controllers.items():
            if name == "garbagecollector":   # keyed by uid, and writes no status
                continue
            for key in keys:
                controller.queue.add(key)
        assert manager.wait_idle(WAIT)
        time.sleep(0.5)
        assert manager.wait_idle(WAIT)
        assert writes.others() == []
    finally:
        writes.close()
