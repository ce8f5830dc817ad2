"""kubectl rollout status against the server with the pieces that make a rollout happen: the controllers
(Deployment, ReplicaSet), hollow kubelets and the scheduler, all on the server's Registry (composition)."""
from __future__ import annotations

import pathlib
import sys
from typing import Iterator

import pytest

import objects
from test_kubectl import KUBECTL, VALIDATE, kubeconfig, kubectl  # noqa: F401 (the fixture)

controllers = pytest.importorskip("controllers")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "controllers"))  # workload_helpers
from workload_helpers import running_with_scheduler  # noqa: E402
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

DEPLOYMENT = """\
apiVersion: v1
kind: Namespace
metadata: {name: kc}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: roll}
spec:
  replicas: 2
  selector: {matchLabels: {app: roll}}
  template:
    metadata: {labels: {app: roll}}
    spec:
      containers: [{name: c, image: "registry.k8s.io/pause:3.10", resources: {requests: {cpu: 100m}}}]
"""


@pytest.fixture(scope="module")
def cluster(registry: objects.Registry) -> Iterator[None]:
    nodes = controllers.HollowNodes(registry, 2)
    with running_with_scheduler(registry, nodes, controllers.ControllerManager(registry), scheduler_timeout=None):
        yield


def test_rollout_status_follows_a_deployment(cluster: None, kubeconfig: pathlib.Path,  # noqa: F811
                                             registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=DEPLOYMENT)
    done = kubectl(kubeconfig, "rollout", "status", "deployment/roll", "--timeout=90s")
    assert 'deployment "roll" successfully rolled out' in done.stdout
    rows = [line.split() for line in kubectl(kubeconfig, "get", "pods", "-l", "app=roll").stdout.strip().splitlines()]
    assert len(rows) == 3 and all(row[1:3] == ["1/1", "Running"] for row in rows[1:])
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=DEPLOYMENT.replace("pause:3.10", "pause:3.9"))
    done = kubectl(kubeconfig, "rollout", "status", "deployment/roll", "--timeout=90s")
    assert "successfully rolled out" in done.stdout
    assert registry.get("Deployment", "roll", "kc").status.updated_replicas == 2
