"""get / list / create / update / delete through HTTP, with kube-apiserver's Status errors."""
from __future__ import annotations

import json

import apiserver
import objects
from apiclient import Client, pod

PODS = "/api/v1/namespaces/crud/pods"


def test_create_get_update_delete(client: Client, registry: objects.Registry) -> None:
    status, created = client.post(PODS, pod("a", {"app": "web"}, status={"phase": "Running"}))
    assert status == 201
    assert created["metadata"]["namespace"] == "crud" and created["metadata"]["uid"]
    assert created["status"] == {"phase": "Pending"}  # PrepareForCreate: the client does not set a pod's status
    stored = registry.get("Pod", "a", "crud")
    assert stored.metadata.resource_version == created["metadata"]["resourceVersion"]
    status, got = client.get(f"{PODS}/a")
    assert status == 200 and got == created
    got["metadata"]["labels"]["tier"] = "front"
    status, updated = client.put(f"{PODS}/a", got)
    assert status == 200 and updated["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    status, gone = client.delete(f"{PODS}/a")
    assert status == 200 and gone["metadata"]["name"] == "a"  # pods answer with the deleted object
    status, body = client.get(f"{PODS}/a")
    assert status == 404 and body["message"] == 'pods "a" not found'
    assert body["details"] == {"name": "a", "kind": "pods"}


def test_stale_update_is_409_conflict_with_the_api_servers_words(client: Client) -> None:
    _, created = client.post(PODS, pod("stale"))
    client.patch(f"{PODS}/stale", {"metadata": {"labels": {"x": "1"}}})
    created["metadata"]["labels"] = {"y": "2"}
    status, body = client.put(f"{PODS}/stale", created)
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on pods "stale": the object has been modified; please '
                               "apply your changes to the latest version and try again")
    _, now = client.get(f"{PODS}/stale")
    assert now["metadata"]["labels"] == {"x": "1"}


def test_already_exists_and_grouped_resources_are_qualified(client: Client) -> None:
    client.post(PODS, pod("dup"))
    status, body = client.post(PODS, pod("dup"))
    assert status == 409 and body["reason"] == "AlreadyExists" and body["message"] == 'pods "dup" already exists'
    status, body = client.get("/apis/apps/v1/namespaces/crud/deployments/none")
    assert status == 404 and body["message"] == 'deployments.apps "none" not found'
    assert body["details"]["group"] == "apps"


def test_invalid_object_is_422_with_field_causes_and_writes_nothing(client: Client, registry: objects.Registry) -> None:
    bad = pod("bad_name")
    bad["spec"]["containers"].append({"name": "c"})
    before = registry.store.revision
    status, body = client.post(PODS, bad)
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Pod "bad_name" is invalid: [')
    assert 'metadata.name: Invalid value: "bad_name"' in body["message"]
    fields = {c["field"]: c for c in body["details"]["causes"]}
    assert fields["spec.containers[1].image"]["reason"] == "FieldValueRequired"
    assert fields["spec.containers[1].name"]["reason"] == "FieldValueDuplicate"
    assert fields["metadata.name"]["reason"] == "FieldValueInvalid"
    assert registry.store.revision == before


def test_bad_bodies_are_4xx_and_write_nothing(client: Client, registry: objects.Registry) -> None:
    before = registry.store.revision
    status, body = client.request("POST", PODS, raw=b'{"kind": "Pod", ')
    assert status == 400 and body["reason"] == "BadRequest"
    status, body = client.request("POST", PODS, raw=b"a: [b", content_type="application/yaml")
    assert status == 400 and body["reason"] == "BadRequest"
    status, body = client.request("POST", PODS, raw=b"<pod/>", content_type="application/xml")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    status, body = client.post(PODS, {**pod("k"), "kind": "Service"})
    assert status == 400
    status, body = client.post("/api/v1/namespaces/other/pods", {**pod("k"), "metadata": {"name": "k",
                                                                                          "namespace": "crud"}})
    assert status == 400 and "does not match the namespace" in body["message"]
    status, body = client.post(PODS, ["not", "an", "object"])
    assert status == 400
    huge = pod("huge")
    huge["metadata"]["annotations"] = {"x": "y" * (4 * 1024 * 1024)}
    status, body = client.post(PODS, huge)
    assert status == 413 and body["reason"] == "RequestEntityTooLarge"
    assert registry.store.revision == before


def test_yaml_body_is_accepted(client: Client) -> None:
    text = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fromyaml}\ndata: {k: v}\n"
    status, body = client.request("POST", "/api/v1/namespaces/crud/configmaps", raw=text,
                                  content_type="application/yaml")
    assert status == 201 and body["data"] == {"k": "v"}


def test_generate_name_and_dry_run(client: Client, registry: objects.Registry) -> None:
    status, body = client.post(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "gen-"},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert status == 201 and body["metadata"]["name"].startswith("gen-") and len(body["metadata"]["name"]) == 9
    before = registry.store.revision
    status, body = client.post(PODS + "?dryRun=All", pod("dry"))
    assert status == 201 and body["metadata"]["uid"] and body["spec"]["schedulerName"] == "default-scheduler"
    status, _ = client.get(f"{PODS}/dry")
    assert status == 404
    _, gen = client.get(f"{PODS}")
    name = [p for p in gen["items"] if p["metadata"]["name"].startswith("gen-")][0]["metadata"]["name"]
    status, _ = client.delete(f"{PODS}/{name}?dryRun=All")
    assert status == 200
    status, _ = client.patch(f"{PODS}/{name}?dryRun=All", {"metadata": {"labels": {"a": "b"}}})
    assert status == 200
    assert registry.store.revision == before
    status, body = client.post(PODS + "?dryRun=Some", pod("dry"))
    assert status == 400


def test_delete_of_other_kinds_answers_success_status_and_honours_preconditions(client: Client) -> None:
    cms = "/api/v1/namespaces/crud/configmaps"
    _, cm = client.post(cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    status, body = client.delete(f"{cms}/cm", {"kind": "DeleteOptions", "apiVersion": "v1",
                                               "preconditions": {"uid": "not-it"}})
    assert status == 409 and "Precondition failed: UID in precondition: not-it" in body["message"]
    status, body = client.delete(f"{cms}/cm", {"propagationPolicy": "Background", "gracePeriodSeconds": 0})
    assert status == 200 and body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"] == {"name": "cm", "kind": "configmaps", "uid": cm["metadata"]["uid"]}
    status, body = client.delete(f"{cms}/cm2", {"propagationPolicy": "Sometimes"})
    assert status == 422


def test_delete_with_a_grace_period_marks_a_bound_running_pod_for_its_kubelet(client: Client,
                                                                             registry: objects.Registry) -> None:
    client.post(PODS, pod("graceful"))
    registry.bind("graceful", "n-grace", "crud")
    running = registry.get("Pod", "graceful", "crud")
    running.status.phase = "Running"
    registry.update_status(running)
    status, body = client.delete(f"{PODS}/graceful", {"gracePeriodSeconds": 30})
    assert status == 200 and body["metadata"]["deletionGracePeriodSeconds"] == 30
    assert body["metadata"]["deletionTimestamp"]
    assert registry.get("Pod", "graceful", "crud").metadata.deletion_timestamp  # still there, terminating
    status, body = client.delete(f"{PODS}/graceful?gracePeriodSeconds=0")  # kubectl delete --force
    assert status == 200
    status, _ = client.get(f"{PODS}/graceful")
    assert status == 404
    status, body = client.delete(f"{PODS}/graceful", {"gracePeriodSeconds": "soon"})
    assert status == 400


def test_cluster_scoped_and_namespaced_paths(client: Client) -> None:
    status, node = client.post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                                                 "status": {"capacity": {"cpu": "4"}}})
    assert status == 201 and node["status"]["allocatable"] == {"cpu": "4"}  # a node keeps its status
    status, _ = client.get("/api/v1/namespaces/crud/nodes/n1")
    assert status == 404
    status, all_pods = client.get("/api/v1/pods")
    assert status == 200 and all_pods["kind"] == "PodList"
    status, ns = client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": "team"}})
    assert status == 201 and ns["status"] == {"phase": "Active"}
    status, got = client.get("/api/v1/namespaces/team")
    assert status == 200 and got["metadata"]["name"] == "team"


def test_bearer_token() -> None:
    import kvstore
    store = kvstore.open()
    try:
        with apiserver.serve(objects.Registry(store), token="s3cret") as server:
            status, body = Client(server.url).get("/api/v1/namespaces/default/pods")
            assert status == 401 and body["reason"] == "Unauthorized" and body["code"] == 401
            status, _ = Client(server.url, token="wrong").get("/version")
            assert status == 401
            status, body = Client(server.url, token="s3cret").get("/api/v1/namespaces/default/pods")
            assert status == 200 and body["items"] == []
    finally:
        store.close()


def test_server_listens_on_loopback_and_stops(registry: objects.Registry) -> None:
    server = apiserver.serve(registry)
    assert server.url.startswith("http://127.0.0.1:")
    status, _ = Client(server.url).get("/version")
    assert status == 200
    server.stop()
    server.stop()
    import urllib.error
    import urllib.request
    try:
        urllib.request.urlopen(server.url + "/version", timeout=5)
        raise AssertionError("still serving")
    except urllib.error.URLError:
        pass


def test_json_is_compact_and_round_trips(client: Client) -> None:
    status, body = client.get("/api/v1/namespaces/crud/configmaps/fromyaml")
    assert status == 200 and json.loads(json.dumps(body)) == body


def test_propagation_policy_reaches_the_registry(client: Client, registry: objects.Registry) -> None:
    cms = "/api/v1/namespaces/crud/configmaps"
    client.post(cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fg"}})
    status, body = client.delete(f"{cms}/fg", {"propagationPolicy": "Foreground"})
    # the object stays, marked, until a garbage collector has deleted its dependents: answered with its state
    assert status == 200 and body["kind"] == "ConfigMap" and body["metadata"]["deletionTimestamp"]
    assert registry.get("ConfigMap", "fg", "crud").metadata.finalizers == ["foregroundDeletion"]
    status, body = client.delete(f"{cms}/fg?propagationPolicy=Orphan")
    assert status == 200


def test_protobuf_bodies(client: Client) -> None:
    cms = "/api/v1/namespaces/crud/configmaps"
    client.post(cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pb"}})
    status, body = client.request("DELETE", f"{cms}/pb", raw=b"not the envelope",
                                  content_type="application/vnd.kubernetes.protobuf")
    assert status == 400
    status, body = client.request("POST", cms, raw=b"k8s\x00\x0a\x00", content_type="application/vnd.kubernetes.protobuf")
    assert status == 415  # only DeleteOptions are read from protobuf
    assert client.get(f"{cms}/pb")[0] == 200


def test_system_namespaces_exist(client: Client) -> None:
    _, listed = client.get("/api/v1/namespaces")
    names = {ns["metadata"]["name"] for ns in listed["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    assert all(ns["status"]["phase"] == "Active" for ns in listed["items"])
