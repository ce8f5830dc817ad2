"""Hypothesis drives node faults — pauses (a frozen kubelet), resumes, clock moves — under a ReplicaSet with
hollow nodes, the node lifecycle and taint eviction controllers and the real scheduler on one store. After
any schedule, the ReplicaSet is first served by the live nodes alone (the frozen nodes' pods evicted and
replaced), then, once every node is back: every node Ready and untainted, exactly the ReplicaSet's
replicas active and Running, and no pod left terminating (the kubelets finished what was evicted)."""
from __future__ import annotations

import contextlib
import time

import hypothesis.strategies as st
from hypothesis import HealthCheck, example, given, settings

import kvstore
import objects
from controllers import ControllerManager, HollowNodes

from ctrl_helpers import FakeClock, replica_set, wait_for
from workload_helpers import advance_clock_until, running_with_scheduler

NODES = 4
REPLICAS = 6
TOLERATE = [{"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}
            for k in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]


@contextlib.contextmanager
def _cluster():
    store = kvstore.open()
    registry = objects.Registry(store)
    clock = FakeClock()
    nodes = HollowNodes(registry, NODES, clock=clock, heartbeat_interval=10, termination_seconds=0)
    manager = ControllerManager(registry, controllers=["nodelifecycle", "tainteviction", "replicaset"],
                                clock=clock, metrics=False,
                                controller_options={"nodelifecycle": {"node_monitor_period": 1.0,
                                                                      "node_eviction_rate": 10.0}})
    try:
        with running_with_scheduler(registry, nodes, manager, scheduler_timeout=300):
            yield registry, nodes, clock
    finally:
        store.close()


def _converged(registry) -> bool:
    pods = registry.list("Pod", "default").items
    if any(p.metadata.deletion_timestamp for p in pods):
        return False
    active = [p for p in pods if p.status.phase not in ("Succeeded", "Failed")]
    if len(active) != REPLICAS or not all(p.status.phase == "Running" for p in active):
        return False
    for node in registry.list("Node").items:
        ready = next((c.status for c in node.status.conditions if c.type == "Ready"), None)
        if ready != "True" or node.spec.taints:
            return False
    return True


def _served(registry, live: set) -> bool:
    active = [p for p in registry.list("Pod", "default").items
              if not p.metadata.deletion_timestamp and p.status.phase not in ("Succeeded", "Failed")]
    return len(active) == REPLICAS and all(p.status.phase == "Running" and p.spec.node_name in live
                                           for p in active)


faults = st.lists(st.one_of(st.tuples(st.just("pause"), st.integers(0, NODES - 1)),
                            st.tuples(st.just("resume"), st.integers(0, NODES - 1)),
                            st.tuples(st.just("advance"), st.sampled_from([5, 20, 45, 60]))),
                  min_size=1, max_size=5)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(schedule=faults)
@example(schedule=[("pause", 0), ("advance", 60), ("advance", 20)])  # unreachable, evicted, replaced
@example(schedule=[("pause", 1), ("advance", 45), ("resume", 1)])    # back before its pods' tolerations end
def test_a_replica_set_converges_after_any_node_faults(schedule) -> None:
    with _cluster() as (registry, nodes, clock):
        registry.create(replica_set("web", REPLICAS, tolerations=TOLERATE))
        wait_for(lambda: _converged(registry), message="the first rollout")
        names = nodes.names
        for action, arg in schedule:
            if action == "pause":
                # at most two nodes frozen at once: with three of four not ready the zone is in partial
                # disruption, where the node lifecycle controller (as Kubernetes' for a zone of at most 50
                # nodes) evicts nothing, so the pods would rightly stay put (hypothesis found that schedule)
                paused = [n for n in names if nodes.node(n).paused]
                if len(paused) < 2:
                    nodes.node(names[arg]).pause()
            elif action == "resume":
                nodes.node(names[arg]).resume()
            else:
                for _ in range(arg // 5):
                    clock.advance(5)
                    time.sleep(0.05)
        # With the faults still there: the pods of frozen nodes are evicted and the ReplicaSet is served by
        # the live nodes alone.
        live = {n for n in names if nodes.node(n).live}
        advance_clock_until(clock, lambda: _served(registry, live), f"served by {sorted(live)} after {schedule}",
                            limit=600, pause=0.05, wall_limit=60)
        for name in names:
            nodes.node(name).resume()
        advance_clock_until(clock, lambda: _converged(registry), f"converged after {schedule}", limit=600, pause=0.05,
                            wall_limit=60)
        rs = registry.get("ReplicaSet", "web", "default")
        wait_for(lambda: registry.get("ReplicaSet", "web", "default").status.ready_replicas == REPLICAS,
                 message=f"readyReplicas after {schedule} (status {rs.status})")
