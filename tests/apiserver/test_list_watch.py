"""list (selectors, pages, resourceVersionMatch), watch (events, BOOKMARK, 410), Table output."""
from __future__ import annotations

import apiserver
import objects
from apiclient import Client, pod
from watchclient import WatchReader

NS = "/api/v1/namespaces/lw/pods"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _names(body: dict) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


def test_label_and_field_selectors(client: Client) -> None:
    for i in range(4):
        client.post(NS, pod(f"sel{i}", {"app": "web" if i % 2 else "db"}))
    client.post(f"{NS}/sel1/binding", {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "sel1"},
                                       "target": {"kind": "Node", "name": "n1"}})
    _, body = client.get(f"{NS}?labelSelector=app%3Dweb")
    assert _names(body) == ["sel1", "sel3"]
    _, body = client.get(f"{NS}?labelSelector=app%20notin%20(web)")
    assert _names(body) == ["sel0", "sel2"]
    _, body = client.get(f"{NS}?fieldSelector=spec.nodeName%3Dn1")
    assert _names(body) == ["sel1"]
    _, body = client.get(f"{NS}?fieldSelector=metadata.name%3Dsel2")
    assert _names(body) == ["sel2"]
    status, body = client.get(f"{NS}?fieldSelector=spec.image%3Dx")
    assert status == 400 and body["message"] == "field label not supported: spec.image"
    status, body = client.get(f"{NS}?labelSelector=a%20in%20(")
    assert status == 400


def test_limit_and_continue_read_one_snapshot(client: Client) -> None:
    path = "/api/v1/namespaces/pages/configmaps"
    for i in range(5):
        client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm{i}"}})
    _, first = client.get(f"{path}?limit=2")
    assert _names(first) == ["cm0", "cm1"] and first["metadata"]["remainingItemCount"] == 3
    client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm9"}})
    _, second = client.get(f"{path}?limit=2&continue={first['metadata']['continue']}")
    assert _names(second) == ["cm2", "cm3"]
    _, third = client.get(f"{path}?limit=2&continue={second['metadata']['continue']}")
    assert _names(third) == ["cm4"] and "continue" not in third["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    status, _ = client.get(f"{path}?limit=2&continue=garbage")
    assert status == 422 or status == 400


def test_resource_version_match_exact_reads_the_past(client: Client) -> None:
    path = "/api/v1/namespaces/exact/configmaps"
    _, cm = client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    rv = cm["metadata"]["resourceVersion"]
    client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}})
    _, body = client.get(f"{path}?resourceVersion={rv}&resourceVersionMatch=Exact")
    assert _names(body) == ["a"] and body["metadata"]["resourceVersion"] == rv
    _, body = client.get(f"{path}?resourceVersion={rv}&resourceVersionMatch=NotOlderThan")
    assert _names(body) == ["a", "b"]
    status, body = client.get(f"{path}?resourceVersionMatch=Exact")
    assert status == 422 and body["reason"] == "Invalid"
    status, body = client.get(f"{path}?resourceVersion=99999999")
    assert status == 504


def test_watch_streams_added_modified_deleted(client: Client, server: apiserver.Server) -> None:
    path = "/api/v1/namespaces/w1/pods"
    _, listed = client.get(path)
    rv = listed["metadata"]["resourceVersion"]
    with WatchReader(server.url, f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=30") as watch:
        assert watch.status == 200
        client.post(path, pod("w", {"a": "1"}))
        client.patch(f"{path}/w", {"metadata": {"labels": {"a": "2"}}})
        client.delete(f"{path}/w")
        events = [watch.next() for _ in range(3)]
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1]["object"]["metadata"]["labels"] == {"a": "2"}
    assert all(e["object"]["kind"] == "Pod" for e in events)


def test_watch_without_resource_version_starts_with_current_objects_and_filters(client: Client,
                                                                                 server: apiserver.Server) -> None:
    path = "/api/v1/namespaces/w2/pods"
    client.post(path, pod("old", {"app": "x"}))
    client.post(path, pod("other", {"app": "y"}))
    with WatchReader(server.url, f"{path}?watch=true&labelSelector=app%3Dx") as watch:
        first = watch.next()
        assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "old"
        client.patch(f"{path}/other", {"metadata": {"labels": {"app": "x"}}})
        client.patch(f"{path}/old", {"metadata": {"labels": {"app": "z"}}})
        second, third = watch.next(), watch.next()
    assert (second["type"], second["object"]["metadata"]["name"]) == ("ADDED", "other")
    assert (third["type"], third["object"]["metadata"]["name"]) == ("DELETED", "old")


def test_watch_bookmarks_only_when_allowed(client: Client, server: apiserver.Server) -> None:
    path = "/api/v1/namespaces/w3/pods"
    _, listed = client.get(path)
    rv = listed["metadata"]["resourceVersion"]
    with WatchReader(server.url, f"{path}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true") as watch:
        event = None
        for _ in range(20):  # the fixture's server asks for a bookmark every 0.5 s
            event = watch.next(5)
            if event is not None and event["type"] == "BOOKMARK":
                break
        assert event is not None and event["type"] == "BOOKMARK"
        assert event["object"]["kind"] == "Pod" and int(event["object"]["metadata"]["resourceVersion"]) >= int(rv)
    with WatchReader(server.url, f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=2") as watch:
        assert watch.next(10) is None  # no bookmark, and the stream ends at its timeout


def test_watch_from_a_compacted_version_is_an_error_event_410(client: Client, server: apiserver.Server,
                                                               registry: objects.Registry) -> None:
    path = "/api/v1/namespaces/w4/configmaps"
    _, cm = client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    old = int(cm["metadata"]["resourceVersion"])
    client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}})
    registry.store.compact(registry.store.revision)
    with WatchReader(server.url, f"{path}?watch=1&resourceVersion={old - 1}") as watch:
        assert watch.status == 200
        event = watch.next()
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith("too old resource version")
    status, body = client.get(f"{path}?resourceVersion={old - 1}&resourceVersionMatch=Exact")
    assert status == 410 and body["reason"] == "Expired"


def test_tables_for_pods_nodes_deployments_services_and_others(client: Client) -> None:
    client.post("/api/v1/namespaces/t/pods", pod("tp"))
    _, table = client.get("/api/v1/namespaces/t/pods", headers={"Accept": TABLE})
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == \
        ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][:4] == ["tp", "0/1", "Pending", 0]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    client.post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "tn"},
                                  "spec": {"unschedulable": True},
                                  "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    _, table = client.get("/api/v1/nodes/tn", headers={"Accept": TABLE})
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == \
        ["Name", "Status", "Roles", "Age", "Version"]
    assert table["rows"][0]["cells"][1] == "Ready,SchedulingDisabled"
    client.post("/apis/apps/v1/namespaces/t/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "td"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    _, table = client.get("/apis/apps/v1/namespaces/t/deployments", headers={"Accept": TABLE})
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == \
        ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert table["rows"][0]["cells"][:4] == ["td", "0/3", 0, 0]
    client.post("/api/v1/namespaces/t/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ts"},
                                                  "spec": {"ports": [{"port": 80}], "clusterIP": "10.0.0.1"}})
    _, table = client.get("/api/v1/namespaces/t/services", headers={"Accept": TABLE})
    assert table["rows"][0]["cells"][:5] == ["ts", "ClusterIP", "10.0.0.1", "<none>", "80/TCP"]
    client.post("/api/v1/namespaces/t/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tc"}})
    _, table = client.get("/api/v1/namespaces/t/configmaps", headers={"Accept": TABLE})
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"][0] == "tc" and table["rows"][0]["cells"][1].endswith("s")


def test_human_duration() -> None:
    from apiserver.printers import human_duration
    assert [human_duration(s) for s in (5, 119, 125, 600, 3 * 3600 + 60, 9 * 3600, 3 * 86400 + 3600, 400 * 86400)] \
        == ["5s", "119s", "2m5s", "10m", "3h1m", "9h", "3d1h", "400d"]


def test_watch_list_sends_initial_events_then_an_annotated_bookmark(client: Client, server: apiserver.Server) -> None:
    path = "/api/v1/namespaces/w5/configmaps"
    for name in ("a", "b"):
        client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    query = "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    with WatchReader(server.url, f"{path}?{query}") as watch:
        first, second, bookmark = watch.next(), watch.next(), watch.next()
        client.post(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        later = watch.next()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in (first, second)] == [("ADDED", "a"), ("ADDED", "b")]
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert (later["type"], later["object"]["metadata"]["name"]) == ("ADDED", "c")
    status, body = client.get(f"{path}?watch=1&sendInitialEvents=true")
    assert status == 400


def test_legacy_watch_path_and_table_events(client: Client, server: apiserver.Server) -> None:
    _, listed = client.get("/api/v1/namespaces/w6/pods")
    rv = listed["metadata"]["resourceVersion"]
    with WatchReader(server.url, f"/api/v1/watch/namespaces/w6/pods?resourceVersion={rv}",
                     headers={"Accept": TABLE}) as watch:
        client.post("/api/v1/namespaces/w6/pods", pod("tw"))
        event = watch.next()
    assert event["type"] == "ADDED" and event["object"]["kind"] == "Table"
    assert event["object"]["rows"][0]["cells"][0] == "tw"
    _, whole = client.get("/api/v1/namespaces/w6/pods?includeObject=Object", headers={"Accept": TABLE})
    assert whole["rows"][0]["object"]["kind"] == "Pod" and whole["rows"][0]["object"]["spec"]["containers"]
