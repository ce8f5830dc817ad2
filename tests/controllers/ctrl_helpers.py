"""Shared builders and bounded waits for the controller tests (not a test module)."""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import kvstore
import objects
from objects import Registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the replication test package
from replication.support import wait_until  # noqa: E402

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
    return wait_until(predicate, timeout, message, interval=0.01)


@contextlib.contextmanager
def started_managers(registry: Registry, controllers: Iterable[str]) -> Iterator[Callable[..., Any]]:
    """A `make(controllers=..., **options)` that starts a ControllerManager (metrics off) running
    `controllers` unless told others; every manager it started is stopped on exit."""
    from controllers import ControllerManager
    defaults = list(controllers)
    managers: list[Any] = []

    def make(controllers: Iterable[str] = defaults, **options: Any) -> Any:
        m = ControllerManager(registry, controllers=list(controllers), metrics=False, **options)
        m.start()
        managers.append(m)
        return m
    try:
        yield make
    finally:
        for m in managers:
            m.stop()


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


def replica_set(name: str, replicas: int, labels: dict | None = None, namespace: str = "default",
                min_ready_seconds: int | None = None, kind: str = "ReplicaSet", **pod_spec: Any) -> Any:
    labels = labels or {"app": name}
    spec: dict[str, Any] = {"replicas": replicas,
                            "template": {"metadata": {"labels": labels},
                                         "spec": {"containers": [{"name": "c", "image": "busybox"}], **pod_spec}}}
    if kind == "ReplicaSet":
        spec["selector"] = {"matchLabels": labels}
        api = "apps/v1"
    else:
        spec["selector"] = labels
        api = "v1"
    if min_ready_seconds is not None:
        spec["minReadySeconds"] = min_ready_seconds
    return objects.from_dict({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace},
                              "spec": spec})


def set_pod_phase(registry: Registry, p: Any, phase: str, ready: bool = False, ready_since: float | None = None) -> Any:
    """Write a pod's status as a kubelet would (phase, Ready condition)."""
    from objects import Condition
    from controllers.podstate import format_time
    since = format_time(ready_since if ready_since is not None else time.time())
    conditions = [Condition(type="Ready", status="True" if ready else "False", last_transition_time=since)]
    fresh = registry.get("Pod", p.metadata.name, p.metadata.namespace)
    return registry.update_status(fresh.replace(status=fresh.status.replace(phase=phase, conditions=conditions)))


def owned_pods(registry: Registry, owner: Any, active_only: bool = True) -> list[Any]:
    from controllers.controllerref import is_controlled_by
    from controllers.podstate import is_active
    return [p for p in registry.list("Pod", owner.metadata.namespace).items
            if is_controlled_by(p, owner) and (is_active(p) or not active_only)]
