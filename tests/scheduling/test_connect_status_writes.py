"""run(registry)'s status writes, as kube-scheduler's updatePod: a failed cycle's nomination and PodScheduled
condition are one status patch (one revision), preconditioned on the pod as the scheduler holds it and
re-read only when someone else wrote it meanwhile."""
from __future__ import annotations

import pathlib
import sys

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402


def _pod_scheduled(p) -> tuple:
    found = [c for c in p.status.conditions if c.type == "PodScheduled"]
    return (found[0].status, found[0].reason) if found else ()


def _history(stream, name: str) -> list[tuple]:
    """(nominatedNodeName, PodScheduled, nodeName, labels) of every event of pod ``name`` already sent."""
    seen = []
    for _ in range(100):
        event = stream.get(1.0)
        if event is None:
            break
        if event.object is not None and event.object.metadata.name == name:
            o = event.object
            seen.append((o.status.nominated_node_name, _pod_scheduled(o), o.spec.node_name,
                         dict(o.metadata.labels or {})))
    return seen


def _scheduled_high(registry) -> list[tuple]:
    """Create pod "high", run the scheduler until idle (asserting it handled that one pod), and return
    the _history of "high" from its creation on."""
    created = registry.create(pod("high", cpu="1", priorityClassName="high"))
    stream = registry.watch("Pod", all_namespaces=True, resource_version=created.metadata.resource_version)
    try:
        assert Scheduler().run(registry, until_idle=True, timeout=30) == 1
        return _history(stream, "high")
    finally:
        stream.stop()


def _preemption(registry) -> None:
    registry.create(objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                       "metadata": {"name": "high"}, "value": 100}))
    registry.create(node("a", cpu="1"))
    registry.create(pod("low", cpu="1", node_name="a"))


def test_the_nomination_and_the_condition_are_one_write(tmp_path: pathlib.Path) -> None:
    store = kvstore.open(str(tmp_path / "db"))
    try:
        registry = objects.Registry(store)
        _preemption(registry)
        seen = _scheduled_high(registry)
        # The first change says both; then the binding.
        assert seen[0] == ("a", ("False", "Unschedulable"), None, {})
        assert seen[-1][1][0] == "True" and seen[-1][2] == "a"
        assert len(seen) == 2
        assert [p.metadata.name for p in registry.list("Pod", all_namespaces=True).items] == ["high"]
    finally:
        store.close()


def test_a_write_meanwhile_is_kept_and_the_status_written_after_a_re_read(tmp_path: pathlib.Path) -> None:
    class Busy(objects.Registry):
        """Someone labels the pod just before the scheduler's first status patch lands."""

        raced = False

        def patch_status(self, kind, name, patch, namespace=None):
            if not self.raced and "nominatedNodeName" in patch.get("status", {}):
                self.raced = True
                self.patch(kind, name, {"metadata": {"labels": {"team": "x"}}}, namespace)
            return super().patch_status(kind, name, patch, namespace)

    store = kvstore.open(str(tmp_path / "db"))
    try:
        registry = Busy(store)
        _preemption(registry)
        registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "b"},
                                           "spec": {"unschedulable": True}}))
        seen = _scheduled_high(registry)
        assert registry.raced
        assert seen[0] == (None, (), None, {"team": "x"})  # the other writer first: the precondition failed
        assert seen[1] == ("a", ("False", "Unschedulable"), None, {"team": "x"})  # re-read: the label kept
        high = registry.get("Pod", "high", "default")
        assert high.spec.node_name == "a" and high.metadata.labels == {"team": "x"}
    finally:
        store.close()
