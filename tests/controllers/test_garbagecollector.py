"""Garbage collector: Background, Foreground and Orphan propagation, several owners, owners never seen,
and the invariant that no object keeps a reference to a gone owner (hypothesis-driven deletions)."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import objects
from controllers import ControllerManager

from ctrl_helpers import WAIT, config_map, owned_pods, replica_set, started_managers


@pytest.fixture
def manager(registry):
    with started_managers(registry, ("garbagecollector",)) as make:
        yield make


def ref(owner, block=True, controller=False):
    return objects.OwnerReference(api_version=owner.api_version, kind=owner.kind, name=owner.metadata.name,
                                  uid=owner.metadata.uid, block_owner_deletion=block, controller=controller)


def dependent(registry, name, *owners, block=True, finalizers=()):
    cm = config_map(name)
    cm = cm.replace(metadata=cm.metadata.replace(owner_references=[ref(o, block) for o in owners],
                                                 finalizers=list(finalizers)))
    return registry.create(cm)


def names(registry):
    return sorted(c.metadata.name for c in registry.list("ConfigMap", "default").items)


def test_background_deletes_a_replica_sets_pods(registry, manager):
    m = manager(("replicaset", "garbagecollector"))
    registry.create(replica_set("web", 3))
    assert m.wait_idle(WAIT)
    rs = registry.get("ReplicaSet", "web", "default")
    assert len(owned_pods(registry, rs)) == 3
    registry.delete("ReplicaSet", "web", "default")
    assert m.wait_idle(WAIT)
    assert registry.list("Pod", "default").items == []


def test_orphan_keeps_the_pods_without_their_owner_reference(registry, manager):
    m = manager(("replicaset", "garbagecollector"))
    registry.create(replica_set("web", 2))
    assert m.wait_idle(WAIT)
    registry.delete("ReplicaSet", "web", "default", propagation_policy="Orphan")
    assert m.wait_idle(WAIT)
    with pytest.raises(objects.NotFound):
        registry.get("ReplicaSet", "web", "default")
    pods = registry.list("Pod", "default").items
    assert len(pods) == 2 and all(p.metadata.owner_references == [] for p in pods)


def test_foreground_waits_for_blocking_dependents(registry, manager):
    m = manager()
    owner = registry.create(config_map("owner"))
    dependent(registry, "held", owner, finalizers=["example.com/hold"])
    dependent(registry, "plain", owner)
    dependent(registry, "nonblocking", owner, block=False)
    registry.delete("ConfigMap", "owner", "default", propagation_policy="Foreground")
    assert m.wait_idle(WAIT)
    # the dependents are deleted; "held" cannot go yet, so the owner waits, marked
    assert names(registry) == ["held", "owner"]
    assert registry.get("ConfigMap", "owner", "default").metadata.finalizers == ["foregroundDeletion"]
    held = registry.get("ConfigMap", "held", "default")
    assert held.metadata.deletion_timestamp is not None
    registry.update(held.replace(metadata=held.metadata.replace(finalizers=[])))
    assert m.wait_idle(WAIT)
    assert names(registry) == []


def test_foreground_cascades_through_grandchildren(registry, manager):
    m = manager()
    top = registry.create(config_map("top"))
    mid = dependent(registry, "mid", top)
    dependent(registry, "leaf", mid)
    registry.delete("ConfigMap", "top", "default", propagation_policy="Foreground")
    assert m.wait_idle(WAIT)
    assert names(registry) == []


def test_a_dependent_with_another_owner_only_loses_the_reference(registry, manager):
    m = manager()
    a = registry.create(config_map("a"))
    b = registry.create(config_map("b"))
    dependent(registry, "shared", a, b)
    registry.delete("ConfigMap", "a", "default")
    assert m.wait_idle(WAIT)
    shared = registry.get("ConfigMap", "shared", "default")
    assert [r.uid for r in shared.metadata.owner_references] == [b.metadata.uid]
    registry.delete("ConfigMap", "b", "default", propagation_policy="Foreground")
    assert m.wait_idle(WAIT)
    assert names(registry) == []


def test_owners_that_never_existed_and_unknown_kinds(registry, manager):
    ghost = config_map("ghost")
    ghost.metadata.uid = "no-such-uid"
    widget = objects.from_dict({"apiVersion": "example.com/v1", "kind": "Widget",
                                "metadata": {"name": "w", "uid": "widget-uid"}})
    real = registry.create(config_map("real"))
    same_name = config_map("real")
    same_name.metadata.uid = "an-earlier-incarnation"
    dependent(registry, "of-ghost", ghost)
    dependent(registry, "of-widget", widget)
    dependent(registry, "of-old-real", same_name)
    dependent(registry, "of-real", real)
    m = manager()
    assert m.wait_idle(WAIT)
    # gone owners (by uid) collect their dependents; an unknown kind is never taken for gone
    assert names(registry) == ["of-real", "of-widget", "real"]


def test_jobs_default_orphan_policy_is_run_by_the_collector(registry, manager):
    m = manager()
    job = registry.create(objects.from_dict(
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}))
    dependent(registry, "output", job)
    registry.delete("Job", "j", "default")
    assert m.wait_idle(WAIT)
    with pytest.raises(objects.NotFound):
        registry.get("Job", "j", "default")
    assert registry.get("ConfigMap", "output", "default").metadata.owner_references == []


_EXAMPLE = itertools.count()
FORESTS = st.lists(st.lists(st.integers(0, 30), max_size=2), min_size=2, max_size=10)
DELETIONS = st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["Background", "Foreground", "Orphan"])),
                     min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(forest=FORESTS, deletions=DELETIONS)
def test_no_reference_to_a_gone_owner_survives(registry, forest, deletions):
    """Objects owned by earlier ones at random; random deletions with random policies; after each the
    collector's work equals a model of Kubernetes' semantics, and no reference to a gone owner is left."""
    m = ControllerManager(registry, controllers=["garbagecollector"], metrics=False)
    m.start()
    prefix = f"f{next(_EXAMPLE)}-"  # examples share the registry: each has its own names
    try:
        made, owners = [], {}
        for i, picks in enumerate(forest):
            chosen = sorted({made[p % len(made)].metadata.name for p in picks} if made else set())
            objs = [next(o for o in made if o.metadata.name == c) for c in chosen]
            made.append(dependent(registry, f"{prefix}{i}", *objs))
            owners[f"{prefix}{i}"] = set(chosen)
        alive = set(owners)

        def model_delete(name, policy):
            alive.discard(name)
            for d in sorted(alive):
                if name in owners[d]:
                    owners[d].discard(name)
                    if policy != "Orphan" and not owners[d]:
                        model_delete(d, "Background")

        for pick, policy in deletions:
            name = made[pick % len(made)].metadata.name
            if name not in alive:
                continue
            registry.delete("ConfigMap", name, "default", propagation_policy=policy)
            model_delete(name, policy)
            assert m.wait_idle(WAIT)
        current = {c.metadata.name: c for c in registry.list("ConfigMap", "default").items
                   if c.metadata.name.startswith(prefix)}
        assert set(current) == alive
        uids = {c.metadata.uid: n for n, c in current.items()}
        for n, c in current.items():
            assert c.metadata.deletion_timestamp is None
            assert {uids.get(r.uid, "GONE") for r in c.metadata.owner_references} == owners[n]
    finally:
        m.stop()
