"""kubectl (a real one, as a subprocess) against the server: apply, get, get -w, describe, edit, scale,
label, annotate, cordon, delete, explain. Skipped when kubectl is not installed (.ci/run installs it)."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

import apiserver
import objects

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _client_minor() -> int:
    if KUBECTL is None:
        return 0
    done = subprocess.run([KUBECTL, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30)
    try:
        return int("".join(c for c in json.loads(done.stdout)["clientVersion"]["minor"] if c.isdigit()))
    except (ValueError, KeyError):
        return 0


# kubectl >= 1.27 reads /openapi/v3 (validation, explain); older ones only read protobuf /openapi/v2, which is
# not served, so they apply with --validate=false (Debian bookworm's kubernetes-client is 1.20).
MINOR = _client_minor()
VALIDATE = () if MINOR >= 27 else ("--validate=false",)

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec:
  replicas: 2
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers: [{name: c, image: nginx}]
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


@pytest.fixture(scope="module")
def kubeconfig(server: apiserver.Server, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: borgkit, cluster: {{server: "{server.url}"}}}}]
users: [{{name: me, user: {{token: unused}}}}]
contexts: [{{name: here, context: {{cluster: borgkit, user: me, namespace: kc}}}}]
current-context: here
""")
    return path


def kubectl(kubeconfig: pathlib.Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent), **(env or {})}
    done = subprocess.run([KUBECTL, "--request-timeout=20s", *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=60)
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_client_version_is_reported() -> None:
    done = subprocess.run([KUBECTL, "version", "--client"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "Client Version" in done.stdout
    print(done.stdout, file=sys.stderr)


def test_apply_multi_document_then_get_table_yaml_json(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    done = kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST)
    assert done.stdout.split("\n")[:3] == ["pod/web created", "deployment.apps/dep created", "service/svc created"]
    assert registry.get("Deployment", "dep", "kc").spec.replicas == 2
    again = kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST)
    assert "pod/web unchanged" in again.stdout
    rows = _rows(kubectl(kubeconfig, "get", "pods").stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[1][:4] == ["web", "0/1", "Pending", "0"]
    rows = _rows(kubectl(kubeconfig, "get", "deploy").stdout)
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and rows[1][:2] == ["dep", "0/2"]
    rows = _rows(kubectl(kubeconfig, "get", "svc").stdout)
    assert rows[0][:5] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"] and rows[1][4] == "80/TCP"
    as_yaml = objects.load(kubectl(kubeconfig, "get", "po", "web", "-o", "yaml").stdout)[0]
    assert as_yaml.metadata.name == "web" and as_yaml.spec.containers[0].ports[0].container_port == 80
    as_json = json.loads(kubectl(kubeconfig, "get", "deployment", "dep", "-o", "json").stdout)
    assert as_json["spec"]["replicas"] == 2 and as_json["kind"] == "Deployment"


def test_apply_of_a_changed_manifest_patches(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST)
    done = kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST.replace("replicas: 2", "replicas: 3"))
    assert "deployment.apps/dep configured" in done.stdout
    assert registry.get("Deployment", "dep", "kc").spec.replicas == 3


def test_server_side_apply_and_diff(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    manifest = MANIFEST.replace("name: dep", "name: ssa-dep").replace("name: web", "name: ssa-web").replace(
        "name: svc", "name: ssa-svc")
    done = kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=manifest)
    assert "deployment.apps/ssa-dep serverside-applied" in done.stdout
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=manifest.replace("replicas: 2", "replicas: 4"))
    assert registry.get("Deployment", "ssa-dep", "kc").spec.replicas == 4
    before = registry.store.revision
    diff = kubectl(kubeconfig, "diff", "-f", "-", stdin=manifest, check=False)  # a dry-run apply per object
    assert diff.returncode == 1 and "-  replicas: 4" in diff.stdout and "+  replicas: 2" in diff.stdout
    assert registry.store.revision == before


def test_describe_label_annotate(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST)
    kubectl(kubeconfig, "label", "pod", "web", "tier=front")
    kubectl(kubeconfig, "annotate", "pod", "web", "note=hello")
    stored = registry.get("Pod", "web", "kc")
    assert stored.metadata.labels["tier"] == "front" and stored.metadata.annotations["note"] == "hello"
    described = kubectl(kubeconfig, "describe", "pod", "web").stdout
    assert "Name:" in described and "web" in described and "tier=front" in described and "Image:" in described


def test_edit_with_kube_editor(kubeconfig: pathlib.Path, registry: objects.Registry, tmp_path: pathlib.Path) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST)
    editor = tmp_path / "editor.py"
    editor.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('image: nginx', 'image: nginx:1.27'))\n")
    done = kubectl(kubeconfig, "edit", "pod", "web", env={"KUBE_EDITOR": f"{sys.executable} {editor}"})
    assert "pod/web edited" in done.stdout
    assert registry.get("Pod", "web", "kc").spec.containers[0].image == "nginx:1.27"


def test_scale_uses_the_scale_subresource(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST)
    done = kubectl(kubeconfig, "scale", "deployment", "dep", "--replicas=5")
    assert "deployment.apps/dep scaled" in done.stdout
    assert registry.get("Deployment", "dep", "kc").spec.replicas == 5


def test_get_watch_prints_changes(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}
    watcher = subprocess.Popen([KUBECTL, "get", "configmaps", "-w", "--request-timeout=30s"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)  # let the watch start; the object created after shows up either way (list or watch)
        kubectl(kubeconfig, "create", *VALIDATE, "-f", "-",
                stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: b}\n")
        kubectl(kubeconfig, "label", "configmap", "watched", "x=y")
        lines: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum("watched" in line for line in lines) < 2:
            line = watcher.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
    finally:
        watcher.kill()
        watcher.wait(timeout=10)
    assert sum("watched" in line for line in lines) >= 2, lines


def test_typed_client_commands_send_protobuf_which_is_refused_with_415(kubeconfig: pathlib.Path,
                                                                       registry: objects.Registry) -> None:
    # kubectl's typed clients (create configmap, drain, ...) send protobuf bodies; only JSON / YAML are served
    done = kubectl(kubeconfig, "create", "configmap", "typed", "--from-literal=a=b", check=False)
    if done.returncode != 0:
        assert "unknown format" in done.stderr
        with pytest.raises(objects.NotFound):
            registry.get("ConfigMap", "typed", "kc")
    else:  # a kubectl that sends JSON here
        assert registry.get("ConfigMap", "typed", "kc").data == {"a": "b"}


def test_cordon_and_uncordon(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin="apiVersion: v1\nkind: Node\nmetadata: {name: kn1}\nstatus:\n"
                                                  "  conditions: [{type: Ready, status: 'True'}]\n")
    kubectl(kubeconfig, "cordon", "kn1")
    assert registry.get("Node", "kn1").spec.unschedulable is True
    rows = _rows(kubectl(kubeconfig, "get", "nodes").stdout)
    assert ["kn1", "Ready,SchedulingDisabled"] == rows[1][:2]
    kubectl(kubeconfig, "uncordon", "kn1")
    assert not registry.get("Node", "kn1").spec.unschedulable


def test_drain_deletes_the_pods_of_a_cordoned_node(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    # drain's typed client sends its DeleteOptions as protobuf (read for DeleteOptions only)
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin="apiVersion: v1\nkind: Node\nmetadata: {name: dn1}\n"
                                                             "status:\n  conditions: [{type: Ready, status: 'True'}]\n")
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin="apiVersion: v1\nkind: Pod\nmetadata: {name: on-dn1}\n"
                                                             "spec: {nodeName: dn1, containers: [{name: c, image: i}]}\n")
    done = kubectl(kubeconfig, "drain", "dn1", "--force", "--timeout=30s")
    assert "node/dn1 drained" in done.stdout
    assert registry.get("Node", "dn1").spec.unschedulable is True
    with pytest.raises(objects.NotFound):
        registry.get("Pod", "on-dn1", "kc")


def test_delete_and_errors(kubeconfig: pathlib.Path, registry: objects.Registry) -> None:
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: kc}\n")
    kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", stdin=MANIFEST)
    done = kubectl(kubeconfig, "delete", "-f", "-", stdin=MANIFEST)
    assert 'pod "web" deleted' in done.stdout and 'deployment.apps "dep" deleted' in done.stdout
    with pytest.raises(objects.NotFound):
        registry.get("Pod", "web", "kc")
    missing = kubectl(kubeconfig, "get", "pod", "nope", check=False)
    assert missing.returncode != 0 and 'pods "nope" not found' in missing.stderr
    bad = kubectl(kubeconfig, "apply", *VALIDATE, "-f", "-", check=False,
                  stdin="apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c}]}\n")
    assert bad.returncode != 0 and "is invalid" in bad.stderr and "spec.containers[0].image" in bad.stderr


@pytest.mark.skipif(MINOR < 27, reason="kubectl explain before 1.27 reads only /openapi/v2")
def test_explain_reads_the_openapi_built_from_the_models(kubeconfig: pathlib.Path) -> None:
    done = kubectl(kubeconfig, "explain", "pods.spec.containers")
    assert "KIND:       Pod" in done.stdout and "image" in done.stdout and "ports" in done.stdout
