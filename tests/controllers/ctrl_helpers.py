"""Shared builders and bounded waits for the controller tests (not a test module)."""
from __future__ import annotations

import time
from typing import Any, Callable

import kvstore
import objects
from objects import Registry

WAIT = 30.0  # every wait on threads is bounded by this (generous: the machine is shared)


class FakeClock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_registry() -> tuple[Any, Registry]:
    store = kvstore.open()
    return store, Registry(store)


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT, message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.01)


def pod(name: str, namespace: str = "default", labels: dict | None = None, node_name: str | None = None,
        owner: Any = None, **spec: Any) -> Any:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner.api_version, "kind": owner.kind,
                                    "name": owner.metadata.name, "uid": owner.metadata.uid, "controller": True,
                                    "blockOwnerDeletion": True}]
    body: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}], **spec}
    if node_name:
        body["nodeName"] = node_name
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body})


def config_map(name: str, namespace: str = "default", data: dict | None = None, labels: dict | None = None) -> Any:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}})
