"""Node lifecycle and taint eviction with hollow nodes, a ReplicaSet and the real scheduler on one store, on
a clock the test moves: a paused node goes Unknown and gets the unreachable taints after the grace period,
its pods are evicted after their tolerationSeconds and recreated on the other nodes; when it comes back
its taints go and its kubelet finishes the deletions."""
from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import objects
from controllers import ControllerManager, HollowNodes
from controllers.nodelifecycle import _TokenBucket
from controllers.tainteviction import min_toleration_seconds

from ctrl_helpers import FakeClock, pod, replica_set, wait_for

from workload_helpers import advance_clock_until, running_with_scheduler

UNREACHABLE = "node.kubernetes.io/unreachable"


def _ready(node) -> str | None:
    return next((c.status for c in node.status.conditions if c.type == "Ready"), None)


def _taints(registry, name) -> set:
    return {(t.key, t.effect) for t in registry.get("Node", name).spec.taints}


def _pods(registry) -> list:
    return registry.list("Pod", all_namespaces=True).items


@pytest.fixture
def cluster(registry):
    clock = FakeClock()
    nodes = HollowNodes(registry, 3, clock=clock, heartbeat_interval=10, termination_seconds=0)
    manager = ControllerManager(registry, controllers=["nodelifecycle", "tainteviction", "replicaset"],
                                clock=clock, metrics=False,
                                controller_options={"nodelifecycle": {"node_monitor_period": 1.0}})

    def advance(seconds: float, step: float = 5.0) -> None:
        """Move the clock in steps, giving the threads a moment at each (every wait bounded)."""
        while seconds > 0:
            clock.advance(min(step, seconds))
            seconds -= step
            time.sleep(0.1)

    # a loaded machine may need more than the planned steps: advance.until goes on a second at a time
    advance.until = lambda predicate, message: advance_clock_until(clock, predicate, message, limit=120.0, pause=0.1)
    with running_with_scheduler(registry, nodes, manager):
        yield nodes, manager, clock, advance


def test_a_paused_node_is_tainted_and_its_pods_move_elsewhere(registry, cluster) -> None:
    nodes, manager, clock, advance = cluster
    tolerate = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]
    registry.create(replica_set("web", 6, tolerations=tolerate))
    wait_for(lambda: len([p for p in _pods(registry) if p.status.phase == "Running"]) == 6, message="6 Running")
    by_node: dict = {}
    for p in _pods(registry):
        by_node.setdefault(p.spec.node_name, []).append(p.metadata.name)
    victim = max(by_node, key=lambda n: len(by_node[n]))
    doomed = set(by_node[victim])
    registry.create(pod("forever", node_name=victim, tolerations=[{"operator": "Exists"}]))
    wait_for(lambda: registry.get("Pod", "forever", "default").status.phase == "Running", message="forever runs")

    nodes.node(victim).pause()
    advance(35)  # within the 40 s grace period: still Ready
    assert _ready(registry.get("Node", victim)) == "True"
    advance(5)
    advance.until(lambda: _ready(registry.get("Node", victim)) == "Unknown", "Ready=Unknown")
    node = registry.get("Node", victim)
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert (ready.reason, ready.message) == ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    wait_for(lambda: _taints(registry, victim) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")},
             message="unreachable taints")
    for other in set(nodes.names) - {victim}:
        assert _ready(registry.get("Node", other)) == "True" and not _taints(registry, other)
    # MarkPodsNotReady
    wait_for(lambda: all(next(c.status for c in registry.get("Pod", n, "default").status.conditions
                              if c.type == "Ready") == "False" for n in doomed), message="pods not ready")

    advance(20)  # tolerated for 30 s: nobody evicted yet
    assert all(registry.get("Pod", n, "default").metadata.deletion_timestamp is None for n in doomed)
    advance(10)
    advance.until(lambda: all(registry.get("Pod", n, "default").metadata.deletion_timestamp for n in doomed),
                  "evicted (terminating, the node's kubelet is gone)")
    evicted = registry.get("Pod", next(iter(doomed)), "default")
    assert any(c.type == "DisruptionTarget" and c.reason == "DeletionByTaintManager"
               for c in evicted.status.conditions)
    assert evicted.metadata.deletion_grace_period_seconds == 30
    assert registry.get("Pod", "forever", "default").metadata.deletion_timestamp is None  # tolerates forever

    def replaced() -> bool:
        live = [p for p in _pods(registry) if p.metadata.name.startswith("web")
                and not p.metadata.deletion_timestamp]
        return len(live) == 6 and all(p.status.phase == "Running" and p.spec.node_name != victim for p in live)
    wait_for(replaced, message="the ReplicaSet's pods Running elsewhere")

    nodes.node(victim).resume()
    wait_for(lambda: _ready(registry.get("Node", victim)) == "True", message="Ready again")
    wait_for(lambda: not _taints(registry, victim), message="taints removed")
    wait_for(lambda: not any(p.metadata.name in doomed for p in _pods(registry)),
             message="its kubelet finished the deletions")
    assert registry.get("Pod", "forever", "default").spec.node_name == victim


def test_tolerations_decide_when_a_pod_goes() -> None:
    taint = objects.Taint(UNREACHABLE, "", "NoExecute")
    other = objects.Taint("example.com/broken", "", "NoExecute")

    def with_tolerations(*tolerations):
        return pod("p", tolerations=list(tolerations))
    assert min_toleration_seconds(with_tolerations(), [taint]) == 0.0
    assert min_toleration_seconds(with_tolerations({"key": UNREACHABLE, "operator": "Exists",
                                                    "effect": "NoExecute", "tolerationSeconds": 30}), [taint]) == 30
    assert min_toleration_seconds(with_tolerations({"operator": "Exists"}), [taint, other]) is None
    assert min_toleration_seconds(with_tolerations({"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                                    "tolerationSeconds": 30}), [taint, other]) == 0.0
    assert min_toleration_seconds(with_tolerations(
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
        {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}), [taint]) == 10
    assert min_toleration_seconds(with_tolerations({"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                                    "tolerationSeconds": -5}), [taint]) == 0.0
    assert min_toleration_seconds(with_tolerations({"key": UNREACHABLE, "operator": "Exists",
                                                    "effect": "NoSchedule"}), [taint]) == 0.0


def test_the_zone_token_bucket_paces_noexecute_taints() -> None:
    bucket = _TokenBucket(0.1, 0.0)
    assert bucket.take(0.0) == 0.0  # burst 1
    assert bucket.take(0.0) == pytest.approx(10.0)
    assert bucket.take(5.0) == pytest.approx(5.0)
    assert bucket.take(10.0) == 0.0
    bucket.swap(0.0, 10.0)  # a small zone in partial disruption: no more evictions
    assert bucket.take(100.0) == float("inf")


def test_bad_options_are_refused(registry) -> None:
    with pytest.raises(ValueError, match="node_monitor_grace_period: Invalid value: 0"):
        ControllerManager(registry, controllers=["nodelifecycle"], metrics=False,
                          controller_options={"nodelifecycle": {"node_monitor_grace_period": 0}}).start()
    with pytest.raises(ValueError, match="unknown controllers"):
        ControllerManager(registry, controller_options={"nope": {}})


def test_lease_renewals_move_the_probe_time_without_a_sync_each(registry) -> None:
    # kube's monitorNodeHealth notes a moved heartbeat when it looks; syncing the node on every renewal (and
    # every node each monitor period) found nothing to do 1,500 times a second at 1,000 nodes. Renewals every
    # 0.1 s against a 2 s grace period: the nodes stay Ready, looked at about once per grace period
    nodes = HollowNodes(registry, 4, heartbeat_interval=0.1, termination_seconds=0)
    manager = ControllerManager(registry, controllers=["nodelifecycle"], metrics=False,
                                controller_options={"nodelifecycle": {"node_monitor_grace_period": 2.0,
                                                                      "node_monitor_period": 0.2}})
    nodes.start()
    manager.start()
    try:
        controller = manager.controllers["nodelifecycle"]
        wait_for(lambda: len(controller._health) == 4, message="every node probed")
        synced = []
        real = controller.sync
        controller.sync = lambda key: (synced.append(key), real(key))[1]
        renewed = sum(n.heartbeats for n in nodes)
        time.sleep(3.0)
        renewed = sum(n.heartbeats for n in nodes) - renewed
        assert renewed >= 20   # the heartbeats went on (about 120 unless the machine is very busy)
        assert len(synced) < renewed / 2
        assert all(_ready(n) == "True" and not n.spec.taints for n in registry.list("Node").items)
        nodes.node("hollow-node-0").pause()   # and a node that stops renewing still goes Unknown
        wait_for(lambda: _ready(registry.get("Node", "hollow-node-0")) == "Unknown", message="Unknown")
        assert all(_ready(registry.get("Node", f"hollow-node-{i}")) == "True" for i in (1, 2, 3))
    finally:
        manager.stop()
        nodes.stop()


def test_several_eviction_workers_evict_each_pod_once(registry) -> None:
    # the simulation gives the taint eviction controller several workers (kube evicts each pod on a
    # goroutine of its own): every pod of a tainted node is evicted, each exactly once
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gone"},
                                       "spec": {"taints": [{"key": UNREACHABLE, "effect": "NoExecute"}]}}))
    for i in range(40):
        registry.create(pod(f"p{i}", node_name="gone", terminationGracePeriodSeconds=0, tolerations=[
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]))
    manager = ControllerManager(registry, controllers=["tainteviction"], metrics=False,
                                workers={"tainteviction": 4})
    manager.start()
    try:
        wait_for(lambda: not registry.list("Pod", "default").items, message="every pod evicted")
        assert manager.wait_idle(30)
        assert manager.controllers["tainteviction"].evicted == 40
        evictions = [e for e in registry.list("Event", "default").items if e.reason == "TaintManagerEviction"]
        assert sorted(e.involved_object.name for e in evictions) == sorted(f"p{i}" for i in range(40))
        assert all((e.count or 1) == 1 for e in evictions)
    finally:
        manager.stop()


def test_pod_status_writes_do_not_wake_the_taint_eviction(registry) -> None:
    # kube's PodUpdated: only a changed node or tolerations requeue the pod (every pod status write
    # queued a sync that found nothing to do); a pod bound to a tainted node is still evicted
    from ctrl_helpers import set_pod_phase
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ok"}}))
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bad"},
                                       "spec": {"taints": [{"key": UNREACHABLE, "effect": "NoExecute"}]}}))
    quiet = registry.create(pod("quiet", node_name="ok"))
    manager = ControllerManager(registry, controllers=["tainteviction"], metrics=False)
    manager.start()
    try:
        assert manager.wait_idle(30)
        controller = manager.controllers["tainteviction"]
        synced = []
        real = controller.sync
        controller.sync = lambda key: (synced.append(key), real(key))[1]
        for ready in (True, False, True):
            set_pod_phase(registry, quiet, "Running", ready=ready)
        assert manager.wait_idle(30)
        assert synced == []
        registry.create(pod("late", terminationGracePeriodSeconds=0, tolerations=[
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]))
        registry.bind("late", "bad", "default")
        wait_for(lambda: [p.metadata.name for p in registry.list("Pod", "default").items] == ["quiet"],
                 message="the pod bound to the tainted node evicted")
        assert controller.evicted == 1
    finally:
        manager.stop()


def _needs_look_reference(health, master, node, tick, grace=40.0, startup_grace=60.0) -> bool:
    """The periodic pass's test as written before its shortcut for a Ready node without taints."""
    ready = next((c for c in node.status.conditions if c is not None and c.type == "Ready"), None)
    status = ready.status if ready is not None else None
    seen = health.get(node.metadata.name)
    if seen is None:
        return True
    if tick >= seen[0] + (grace if ready is not None else startup_grace) and status != "Unknown":
        return True
    wanted = {"Unknown": UNREACHABLE, "False": "node.kubernetes.io/not-ready"}.get(status or "")
    ours = {(t.key, t.effect) for t in node.spec.taints or ()
            if t.key in (UNREACHABLE, "node.kubernetes.io/not-ready")}
    expected = set() if wanted is None else {(wanted, "NoSchedule")} if master else \
        {(wanted, "NoSchedule"), (wanted, "NoExecute")}
    return ours != expected


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([None, "True", "False", "Unknown"]),
       st.lists(st.tuples(st.sampled_from([UNREACHABLE, "node.kubernetes.io/not-ready", "example.com/k"]),
                          st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule"])), max_size=3, unique=True),
       st.booleans(), st.sampled_from([None, 0.0, 100.0]))
def test_the_periodic_pass_looks_at_the_nodes_the_reference_test_picks(status, taints, master, probed) -> None:
    from types import SimpleNamespace
    from controllers.nodelifecycle import NodeLifecycleController
    node = objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                              "spec": {"taints": [{"key": k, "effect": e} for k, e in taints]},
                              "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}] + (
                                  [{"type": "Ready", "status": status}] if status else [])}})
    health = {} if probed is None else {"n": (probed, None, None)}
    controller = SimpleNamespace(_lock=threading.Lock(), _health=health, _master_disruption=master,
                                 grace_period=40.0, startup_grace_period=60.0)
    assert NodeLifecycleController._needs_look(controller, node, 120.0) == \
        _needs_look_reference(health, master, node, 120.0)
