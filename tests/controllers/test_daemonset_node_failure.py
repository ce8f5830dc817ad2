"""A DaemonSet through a node failure, with the node lifecycle and taint eviction controllers, hollow
nodes and the real scheduler on a moved clock: the daemon on the failed node tolerates the unreachable
NoExecute taint forever (the DaemonSet's default toleration) while the ReplicaSet's pods there are evicted
after their tolerationSeconds; the node counts as misscheduled while tainted NoSchedule and is desired
again once it recovers."""
from __future__ import annotations

import time

import pytest

from controllers import ControllerManager, HollowNodes
from controllers.controllerref import controller_of

from ctrl_helpers import FakeClock, replica_set, wait_for
from workload_helpers import advance_clock_until, daemon_set, running_with_scheduler

UNREACHABLE = "node.kubernetes.io/unreachable"


@pytest.fixture
def cluster(registry):
    clock = FakeClock()
    nodes = HollowNodes(registry, 3, clock=clock, heartbeat_interval=10, termination_seconds=0)
    manager = ControllerManager(registry, controllers=["nodelifecycle", "tainteviction", "replicaset", "daemonset"],
                                clock=clock, metrics=False,
                                controller_options={"nodelifecycle": {"node_monitor_period": 1.0}})

    def advance_until(predicate, message: str) -> None:
        advance_clock_until(clock, predicate, message, limit=400.0, pause=0.05)
    with running_with_scheduler(registry, nodes, manager):
        yield nodes, clock, advance_until


def _live(registry, kind):
    return [p for p in registry.list("Pod", all_namespaces=True).items
            if not p.metadata.deletion_timestamp and controller_of(p) is not None and controller_of(p).kind == kind]


def test_the_daemon_stays_on_a_failed_node_while_other_pods_are_evicted(registry, cluster):
    nodes, clock, advance_until = cluster
    tolerate = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 20}]
    registry.create(daemon_set("agent"))
    registry.create(replica_set("web", 3, tolerations=tolerate))
    wait_for(lambda: sorted(p.spec.node_name for p in _live(registry, "DaemonSet") if p.status.phase == "Running")
             == sorted(nodes.names), message="one agent Running per node")
    wait_for(lambda: len([p for p in _live(registry, "ReplicaSet") if p.status.phase == "Running"]) == 3,
             message="3 web pods Running")
    web = {p.spec.node_name for p in _live(registry, "ReplicaSet")}
    victim = next(n for n in nodes.names if n in web)
    daemon = next(p for p in _live(registry, "DaemonSet") if p.spec.node_name == victim)

    nodes.node(victim).pause()
    advance_until(lambda: {(t.key, t.effect) for t in registry.get("Node", victim).spec.taints} ==
                  {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}, "unreachable taints")
    advance_until(lambda: not any(p.spec.node_name == victim for p in _live(registry, "ReplicaSet")),
                  "web pods on the victim evicted after 20 s")
    wait_for(lambda: len(_live(registry, "ReplicaSet")) == 3, message="web pods replaced")
    advance_until(lambda: registry.get("DaemonSet", "agent", "default").status.number_misscheduled == 1,
                  "the tainted node counted as misscheduled")
    for _ in range(40):   # 400 s more, past the 300 s default: the daemon is never evicted nor doubled
        clock.advance(10.0)
        time.sleep(0.05)
        here = [p for p in _live(registry, "DaemonSet") if p.spec.node_name == victim]
        assert [p.metadata.uid for p in here] == [daemon.metadata.uid]
    status = registry.get("DaemonSet", "agent", "default").status
    assert (status.desired_number_scheduled, status.current_number_scheduled) == (2, 2)

    nodes.node(victim).resume()
    advance_until(lambda: not registry.get("Node", victim).spec.taints, "taints removed")
    advance_until(lambda: registry.get("DaemonSet", "agent", "default").status.desired_number_scheduled == 3 and
                  registry.get("DaemonSet", "agent", "default").status.number_misscheduled == 0, "desired again")
    assert [p.metadata.uid for p in _live(registry, "DaemonSet") if p.spec.node_name == victim] == [daemon.metadata.uid]
