"""kubectl rollout (status, history, undo, pause, resume, restart) for Deployments, DaemonSets and
StatefulSets against the server, with the controllers, hollow kubelets and the scheduler on its Registry
(composition): kubectl reads the revision annotations, the ControllerRevisions and the status fields as
it does on Kubernetes."""
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

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: kc}\n"
POD_SPEC = "containers: [{name: c, image: IMAGE, resources: {requests: {cpu: 10m}}}]"


def manifest(kind: str, name: str, image: str, extra: str = "") -> str:
    return f"""\
apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}}}
spec:
  {extra}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      {POD_SPEC.replace("IMAGE", image)}
"""


@pytest.fixture(scope="module")
def cluster(registry: objects.Registry, kubeconfig: pathlib.Path) -> Iterator[None]:  # noqa: F811
    manager = controllers.ControllerManager(registry, metrics=False)
    nodes = controllers.HollowNodes(registry, 2, termination_seconds=0)
    with running_with_scheduler(registry, nodes, manager, scheduler_timeout=None):
        kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=NAMESPACE)
        yield


def images(registry: objects.Registry, app: str) -> list[str]:
    return sorted(p.spec.containers[0].image for p in registry.list("Pod", "kc").items
                  if p.metadata.labels.get("app") == app and not p.metadata.deletion_timestamp)


def status(kubeconfig: pathlib.Path, what: str) -> str:  # noqa: F811
    done = kubectl(kubeconfig, "rollout", "status", what, "--timeout=90s")
    assert "successfully rolled out" in done.stdout or "partitioned roll out complete" in done.stdout, done.stdout
    return done.stdout


def test_deployment_history_undo_pause_resume_restart(cluster: None, kubeconfig: pathlib.Path,  # noqa: F811
                                                     registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=manifest("Deployment", "web", "img:1", "replicas: 3"))
    status(kubeconfig, "deployment/web")
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=manifest("Deployment", "web", "img:2", "replicas: 3"))
    status(kubeconfig, "deployment/web")
    assert images(registry, "web") == ["img:2"] * 3
    history = kubectl(kubeconfig, "rollout", "history", "deployment/web").stdout
    assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["1", "2"], history
    kubectl(kubeconfig, "rollout", "undo", "deployment/web")
    status(kubeconfig, "deployment/web")
    assert images(registry, "web") == ["img:1"] * 3
    history = kubectl(kubeconfig, "rollout", "history", "deployment/web").stdout
    assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["2", "3"], history
    kubectl(kubeconfig, "rollout", "pause", "deployment/web")
    kubectl(kubeconfig, "set", "image", "deployment/web", "c=img:4")
    kubectl(kubeconfig, "rollout", "resume", "deployment/web")
    status(kubeconfig, "deployment/web")
    assert images(registry, "web") == ["img:4"] * 3
    before = {rs.metadata.name for rs in registry.list("ReplicaSet", "kc").items}
    kubectl(kubeconfig, "rollout", "restart", "deployment/web")
    status(kubeconfig, "deployment/web")
    after = {rs.metadata.name for rs in registry.list("ReplicaSet", "kc").items}
    assert len(after - before) == 1
    d = registry.get("Deployment", "web", "kc")
    assert "kubectl.kubernetes.io/restartedAt" in d.spec.template.metadata.annotations
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "5"
    # describe finds the new ReplicaSet by template (ignoring pod-template-hash), as on Kubernetes
    newest = max(registry.list("ReplicaSet", "kc").items,
                 key=lambda rs: int(rs.metadata.annotations["deployment.kubernetes.io/revision"]))
    described = kubectl(kubeconfig, "describe", "deployment", "web").stdout
    assert f"NewReplicaSet:   {newest.metadata.name} (3/3 replicas created)" in described, described


def test_daemonset_status_history_undo(cluster: None, kubeconfig: pathlib.Path,  # noqa: F811
                                       registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=manifest("DaemonSet", "agent", "agent:1"))
    status(kubeconfig, "daemonset/agent")
    assert images(registry, "agent") == ["agent:1"] * 2
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=manifest("DaemonSet", "agent", "agent:2"))
    status(kubeconfig, "daemonset/agent")
    assert images(registry, "agent") == ["agent:2"] * 2
    history = kubectl(kubeconfig, "rollout", "history", "daemonset/agent").stdout
    assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["1", "2"], history
    kubectl(kubeconfig, "rollout", "undo", "daemonset/agent")
    status(kubeconfig, "daemonset/agent")
    assert images(registry, "agent") == ["agent:1"] * 2


def test_statefulset_status_history_undo(cluster: None, kubeconfig: pathlib.Path,  # noqa: F811
                                         registry: objects.Registry) -> None:
    extra = "replicas: 2\n  serviceName: db"
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=manifest("StatefulSet", "db", "db:1", extra))
    status(kubeconfig, "statefulset/db")
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=manifest("StatefulSet", "db", "db:2", extra))
    status(kubeconfig, "statefulset/db")
    assert images(registry, "db") == ["db:2"] * 2
    history = kubectl(kubeconfig, "rollout", "history", "statefulset/db").stdout
    assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["1", "2"], history
    kubectl(kubeconfig, "rollout", "undo", "statefulset/db")
    status(kubeconfig, "statefulset/db")
    assert images(registry, "db") == ["db:1"] * 2
