"""The scheduler through HTTP: a scheduling.Scheduler fed by the kubernetes client (list, then watch) and
binding through pods/binding. Composition: this test imports scheduling and apiserver."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

import apiserver
import objects
import scheduling

pytest.importorskip("kubernetes")
from kubernetes import client as k8s, watch as k8s_watch  # noqa: E402

NS = "sched"


@pytest.fixture(scope="module")
def core(server: apiserver.Server) -> Iterator[k8s.CoreV1Api]:
    with k8s.ApiClient(k8s.Configuration(host=server.url)) as api_client:
        yield k8s.CoreV1Api(api_client)


def _raw_list(call: Any, *args: Any) -> dict[str, Any]:
    """A list as the server wrote it (JSON), read into the objects models by the caller."""
    return json.loads(call(*args, _preload_content=False).data)  # type: ignore[no-any-return]


def _node(name: str, cpu: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"zone": name[-1]}},
            "status": {"capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def _pod(name: str, cpu: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "w"}},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]}}


def test_scheduler_fed_over_http_binds_through_pods_binding(core: k8s.CoreV1Api, registry: objects.Registry) -> None:
    for i in range(3):
        core.create_node(_node(f"node-{i}", "2"))
    for i in range(5):
        core.create_namespaced_pod(NS, _pod(f"p{i}", "1"))
    core.create_namespaced_pod(NS, _pod("too-big", "3"))

    sched = scheduling.Scheduler(seed=1)
    for node in _raw_list(core.list_node)["items"]:
        sched.add_node(objects.from_dict(node))
    pods = _raw_list(core.list_namespaced_pod, NS)
    for pod in pods["items"]:
        sched.add_pod(objects.from_dict(pod))

    bound: dict[str, str] = {}
    for result in sched.schedule_pending():
        if result.node_name is None:
            continue
        body = k8s.V1Binding(metadata=k8s.V1ObjectMeta(name=result.pod.metadata.name),
                             target=k8s.V1ObjectReference(kind="Node", name=result.node_name))
        # the generated client cannot read the Status a binding returns into V1Binding: raw response
        response = core.create_namespaced_pod_binding(result.pod.metadata.name, NS, body, _preload_content=False)
        assert response.status == 201
        bound[result.pod.metadata.name] = result.node_name

    # the bindings come back through a watch from the list's resourceVersion, as an informer sees them
    seen: dict[str, str] = {}
    watcher = k8s_watch.Watch()
    for event in watcher.stream(core.list_namespaced_pod, NS, resource_version=pods["metadata"]["resourceVersion"],
                                timeout_seconds=20):
        obj = event["object"]
        if obj.spec.node_name:
            seen[obj.metadata.name] = obj.spec.node_name
            sched.update_pod(objects.from_dict(core.api_client.sanitize_for_serialization(obj)))
        if len(seen) == len(bound):
            watcher.stop()
    assert seen == bound
    assert sorted(bound) == ["p0", "p1", "p2", "p3", "p4"]
    per_node: dict[str, int] = {}
    for node in bound.values():
        per_node[node] = per_node.get(node, 0) + 1
    assert max(per_node.values()) <= 2  # 2 cpu per node, 1 cpu per pod
    for name, node in bound.items():
        stored = registry.get("Pod", name, NS)
        assert stored.spec.node_name == node
        assert [(c.type, c.status) for c in stored.status.conditions] == [("PodScheduled", "True")]
    assert registry.get("Pod", "too-big", NS).spec.node_name is None
