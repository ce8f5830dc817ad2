"""Discovery documents as kube-apiserver serves them, built from the kinds the Registry stores."""
from __future__ import annotations

from apiclient import Client


def test_version(client: Client) -> None:
    status, body = client.get("/version")
    assert status == 200
    assert body["major"] == "1" and body["gitVersion"].startswith("v1.")


def test_core_group_and_named_groups(client: Client) -> None:
    status, body = client.get("/api")
    assert status == 200 and body["kind"] == "APIVersions" and body["versions"] == ["v1"]
    status, body = client.get("/apis")
    groups = {g["name"]: g for g in body["groups"]}
    assert {"apps", "policy", "scheduling.k8s.io", "coordination.k8s.io"} <= set(groups)
    assert groups["apps"]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}


def test_resource_lists_carry_scope_verbs_and_short_names(client: Client) -> None:
    _, core = client.get("/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["namespaced"] is True and by_name["pods"]["shortNames"] == ["po"]
    assert by_name["nodes"]["namespaced"] is False and by_name["nodes"]["shortNames"] == ["no"]
    assert by_name["namespaces"]["shortNames"] == ["ns"] and by_name["services"]["shortNames"] == ["svc"]
    assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= set(by_name["pods"]["verbs"])
    assert by_name["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["pods/binding"]["kind"] == "Binding"
    _, apps = client.get("/apis/apps/v1")
    by_name = {r["name"]: r for r in apps["resources"]}
    assert by_name["deployments"]["shortNames"] == ["deploy"]
    assert by_name["deployments/scale"]["kind"] == "Scale" and by_name["deployments/scale"]["group"] == "autoscaling"
    assert by_name["statefulsets"]["shortNames"] == ["sts"]


def test_unknown_paths_are_404_status(client: Client) -> None:
    for path in ("/api/v2", "/apis/nope/v1", "/api/v1/widgets", "/apis/apps/v1/namespaces/default/pods"):
        status, body = client.get(path)
        assert status == 404, path
        assert body["kind"] == "Status" and body["reason"] == "NotFound"


def test_openapi_v3_is_built_from_the_models(client: Client) -> None:
    status, root = client.get("/openapi/v3")
    assert status == 200 and "api/v1" in root["paths"] and "apis/apps/v1" in root["paths"]
    status, doc = client.get(root["paths"]["api/v1"]["serverRelativeURL"])
    assert status == 200 and doc["openapi"].startswith("3.")
    pod = doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    container = doc["components"]["schemas"]["io.k8s.api.core.v1.Container"]
    assert container["properties"]["image"] == {"type": "string"} and "name" in container["required"]
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}, "uniqueItems": True} \
        in patch["parameters"]
    status, _ = client.get("/openapi/v2")
    assert status == 404
