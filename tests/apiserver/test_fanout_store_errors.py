"""The watch pump survives a store that cannot answer its barrier call, and on a remote store (etcd through
kvstore.connect) makes no status() call at all: there it costs four RPCs, one of them etcd's HashKV over the
whole key space, for nothing, since each watch has its own stream from etcd (review finding)."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import apiserver
import kvstore
import objects
from apiclient import Client
from watchclient import WatchReader

PATH = "/api/v1/namespaces/pumped/configmaps"


class StatusProbe:
    """A real in-memory store whose ``status()`` raises ``error`` the next ``failures`` times, and counts calls."""

    def __init__(self, error: type[Exception] = kvstore.Timeout) -> None:
        self.inner = kvstore.open()
        self.error = error
        self.failures = 0
        self.status_calls = 0

    def status(self) -> Any:
        self.status_calls += 1
        if self.failures:
            self.failures -= 1
            raise self.error("injected")
        return self.inner.status()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RemoteLike(StatusProbe):
    """The same store presented as a remote one (kvstore.connect's EtcdStore has ``endpoints``)."""

    endpoints = ["http://127.0.0.1:2379"]


def _configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def _names_seen(reader: WatchReader, want: int) -> list[str]:
    seen: list[str] = []
    while len(seen) < want:
        event = reader.next(timeout=5)
        if event is None:
            break
        seen.append(event["object"]["metadata"]["name"])
    return seen


@contextlib.contextmanager
def _served_and_watched(store: StatusProbe) -> Iterator[tuple[Client, WatchReader]]:
    """A server on a Registry over ``store``, a client of it and a watch of PATH from the store's revision
    now; the server stopped and the store closed on exit."""
    try:
        with apiserver.serve(objects.Registry(store)) as server:
            rv = str(store.inner.revision)
            with WatchReader(server.url, f"{PATH}?watch=1&resourceVersion={rv}&timeoutSeconds=30") as reader:
                yield Client(server.url), reader
    finally:
        store.inner.close()


def test_watches_go_on_after_the_store_fails_the_pumps_barrier() -> None:
    store = StatusProbe()
    with _served_and_watched(store) as (client, reader):
        store.failures = 1
        assert client.post(PATH, _configmap("first"))[0] == 201
        assert client.post(PATH, _configmap("second"))[0] == 201
        assert _names_seen(reader, 2) == ["first", "second"]


def test_no_status_call_per_round_on_a_remote_store() -> None:
    store = RemoteLike()
    with _served_and_watched(store) as (client, reader):
        before = store.status_calls
        for i in range(3):
            assert client.post(PATH, _configmap(f"cm{i}"))[0] == 201
        assert _names_seen(reader, 3) == ["cm0", "cm1", "cm2"]
        assert store.status_calls == before
