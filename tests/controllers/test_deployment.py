"""Deployment controller on a real Registry: ReplicaSets named by the pod-template-hash, rolling updates
checked at every pod event against maxSurge / maxUnavailable, Recreate, revisions and rollback by
template, history cleanup, paused, proportional scaling, progress deadline, status."""
from __future__ import annotations

import time

import pytest

from controllers.controllerref import controller_of
from controllers.deployment import equal_ignore_hash
from controllers.podcontrol import PodControl
from controllers.rolloututil import REVISION, REVISION_HISTORY, resolve_fenceposts, scaled_value
from controllers.templatehash import POD_TEMPLATE_HASH, compute_hash, fnv32a, safe_encode

from ctrl_helpers import WAIT, started_managers
from workload_helpers import Kubelet, PodWatcher, deployment, image_of, wait_until, with_image

CONTROLLERS = ["replicaset", "deployment"]


@pytest.fixture
def manager(registry):
    with started_managers(registry, CONTROLLERS) as make:
        yield make


def replica_sets(registry, d):
    return sorted((rs for rs in registry.list("ReplicaSet", d.metadata.namespace).items
                   if controller_of(rs) is not None and controller_of(rs).uid == d.metadata.uid),
                  key=lambda rs: int(rs.metadata.annotations.get(REVISION, "0")))


def active_pods(registry, namespace="default"):
    return [p for p in registry.list("Pod", namespace).items if not p.metadata.deletion_timestamp]


def rolled_out(registry, name, replicas, image, namespace="default"):
    """kubectl rollout status: observedGeneration caught up, every replica updated and available, no old pods."""
    def done():
        d = registry.get("Deployment", name, namespace)
        s = d.status
        pods = active_pods(registry, namespace)
        return (s.observed_generation == d.metadata.generation and s.updated_replicas == replicas
                and s.replicas == replicas and s.available_replicas == replicas
                and len(pods) == replicas and all(image_of(p) == image for p in pods)) and d
    return wait_until(done, WAIT, f"deployment {name} rolled out to {image}")


# ------------------------------------------------------------------ arithmetic


def test_fenceposts_round_surge_up_and_unavailable_down():
    assert resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert resolve_fenceposts("25%", "25%", 1) == (1, 0)
    assert resolve_fenceposts(0, 0, 5) == (0, 1)            # both zero: one may be unavailable
    assert resolve_fenceposts("0%", "0%", 3) == (0, 1)
    assert resolve_fenceposts(2, "50%", 5) == (2, 2)
    assert scaled_value("33%", 10, True) == 4 and scaled_value("33%", 10, False) == 3
    with pytest.raises(ValueError, match="percentage"):
        scaled_value("3x", 10, True)


def test_template_hash_is_stable_safe_encoded_and_moved_by_collisions():
    assert fnv32a(b"") == 0x811C9DC5 and fnv32a(b"a") == 0xE40C292C  # the FNV-1a test vectors
    d = deployment("web", 1)
    h = compute_hash(d.spec.template)
    assert h == compute_hash(deployment("web", 5).spec.template)
    assert h != compute_hash(deployment("web", 1, image="v2").spec.template)
    assert h != compute_hash(d.spec.template, 0) != compute_hash(d.spec.template, 1)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10
    assert safe_encode("0123456789") == "bcdfghjklm"[:0] + "".join("bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27]
                                                                  for c in "0123456789")


# ------------------------------------------------------------------ create, status, rollout


def test_creates_a_replica_set_named_by_the_template_hash_and_reports_status(registry, manager):
    m = manager()
    with Kubelet(registry):
        registry.create(deployment("web", 3))
        d = rolled_out(registry, "web", 3, "v1")
        assert m.wait_idle(WAIT)
    d = registry.get("Deployment", "web", "default")
    (rs,) = replica_sets(registry, d)
    pod_hash = compute_hash(d.spec.template)
    assert rs.metadata.name == f"web-{pod_hash}"
    assert rs.spec.selector.to_dict()["matchLabels"] == {"app": "web", POD_TEMPLATE_HASH: pod_hash}
    assert rs.spec.template.metadata.labels[POD_TEMPLATE_HASH] == pod_hash
    assert rs.metadata.annotations[REVISION] == "1" and d.metadata.annotations[REVISION] == "1"
    assert all(p.metadata.labels[POD_TEMPLATE_HASH] == pod_hash for p in active_pods(registry))
    s = d.status
    assert (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas, s.unavailable_replicas) == \
        (3, 3, 3, 3, 0)
    conditions = {c.type: c for c in s.conditions}
    assert conditions["Available"].status == "True" and conditions["Available"].reason == "MinimumReplicasAvailable"
    assert conditions["Progressing"].reason == "NewReplicaSetAvailable"


@pytest.mark.parametrize("surge,unavailable", [(1, 1), ("50%", 0), (0, "25%")])
def test_rolling_update_keeps_surge_and_unavailability_bounds_at_every_pod_event(registry, manager, surge,
                                                                                 unavailable):
    replicas = 4
    max_surge, max_unavail = resolve_fenceposts(surge, unavailable, replicas)
    m = manager()
    with Kubelet(registry):
        registry.create(deployment("web", replicas, strategy={"type": "RollingUpdate", "rollingUpdate": {
            "maxSurge": surge, "maxUnavailable": unavailable}}))
        rolled_out(registry, "web", replicas, "v1")
        assert m.wait_idle(WAIT)

        def check(pods):
            available = sum(1 for p in pods.values() if p.status.phase == "Running")
            if len(pods) > replicas + max_surge:
                return f"{len(pods)} pods > {replicas} + maxSurge {max_surge}"
            if available < replicas - max_unavail:
                return f"{available} available < {replicas} - maxUnavailable {max_unavail}"
            return None
        with PodWatcher(registry, check) as watcher:
            with_image(registry, "Deployment", "web", "v2")
            rolled_out(registry, "web", replicas, "v2")
            with_image(registry, "Deployment", "web", "v3")
            rolled_out(registry, "web", replicas, "v3")
    assert watcher.violations == []
    assert watcher.events >= 4 * replicas  # it saw the rollouts: 2 x (create + ready + delete) per replica
    d = registry.get("Deployment", "web", "default")
    revisions = [rs.metadata.annotations[REVISION] for rs in replica_sets(registry, d)]
    assert revisions == ["1", "2", "3"] and d.metadata.annotations[REVISION] == "3"
    assert [rs.spec.replicas for rs in replica_sets(registry, d)] == [0, 0, replicas]


def test_rollback_by_template_reuses_the_old_replica_set_and_history_is_bounded(registry, manager):
    m = manager()
    with Kubelet(registry):
        registry.create(deployment("web", 2, revisionHistoryLimit=1))
        rolled_out(registry, "web", 2, "v1")
        first = replica_sets(registry, registry.get("Deployment", "web", "default"))[0]
        with_image(registry, "Deployment", "web", "v2")
        rolled_out(registry, "web", 2, "v2")
        with_image(registry, "Deployment", "web", "v1")   # kubectl rollout undo: the old template again
        rolled_out(registry, "web", 2, "v1")
        assert m.wait_idle(WAIT)
        d = registry.get("Deployment", "web", "default")
        rss = replica_sets(registry, d)
        assert [rs.metadata.uid for rs in rss][-1] == first.metadata.uid
        assert rss[-1].metadata.annotations[REVISION] == "3" and rss[-1].metadata.annotations[REVISION_HISTORY] == "1"
        assert d.metadata.annotations[REVISION] == "3"
        with_image(registry, "Deployment", "web", "v4")
        rolled_out(registry, "web", 2, "v4")
        with_image(registry, "Deployment", "web", "v5")
        rolled_out(registry, "web", 2, "v5")
        wait_until(lambda: len(replica_sets(registry, d)) == 2, WAIT, "history trimmed to 1 old ReplicaSet")
    rss = replica_sets(registry, d)
    assert [rs.metadata.annotations[REVISION] for rs in rss] == ["4", "5"]
    assert equal_ignore_hash(rss[-1].spec.template, registry.get("Deployment", "web", "default").spec.template)


@pytest.mark.parametrize("graceful", [False, True])
def test_recreate_removes_every_old_pod_before_creating_new_ones(registry, manager, monkeypatch, graceful):
    # graceful: pods being deleted stay (terminating) until the kubelet is done with them; Recreate waits
    monkeypatch.setattr(PodControl, "graceful", graceful)
    m = manager()

    def check(pods):
        images = {image_of(p) for p in pods.values()}
        return f"old and new pods at once: {sorted(images)}" if len(images) > 1 else None
    with Kubelet(registry, bind=lambda p: "n1"):   # bound pods: the Registry deletes them gracefully
        registry.create(deployment("db", 3, strategy={"type": "Recreate"}))
        rolled_out(registry, "db", 3, "v1")
        assert m.wait_idle(WAIT)
        with PodWatcher(registry, check, include_terminating=True) as watcher:
            with_image(registry, "Deployment", "db", "v2")
            rolled_out(registry, "db", 3, "v2")
    assert watcher.violations == [] and watcher.events >= 6
    assert (watcher.terminating > 0) == graceful


def test_paused_deployment_scales_but_does_not_roll_out_until_resumed(registry, manager):
    m = manager()
    with Kubelet(registry):
        registry.create(deployment("web", 2))
        rolled_out(registry, "web", 2, "v1")
        d = registry.get("Deployment", "web", "default")
        registry.update(d.replace(spec=d.spec.replace(paused=True)))
        wait_until(lambda: any(c.reason == "DeploymentPaused" for c in
                               registry.get("Deployment", "web", "default").status.conditions), WAIT, "paused")
        with_image(registry, "Deployment", "web", "v2", replicas=4)
        assert m.wait_idle(WAIT)
        d = registry.get("Deployment", "web", "default")
        assert len(replica_sets(registry, d)) == 1           # no rollout while paused
        wait_until(lambda: len(active_pods(registry)) == 4, WAIT, "scaled to 4 while paused")
        assert all(image_of(p) == "v1" for p in active_pods(registry))
        assert d.status.observed_generation == d.metadata.generation
        registry.update(d.replace(spec=d.spec.replace(paused=False)))
        rolled_out(registry, "web", 4, "v2")


def test_scaling_during_a_stuck_rollout_is_proportional(registry, manager):
    m = manager()
    with Kubelet(registry, ready=lambda p: image_of(p) == "v1"):   # v2 pods never become ready
        registry.create(deployment("web", 10, strategy={"type": "RollingUpdate", "rollingUpdate": {
            "maxSurge": 3, "maxUnavailable": 2}}))
        rolled_out(registry, "web", 10, "v1")
        with_image(registry, "Deployment", "web", "v2")
        d = registry.get("Deployment", "web", "default")
        wait_until(lambda: [rs.spec.replicas for rs in replica_sets(registry, d)] == [8, 5], WAIT,
                   "the rollout stuck at 8 old + 5 new")
        d = registry.get("Deployment", "web", "default")
        registry.update(d.replace(spec=d.spec.replace(replicas=20)))
        # 13 pods grow to 20 + 3: the 10 added split 8:5 (6 and 4, the leftover to the larger one)
        wait_until(lambda: [rs.spec.replicas for rs in replica_sets(registry, d)] == [14, 9], WAIT,
                   "proportional scale-up")
        assert m.wait_idle(WAIT)
        assert sum(rs.spec.replicas for rs in replica_sets(registry, d)) == 23


def test_progress_deadline_exceeded_sets_progressing_false(registry, manager):
    manager()
    with Kubelet(registry, ready=lambda p: False):
        registry.create(deployment("stuck", 2, progressDeadlineSeconds=1))

        def timed_out():
            d = registry.get("Deployment", "stuck", "default")
            cond = {c.type: c for c in d.status.conditions}.get("Progressing")
            return cond is not None and cond.status == "False" and cond.reason == "ProgressDeadlineExceeded" and d
        d = wait_until(timed_out, WAIT, "ProgressDeadlineExceeded")
    available = {c.type: c for c in d.status.conditions}["Available"]
    assert available.status == "False" and d.status.unavailable_replicas == 2


def test_min_ready_seconds_delays_availability(registry, manager):
    skew = [0.0]   # the controllers' clock runs with time and jumps when the test says so

    def clock():
        return time.time() + skew[0]
    m = manager(clock=clock)
    with Kubelet(registry):
        registry.create(deployment("slow", 1, minReadySeconds=30))
        wait_until(lambda: registry.get("Deployment", "slow", "default").status.ready_replicas == 1, WAIT, "ready")
        assert m.wait_idle(WAIT)
        d = registry.get("Deployment", "slow", "default")
        (rs,) = replica_sets(registry, d)
        assert rs.spec.min_ready_seconds == 30
        assert (d.status.available_replicas, d.status.unavailable_replicas) == (0, 1)
        assert {c.type: c.status for c in d.status.conditions}["Available"] == "False"
        skew[0] += 31
        rolled_out(registry, "slow", 1, "v1")
    d = registry.get("Deployment", "slow", "default")
    assert {c.type: c.status for c in d.status.conditions}["Available"] == "True"


def test_a_selector_selecting_everything_is_reported_and_others_still_work(registry, manager):
    import objects
    m = manager()
    bad = deployment("bad", 1)
    # the API server refuses an empty selector; a stored one (an older server) is reported, not acted on
    with pytest.raises(objects.ValidationError, match="spec.selector"):
        registry.create(bad.replace(spec=bad.spec.replace(selector=objects.LabelSelector())))
    with Kubelet(registry):
        registry.create(deployment("good", 1))
        rolled_out(registry, "good", 1, "v1")
    assert m.wait_idle(WAIT)


def test_a_name_taken_by_another_template_raises_collision_count(registry, manager):
    import objects
    d = deployment("web", 1)
    defaulted = objects.from_dict(objects.to_dict(d), defaults=True)   # the template as the Registry stores it
    taken = f"web-{compute_hash(defaulted.spec.template)}"
    registry.create(objects.from_dict({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": taken},
                                       "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "other"}},
                                                "template": {"metadata": {"labels": {"app": "other"}},
                                                             "spec": {"containers": [{"name": "c", "image": "x"}]}}}}))
    manager()
    with Kubelet(registry):
        registry.create(d)
        d = rolled_out(registry, "web", 1, "v1")
    assert d.status.collision_count == 1
    (rs,) = replica_sets(registry, d)
    assert rs.metadata.name == f"web-{compute_hash(d.spec.template, 1)}" != taken
    assert registry.get("ReplicaSet", taken, "default").spec.replicas == 0   # untouched


def test_pods_the_registry_refuses_show_as_replica_failure_and_others_still_roll_out(registry, manager):
    manager()
    bad = deployment("bad", 2)
    template = bad.spec.template
    bad = bad.replace(spec=bad.spec.replace(template=template.replace(
        spec=template.spec.replace(priority_class_name="missing"))))
    with Kubelet(registry):
        registry.create(bad)
        registry.create(deployment("good", 2))
        rolled_out_good = wait_until(lambda: registry.get("Deployment", "good", "default").status.available_replicas == 2,
                                     WAIT, "good available")
        assert rolled_out_good

        def failure():
            d = registry.get("Deployment", "bad", "default")
            return {c.type: c for c in d.status.conditions}.get("ReplicaFailure")
        cond = wait_until(failure, WAIT, "ReplicaFailure on the Deployment")
    assert cond.status == "True" and cond.reason == "FailedCreate" and "priorityClassName" in cond.message
    warnings = [e for e in registry.list("Event", all_namespaces=True).items
                if e.reason == "FailedCreate" and e.type == "Warning"]
    assert warnings and all(e.involved_object.kind == "ReplicaSet" for e in warnings)


def test_concurrent_user_writes_and_the_rollout_both_survive_conflicts(registry, manager):
    import threading
    from objects.registrytypes import retry_on_conflict
    manager()
    errors = []

    def annotate(n):
        def once():
            d = registry.get("Deployment", "web", "default")
            return registry.update(d.replace(metadata=d.metadata.replace(
                annotations={**d.metadata.annotations, f"user/{n}": "x"})))
        try:
            retry_on_conflict(once, attempts=1000)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    with Kubelet(registry):
        registry.create(deployment("web", 4))
        rolled_out(registry, "web", 4, "v1")
        with_image(registry, "Deployment", "web", "v2")
        writer = threading.Thread(target=lambda: [annotate(n) for n in range(30)])
        writer.start()
        writer.join(WAIT)
        assert not writer.is_alive() and errors == []
        d = rolled_out(registry, "web", 4, "v2")
    assert {f"user/{n}" for n in range(30)} <= set(d.metadata.annotations)   # none of the user's writes lost
    assert d.metadata.annotations[REVISION] == "2"                             # nor the controller's
    assert {c.type: c.reason for c in d.status.conditions}["Progressing"] == "NewReplicaSetAvailable"
