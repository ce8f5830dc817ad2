"""Hollow nodes and their own status writes: a write that leaves nothing to do counts as acted on (its watch
event is not synced again), every other change of the pod is still acted on, and a timer that fires before
the pod informer has the node's own write acts on that write."""
from __future__ import annotations

import threading
from typing import Any

import pytest

import objects
from controllers.hollownodes import HollowNodes

from ctrl_helpers import FakeClock, pod, wait_for


@pytest.fixture
def clock():
    return FakeClock()


def _get(registry, name, namespace="default"):
    try:
        return registry.get("Pod", name, namespace)
    except objects.NotFound:
        return None


def _ready(p) -> str | None:
    return next((c.status for c in p.status.conditions or () if c.type == "Ready"), None)


def test_the_running_write_counts_as_acted_on(registry, clock) -> None:
    with HollowNodes(registry, 1, clock=clock) as nodes:
        registry.create(pod("web", node_name="hollow-node-0"))
        running = wait_for(lambda: (p := _get(registry, "web")) is not None and p.status.phase == "Running" and p,
                           message="Running")
        wait_for(lambda: nodes.observed("default/web") == running.metadata.resource_version,
                 message="the node's own write observed")
        assert nodes.writes["pod_status"] == 1


def test_changes_by_other_writers_after_running_are_still_acted_on(registry, clock) -> None:
    with HollowNodes(registry, 1, clock=clock) as nodes:
        registry.create(pod("web", node_name="hollow-node-0"))
        running = wait_for(lambda: (p := _get(registry, "web")) is not None and p.status.phase == "Running" and p,
                           message="Running")
        # what the node lifecycle controller writes for a pod on an unreachable node: Ready False
        conditions = [objects.to_dict(c) for c in running.status.conditions]
        for c in conditions:
            if c["type"] == "Ready":
                c.update(status="False", reason="NodeNotReady")
        marked = registry.patch_status("Pod", "web", {"metadata": {"resourceVersion": running.metadata.resource_version},
                                                      "status": {"conditions": conditions}}, "default")
        assert _ready(marked) == "False"
        again = wait_for(lambda: (p := _get(registry, "web")) is not None and _ready(p) == "True" and p,
                         message="made ready again")
        assert int(again.metadata.resource_version) > int(marked.metadata.resource_version)
        wait_for(lambda: nodes.observed("default/web") == again.metadata.resource_version, message="observed")
        # a label change (no status change) is a new version the node looks at, and leaves the pod as it is
        labelled = registry.patch("Pod", "web", {"metadata": {"labels": {"extra": "yes"}}}, namespace="default")
        wait_for(lambda: nodes.observed("default/web") == labelled.metadata.resource_version,
                 message="the label change observed")
        assert _get(registry, "web").metadata.resource_version == labelled.metadata.resource_version
        # and a graceful deletion ends the pod
        deleting = registry.delete("Pod", "web", "default", grace_period_seconds=30)
        wait_for(lambda: nodes.observed("default/web") == deleting.metadata.resource_version,
                 message="the deletion seen")
        clock.advance(2)
        wait_for(lambda: _get(registry, "web") is None, message="deleted after its termination time")


class _EchoStream:
    def __init__(self, inner: Any, owner: "_HoldRunningEcho") -> None:
        self._inner, self._owner = inner, owner

    def get(self, timeout: float | None = None) -> Any:
        event = self._inner.get(timeout)
        self._hold([event] if event is not None else [])
        return event

    def take(self, timeout: float | None = None) -> list[Any]:
        events = self._inner.take(timeout)
        self._hold(events)
        return events

    def _hold(self, events: list[Any]) -> None:
        if any(e.object is not None and e.object.status.phase == "Running" for e in events):
            self._owner.held.set()
            # bounded: a node that waits for this event fails the test, not hangs
            if not self._owner.release.wait(10):
                self._owner.timed_out = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _HoldRunningEcho:
    """A Registry whose watch streams hold back the event of a pod's Running version until a pod status is
    written after it: the hollow nodes' pod informer has not seen their Running write when their next timer
    fires."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry
        self.held, self.release = threading.Event(), threading.Event()
        self.timed_out = False

    def watch(self, *args: Any, **kwargs: Any) -> _EchoStream:
        return _EchoStream(self._registry.watch(*args, **kwargs), self)

    def patch_status(self, kind: str, name: str, patch: Any, namespace: str | None = None) -> Any:
        if kind == "Pod" and self.held.is_set():
            self.release.set()
        return self._registry.patch_status(kind, name, patch, namespace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)


def test_a_timer_due_before_the_informer_has_the_nodes_write_acts_on_that_write(registry, clock) -> None:
    holding = _HoldRunningEcho(registry)
    nodes = HollowNodes(holding, 1, clock=clock)
    nodes.start()
    try:
        p = pod("job", node_name="hollow-node-0", restartPolicy="Never")
        # an exit code alone: the containers exit as soon as they run, a timer due at once after the Running
        # write, while the informer is held before that write's event
        registry.create(p.replace(metadata=p.metadata.replace(annotations={"borgkit.io/exit-code": "0"})))
        done = wait_for(lambda: (q := _get(registry, "job")) is not None and q.status.phase == "Succeeded" and q,
                        message="Succeeded although the informer had not seen Running")
        assert holding.held.is_set() and not holding.timed_out and nodes.writes["pod_status"] == 2
        wait_for(lambda: nodes.observed("default/job") == done.metadata.resource_version, message="observed")
    finally:
        nodes.stop()


class _SlowStatusWrites:
    """A Registry whose pod status writes wait until the test lets them through."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry
        self.entered, self.go = threading.Event(), threading.Event()

    def patch_status(self, kind: str, name: str, patch: Any, namespace: str | None = None) -> Any:
        if kind == "Pod":
            self.entered.set()
            self.go.wait(30)  # bounded
        return self._registry.patch_status(kind, name, patch, namespace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)


def test_not_idle_while_a_watch_events_sync_is_under_way(registry, clock) -> None:
    slow = _SlowStatusWrites(registry)
    nodes = HollowNodes(slow, 1, clock=clock)
    nodes.start()
    try:
        registry.create(pod("web", node_name="hollow-node-0"))
        assert slow.entered.wait(30)
        assert not nodes.idle()
        slow.go.set()
        wait_for(lambda: (p := _get(registry, "web")) is not None and p.status.phase == "Running", message="Running")
        wait_for(nodes.idle, message="idle once written")
    finally:
        slow.go.set()
        nodes.stop()
