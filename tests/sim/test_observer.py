"""borgsim's PodObserver on a real store: what it records from its list + watch (creation, node, first Running
and Ready, deletion), that waiters wake on a change, and that a compacted watch lists again and drops the
pods deleted meanwhile."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import kvstore
import objects
from borgsim.observe import PodObserver


def pod(name: str, namespace: str) -> Any:
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
                              "spec": {"containers": [{"name": "c", "image": "pause"}]}})


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.01)
    return value


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _running(registry: Any, name: str, ready: str = "True") -> Any:
    current = registry.get("Pod", name, "density")
    return registry.patch_status("Pod", name, {
        "metadata": {"resourceVersion": current.metadata.resource_version},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]}}, "density")


def test_the_observer_records_creation_node_running_and_deletion() -> None:
    clock = _Clock()
    with kvstore.open() as store:
        registry = objects.Registry(store)
        registry.create(pod("early", namespace="density"))
        observer = PodObserver(registry, "density", clock=clock)
        observer.start(timeout=30)
        try:
            early = registry.get("Pod", "early", "density").metadata.uid
            assert observer.existing == {early} and observer.created[early] == 100.0
            clock.now = 101.0
            late = registry.create(pod("late", namespace="density")).metadata.uid
            registry.create(pod("elsewhere", namespace="other"))
            wait_for(lambda: late in observer.existing, message="the new pod seen")
            assert observer.created[late] == 101.0 and late not in observer.node_of
            registry.bind("late", "node-a", "density")
            wait_for(lambda: observer.node_of.get(late) == "node-a", message="the binding seen")
            clock.now = 102.5
            _running(registry, "late", ready="False")
            registry.patch("Pod", "late", {"metadata": {"labels": {"x": "1"}}}, namespace="density")
            woke = threading.Event()
            waiter = threading.Thread(target=lambda: observer.wait(lambda o: o.running_count() == 1, 30) and woke.set())
            waiter.start()
            clock.now = 103.0
            _running(registry, "late")
            waiter.join(30)
            assert woke.is_set()
            assert observer.running == {late: "node-a"} and observer.running_at[late] == 103.0
            assert observer.latencies([late, early]) == [2.0]
            assert observer.running_count(["node-a"]) == 0 and observer.running_count(["node-b"]) == 1
            clock.now = 104.0
            _running(registry, "late")  # Running again: the first time stays
            registry.delete("Pod", "late", "density", grace_period_seconds=30)
            wait_for(lambda: observer.running_count() == 0, message="a pod being deleted is not Running")
            assert observer.running_at[late] == 103.0 and late in observer.existing
            registry.delete("Pod", "late", "density", grace_period_seconds=0)
            wait_for(lambda: late not in observer.existing, message="the deletion seen")
            assert observer.existing == {early} and observer.uids_created_between(100.5, 200) == [late]
        finally:
            observer.stop()


class _Stream:
    def __init__(self, inner: Any, owner: "_BrokenWatches") -> None:
        self._inner, self._owner = inner, owner

    def get(self, timeout: float | None = None) -> Any:
        if self._owner.expire.is_set():
            self._owner.expire.clear()
            raise objects.Expired("too old resource version (the test's)")
        event = self._inner.get(timeout)
        return None if self._owner.deaf.is_set() else event

    def take(self, timeout: float | None = None) -> list[Any]:
        if self._owner.expire.is_set():
            self._owner.expire.clear()
            raise objects.Expired("too old resource version (the test's)")
        events = self._inner.take(timeout)
        return [] if self._owner.deaf.is_set() else events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _BrokenWatches:
    """A Registry whose watch streams can be made to miss events (``deaf``), then to say their version was
    compacted (``expire``)."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry
        self.deaf, self.expire = threading.Event(), threading.Event()
        self.lists = 0

    def watch(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(self._registry.watch(*args, **kwargs), self)

    def list(self, *args: Any, **kwargs: Any) -> Any:
        self.lists += 1
        return self._registry.list(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)


def test_a_compacted_watch_lists_again_and_drops_the_pods_deleted_meanwhile() -> None:
    clock = _Clock()
    with kvstore.open() as store:
        registry = objects.Registry(store)
        broken = _BrokenWatches(registry)
        observer = PodObserver(broken, "density", clock=clock)
        observer.start(timeout=30)
        try:
            stays = registry.create(pod("stays", namespace="density")).metadata.uid
            goes = registry.create(pod("goes", namespace="density")).metadata.uid
            registry.bind("goes", "node-a", "density")
            _running(registry, "goes")
            wait_for(lambda: observer.running == {goes: "node-a"}, message="Running seen")
            broken.deaf.set()
            registry.delete("Pod", "goes", "density", grace_period_seconds=0)
            clock.now = 105.0
            new = registry.create(pod("new", namespace="density")).metadata.uid
            broken.deaf.clear()
            broken.expire.set()
            wait_for(lambda: broken.lists == 2 and observer.existing == {stays, new}, message="listed again")
            assert observer.running == {} and observer.running_count() == 0
            assert observer.created[new] == 105.0 and observer.created[stays] == 100.0
            later = registry.create(pod("later", namespace="density")).metadata.uid
            wait_for(lambda: later in observer.existing, message="watching again after the list")
        finally:
            observer.stop()


def test_a_waiter_gets_its_predicates_error_and_the_observer_goes_on() -> None:
    with kvstore.open() as store:
        registry = objects.Registry(store)
        observer = PodObserver(registry, "density")
        observer.start(timeout=30)
        try:
            assert observer.wait(lambda o: bool(o.existing), 0.3) is False  # timed out: no pod yet
            errors: list[BaseException] = []

            def wait() -> None:
                try:
                    observer.wait(lambda o: bool(o.existing) and 1 / 0 == 0, 30)
                except ZeroDivisionError as exc:
                    errors.append(exc)
            waiter = threading.Thread(target=wait)
            waiter.start()
            first = registry.create(pod("first", namespace="density")).metadata.uid
            waiter.join(30)
            assert not waiter.is_alive() and len(errors) == 1
            second = registry.create(pod("second", namespace="density")).metadata.uid
            assert observer.wait(lambda o: o.existing == {first, second}, 30)
        finally:
            observer.stop()
