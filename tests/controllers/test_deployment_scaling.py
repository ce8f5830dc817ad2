"""Proportional scaling of a Deployment over its active ReplicaSets (hypothesis): the sizes add up to
replicas + maxSurge, each ReplicaSet moves in the direction of the change, none goes negative.

One exception, Kubernetes' own: scaling down, when the rounded shares add up to less than the change, the
leftover goes to the largest ReplicaSet and is cut at zero (1+1+1+1 scaled to 2: every share rounds to 0,
the leftover -2 takes the first ReplicaSet to 0, not -1), so the sum stays above the target; the rollout
that follows (it is no longer a scaling event) brings it down."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import objects
from controllers import EventRecorder, SharedInformers
from controllers.deployment import DeploymentController
from controllers.rolloututil import DESIRED_REPLICAS, MAX_REPLICAS

from ctrl_helpers import new_registry
from workload_helpers import deployment


class Recording(DeploymentController):
    """Records the sizes instead of writing them."""

    def _scale_rs(self, d, rs, new_scale):
        return new_scale != rs.spec.replicas, rs.replace(spec=rs.spec.replace(replicas=new_scale))


@pytest.fixture(scope="module")
def controller():
    store, registry = new_registry()   # only the constructor reads it: the sizes are recorded, not written
    yield Recording(registry, SharedInformers(registry), recorder=EventRecorder(registry, "test"))
    store.close()


def _replica_set(i: int, size: int, annotated_total: int, desired: int) -> objects.ReplicaSet:
    return objects.from_dict({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"web-{i}", "namespace": "default", "uid": f"uid-{i}",
                     "creationTimestamp": f"2026-01-01T00:00:{i:02d}Z",
                     "annotations": {MAX_REPLICAS: str(annotated_total), DESIRED_REPLICAS: str(desired)}},
        "spec": {"replicas": size, "selector": {"matchLabels": {"app": "web", "v": str(i)}},
                 "template": {"metadata": {"labels": {"app": "web", "v": str(i)}},
                              "spec": {"containers": [{"name": "c", "image": f"v{i}"}]}}}})


@settings(max_examples=150, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=2, max_size=4), surge=st.integers(0, 5),
       new_replicas=st.integers(0, 120))
def test_proportional_scaling_adds_up(controller, sizes, surge, new_replicas):
    total = sum(sizes)
    old_replicas = max(1, total - surge)
    rss = [_replica_set(i, size, total, old_replicas) for i, size in enumerate(sizes)]
    d = deployment("web", new_replicas, strategy={"type": "RollingUpdate",
                                                   "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 1}})
    new_rs, old = controller._scale(d, rss[-1], rss[:-1])
    after = [rs.spec.replicas for rs in old + [new_rs]]
    allowed = new_replicas + surge if new_replicas > 0 else 0
    assert all(size >= 0 for size in after)
    clamped = allowed < total and 0 in after and sum(after) > allowed
    assert sum(after) == allowed or clamped, (sizes, after, allowed)
    for before, now in zip(sizes, after):
        assert (now - before) * (allowed - total) >= 0   # every one moves with the change, never against it


knob = st.one_of(st.integers(0, 3), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


@settings(max_examples=5, deadline=None)
@given(replicas=st.integers(1, 6), surge=knob, unavailable=knob)
def test_rolling_update_bounds_hold_for_any_knobs(replicas, surge, unavailable):
    """A real rollout per example (fresh store, controllers, stand-in kubelet), every pod event checked."""
    from controllers import ControllerManager
    from controllers.rolloututil import resolve_fenceposts
    from ctrl_helpers import WAIT
    from workload_helpers import Kubelet, PodWatcher, image_of, wait_until, with_image
    max_surge, max_unavailable = resolve_fenceposts(surge, unavailable, replicas)
    max_unavailable = min(max_unavailable, replicas)
    store, registry = new_registry()
    manager = ControllerManager(registry, controllers=["deployment", "replicaset"], metrics=False)
    manager.start()

    def check(pods):
        up = sum(1 for p in pods.values() if p.status.phase == "Running")
        if len(pods) > replicas + max_surge or up < replicas - max_unavailable:
            return f"{len(pods)} pods, {up} up: outside {replicas} + {max_surge} / {replicas} - {max_unavailable}"
        return None

    def at(image):
        pods = [p for p in registry.list("Pod", "default").items if not p.metadata.deletion_timestamp]
        d = registry.get("Deployment", "web", "default")
        return (len(pods) == replicas and all(image_of(p) == image and p.status.phase == "Running" for p in pods)
                and d.status.updated_replicas == replicas and d.status.available_replicas == replicas)
    try:
        with Kubelet(registry):
            registry.create(deployment("web", replicas, strategy={"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": surge, "maxUnavailable": unavailable}}))
            wait_until(lambda: at("v1"), WAIT, "v1")
            with PodWatcher(registry, check) as watcher:
                with_image(registry, "Deployment", "web", "v2")
                wait_until(lambda: at("v2"), WAIT, "v2")
        assert watcher.violations == []
    finally:
        manager.stop()
        store.close()
