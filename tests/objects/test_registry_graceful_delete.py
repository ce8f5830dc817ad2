"""Registry.delete(..., grace_period_seconds=N): the API server's graceful deletion of pods."""
from __future__ import annotations

import pytest

import kvstore
import objects
from objects import Registry

NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def env():
    store = kvstore.open()
    clock = Clock()
    yield Registry(store, clock=clock), clock
    store.close()


def _pod(name: str, node: str | None = "n1", phase: str | None = None, finalizers=None):
    meta = {"name": name, "namespace": "default"}
    if finalizers:
        meta["finalizers"] = finalizers
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **({"nodeName": node} if node else {})}}
    if phase:
        body["status"] = {"phase": phase}
    return objects.from_dict(body)


def test_a_bound_pod_is_marked_and_stays_until_the_final_delete(env) -> None:
    registry, clock = env
    created = registry.create(_pod("web"))
    marked = registry.delete("Pod", "web", "default", grace_period_seconds=30)
    assert marked.metadata.deletion_timestamp == "2023-11-14T22:13:50Z"  # now + 30 s
    assert marked.metadata.deletion_grace_period_seconds == 30
    assert marked.metadata.generation == created.metadata.generation + 1
    stored = registry.get("Pod", "web", "default")
    assert stored.metadata.deletion_timestamp == marked.metadata.deletion_timestamp
    # the kubelet writes the terminated status: the pod stays
    status = registry.patch_status("Pod", "web", {"status": {"phase": "Failed"}}, "default")
    assert status.status.phase == "Failed"
    assert registry.get("Pod", "web", "default").metadata.deletion_grace_period_seconds == 30
    gone = registry.delete("Pod", "web", "default", grace_period_seconds=0, uid=created.metadata.uid)
    assert gone.metadata.name == "web"
    with pytest.raises(objects.NotFound):
        registry.get("Pod", "web", "default")


def test_a_later_delete_shortens_the_period_never_lengthens_it(env) -> None:
    registry, clock = env
    registry.create(_pod("web"))
    first = registry.delete("Pod", "web", "default", grace_period_seconds=30)
    again = registry.delete("Pod", "web", "default", grace_period_seconds=60)
    assert again.metadata.deletion_timestamp == first.metadata.deletion_timestamp
    assert again.metadata.resource_version == first.metadata.resource_version  # nothing written
    shorter = registry.delete("Pod", "web", "default", grace_period_seconds=5)
    assert shorter.metadata.deletion_timestamp == "2023-11-14T22:13:25Z"
    assert shorter.metadata.deletion_grace_period_seconds == 5


def test_unbound_finished_and_other_kinds_go_at_once(env) -> None:
    registry, _ = env
    registry.create(_pod("pending", node=None))
    registry.create(_pod("done", phase="Succeeded"))
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "cm", "namespace": "default"}}))
    for kind, name in (("Pod", "pending"), ("Pod", "done"), ("ConfigMap", "cm")):
        registry.delete(kind, name, "default", grace_period_seconds=30)
        with pytest.raises(objects.NotFound):
            registry.get(kind, name, "default")
    registry.create(_pod("now"))
    registry.delete("Pod", "now", "default")  # no period asked: at once, as before
    with pytest.raises(objects.NotFound):
        registry.get("Pod", "now", "default")


def test_finalizers_keep_the_pod_after_the_final_delete(env) -> None:
    registry, _ = env
    registry.create(_pod("web", finalizers=["example.com/keep"]))
    registry.delete("Pod", "web", "default", grace_period_seconds=10)
    final = registry.delete("Pod", "web", "default", grace_period_seconds=0)
    assert final.metadata.deletion_grace_period_seconds == 0
    assert final.metadata.deletion_timestamp == "2023-11-14T22:13:20Z"
    cleared = registry.get("Pod", "web", "default")
    registry.update(cleared.replace(metadata=cleared.metadata.replace(finalizers=[])))
    with pytest.raises(objects.NotFound):
        registry.get("Pod", "web", "default")


def test_a_bad_grace_period_is_refused_and_changes_nothing(env) -> None:
    registry, _ = env
    created = registry.create(_pod("web"))
    for bad in (-1, 1.5, "30"):
        with pytest.raises(objects.ValidationError) as err:
            registry.delete("Pod", "web", "default", grace_period_seconds=bad)
        assert "gracePeriodSeconds" in str(err.value)
    assert registry.get("Pod", "web", "default").metadata.resource_version == created.metadata.resource_version
