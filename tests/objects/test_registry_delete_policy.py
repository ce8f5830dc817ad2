"""Registry.delete(propagation_policy=...): the finalizers the API server sets for the garbage collector."""
from __future__ import annotations

import pytest

import objects
from objects import ValidationError

from registry_helpers import config_map, new_registry


@pytest.fixture
def registry():
    store, registry = new_registry()
    yield registry
    store.close()


def job(name):
    return objects.from_dict({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                              "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                             "containers": [{"name": "c", "image": "i"}]}}}})


@pytest.mark.parametrize("policy, finalizer", [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
def test_foreground_and_orphan_mark_the_object_with_their_finalizer(registry, policy, finalizer):
    registry.create(config_map("a"))
    marked = registry.delete("ConfigMap", "a", "default", propagation_policy=policy)
    assert marked.metadata.deletion_timestamp is not None
    assert marked.metadata.finalizers == [finalizer]
    assert registry.get("ConfigMap", "a", "default").metadata.finalizers == [finalizer]
    # removing the finalizer (what the garbage collector does) lets the object go
    current = registry.get("ConfigMap", "a", "default")
    registry.update(current.replace(metadata=current.metadata.replace(finalizers=[])))
    with pytest.raises(objects.NotFound):
        registry.get("ConfigMap", "a", "default")


def test_background_and_the_default_delete_at_once(registry):
    registry.create(config_map("a"))
    registry.create(config_map("b"))
    registry.delete("ConfigMap", "a", "default", propagation_policy="Background")
    registry.delete("ConfigMap", "b", "default")
    assert registry.list("ConfigMap", "default").items == []


def test_batch_v1_jobs_default_to_orphan_as_the_api_server(registry):
    registry.create(job("j"))
    assert registry.delete("Job", "j", "default").metadata.finalizers == ["orphan"]
    registry.create(job("k"))
    registry.delete("Job", "k", "default", propagation_policy="Background")
    with pytest.raises(objects.NotFound):
        registry.get("Job", "k", "default")


def test_other_finalizers_are_kept_and_an_explicit_policy_replaces_the_other(registry):
    cm = config_map("a")
    cm = cm.replace(metadata=cm.metadata.replace(finalizers=["example.com/keep", "orphan"]))
    registry.create(cm)
    marked = registry.delete("ConfigMap", "a", "default", propagation_policy="Foreground")
    assert marked.metadata.finalizers == ["example.com/keep", "foregroundDeletion"]


def test_an_unknown_policy_is_refused_and_changes_nothing(registry):
    registry.create(config_map("a"))
    with pytest.raises(ValidationError, match='propagationPolicy: Unsupported value: "Sideways"'):
        registry.delete("ConfigMap", "a", "default", propagation_policy="Sideways")
    assert registry.get("ConfigMap", "a", "default").metadata.deletion_timestamp is None
