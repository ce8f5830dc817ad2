"""DaemonSet controller on a real Registry: one pod per eligible node (nodeSelector, node affinity,
taints and the default tolerations), pods placed through matchFields node affinity, node changes,
RollingUpdate with maxUnavailable or maxSurge checked at every pod event, OnDelete, ControllerRevision
history and rollback, failed pods replaced, status."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import ControllerManager
from controllers.controllerref import controller_of
from controllers.daemonset import DEFAULT_TOLERATIONS, target_node
from controllers.history import CONTROLLER_REVISION_HASH
from controllers.podcontrol import PodControl

from ctrl_helpers import WAIT, started_managers
from workload_helpers import Kubelet, PodWatcher, daemon_set, image_of, node, wait_until, with_image

NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}


@pytest.fixture
def manager(registry):
    with started_managers(registry, ["daemonset"]) as make:
        yield make


def kubelet(registry, **options):
    """A stand-in scheduler (binds a daemon pod to the node its matchFields affinity names) and kubelet."""
    return Kubelet(registry, bind=target_node, **options)


def pods_by_node(registry, ds_name, namespace="default"):
    out: dict[str, list] = {}
    for p in registry.list("Pod", namespace).items:
        ref = controller_of(p)
        if ref is not None and ref.name == ds_name and not p.metadata.deletion_timestamp:
            out.setdefault(p.spec.node_name or f"(unbound for {target_node(p)})", []).append(p)
    return out


def one_per_node(registry, ds_name, expected_nodes, image="v1"):
    def done():
        placed = pods_by_node(registry, ds_name)
        return (sorted(placed) == sorted(expected_nodes)
                and all(len(ps) == 1 and ps[0].status.phase == "Running" and image_of(ps[0]) == image
                        for ps in placed.values()))
    wait_until(done, WAIT, f"one {image} pod of {ds_name} on each of {sorted(expected_nodes)}: "
                           f"{ {k: len(v) for k, v in pods_by_node(registry, ds_name).items()} }")


def revisions(registry, ds):
    return sorted((r for r in registry.list("ControllerRevision", "default").items
                   if controller_of(r) is not None and controller_of(r).uid == ds.metadata.uid),
                  key=lambda r: r.revision)


def test_one_pod_on_each_eligible_node(registry, manager):
    registry.create(node("plain"))
    registry.create(node("ssd", labels={"disk": "ssd"}))
    registry.create(node("dedicated", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]))
    registry.create(node("cordoned", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]))
    registry.create(node("not-ready", taints=[NOT_READY]))
    registry.create(node("evicting", taints=[{"key": "maintenance", "effect": "NoExecute"}]))
    m = manager()
    with kubelet(registry):
        registry.create(daemon_set("all"))
        registry.create(daemon_set("ssd-only", pod_spec={"nodeSelector": {"disk": "ssd"}}))
        registry.create(daemon_set("by-affinity", pod_spec={"affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "disk", "operator": "DoesNotExist"}]}]}}}}))
        registry.create(daemon_set("tolerant", pod_spec={"tolerations": [{"operator": "Exists"}]}))
        default_nodes = ["plain", "ssd", "cordoned", "not-ready"]
        one_per_node(registry, "all", default_nodes)
        one_per_node(registry, "ssd-only", ["ssd"])
        one_per_node(registry, "by-affinity", ["plain", "cordoned", "not-ready"])
        one_per_node(registry, "tolerant", ["plain", "ssd", "dedicated", "cordoned", "not-ready", "evicting"])
        assert m.wait_idle(WAIT)
    pod = pods_by_node(registry, "all")["plain"][0]
    terms = pod.spec.affinity.node_affinity.required.to_dict()["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["plain"]}]}]
    assert set(DEFAULT_TOLERATIONS) <= set(pod.spec.tolerations)
    ds = registry.get("DaemonSet", "all", "default")
    assert pod.metadata.labels[CONTROLLER_REVISION_HASH] == revisions(registry, ds)[0].metadata.labels[
        CONTROLLER_REVISION_HASH]
    s = ds.status
    assert (s.desired_number_scheduled, s.current_number_scheduled, s.number_ready, s.number_available,
            s.updated_number_scheduled, s.number_misscheduled, s.number_unavailable) == (4, 4, 4, 4, 4, 0, 0)
    assert s.observed_generation == ds.metadata.generation


def test_follows_node_labels_taints_and_new_nodes(registry, manager):
    for i in range(3):
        registry.create(node(f"n{i}", labels={"role": "edge"}))
    m = manager()
    with kubelet(registry):
        registry.create(daemon_set("edge", pod_spec={"nodeSelector": {"role": "edge"}}))
        one_per_node(registry, "edge", ["n0", "n1", "n2"])
        registry.create(node("n3", labels={"role": "edge"}))                   # a new node
        n0 = registry.get("Node", "n0")
        registry.update(n0.replace(metadata=n0.metadata.replace(labels={})))  # stops matching
        one_per_node(registry, "edge", ["n1", "n2", "n3"])
        # NoSchedule: no new daemon there, but the running one stays (and counts as misscheduled)
        n1 = registry.get("Node", "n1")
        registry.update(n1.replace(spec=n1.spec.replace(taints=[objects_taint("gpu", "NoSchedule")])))
        wait_until(lambda: registry.get("DaemonSet", "edge", "default").status.number_misscheduled == 1, WAIT,
                   "n1 misscheduled")
        assert "n1" in pods_by_node(registry, "edge")
        # NoExecute untolerated: the daemon goes
        n2 = registry.get("Node", "n2")
        registry.update(n2.replace(spec=n2.spec.replace(taints=[objects_taint("broken", "NoExecute")])))
        wait_until(lambda: "n2" not in pods_by_node(registry, "edge"), WAIT, "daemon evicted from n2")
        assert m.wait_idle(WAIT)
    s = registry.get("DaemonSet", "edge", "default").status
    assert (s.desired_number_scheduled, s.current_number_scheduled, s.number_misscheduled) == (1, 1, 1)


def objects_taint(key, effect):
    from objects import Taint
    return Taint(key, "", effect)


def _per_node_checker(eligible, max_pods_per_node, max_unavailable):
    def check(pods):
        by_node: dict[str, list] = {}
        for p in pods.values():
            by_node.setdefault(target_node(p), []).append(p)
        crowded = {n: len(ps) for n, ps in by_node.items() if len(ps) > max_pods_per_node}
        if crowded:
            return f"more than {max_pods_per_node} daemon pods on a node: {crowded}"
        down = [n for n in eligible if not any(p.status.phase == "Running" for p in by_node.get(n, []))]
        if len(down) > max_unavailable:
            return f"{len(down)} nodes without an available daemon > maxUnavailable {max_unavailable}: {down}"
        return None
    return check


@pytest.mark.parametrize("rolling,per_node,unavailable", [({"maxUnavailable": 1}, 1, 1),
                                                         ({"maxUnavailable": "50%"}, 1, 2),
                                                         ({"maxSurge": 1, "maxUnavailable": 0}, 2, 0)])
def test_rolling_update_bounds_at_every_pod_event(registry, manager, rolling, per_node, unavailable):
    names = [f"n{i}" for i in range(4)]
    for name in names:
        registry.create(node(name))
    m = manager()
    with kubelet(registry):
        registry.create(daemon_set("agent", strategy={"type": "RollingUpdate", "rollingUpdate": rolling}))
        one_per_node(registry, "agent", names)
        assert m.wait_idle(WAIT)
        with PodWatcher(registry, _per_node_checker(names, per_node, unavailable)) as watcher:
            with_image(registry, "DaemonSet", "agent", "v2")
            one_per_node(registry, "agent", names, "v2")
    assert watcher.violations == [] and watcher.events >= 3 * len(names)
    ds = registry.get("DaemonSet", "agent", "default")
    wait_until(lambda: registry.get("DaemonSet", "agent", "default").status.updated_number_scheduled == 4, WAIT,
               "status updated")
    assert [r.revision for r in revisions(registry, ds)] == [1, 2]


def test_on_delete_waits_for_the_user_and_rollback_renumbers_the_old_revision(registry, manager):
    for name in ("a", "b"):
        registry.create(node(name))
    m = manager()
    with kubelet(registry):
        registry.create(daemon_set("agent", strategy={"type": "OnDelete"}, revisionHistoryLimit=1))
        one_per_node(registry, "agent", ["a", "b"])
        with_image(registry, "DaemonSet", "agent", "v2")
        assert m.wait_idle(WAIT)
        assert all(image_of(ps[0]) == "v1" for ps in pods_by_node(registry, "agent").values())
        assert registry.get("DaemonSet", "agent", "default").status.updated_number_scheduled == 0
        victim = pods_by_node(registry, "agent")["a"][0]
        registry.delete("Pod", victim.metadata.name, "default")
        wait_until(lambda: image_of(pods_by_node(registry, "agent").get("a", [victim])[0]) == "v2", WAIT,
                   "a replaced with v2")
        assert image_of(pods_by_node(registry, "agent")["b"][0]) == "v1"
        ds = registry.get("DaemonSet", "agent", "default")
        first = revisions(registry, ds)[0]
        with_image(registry, "DaemonSet", "agent", "v1")  # back to the first template
        wait_until(lambda: [(r.metadata.uid, r.revision) for r in revisions(registry, ds)][-1] ==
                   (first.metadata.uid, 3), WAIT, "the first revision renumbered 3")
        with_image(registry, "DaemonSet", "agent", "v4")
        wait_until(lambda: len(revisions(registry, ds)) == 3, WAIT, "v4 revision")
        # old revisions still used by a pod (v1 on b, v2 on a) are kept even beyond the history limit
        assert m.wait_idle(WAIT)
        assert len(revisions(registry, ds)) == 3


def test_failed_daemon_pods_are_replaced(registry, manager):
    registry.create(node("a"))
    m = manager()
    with kubelet(registry):
        registry.create(daemon_set("agent"))
        one_per_node(registry, "agent", ["a"])
        pod = pods_by_node(registry, "agent")["a"][0]
        registry.update_status(pod.replace(status=pod.status.replace(phase="Failed")))
        wait_until(lambda: [p.metadata.uid for p in pods_by_node(registry, "agent").get("a", [])] not in
                   ([], [pod.metadata.uid]), WAIT, "a new pod on a")
        one_per_node(registry, "agent", ["a"])
        assert m.wait_idle(WAIT)


def test_expectations_for_creations_and_deletions_at_once():
    from controllers import ControllerExpectations
    exp = ControllerExpectations()
    exp.expect("ns/ds", 2, ["u1"])
    assert not exp.satisfied("ns/ds") and exp.pending("ns/ds") == (2, frozenset({"u1"}))
    exp.creation_observed("ns/ds")
    exp.creation_observed("ns/ds")
    assert not exp.satisfied("ns/ds")
    exp.deletion_observed("ns/ds", "u1")
    assert exp.satisfied("ns/ds")
    with pytest.raises(ValueError, match="-1"):
        exp.expect("ns/ds", -1, [])


def test_a_replacement_waits_for_the_terminating_daemon_on_its_node(registry, manager, monkeypatch):
    monkeypatch.setattr(PodControl, "graceful", True)   # deletes wait for the kubelet, as on a real cluster
    names = ["n0", "n1", "n2"]
    for name in names:
        registry.create(node(name))
    manager()
    with kubelet(registry, terminate_after=0.5):
        registry.create(daemon_set("agent", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}))
        one_per_node(registry, "agent", names)
        watcher = PodWatcher(registry, _per_node_checker(names, 1, 2), include_terminating=True)
        with watcher:
            with_image(registry, "DaemonSet", "agent", "v2")
            one_per_node(registry, "agent", names, "v2")
    assert watcher.violations == [] and watcher.events >= 3 * len(names)
    assert any(e.reason == "SuccessfulDelete" for e in registry.list("Event", all_namespaces=True).items)


def test_the_node_affinity_of_a_daemon_pod_replaces_required_terms_and_keeps_preferred_ones():
    import objects
    from controllers.daemonset import pod_template_for_node
    ds = objects.from_dict(objects.to_dict(daemon_set("a", pod_spec={"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "preference": {"matchExpressions": [{"key": "ssd", "operator": "Exists"}]}}]}},
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]})),
        defaults=True)
    spec = pod_template_for_node(ds.spec.template, "n7").to_dict()["spec"]
    node_affinity = spec["affinity"]["nodeAffinity"]
    assert node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] == {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n7"]}]}]}
    assert node_affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] == 5
    keys = [(t.get("key"), t.get("effect")) for t in spec["tolerations"]]
    assert keys.count(("node.kubernetes.io/not-ready", "NoExecute")) == 1 and len(keys) == len(DEFAULT_TOLERATIONS)
    assert "nodeAffinity" in ds.spec.template.to_dict()["spec"]["affinity"]   # the DaemonSet's own is unchanged
    assert ds.spec.template.spec.affinity.node_affinity.required.to_dict()["nodeSelectorTerms"][0]["matchExpressions"]


@settings(max_examples=5, deadline=None)
@given(count=st.integers(1, 5), surge=st.sampled_from([0, 1, 2, "0%", "30%", "100%"]),
       unavailable=st.sampled_from([0, 1, 3, "0%", "25%", "60%"]))
def test_rolling_update_bounds_hold_for_any_knobs(count, surge, unavailable):
    """A real DaemonSet rollout per example (fresh store, controller, stand-in kubelet), every pod event
    checked: at most 1 pod per node without surge (2 with), at most maxUnavailable nodes down."""
    from controllers.rolloututil import scaled_value
    from ctrl_helpers import new_registry
    max_surge = scaled_value(surge, count, True)
    max_unavailable = scaled_value(unavailable, count, True)
    if max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    store, registry = new_registry()
    names = [f"n{i}" for i in range(count)]
    for name in names:
        registry.create(node(name))
    m = ControllerManager(registry, controllers=["daemonset"], metrics=False)
    m.start()
    try:
        with kubelet(registry):
            registry.create(daemon_set("agent", strategy={"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": surge, "maxUnavailable": unavailable}}))
            one_per_node(registry, "agent", names)
            with PodWatcher(registry, _per_node_checker(names, 2 if max_surge else 1, max_unavailable)) as watcher:
                with_image(registry, "DaemonSet", "agent", "v2")
                one_per_node(registry, "agent", names, "v2")
        assert watcher.violations == []
    finally:
        m.stop()
        store.close()
