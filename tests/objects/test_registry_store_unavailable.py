"""The store's transient failures reach Registry callers as objects errors (kube-apiserver's 504 / 503),
never as raw kvstore exceptions, and change nothing."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import kvstore
import objects

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds flaky_store
from flaky_store import FlakyStore  # noqa: E402


def _pod(name: str) -> objects.Pod:
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}})


@pytest.mark.parametrize(("error", "expected"), [(kvstore.Timeout, objects.ServerTimeout),
                                                 (kvstore.NoLeader, objects.Unavailable),
                                                 (kvstore.NotReady, objects.Unavailable)])
def test_every_call_translates_the_stores_transient_errors(error: type[Exception], expected: type[Exception]) -> None:
    store = FlakyStore(error)
    registry = objects.Registry(store)
    registry.create(_pod("kept"))
    before = store.inner.revision
    calls = [lambda: registry.create(_pod("new")), lambda: registry.get("Pod", "kept", "default"),
             lambda: registry.list("Pod", namespace="default"),
             lambda: registry.patch("Pod", "kept", {"metadata": {"labels": {"a": "b"}}}, "default"),
             lambda: registry.bind("kept", "n1", "default"), lambda: registry.delete("Pod", "kept", "default"),
             lambda: registry.watch("Pod", namespace="default", resource_version=str(before)),
             lambda: registry.apply(_pod("applied"))]
    for call in calls:
        store.failures = 1
        with pytest.raises(expected) as info:
            call()
        assert isinstance(info.value, objects.ObjectsError) and isinstance(info.value.__cause__, error)
    assert store.inner.revision == before  # nothing was written
    kept = registry.get("Pod", "kept", "default")
    assert not kept.spec.node_name and not kept.metadata.labels
