"""The server over a Registry on a real etcd (``kvstore.connect``): CRUD and watches through HTTP, where each
watch has its own etcd watch stream (the fan-out's re-check delivers what arrives after the wake-up)."""
from __future__ import annotations

import pathlib
import sys

import pytest

import apiserver
import kvstore
import objects
from apiclient import Client, pod
from watchclient import WatchReader

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from etcd_server import EtcdServer  # noqa: E402
from etcd_store import FAST_ELECTION, SKIP_ETCD  # noqa: E402

pytestmark = [pytest.mark.etcd, SKIP_ETCD]


def test_crud_and_watch_over_etcd() -> None:
    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as etcd:
        with kvstore.connect(f"127.0.0.1:{etcd.client_port}", timeout=30) as store:
            with apiserver.serve(objects.Registry(store)) as server:
                client = Client(server.url)
                path = "/api/v1/namespaces/e/pods"
                status, created = client.post(path, pod("a", {"app": "x"}))
                assert status == 201
                rv = created["metadata"]["resourceVersion"]
                with WatchReader(server.url, f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=30") as watch:
                    for i in range(5):
                        assert client.patch(f"{path}/a", {"metadata": {"labels": {"n": str(i)}}})[0] == 200
                    events = [watch.next(20) for _ in range(5)]
                assert [e["object"]["metadata"]["labels"]["n"] for e in events] == [str(i) for i in range(5)]
                _, listed = client.get(f"{path}?labelSelector=app%3Dx")
                assert [p["metadata"]["name"] for p in listed["items"]] == ["a"]
                assert client.delete(f"{path}/a")[0] == 200
