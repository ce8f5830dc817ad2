"""A controller built without a clock keys its work queue's delays on the monotonic clock (as client-go's
delaying queue does through Go's monotonic time.Now), so a step back of the wall clock does not hold its
retries and delayed keys back for the length of the step (review finding)."""
from __future__ import annotations

import time
from typing import Iterator

import pytest

from controllers import Controller, ControllerManager, register_controller
from controllers.events import EventRecorder
from controllers.informer import SharedInformers
from controllers.table import DEFAULT_CONTROLLERS


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    yield offset


class Idle(Controller):
    name = "walltest"

    def sync(self, key: str) -> None:
        pass


def test_a_delayed_key_comes_on_time_after_the_wall_clock_steps_back(registry, wall: list[float]) -> None:
    controller = Idle(registry, SharedInformers(registry), recorder=EventRecorder(registry, "walltest", enabled=False))
    controller.queue.add_after("default/x", 0.2)
    wall[0] = -3600.0
    assert controller.queue.get(timeout=5) == "default/x"


def test_the_managers_controllers_too(registry, wall: list[float]) -> None:
    register_controller("walltest", Idle, enabled_by_default=False)
    try:
        manager = ControllerManager(registry, controllers=["walltest"], metrics=False)
        manager.start()
        try:
            queue = manager.controllers["walltest"].queue
            queue.add_after("default/y", 0.2)
            wall[0] = -3600.0
            deadline = time.monotonic() + 5
            while queue.activity and time.monotonic() < deadline and queue.next_due() is not None:
                time.sleep(0.05)
            assert queue.next_due() is None   # released (and taken by the worker), not an hour away
        finally:
            manager.stop()
    finally:
        DEFAULT_CONTROLLERS.pop("walltest", None)


def test_expectations_do_not_expire_when_the_wall_clock_steps_forward(registry, wall: list[float]) -> None:
    # a pod owner's expectations live 5 minutes (ExpectationsTimeout), measured like kube's on a monotonic
    # clock: a wall step forward must not expire them early (the controller would create again)
    from controllers.replicaset import ReplicaSetController
    controller = ReplicaSetController(registry, SharedInformers(registry),
                                      recorder=EventRecorder(registry, "rs", enabled=False))
    controller.expectations.expect_creations("default/rs", 3)
    wall[0] = 3600.0
    assert not controller.expectations.satisfied("default/rs")


def test_node_health_is_not_judged_on_a_wall_clock_step(registry, wall: list[float]) -> None:
    # kube's node lifecycle controller compares probe times read off its own (monotonic) clock: a wall step
    # forward must not make every healthy node's grace period lapse at once (all Unknown, tainted)
    import objects
    from controllers.podstate import format_time
    from ctrl_helpers import wait_for
    stamp = format_time(time.time())
    registry.create(objects.from_dict({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}}))
    manager = ControllerManager(registry, controllers=["nodelifecycle"], metrics=False,
                                controller_options={"nodelifecycle": {"node_monitor_period": 0.1}})
    manager.start()
    try:
        controller = manager.controllers["nodelifecycle"]
        wait_for(lambda: "n1" in controller._health, message="the node probed")
        wall[0] = 3600.0
        time.sleep(1.0)   # ten monitor passes
        assert manager.wait_idle(10)
        ready = next(c for c in registry.get("Node", "n1").status.conditions if c.type == "Ready")
        assert ready.status == "True" and not registry.get("Node", "n1").spec.taints
    finally:
        manager.stop()


def test_taint_eviction_waits_out_toleration_seconds_whatever_the_wall_clock_does(registry, wall) -> None:
    # kube's taint eviction times tolerationSeconds from when it first saw the pod on the tainted node, on a
    # monotonic clock: a wall step forward must not evict a pod whose toleration still runs
    import objects
    from controllers.tainteviction import TaintEvictionController
    from ctrl_helpers import pod
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                                       "spec": {"taints": [{"key": "node.kubernetes.io/unreachable",
                                                            "effect": "NoExecute"}]}}))
    registry.create(pod("p", node_name="n1", tolerations=[{"key": "node.kubernetes.io/unreachable",
                                                           "operator": "Exists", "effect": "NoExecute",
                                                           "tolerationSeconds": 300}]))
    informers = SharedInformers(registry)
    controller = TaintEvictionController(registry, informers, recorder=EventRecorder(registry, "t", enabled=False))
    informers.start()
    try:
        assert informers.wait_synced(10)
        controller.sync("default/p")              # first seen on the tainted node: 300 s from now
        wall[0] = 3600.0
        controller.sync("default/p")
        assert controller.evicted == 0 and not registry.get("Pod", "p", "default").metadata.deletion_timestamp
    finally:
        informers.stop()


def test_hollow_node_heartbeats_go_on_when_the_wall_clock_steps_back(registry, wall: list[float]) -> None:
    # the hollow kubelets' timers run on the monotonic clock when no clock is given: timers due on the wall
    # clock would wait out a step back (an hour without a heartbeat: every node Unknown)
    from controllers import HollowNodes
    from ctrl_helpers import wait_for
    nodes = HollowNodes(registry, 1, heartbeat_interval=0.2)
    nodes.start()
    try:
        node = nodes.node("hollow-node-0")
        wait_for(lambda: node.heartbeats >= 2, message="heartbeats")
        wall[0] = -3600.0
        seen = node.heartbeats
        wait_for(lambda: node.heartbeats >= seen + 3, timeout=10, message="heartbeats after the step back")
    finally:
        nodes.stop()


def test_hollow_pods_do_not_exit_early_when_the_wall_clock_steps_forward(registry, wall: list[float]) -> None:
    # a pod's run time is a duration: a step forward of the wall clock must not end it at once
    from controllers import HollowNodes
    from ctrl_helpers import pod, wait_for
    nodes = HollowNodes(registry, 1, heartbeat_interval=0.2)
    nodes.start()
    try:
        p = pod("long", node_name="hollow-node-0", restartPolicy="Never")
        registry.create(p.replace(metadata=p.metadata.replace(annotations={"borgkit.io/run-seconds": "600"})))
        wait_for(lambda: registry.get("Pod", "long", "default").status.phase == "Running", message="Running")
        wall[0] = 3600.0
        node = nodes.node("hollow-node-0")
        seen = node.heartbeats
        wait_for(lambda: node.heartbeats >= seen + 3, timeout=10, message="the wheel turning after the step")
        assert registry.get("Pod", "long", "default").status.phase == "Running"
    finally:
        nodes.stop()


def test_event_spam_buckets_ignore_a_wall_clock_step_back(registry, wall: list[float]) -> None:
    # the spam filter's token buckets refill with elapsed time: measured on the wall clock, a step back of an
    # hour took 12 tokens off a bucket of 25 and dropped events the filter would have let through
    from controllers import EventRecorder
    from ctrl_helpers import pod
    target = registry.create(pod("steady"))
    recorder = EventRecorder(registry, "c")
    try:
        recorder.event(target, "Normal", "Tick", "before")
        assert recorder.flush(10)
        wall[0] = -3600.0
        for i in range(20):
            recorder.event(target, "Normal", "Tick", f"after {i}")
        assert recorder.flush(10)
        assert recorder.dropped == 0
    finally:
        recorder.stop()
