"""The official ``kubernetes`` Python client (PyPI) against the server: CRUD, watch, 409 handling."""
from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest

import apiserver
import objects

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s, watch as k8s_watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402


@pytest.fixture(scope="module")
def api(server: apiserver.Server) -> Iterator[k8s.ApiClient]:
    config = k8s.Configuration(host=server.url)
    with k8s.ApiClient(config) as api_client:
        yield api_client


def _pod(name: str, labels: dict[str, str] | None = None) -> k8s.V1Pod:
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name, labels=labels),
                     spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="nginx")]))


def test_core_v1_crud(api: k8s.ApiClient, registry: objects.Registry) -> None:
    core = k8s.CoreV1Api(api)
    created = core.create_namespaced_pod("py", _pod("a", {"app": "web"}))
    assert created.metadata.uid and created.status.phase == "Pending"
    got = core.read_namespaced_pod("a", "py")
    assert got.spec.containers[0].image == "nginx"
    listed = core.list_namespaced_pod("py", label_selector="app=web")
    assert [p.metadata.name for p in listed.items] == ["a"]
    got.metadata.labels["tier"] = "front"
    replaced = core.replace_namespaced_pod("a", "py", got)
    assert replaced.metadata.labels == {"app": "web", "tier": "front"}
    patched = core.patch_namespaced_pod("a", "py", {"metadata": {"annotations": {"n": "1"}}})
    assert patched.metadata.annotations == {"n": "1"}
    core.patch_namespaced_pod_status("a", "py", {"status": {"phase": "Running"}})
    assert registry.get("Pod", "a", "py").status.phase == "Running"
    core.delete_namespaced_pod("a", "py")
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("a", "py")
    assert missing.value.status == 404


def test_conflict_is_a_409_the_client_can_retry(api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    core.create_namespaced_config_map("py", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="c"), data={"n": "0"}))
    stale = core.read_namespaced_config_map("c", "py")
    core.patch_namespaced_config_map("c", "py", {"data": {"n": "1"}})
    stale.data["n"] = "2"
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("c", "py", stale)
    assert conflict.value.status == 409 and "the object has been modified" in conflict.value.body
    for _ in range(5):  # the usual read-modify-write loop
        fresh = core.read_namespaced_config_map("c", "py")
        fresh.data["n"] = str(int(fresh.data["n"]) + 1)
        try:
            core.replace_namespaced_config_map("c", "py", fresh)
            break
        except ApiException as exc:
            assert exc.status == 409
    assert core.read_namespaced_config_map("c", "py").data == {"n": "2"}


def test_apps_v1_crud_and_scale(api: k8s.ApiClient) -> None:
    apps = k8s.AppsV1Api(api)
    template = k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels={"app": "d"}),
                                     spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="i")]))
    apps.create_namespaced_deployment("py", k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name="d"),
        spec=k8s.V1DeploymentSpec(replicas=1, selector=k8s.V1LabelSelector(match_labels={"app": "d"}),
                                  template=template)))
    dep = apps.read_namespaced_deployment("d", "py")
    assert dep.spec.strategy.type == "RollingUpdate"  # defaulted by the server
    apps.patch_namespaced_deployment_scale("d", "py", {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment_scale("d", "py").spec.replicas == 4
    assert [d.metadata.name for d in apps.list_namespaced_deployment("py").items] == ["d"]
    apps.delete_namespaced_deployment("d", "py")
    assert apps.list_namespaced_deployment("py").items == []


def test_watch_stream(api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    rv = core.list_namespaced_pod("pyw").metadata.resource_version
    seen: list[tuple[str, str]] = []
    watcher = k8s_watch.Watch()

    def writer() -> None:
        core.create_namespaced_pod("pyw", _pod("w1"))
        core.patch_namespaced_pod("w1", "pyw", {"metadata": {"labels": {"x": "1"}}})
        core.delete_namespaced_pod("w1", "pyw")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for event in watcher.stream(core.list_namespaced_pod, "pyw", resource_version=rv, timeout_seconds=20):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                watcher.stop()
    finally:
        thread.join(timeout=20)
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_list_pagination(api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    for i in range(5):
        core.create_namespaced_config_map("pyp", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=f"c{i}")))
    names: list[str] = []
    token: Any = None
    for _ in range(10):
        page = core.list_namespaced_config_map("pyp", limit=2, _continue=token)
        names += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"c{i}" for i in range(5)]
