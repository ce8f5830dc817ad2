"""Builders, a stand-in kubelet and invariant watchers for the workload controller tests (not a test module)."""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterator

import objects
from objects import Condition, Registry

from controllers import ControllerManager, HollowNodes
from controllers.podstate import format_time, is_active
from scheduling import Scheduler

from ctrl_helpers import wait_for

POLL = 0.05


def deployment(name: str, replicas: int, image: str = "v1", namespace: str = "default",
               strategy: dict | None = None, **spec: Any) -> Any:
    labels = {"app": name}
    body: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels},
                                         "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}
    if strategy is not None:
        body["strategy"] = strategy
    return objects.from_dict({"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": name, "namespace": namespace}, "spec": body})


def with_image(registry: Registry, kind: str, name: str, image: str, namespace: str = "default", **spec: Any) -> Any:
    """Change the template's image (a new template), and other spec fields; the stored object."""
    obj = registry.get(kind, name, namespace)
    template = obj.spec.template
    containers = [c.replace(image=image) for c in template.spec.containers]
    template = template.replace(spec=template.spec.replace(containers=containers))
    return registry.update(obj.replace(spec=obj.spec.replace(template=template, **spec)))


def image_of(pod: Any) -> str:
    return pod.spec.containers[0].image


class Kubelet:
    """Plays the kubelets: pods that ``ready(pod)`` accepts go Running and Ready once seen. With ``bind`` a
    function of the pod giving a node name (or None), unbound pods it places are first bound there (a
    stand-in scheduler). Runs on its own thread until stop()."""

    def __init__(self, registry: Registry, ready: Callable[[Any], bool] = lambda p: True,
                 bind: Callable[[Any], str | None] | None = None, terminate_after: float = 0.3) -> None:
        self.registry, self.ready, self.bind = registry, ready, bind
        self.terminate_after = terminate_after
        self._terminating: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-kubelet", daemon=True)

    def __enter__(self) -> "Kubelet":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pod in self.registry.list("Pod", all_namespaces=True).items:
                if self._stop.is_set():
                    return
                try:
                    self._handle(pod)
                except (objects.Conflict, objects.NotFound):
                    pass
            self._stop.wait(POLL)

    def _handle(self, pod: Any) -> None:
        if pod.metadata.deletion_timestamp:
            # graceful deletion: the containers stop, then the kubelet deletes the object for good
            seen = self._terminating.setdefault(pod.metadata.uid, time.monotonic())
            if time.monotonic() - seen >= self.terminate_after:
                self.registry.delete("Pod", pod.metadata.name, pod.metadata.namespace, uid=pod.metadata.uid,
                                     grace_period_seconds=0)
            return
        if not is_active(pod):
            return
        if not pod.spec.node_name and self.bind is not None:
            node = self.bind(pod)
            if node:
                pod = self.registry.bind(pod.metadata.name, node, pod.metadata.namespace)
        if pod.status.phase == "Running" or not self.ready(pod):
            return
        conditions = [Condition(type="Ready", status="True", last_transition_time=format_time(time.time()))]
        self.registry.update_status(pod.replace(status=pod.status.replace(phase="Running", conditions=conditions)))


class PodWatcher:
    """Calls ``check(pods)`` with every active pod of the namespace after every pod event (a watch on the
    Registry, so no intermediate state is missed); records the first violation message."""

    def __init__(self, registry: Registry, check: Callable[[dict[str, Any]], str | None],
                 namespace: str = "default", include_terminating: bool = False) -> None:
        self.registry, self.check, self.namespace = registry, check, namespace
        self._kept = (lambda p: p.status.phase not in ("Succeeded", "Failed")) if include_terminating else is_active
        listed = registry.list("Pod", namespace)
        self.pods = {p.metadata.name: p for p in listed.items if self._kept(p)}
        self._stream = registry.watch("Pod", namespace, resource_version=listed.resource_version)
        self.violations: list[str] = []
        self.events = 0
        self.terminating = 0   # events showing a pod being deleted (graceful termination under way)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-pod-watcher", daemon=True)

    def __enter__(self) -> "PodWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._stream.stop()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            event = self._stream.get(0.1)
            if event is None:
                if self._stream.stopped:
                    return
                continue
            if event.type == "BOOKMARK":
                continue
            pod = event.object
            if event.type != "DELETED" and pod.metadata.deletion_timestamp:
                self.terminating += 1
            if event.type == "DELETED" or not self._kept(pod):
                self.pods.pop(pod.metadata.name, None)
            else:
                self.pods[pod.metadata.name] = pod
            self.events += 1
            problem = self.check(dict(self.pods))
            if problem and len(self.violations) < 20:
                self.violations.append(problem)


wait_until = wait_for  # the workload tests' name for the one bounded wait


def node(name: str, labels: dict | None = None, taints: list | None = None) -> Any:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": meta,
                              "spec": {"taints": taints or []}})


def daemon_set(name: str, image: str = "v1", namespace: str = "default", strategy: dict | None = None,
               pod_spec: dict | None = None, **spec: Any) -> Any:
    labels = {"app": name}
    body: dict[str, Any] = {"selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels},
                                         "spec": {"containers": [{"name": "c", "image": image}], **(pod_spec or {})}},
                            **spec}
    if strategy is not None:
        body["updateStrategy"] = strategy
    return objects.from_dict({"apiVersion": "apps/v1", "kind": "DaemonSet",
                              "metadata": {"name": name, "namespace": namespace}, "spec": body})


def stateful_set(name: str, replicas: int, image: str = "v1", namespace: str = "default",
                 strategy: dict | None = None, **spec: Any) -> Any:
    labels = {"app": name}
    body: dict[str, Any] = {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels},
                                         "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}
    if strategy is not None:
        body["updateStrategy"] = strategy
    return objects.from_dict({"apiVersion": "apps/v1", "kind": "StatefulSet",
                              "metadata": {"name": name, "namespace": namespace}, "spec": body})


@contextlib.contextmanager
def whole_cluster(registry: Registry, **node_options: Any) -> Iterator[tuple[Any, Any]]:
    """Three hollow nodes (``node_options`` for HollowNodes), every default controller and the real scheduler
    on ``registry``; yields (nodes, manager) and stops all three, the scheduler's thread within 30 s."""
    nodes = HollowNodes(registry, 3, termination_seconds=0, **node_options)
    with running_with_scheduler(registry, nodes, ControllerManager(registry, metrics=False)) as manager:
        yield nodes, manager


def advance_clock_until(clock: Any, predicate: Callable[[], Any], message: str, limit: float, pause: float,
                        wall_limit: float | None = None) -> None:
    """Move ``clock`` (a FakeClock) a second at a time, giving the threads ``pause`` seconds of wall time
    at each, until ``predicate`` holds; AssertionError after ``limit`` seconds of the clock (or, if given,
    ``wall_limit`` seconds of wall time)."""
    moved = 0.0
    deadline = None if wall_limit is None else time.monotonic() + wall_limit
    while not predicate():
        assert moved < limit, f"{message}: not after {limit} s of the clock"
        assert deadline is None or time.monotonic() < deadline, f"{message}: not after {wall_limit} s of wall time"
        clock.advance(1.0)
        moved += 1.0
        time.sleep(pause)


@contextlib.contextmanager
def running_with_scheduler(registry: Registry, nodes: Any, manager: Any,
                           scheduler_timeout: float | None = 120.0) -> Iterator[Any]:
    """Start ``nodes``, ``manager`` and the real scheduler (on a thread, its run bounded by
    ``scheduler_timeout`` unless None: a module-wide fixture's runs as long as the module) on ``registry``;
    yields ``manager`` and stops all three, the scheduler's thread within 30 s."""
    stop = threading.Event()
    scheduler = Scheduler()
    thread = threading.Thread(target=lambda: scheduler.run(registry, stop=stop, timeout=scheduler_timeout),
                              name="scheduler", daemon=True)
    nodes.start()
    manager.start()
    thread.start()
    try:
        yield manager
    finally:
        stop.set()
        thread.join(30)
        manager.stop()
        nodes.stop()
        assert not thread.is_alive()
