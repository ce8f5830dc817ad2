"""Deployment, DaemonSet and StatefulSet in a whole in-process cluster: every default controller (with the
ReplicaSet controller and the garbage collector), hollow nodes as kubelets and the real scheduler placing
the pods (the DaemonSet's through its matchFields node affinity)."""
from __future__ import annotations

import pytest

from controllers.controllerref import controller_of
from controllers.daemonset import target_node

from ctrl_helpers import WAIT
from workload_helpers import (PodWatcher, daemon_set, deployment, image_of, stateful_set, wait_until, whole_cluster,
                              with_image)


@pytest.fixture
def cluster(registry):
    with whole_cluster(registry) as running:
        yield running


def running(registry, kind, name):
    return [p for p in registry.list("Pod", "default").items
            if p.status.phase == "Running" and not p.metadata.deletion_timestamp and _owned_by(registry, p, kind, name)]


def _owned_by(registry, pod, kind, name):
    ref = controller_of(pod)
    if ref is None:
        return False
    if ref.kind == "ReplicaSet" and kind == "Deployment":
        rs = next((r for r in registry.list("ReplicaSet", "default").items if r.metadata.uid == ref.uid), None)
        ref = controller_of(rs) if rs is not None else None
    return ref is not None and ref.kind == kind and ref.name == name


def test_workloads_run_on_hollow_nodes_through_the_scheduler(registry, cluster):
    nodes, manager = cluster
    registry.create(daemon_set("agent"))
    registry.create(stateful_set("db", 3))
    registry.create(deployment("web", 6, strategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": 2, "maxUnavailable": 1}}))
    wait_until(lambda: len(running(registry, "Deployment", "web")) == 6, WAIT, "6 web pods Running")
    wait_until(lambda: sorted(p.spec.node_name for p in running(registry, "DaemonSet", "agent")) == sorted(nodes.names),
               WAIT, "one agent per hollow node")
    assert all(p.spec.node_name == target_node(p) for p in running(registry, "DaemonSet", "agent"))
    wait_until(lambda: sorted(p.metadata.name for p in running(registry, "StatefulSet", "db")) == ["db-0", "db-1", "db-2"],
               WAIT, "db-0..2 Running")

    def bounds(pods):
        web = [p for p in pods.values() if p.metadata.labels.get("app") == "web"]
        up = sum(1 for p in web if p.status.phase == "Running")
        if len(web) > 8 or up < 5:
            return f"{len(web)} web pods, {up} Running: outside 6 + 2 surge / 6 - 1 unavailable"
        return None
    assert manager.wait_idle(WAIT)
    with PodWatcher(registry, bounds) as watcher:
        with_image(registry, "Deployment", "web", "v2")
        wait_until(lambda: sorted(image_of(p) for p in running(registry, "Deployment", "web")) == ["v2"] * 6
                   and len([p for p in registry.list("Pod", "default").items
                            if p.metadata.labels.get("app") == "web"]) == 6, WAIT, "web rolled out to v2")
    assert watcher.violations == []

    # deleting the owners: the garbage collector removes the ReplicaSets, revisions and pods
    for kind, name in (("Deployment", "web"), ("DaemonSet", "agent"), ("StatefulSet", "db")):
        registry.delete(kind, name, "default")
    wait_until(lambda: not registry.list("Pod", "default").items and not registry.list("ReplicaSet", "default").items
               and not registry.list("ControllerRevision", "default").items, WAIT, "dependents collected")
