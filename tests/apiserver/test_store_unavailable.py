"""A store that cannot answer is kube-apiserver's 504 Timeout / 503 ServiceUnavailable Status, not a 500."""
from __future__ import annotations

import pathlib
import sys

import apiserver
import kvstore
import objects
from apiclient import Client, pod

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "objects"))
from test_registry_store_unavailable import FlakyStore  # noqa: E402

PODS = "/api/v1/namespaces/default/pods"


def test_timeouts_and_leaderless_stores_answer_504_and_503() -> None:
    store = FlakyStore(kvstore.Timeout)
    with apiserver.serve(objects.Registry(store)) as server:
        client = Client(server.url)
        assert client.post(PODS, pod("a"))[0] == 201
        store.failures = 1
        status, body = client.get(f"{PODS}/a")
        assert status == 504 and body["reason"] == "Timeout" and body["kind"] == "Status"
        store.error, store.failures = kvstore.NoLeader, 1
        status, body = client.post(PODS, pod("b"))
        assert status == 503 and body["reason"] == "ServiceUnavailable"
        assert client.get(f"{PODS}/b")[0] == 404  # nothing was written
        assert client.get(f"{PODS}/a")[0] == 200
