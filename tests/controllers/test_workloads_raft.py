"""Deployment, DaemonSet and StatefulSet controllers on a 3-member Raft store (in one process,
127.0.0.1): the controllers write through one member, the user and the kubelet through another, and the
every-event invariant watcher reads a third."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from controllers import ControllerManager
from controllers.daemonset import target_node
from objects import Registry

from workload_helpers import Kubelet, PodWatcher, daemon_set, deployment, image_of, node, stateful_set, wait_until, \
    with_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the replication test package
from replication.support import in_process_members  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def members(tmp_path):
    with in_process_members(str(tmp_path)) as members:
        yield [Registry(m) for m in members]


def test_rollouts_on_a_raft_store(members):
    watched, controlled, user = members
    for name in ("a", "b"):
        user.create(node(name))
    manager = ControllerManager(controlled, controllers=["deployment", "replicaset", "daemonset", "statefulset"],
                                metrics=False)
    manager.start()
    limit = 120.0

    def bounds(pods):
        web = [p for p in pods.values() if p.metadata.labels.get("app") == "web"]
        up = sum(1 for p in web if p.status.phase == "Running")
        return f"{len(web)} web pods, {up} Running" if len(web) > 5 or up < 3 else None
    try:
        with Kubelet(user, bind=target_node):
            user.create(deployment("web", 4, strategy={"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": 1, "maxUnavailable": 1}}))
            user.create(daemon_set("agent"))
            user.create(stateful_set("db", 2))

            def web_at(image):
                pods = [p for p in user.list("Pod", "default").items if p.metadata.labels.get("app") == "web"]
                d = user.get("Deployment", "web", "default")
                return (len(pods) == 4 and all(image_of(p) == image and p.status.phase == "Running" for p in pods)
                        and d.status.available_replicas == 4 and d.status.updated_replicas == 4)
            wait_until(lambda: web_at("v1"), limit, "web at v1")
            with PodWatcher(watched, bounds) as watcher:
                with_image(user, "Deployment", "web", "v2")
                wait_until(lambda: web_at("v2"), limit, "web rolled out to v2")
            assert watcher.violations == [] and watcher.events >= 8
            wait_until(lambda: user.get("DaemonSet", "agent", "default").status.number_available == 2, limit,
                       "one agent per node")
            wait_until(lambda: user.get("StatefulSet", "db", "default").status.ready_replicas == 2, limit, "db ready")
            assert sorted(p.metadata.name for p in user.list("Pod", "default").items
                          if p.metadata.labels.get("app") == "db") == ["db-0", "db-1"]
    finally:
        manager.stop()
