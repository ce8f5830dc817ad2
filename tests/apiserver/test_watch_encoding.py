"""The watch pump encodes an object once per round and hands the bytes to every watcher of it: the line a
watcher gets must be the JSON of its own event's object, never another's (review finding)."""
from __future__ import annotations

import json
import time
from typing import Any

import kvstore
import objects
from apiserver.context import Call
from apiserver.fanout import Subscription
from apiserver.resources import Catalog
from apiserver.routing import ResourcePath
from apiserver.watching import _encoder

TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1"


def _configmap(name: str, labels: dict[str, str]) -> Any:
    return objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": name, "namespace": "ns", "labels": labels}})


def _call(registry: objects.Registry, query: dict[str, str], accept: str = "") -> Call:
    res = Catalog(registry).lookup("", "v1", "configmaps")
    return Call(ResourcePath("", "v1", "configmaps", "ns"), res, query, accept=accept)


def _drain_all(sub: Subscription, cache: dict[Any, Any], want: int) -> list[dict[str, Any]]:
    lines: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(lines) < want and time.monotonic() < deadline:
        lines.extend(sub.drain(cache))
    return [json.loads(line) for chunk in lines for line in chunk.splitlines()]


def test_objects_that_leave_a_label_selector_are_each_sent_as_themselves() -> None:
    # An object leaving the filter is DELETED with a freshly decoded object that only that event holds:
    # once encoded and dropped its id() can be given to the next one decoded in the same round.
    store = kvstore.open()
    try:
        registry = objects.Registry(store)
        names = [f"cm{i}" for i in range(8)]
        for name in names:
            registry.create(_configmap(name, {"app": "x"}))
        stream = registry.watch("ConfigMap", namespace="ns", resource_version=str(store.revision),
                                label_selector="app=x")
        for name in names:
            registry.patch("ConfigMap", name, {"metadata": {"labels": {"app": "y"}}}, "ns")
        sub = Subscription(stream, "/configmaps/", _encoder(_call(registry, {}), False), None, False)  # type: ignore[arg-type]
        events = _drain_all(sub, {}, len(names))
        stream.stop()
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("DELETED", n) for n in names]
    finally:
        store.close()


def test_table_watchers_asking_for_different_object_forms_each_get_theirs() -> None:
    store = kvstore.open()
    try:
        registry = objects.Registry(store)
        start = str(store.revision)
        whole = registry.watch("ConfigMap", namespace="ns", resource_version=start)
        bare = registry.watch("ConfigMap", namespace="ns", resource_version=start)
        registry.create(_configmap("one", {}))
        cache: dict[Any, Any] = {}  # one round: both watchers drained with the same cache, as the pump does
        subs = [Subscription(stream, "/configmaps/", _encoder(_call(registry, {"includeObject": include}, TABLE), True),
                             None, False)  # type: ignore[arg-type]
                for stream, include in ((whole, "Object"), (bare, "None"))]
        got_whole, got_bare = (_drain_all(sub, cache, 1) for sub in subs)
        whole.stop()
        bare.stop()
        assert got_whole[0]["object"]["rows"][0]["object"]["metadata"]["name"] == "one"
        assert "object" not in got_bare[0]["object"]["rows"][0]
    finally:
        store.close()
