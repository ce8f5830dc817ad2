"""StatefulSet controller on a real Registry: ordered names, OrderedReady (one at a time, in order, each
Running and Ready before the next; deletes in reverse) checked at every pod event, Parallel, RollingUpdate
in reverse ordinal order with a partition, OnDelete, failed pods recreated under the same name,
ControllerRevisions with currentRevision / updateRevision, rollback, status."""
from __future__ import annotations

import pytest

from controllers.controllerref import controller_of
from controllers.history import CONTROLLER_REVISION_HASH
from controllers.podcontrol import PodControl
from controllers.statefulset import POD_INDEX_LABEL, POD_NAME_LABEL

from ctrl_helpers import WAIT, started_managers
from workload_helpers import Kubelet, PodWatcher, image_of, stateful_set, wait_until, with_image


@pytest.fixture
def manager(registry):
    with started_managers(registry, ["statefulset"]) as make:
        yield make


def members(registry, name="web"):
    return {p.metadata.name: p for p in registry.list("Pod", "default").items if not p.metadata.deletion_timestamp
            and controller_of(p) is not None and controller_of(p).name == name}


def settled(registry, name, replicas, image="v1"):
    expected = sorted(f"{name}-{i}" for i in range(replicas))

    def done():
        pods = members(registry, name)
        sts = registry.get("StatefulSet", name, "default")
        return (sorted(pods) == expected and all(p.status.phase == "Running" and image_of(p) == image
                                                 for p in pods.values())
                and sts.status.ready_replicas == replicas and sts.status.replicas == replicas
                and sts.status.observed_generation == sts.metadata.generation) and sts
    return wait_until(done, WAIT, f"{name} settled at {replicas} x {image}")


def ready(p):
    return p.status.phase == "Running"


def ordinal(name):
    return int(name.rsplit("-", 1)[1])


def ordered_ready_checker(pods):
    """OrderedReady: pod i exists only while every pod below it is Running and Ready."""
    names = sorted(pods, key=ordinal)
    for name in names:
        below = [f"web-{i}" for i in range(ordinal(name))]
        missing = [b for b in below if b not in pods or not ready(pods[b])]
        if missing:
            return f"{name} exists while {missing} are not Running and Ready"
    return None


def test_ordered_ready_creates_one_at_a_time_in_order_and_deletes_in_reverse(registry, manager):
    m = manager()
    with Kubelet(registry), PodWatcher(registry, ordered_ready_checker) as watcher:
        registry.create(stateful_set("web", 4))
        sts = settled(registry, "web", 4)
        deleted_order = []
        watcher.check = lambda pods, seen=set(): (
            deleted_order.extend(sorted(seen - set(pods))), seen.clear(), seen.update(pods), None)[-1]
        watcher.check(members(registry))
        registry.update(sts.replace(spec=sts.spec.replace(replicas=1)))
        settled(registry, "web", 1)
        assert m.wait_idle(WAIT)
    assert watcher.violations == []
    assert deleted_order == ["web-3", "web-2", "web-1"]
    pod = registry.get("Pod", "web-0", "default")
    assert pod.metadata.labels[POD_NAME_LABEL] == "web-0" and pod.metadata.labels[POD_INDEX_LABEL] == "0"
    assert pod.spec.unknown_fields.get("hostname") == "web-0" and pod.spec.unknown_fields.get("subdomain") == "web"
    sts = registry.get("StatefulSet", "web", "default")
    assert sts.status.current_revision == sts.status.update_revision == pod.metadata.labels[CONTROLLER_REVISION_HASH]
    assert sts.status.current_revision.startswith("web-")


def test_ordered_ready_waits_for_an_unready_pod(registry, manager):
    m = manager()
    with Kubelet(registry, ready=lambda p: p.metadata.name != "web-1"):
        registry.create(stateful_set("web", 3))
        wait_until(lambda: "web-1" in members(registry), WAIT, "web-1 created")
        assert m.wait_idle(WAIT)
        assert sorted(members(registry)) == ["web-0", "web-1"]   # web-2 waits for web-1


def test_parallel_creates_every_pod_without_waiting(registry, manager):
    m = manager()
    with Kubelet(registry, ready=lambda p: False):
        registry.create(stateful_set("web", 4, podManagementPolicy="Parallel"))
        wait_until(lambda: len(members(registry)) == 4, WAIT, "4 pods")
        sts = registry.get("StatefulSet", "web", "default")
        registry.update(sts.replace(spec=sts.spec.replace(replicas=2)))
        wait_until(lambda: sorted(members(registry)) == ["web-0", "web-1"], WAIT, "scaled to 2 at once")
        assert m.wait_idle(WAIT)
    assert registry.get("StatefulSet", "web", "default").status.ready_replicas == 0


@pytest.mark.parametrize("graceful", [False, True])
def test_rolling_update_in_reverse_ordinal_order_with_a_partition(registry, manager, monkeypatch, graceful):
    # graceful: a deleted pod stays terminating until the kubelet is done; its successor waits for the name
    monkeypatch.setattr(PodControl, "graceful", graceful)
    m = manager()

    def one_down_at_a_time(pods):
        down = [f"web-{i}" for i in range(4) if f"web-{i}" not in pods or not ready(pods[f"web-{i}"])
                or pods[f"web-{i}"].metadata.deletion_timestamp]
        return f"more than one pod down: {down}" if len(down) > 1 else None
    with Kubelet(registry, bind=lambda p: "n1"):   # bound pods: the Registry deletes them gracefully
        registry.create(stateful_set("web", 4, strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}))
        first = settled(registry, "web", 4)
        assert m.wait_idle(WAIT)
        replaced = []
        with PodWatcher(registry, lambda pods: (replaced.extend(n for n, p in pods.items() if image_of(p) == "v2"
                                                                and n not in replaced),
                                                one_down_at_a_time(pods))[-1],
                        include_terminating=True) as watcher:
            with_image(registry, "StatefulSet", "web", "v2")
            wait_until(lambda: sorted(n for n, p in members(registry).items() if image_of(p) == "v2"
                                      and ready(p)) == ["web-2", "web-3"], WAIT, "partition 2 updated")
            assert m.wait_idle(WAIT)
            sts = registry.get("StatefulSet", "web", "default")
            assert sorted(n for n, p in members(registry).items() if image_of(p) == "v1") == ["web-0", "web-1"]
            assert sts.status.current_revision == first.status.current_revision != sts.status.update_revision
            assert (sts.status.updated_replicas, sts.status.current_replicas) == (2, 2)
            # a pod below the partition deleted by hand comes back at the current revision
            registry.delete("Pod", "web-0", "default")
            wait_until(lambda: "web-0" in members(registry) and ready(members(registry)["web-0"]), WAIT, "web-0 back")
            assert image_of(members(registry)["web-0"]) == "v1"
            sts = registry.get("StatefulSet", "web", "default")
            registry.update(sts.replace(spec=sts.spec.replace(update_strategy=sts.spec.update_strategy.replace(
                rolling_update=sts.spec.update_strategy.rolling_update.replace(partition=0)))))
            sts = settled(registry, "web", 4, "v2")
            wait_until(lambda: registry.get("StatefulSet", "web", "default").status.current_revision ==
                       registry.get("StatefulSet", "web", "default").status.update_revision, WAIT, "rollout done")
    assert watcher.violations == [] and (watcher.terminating > 0) == graceful
    assert replaced == ["web-3", "web-2", "web-1", "web-0"]
    sts = registry.get("StatefulSet", "web", "default")
    assert (sts.status.current_replicas, sts.status.updated_replicas) == (4, 4)


def test_on_delete_and_rollback_renumbers_the_revision(registry, manager):
    m = manager()
    with Kubelet(registry):
        registry.create(stateful_set("db", 2, strategy={"type": "OnDelete"}))
        settled(registry, "db", 2)
        with_image(registry, "StatefulSet", "db", "v2")
        assert m.wait_idle(WAIT)
        assert all(image_of(p) == "v1" for p in members(registry, "db").values())
        registry.delete("Pod", "db-1", "default")
        wait_until(lambda: image_of(members(registry, "db").get("db-1", members(registry, "db")["db-0"])) == "v2",
                   WAIT, "db-1 recreated at v2")
        sts = registry.get("StatefulSet", "db", "default")
        revisions = {r.metadata.name: r.revision for r in registry.list("ControllerRevision", "default").items}
        assert revisions[sts.status.update_revision] == 2 and revisions[sts.status.current_revision] == 1
        with_image(registry, "StatefulSet", "db", "v1")
        wait_until(lambda: registry.get("StatefulSet", "db", "default").status.update_revision ==
                   sts.status.current_revision, WAIT, "the v1 revision is the update revision again")
        revisions = {r.metadata.name: r.revision for r in registry.list("ControllerRevision", "default").items}
        assert revisions[sts.status.current_revision] == 3 and len(revisions) == 2


def test_failed_pod_is_recreated_under_the_same_name(registry, manager):
    m = manager()
    with Kubelet(registry):
        registry.create(stateful_set("web", 2))
        settled(registry, "web", 2)
        pod = members(registry)["web-0"]
        registry.update_status(pod.replace(status=pod.status.replace(phase="Failed")))
        wait_until(lambda: "web-0" in members(registry) and members(registry)["web-0"].metadata.uid != pod.metadata.uid
                   and ready(members(registry)["web-0"]), WAIT, "web-0 recreated")
        assert m.wait_idle(WAIT)
    reasons = {e.reason for e in registry.list("Event", all_namespaces=True).items}
    assert "RecreatingFailedPod" in reasons


def test_a_name_held_by_another_owner_is_reported_and_other_sets_still_work(registry, manager):
    import objects
    from ctrl_helpers import pod
    other = objects.from_dict({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "x", "uid": "x-uid"}})
    registry.create(pod("web-0", labels={"app": "web"}, owner=other))
    m = manager()
    with Kubelet(registry):
        registry.create(stateful_set("web", 2))
        registry.create(stateful_set("db", 2))
        settled(registry, "db", 2)
        wait_until(lambda: any(e.reason == "FailedCreate" and e.involved_object.name == "web"
                               for e in registry.list("Event", all_namespaces=True).items), WAIT, "FailedCreate on web")
    assert controller_of(registry.get("Pod", "web-0", "default")).uid == "x-uid"   # never taken over
    assert "web-1" not in members(registry)                                      # OrderedReady: web-0 first
    assert m.running


def test_ordinals_start_names_the_first_pod(registry, manager):
    m = manager()
    with Kubelet(registry):
        registry.create(stateful_set("web", 2, ordinals={"start": 5}, podManagementPolicy="Parallel"))
        wait_until(lambda: sorted(members(registry)) == ["web-5", "web-6"] and
                   all(ready(p) for p in members(registry).values()), WAIT, "web-5, web-6")
        sts = registry.get("StatefulSet", "web", "default")
        registry.update(sts.replace(spec=sts.spec.replace(replicas=1)))
        wait_until(lambda: sorted(members(registry)) == ["web-5"], WAIT, "scaled down to web-5")
        assert m.wait_idle(WAIT)
    assert members(registry)["web-5"].metadata.labels[POD_INDEX_LABEL] == "5"


def test_ordered_ready_waits_min_ready_seconds_before_the_next_pod(registry, manager):
    import time
    skew = [0.0]   # the controllers' clock runs with time and jumps when the test says so
    m = manager(clock=lambda: time.time() + skew[0])
    with Kubelet(registry):
        registry.create(stateful_set("web", 2, minReadySeconds=30))
        wait_until(lambda: "web-0" in members(registry) and ready(members(registry)["web-0"]), WAIT, "web-0 ready")
        assert m.wait_idle(WAIT)
        assert sorted(members(registry)) == ["web-0"]   # ready, but not yet available for 30 s
        sts = registry.get("StatefulSet", "web", "default")
        assert (sts.status.ready_replicas, sts.status.available_replicas) == (1, 0)
        skew[0] += 31
        wait_until(lambda: sorted(members(registry)) == ["web-0", "web-1"], WAIT, "web-1 after 30 s")
