"""Registry.bind on the models encodes the bound pod once, from the stored object: what it stores is what
the full codec (validation and defaulting of the whole pod) would store, and every watcher sees it."""
from __future__ import annotations

import msgpack
import pytest

import kvstore
import objects
from objects import Conflict, ValidationError
from objects.registry import Registry


def _pod(name: str, **status: object) -> objects.Pod:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "a"}},
                "spec": {"containers": [{"name": "c", "image": "pause",
                                         "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}]}}
    if status:
        manifest["status"] = status
    return objects.from_dict(manifest)


@pytest.fixture
def registry():
    with kvstore.open() as store:
        yield Registry(store, clock=lambda: 1_700_000_000.0)


@pytest.mark.parametrize("status", [{}, {"conditions": [
    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": "2023-11-14T22:00:00Z"},
    {"type": "Ready", "status": "False"}]}])
def test_bind_stores_what_the_full_codec_would(registry, status):
    created = registry.create(_pod("p", **status))
    with registry.watch("Pod", namespace="default", resource_version=created.metadata.resource_version) as stream:
        bound = registry.bind("p", "node-1", "default", resource_version=created.metadata.resource_version)
        event = next(iter(stream))
    kv = registry.store.get("/registry/pods/default/p")
    stored = msgpack.unpackb(kv.value, raw=False)
    full = objects.from_dict(stored, defaults=True).to_dict()  # the codec's whole validation and defaulting
    assert stored == full
    assert stored["spec"]["nodeName"] == "node-1"
    conditions = stored["status"]["conditions"]
    assert [c["type"] for c in conditions].count("PodScheduled") == 1
    assert {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2023-11-14T22:13:20Z"} in conditions
    assert ("Ready" in [c["type"] for c in conditions]) == bool(status)
    assert bound.metadata.resource_version == str(kv.mod_revision)
    assert bound == registry.get("Pod", "p", "default") == event.object
    assert event.type == "MODIFIED"
    assert bound.requests == created.requests  # derived values carried over


def test_bind_checks_stay(registry):
    created = registry.create(_pod("p"))
    with pytest.raises(ValidationError):
        registry.bind("p", "Not_A_Node_Name", "default")
    registry.bind("p", "node-1", "default", resource_version=created.metadata.resource_version)
    with pytest.raises(Conflict, match="already assigned"):
        registry.bind("p", "node-2", "default")
    registry.create(_pod("q"))
    registry.update(registry.get("Pod", "q", "default"))
    with pytest.raises(Conflict):
        registry.bind("q", "node-1", "default", resource_version=created.metadata.resource_version)
    assert registry.get("Pod", "q", "default").spec.node_name is None
