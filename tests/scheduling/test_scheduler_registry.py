"""End to end on the embedded kvstore (real files, real fsync): pods created in a Registry end up bound
through the pods/binding subresource, a restarted scheduler rebuilds its state from the registry, a
binding on a stale resourceVersion fails and is retried."""
from __future__ import annotations

import pathlib
import sys

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402


def _open(path: pathlib.Path):
    store = kvstore.open(str(path))
    return store, objects.Registry(store)


def _placements(registry) -> dict:
    return {p.metadata.name: p.spec.node_name for p in registry.list("Pod", all_namespaces=True).items}


def test_pods_created_in_the_registry_are_bound_and_survive_a_restart(tmp_path: pathlib.Path) -> None:
    store, registry = _open(tmp_path / "db")
    try:
        registry.create(node("a", cpu="2", pods=2))
        registry.create(node("b", cpu="2", pods=2))
        for i in range(2):
            registry.create(pod(f"first-{i}", cpu="1"))
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 2
        first = _placements(registry)
        assert all(first.values())
        bound = registry.get("Pod", "first-0", "default")
        assert any(c.type == "PodScheduled" and c.status == "True" for c in bound.status.conditions)
    finally:
        store.close()

    store, registry = _open(tmp_path / "db")  # the process restarts: store and scheduler both new
    try:
        for i in range(2):
            registry.create(pod(f"second-{i}", cpu="1"))
        registry.create(pod("too-big", cpu="3"))
        s = Scheduler()
        assert s.run(registry, until_idle=True, timeout=30) == 2
        placements = _placements(registry)
        assert {k: v for k, v in placements.items() if k.startswith("first")} == first
        assert placements["too-big"] is None
        per_node: dict = {}
        for name, where in placements.items():
            if where:
                per_node[where] = per_node.get(where, 0) + 1
        assert per_node == {"a": 2, "b": 2}  # the rebuilt cache knew the first pods' nodes
        assert s.cache.get("a").requested["cpu"] == 2000
    finally:
        store.close()


def test_deleted_nodes_and_pods_are_dropped_on_reconnect(tmp_path: pathlib.Path) -> None:
    store, registry = _open(tmp_path / "db")
    try:
        registry.create(node("a", cpu="1"))
        registry.create(pod("p", cpu="1"))
        s = Scheduler()
        assert s.run(registry, until_idle=True, timeout=30) == 1
        registry.delete("Pod", "p", "default")
        registry.create(node("b", cpu="1"))
        registry.delete("Node", "a")
        registry.create(pod("q", cpu="1"))
        assert s.run(registry, until_idle=True, timeout=30) == 1
        assert _placements(registry) == {"q": "b"}
        assert [n.name for n in s.cache.list()] == ["b"]
    finally:
        store.close()


def test_a_stale_resource_version_makes_the_binding_fail_and_retry(tmp_path: pathlib.Path) -> None:
    store, registry = _open(tmp_path / "db")
    now = [0.0]
    try:
        registry.create(node("a"))
        registry.create(pod("p"))
        s = Scheduler(clock=lambda: now[0])
        from scheduling.connect import RegistryConnection
        conn = RegistryConnection(s, registry)
        s._binder = conn.bind
        conn.rebuild()
        registry.patch("Pod", "p", {"metadata": {"labels": {"changed": "yes"}}}, "default")
        [result] = s.schedule_pending()  # the scheduler still holds the old version
        assert result.node_name is None
        assert result.message.startswith("running Bind plugin \"DefaultBinder\": binding pod 'default/p' to node "
                                          "'a': Operation cannot be fulfilled on pods \"p\": the object has "
                                          "been modified")
        assert registry.get("Pod", "p", "default").spec.node_name is None
        assert s.cache.get("a").pods == {}
        conn.drain()  # the watch brings the new version
        now[0] += 1.0
        assert [r.node_name for r in s.schedule_pending()] == ["a"]
        for _, stream in conn.streams:
            stream.stop()
    finally:
        store.close()


def test_run_in_a_thread_binds_pods_created_while_it_runs(tmp_path: pathlib.Path) -> None:
    import threading
    import time
    store, registry = _open(tmp_path / "db")
    stop = threading.Event()
    s = Scheduler()
    bound: list = []
    worker = threading.Thread(target=lambda: bound.append(s.run(registry, stop=stop, timeout=60)))
    try:
        registry.create(node("a"))
        worker.start()
        for i in range(5):
            registry.create(pod(f"live-{i}"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(_placements(registry).values()):
            time.sleep(0.02)
        assert _placements(registry) == {f"live-{i}": "a" for i in range(5)}
    finally:
        stop.set()
        worker.join(timeout=30)
    try:
        second = threading.Thread(target=lambda: bound.append(s.run(registry, timeout=60)))
        second.start()  # started again: rebuilds from the registry, then Scheduler.stop() ends it
        registry.create(pod("after-restart"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _placements(registry)["after-restart"]:
            time.sleep(0.02)
        s.stop()
        second.join(timeout=30)
        assert _placements(registry)["after-restart"] == "a"
    finally:
        s.stop()
        store.close()
    assert not worker.is_alive() and not second.is_alive() and bound == [5, 1]


def _pod_scheduled(p) -> tuple:
    found = [c for c in p.status.conditions if c.type == "PodScheduled"]
    return (found[0].status, found[0].reason, found[0].message) if found else ()


def test_unschedulable_pods_get_the_condition_once_and_bound_pods_true(tmp_path: pathlib.Path) -> None:
    store, registry = _open(tmp_path / "db")
    try:
        registry.create(node("a", cpu="1"))
        registry.create(pod("big", cpu="2"))
        registry.create(pod("gated", schedulingGates=[{"name": "example.com/wait"}]))
        s = Scheduler()
        assert s.run(registry, until_idle=True, timeout=30) == 0
        big = registry.get("Pod", "big", "default")
        message = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                   "1 No preemption victims found for incoming pod.")
        assert _pod_scheduled(big) == ("False", "Unschedulable", message)
        assert _pod_scheduled(registry.get("Pod", "gated", "default")) == ()  # never attempted
        # Attempted again (here by a restarted scheduler): the same verdict writes nothing.
        rv = big.metadata.resource_version
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 0
        assert registry.get("Pod", "big", "default").metadata.resource_version == rv
        registry.create(node("tiny", cpu="500m"))  # a new verdict is written
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 0
        assert _pod_scheduled(registry.get("Pod", "big", "default")) == (
            "False", "Unschedulable", "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are "
            "available: 2 No preemption victims found for incoming pod.")
        registry.create(node("large", cpu="4"))
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 1
        bound = registry.get("Pod", "big", "default")
        assert bound.spec.node_name == "large" and _pod_scheduled(bound)[0] == "True"
    finally:
        store.close()


def test_preemption_writes_the_nominated_node_name(tmp_path: pathlib.Path) -> None:
    store, registry = _open(tmp_path / "db")
    try:
        registry.create(objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                           "metadata": {"name": "high"}, "value": 100}))
        registry.create(node("a", cpu="1"))
        registry.create(pod("low", cpu="1"))
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 1
        created = registry.create(pod("high", cpu="1", priorityClassName="high"))
        history = registry.watch("Pod", all_namespaces=True, resource_version=created.metadata.resource_version)
        try:
            # Preempted, then taken from backoff at once when nothing else is active (as kube-scheduler
            # with SchedulerPopFromBackoffQ) and bound to the node it was nominated to.
            assert Scheduler().run(registry, until_idle=True, timeout=30) == 1
            seen = []
            for _ in range(100):
                event = history.get(1.0)
                if event is None:
                    break
                if event.object is not None and event.object.metadata.name == "high":
                    seen.append((event.object.status.nominated_node_name, _pod_scheduled(event.object)[:2],
                                 event.object.spec.node_name))
        finally:
            history.stop()
        assert ("a", ("False", "Unschedulable"), None) in seen
        assert seen[-1][2] == "a"
        assert [p.metadata.name for p in registry.list("Pod", all_namespaces=True).items] == ["high"]
        assert registry.get("Pod", "high", "default").spec.node_name == "a"
    finally:
        store.close()


def test_a_dropped_nomination_is_removed_from_the_status(tmp_path: pathlib.Path) -> None:
    store, registry = _open(tmp_path / "db")
    try:
        for name, value in (("high", 100), ("top", 1000)):
            registry.create(objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                               "metadata": {"name": name}, "value": value}))
        registry.create(node("a", cpu="1"))
        # The victim terminates gracefully (a finalizer holds it): the preemptor, back from backoff, finds
        # it still on its nominated node and waits for it instead of preempting again.
        registry.create(pod("low", cpu="1", node_name="a", metadata={"finalizers": ["example.com/hold"]}))
        registry.create(pod("high", cpu="1", priorityClassName="high"))
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 0
        assert registry.get("Pod", "low", "default").metadata.deletion_timestamp is not None
        high = registry.get("Pod", "high", "default")
        assert high.status.nominated_node_name == "a"
        assert "preemption: not eligible due to a terminating pod on the nominated node." in _pod_scheduled(high)[2]
        # Someone places a pod preemption may not touch on the node before the preemptor comes back.
        registry.create(pod("top", cpu="1", node_name="a", priorityClassName="top"))
        low = registry.get("Pod", "low", "default")
        registry.update(low.replace(metadata=low.metadata.replace(finalizers=[])))
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 0
        high = registry.get("Pod", "high", "default")
        assert high.status.nominated_node_name is None
        assert _pod_scheduled(high)[2].startswith("0/1 nodes are available: 1 Insufficient cpu.")
    finally:
        store.close()


def test_kinds_the_registry_lacks_are_skipped(tmp_path: pathlib.Path) -> None:
    class Older(objects.Registry):
        """A registry from before StatefulSets and Services existed."""

        def list(self, kind, *args, **kw):
            if kind in ("StatefulSet", "Service"):
                raise objects.UnknownResourceType(f'the server doesn\'t have a resource type "{kind}"')
            return super().list(kind, *args, **kw)

    store = kvstore.open(str(tmp_path / "db"))
    try:
        registry = Older(store)
        registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": "team", "labels": {"env": "prod"}}}))
        registry.create(node("a"))
        registry.create(pod("p", namespace="team"))
        s = Scheduler()
        assert s.run(registry, until_idle=True, timeout=30) == 1
        assert s.cluster_objects.namespace_labels("team") == {"env": "prod"}
    finally:
        store.close()


def test_a_concurrent_write_does_not_lose_the_condition(tmp_path: pathlib.Path) -> None:
    class Busy(objects.Registry):
        """Someone writes the pod's status just before our first condition patch lands."""

        raced = False

        def patch_status(self, kind, name, patch, namespace=None):
            if not self.raced and "conditions" in patch.get("status", {}):
                self.raced = True
                super().patch_status(kind, name, {"status": {"phase": "Pending"}}, namespace)
            return super().patch_status(kind, name, patch, namespace)

    store = kvstore.open(str(tmp_path / "db"))
    try:
        registry = Busy(store)
        registry.create(node("a", cpu="1"))
        registry.create(pod("big", cpu="2"))
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 0
        assert registry.raced
        big = registry.get("Pod", "big", "default")
        assert _pod_scheduled(big)[:2] == ("False", "Unschedulable") and big.status.phase == "Pending"
    finally:
        store.close()
