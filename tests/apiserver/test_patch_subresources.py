"""PATCH (merge, JSON, strategic merge, apply), the status / scale / binding subresources."""
from __future__ import annotations

import objects
from apiclient import Client, pod

PODS = "/api/v1/namespaces/p/pods"
DEPLOYS = "/apis/apps/v1/namespaces/p/deployments"
SMP = "application/strategic-merge-patch+json"


def _two_containers(name: str) -> dict:
    manifest = pod(name)
    manifest["spec"]["containers"] = [
        {"name": "a", "image": "a:1", "ports": [{"containerPort": 80}], "env": [{"name": "X", "value": "1"}]},
        {"name": "b", "image": "b:1"}]
    return manifest


def test_merge_patch_replaces_lists(client: Client) -> None:
    client.post(PODS, _two_containers("m"))
    status, body = client.patch(f"{PODS}/m", {"metadata": {"labels": {"k": "v"}},
                                              "spec": {"containers": [{"name": "a", "image": "a:2"}]}})
    assert status == 200
    assert body["metadata"]["labels"] == {"k": "v"}
    assert [c["name"] for c in body["spec"]["containers"]] == ["a"]


def test_strategic_merge_patch_merges_by_the_kubernetes_merge_keys(client: Client) -> None:
    client.post(PODS, _two_containers("s"))
    status, body = client.patch(f"{PODS}/s", {"spec": {"containers": [
        {"name": "b", "image": "b:2", "env": [{"name": "Y", "value": "2"}]},
        {"name": "a", "ports": [{"containerPort": 443}], "env": [{"name": "X", "value": "9"}]}]}}, SMP)
    assert status == 200, body
    by_name = {c["name"]: c for c in body["spec"]["containers"]}
    assert [c["name"] for c in body["spec"]["containers"]] == ["a", "b"]
    assert by_name["a"]["image"] == "a:1" and by_name["b"]["image"] == "b:2"
    assert [p["containerPort"] for p in by_name["a"]["ports"]] == [80, 443]
    assert by_name["a"]["env"] == [{"name": "X", "value": "9"}]
    status, body = client.patch(f"{PODS}/s", {"spec": {"containers": [{"name": "b", "$patch": "delete"}]},
                                              "metadata": {"finalizers": ["x/y"]}}, SMP)
    assert [c["name"] for c in body["spec"]["containers"]] == ["a"]
    status, body = client.patch(f"{PODS}/s", {"metadata": {"finalizers": ["z/w"]}}, SMP)
    assert body["metadata"]["finalizers"] == ["x/y", "z/w"]  # patchStrategy merge on a list of strings
    status, body = client.patch(f"{PODS}/s", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x/y", "z/w"]}},
                                SMP)
    assert "finalizers" not in body["metadata"]


def test_json_patch(client: Client) -> None:
    client.post(PODS, pod("j", {"a": "1"}))
    status, body = client.patch(f"{PODS}/j", [{"op": "add", "path": "/metadata/labels/b", "value": "2"},
                                              {"op": "remove", "path": "/metadata/labels/a"}],
                                "application/json-patch+json")
    assert status == 200 and body["metadata"]["labels"] == {"b": "2"}
    status, body = client.patch(f"{PODS}/j", [{"op": "test", "path": "/metadata/labels/b", "value": "3"}],
                                "application/json-patch+json")
    assert status == 422
    status, body = client.patch(f"{PODS}/j", {"op": "add"}, "application/json-patch+json")
    assert status == 400


def test_patch_with_a_stale_resource_version_is_a_conflict(client: Client) -> None:
    _, created = client.post(PODS, pod("rvp"))
    client.patch(f"{PODS}/rvp", {"metadata": {"labels": {"a": "1"}}})
    status, body = client.patch(f"{PODS}/rvp", {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"],
                                                             "labels": {"a": "2"}}})
    assert status == 409 and body["reason"] == "Conflict"
    status, body = client.patch(f"{PODS}/missing", {"metadata": {"labels": {"a": "1"}}})
    assert status == 404
    status, body = client.patch(f"{PODS}/rvp", {"metadata": {"labels": {"a": "1"}}}, "text/plain")
    assert status == 415


def test_invalid_patch_result_is_422_and_writes_nothing(client: Client, registry: objects.Registry) -> None:
    client.post(PODS, pod("inv"))
    before = registry.store.revision
    status, body = client.patch(f"{PODS}/inv", {"spec": {"restartPolicy": "Sometimes"}})
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.restartPolicy"
    assert registry.store.revision == before


def test_server_side_apply_creates_then_merges(client: Client) -> None:
    manifest = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1'}\n"
    path = "/api/v1/namespaces/p/configmaps/ssa?fieldManager=test"
    status, body = client.request("PATCH", path, raw=manifest, content_type="application/apply-patch+yaml")
    assert status == 201 and body["data"] == {"a": "1"}
    status, body = client.request("PATCH", path, raw=manifest.replace(b"a: '1'", b"b: '2'"),
                                  content_type="application/apply-patch+yaml")
    assert status == 200 and body["data"] == {"a": "1", "b": "2"}
    status, body = client.request("PATCH", "/api/v1/namespaces/p/configmaps/ssa", raw=manifest,
                                  content_type="application/apply-patch+yaml")
    assert status == 400  # fieldManager is required


def test_status_subresource_changes_only_status(client: Client) -> None:
    client.post(PODS, pod("st"))
    status, body = client.patch(f"{PODS}/st/status", {"status": {"phase": "Running"},
                                                      "metadata": {"labels": {"ignored": "yes"}}})
    assert status == 200 and body["status"]["phase"] == "Running"
    assert "ignored" not in (body["metadata"].get("labels") or {})
    status, body = client.patch(f"{PODS}/st", {"status": {"phase": "Failed"}, "metadata": {"labels": {"l": "1"}}})
    assert body["status"]["phase"] == "Running" and body["metadata"]["labels"] == {"l": "1"}
    status, got = client.get(f"{PODS}/st/status")
    got["status"]["phase"] = "Succeeded"
    status, body = client.put(f"{PODS}/st/status", got)
    assert status == 200 and body["status"]["phase"] == "Succeeded"


def test_binding_is_the_schedulers_path(client: Client, registry: objects.Registry) -> None:
    client.post(PODS, pod("b"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    status, body = client.post(f"{PODS}/b/binding", binding)
    assert status == 201 and body["kind"] == "Status" and body["status"] == "Success"
    bound = registry.get("Pod", "b", "p")
    assert bound.spec.node_name == "node-1"
    assert [c.type for c in bound.status.conditions] == ["PodScheduled"]
    status, body = client.post(f"{PODS}/b/binding", binding)
    assert status == 409 and 'is already assigned to node "node-1"' in body["message"]
    status, body = client.post(f"{PODS}/b/binding", {**binding, "target": {}})
    assert status == 422


def test_scale_subresource(client: Client) -> None:
    client.post(DEPLOYS, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                                   "template": {"metadata": {"labels": {"app": "d"}},
                                                "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    status, scale = client.get(f"{DEPLOYS}/d/scale")
    assert status == 200 and scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "app=d"
    status, scale = client.patch(f"{DEPLOYS}/d/scale", {"spec": {"replicas": 5}})
    assert status == 200 and scale["spec"]["replicas"] == 5
    _, deploy = client.get(f"{DEPLOYS}/d")
    assert deploy["spec"]["replicas"] == 5 and deploy["metadata"]["generation"] == 2
    scale["spec"]["replicas"] = 1
    status, scale2 = client.put(f"{DEPLOYS}/d/scale", scale)
    assert status == 200 and scale2["spec"]["replicas"] == 1
    status, body = client.put(f"{DEPLOYS}/d/scale", scale)  # the old resourceVersion
    assert status == 409
    status, body = client.patch(f"{DEPLOYS}/d/scale", {"spec": {"replicas": -1}})
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.replicas"
    status, _ = client.get("/api/v1/namespaces/p/pods/b/scale")
    assert status == 404


def test_delete_collection_by_label(client: Client) -> None:
    path = "/api/v1/namespaces/dc/configmaps"
    for i, team in enumerate(["a", "a", "b"]):
        client.post(path, {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": f"c{i}", "labels": {"team": team}}})
    status, body = client.delete(f"{path}?labelSelector=team%3Da")
    assert status == 200 and sorted(i["metadata"]["name"] for i in body["items"]) == ["c0", "c1"]
    _, left = client.get(path)
    assert [i["metadata"]["name"] for i in left["items"]] == ["c2"]
