"""A small kopf operator (PyPI kopf) whose handlers run against the server, in-process, bounded."""
from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

import apiserver
import objects
from apiclient import Client

kopf = pytest.importorskip("kopf")


def _wait_for(condition, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_kopf_operator_handles_creation_and_updates(server: apiserver.Server, registry: objects.Registry) -> None:
    handlers = kopf.OperatorRegistry()
    calls: list[tuple[str, str]] = []

    @kopf.on.login(registry=handlers)
    def login(**_: object) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=server.url, scheme="Bearer", token="unused")

    @kopf.on.startup(registry=handlers)
    def configure(settings: kopf.OperatorSettings, **_: object) -> None:
        settings.posting.enabled = False
        settings.watching.server_timeout = 10
        settings.watching.client_timeout = 15
        settings.networking.request_timeout = 15

    @kopf.on.create("configmaps", labels={"managed": "yes"}, registry=handlers)
    def created(name: str, patch: kopf.Patch, **_: object) -> None:
        calls.append(("create", name))
        patch.setdefault("data", {})["handled"] = "yes"

    @kopf.on.field("configmaps", field="data.wanted", labels={"managed": "yes"}, registry=handlers)
    def wanted_changed(name: str, new: object, patch: kopf.Patch, **_: object) -> None:
        calls.append(("wanted", name))
        patch.setdefault("data", {})["seen"] = str(new)

    client = Client(server.url)
    # kopf serves the namespaces that exist (it watches Namespace objects), as on a real cluster
    client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kopf"}})
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        asyncio.run(kopf.operator(registry=handlers, standalone=True, namespaces=["kopf"], clusterwide=False,
                                  stop_flag=stop, ready_flag=ready))

    logging.getLogger("kopf").setLevel(logging.WARNING)
    thread = threading.Thread(target=run, name="kopf-operator")
    thread.start()
    try:
        assert ready.wait(30)
        client.post("/api/v1/namespaces/kopf/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "op", "labels": {"managed": "yes"}},
            "data": {"wanted": "1"}})
        assert _wait_for(lambda: (registry.get("ConfigMap", "op", "kopf").data or {}).get("handled") == "yes")
        client.patch("/api/v1/namespaces/kopf/configmaps/op", {"data": {"wanted": "2"}})
        assert _wait_for(lambda: (registry.get("ConfigMap", "op", "kopf").data or {}).get("seen") == "2")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert ("create", "op") in calls and ("wanted", "op") in calls
    annotations = registry.get("ConfigMap", "op", "kopf").metadata.annotations
    assert "kopf.zalando.org/last-handled-configuration" in annotations  # kopf's own bookkeeping, patched in
