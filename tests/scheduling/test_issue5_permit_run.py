"""Permit Wait connected to a registry, and the metrics of waiting and pending pods (issue 5, events/metrics).

* ``run(until_idle=True)`` stays up while a pod waits on Permit: the group's last member, created later in the
  registry, lets the waiting pod bind — through the registry.
* A run that ends (timeout / stop) with a pod still waiting releases it (Unreserve, resources freed) and
  queues it as active, so nothing is ever bound in memory only: the registry and the cache agree, and the
  next run binds it once its group is complete.
* ``metrics``: ``pending_pods`` per queue and ``waiting_pods`` (gauges), ``permit_wait_count`` /
  ``permit_wait_seconds`` per result (kube-scheduler's ``scheduler_permit_wait_duration_seconds``).
"""
from __future__ import annotations

import pathlib
import sys
import threading
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402
from test_permit import Clock, Gang, Journal, _cpu, member, registry, scheduler  # noqa: E402,F401 (registry: the fixture)

from scheduling import Scheduler, default_registry  # noqa: E402
from scheduling.framework import Plugin, PostBindPlugin  # noqa: E402


def _placements(registry: Any) -> dict[str, Any]:
    return {p.metadata.name: p.spec.node_name for p in registry.list("Pod", all_namespaces=True).items}


def _wait_for(predicate: Any, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_until_idle_stays_up_while_a_pod_waits_and_binds_it_through_the_registry(registry: Any) -> None:
    registry.create(node("n0", cpu="4"))
    registry.create(member("g-0", "g", 2))
    s = scheduler(Clock(), timeout=600)  # a frozen clock: only the group's completion ends the wait
    bound: list[int] = []
    runner = threading.Thread(target=lambda: bound.append(s.run(registry, until_idle=True, idle_seconds=0.05,
                                                                timeout=30)))
    runner.start()
    try:
        assert _wait_for(lambda: s.metrics.waiting_pods == 1)
        time.sleep(0.3)  # several idle periods pass: the run must not return while g-0 waits
        assert runner.is_alive()
        registry.create(member("g-1", "g", 2))
    finally:
        runner.join(40)
    assert not runner.is_alive() and bound == [2]
    assert _placements(registry) == {"g-0": "n0", "g-1": "n0"}
    assert s.metrics.waiting_pods == 0 and s.metrics.permit_wait_count == {"Success": 1}


def test_a_run_ending_with_a_pod_waiting_releases_it_and_the_next_run_binds_it(registry: Any) -> None:
    clock = Clock()
    registry.create(node("n0", cpu="4"))
    registry.create(member("g-0", "g", 2))
    s = scheduler(clock, timeout=600, journal=True)
    Journal.calls = []
    assert s.run(registry, until_idle=True, timeout=1.0) == 0  # the timeout ends it while g-0 waits
    assert _placements(registry) == {"g-0": None}
    assert _cpu(s) == {"n0": 0} and s.metrics.waiting_pods == 0
    assert Journal.calls == ["reserve JournalA g-0", "reserve JournalB g-0",
                             "unreserve JournalB g-0", "unreserve JournalA g-0"]
    assert s.metrics.pending_pods == {"active": 1, "backoff": 0, "unschedulable": 0, "gated": 0}
    g0 = registry.get("Pod", "g-0", "default")
    assert not [c for c in g0.status.conditions or () if c.type == "PodScheduled"]  # no failure written

    registry.create(member("g-1", "g", 2))
    assert s.run(registry, until_idle=True, timeout=30) == 2
    assert _placements(registry) == {"g-0": "n0", "g-1": "n0"}
    assert _cpu(s) == {"n0": 2000}


def test_a_stopped_run_leaves_nothing_bound_in_memory_only(registry: Any) -> None:
    registry.create(node("n0", cpu="4"))
    registry.create(member("g-0", "g", 2))
    s = scheduler(Clock(), timeout=600)
    runner = threading.Thread(target=lambda: s.run(registry, timeout=30))
    runner.start()
    try:
        assert _wait_for(lambda: s.metrics.waiting_pods == 1)
    finally:
        s.stop()
        runner.join(40)
    assert not runner.is_alive()
    # Fed directly afterwards, the group completes: both bind in memory, but g-0 was released at the stop,
    # so it is attempted again (a new decision), never bound on the strength of the registry run.
    s.add_pod(member("g-1", "g", 2))
    results = s.schedule_pending()
    assert [(r.pod.metadata.name, r.node_name, r.waiting_node_name) for r in results] == [
        ("g-0", None, "n0"), ("g-1", "n0", None), ("g-0", "n0", None)]
    assert _placements(registry) == {"g-0": None}


def test_metrics_gauges_and_permit_wait_durations() -> None:
    clock = Clock()
    s = scheduler(clock, timeout=10)
    s.add_node(node("n0", cpu="3"))
    s.add_pod(member("a-0", "a", 2))
    s.add_pod(member("b-0", "b", 2))
    s.add_pod(pod("big", cpu="4"))
    s.add_pod(pod("gated", schedulingGates=[{"name": "example.com/wait"}]))
    assert s.metrics.pending_pods == {"active": 3, "backoff": 0, "unschedulable": 0, "gated": 1}
    s.schedule_pending()
    assert s.metrics.waiting_pods == 2
    assert s.metrics.pending_pods == {"active": 0, "backoff": 0, "unschedulable": 1, "gated": 1}
    clock.now += 4
    s.add_pod(member("a-1", "a", 2))  # completes group a after a-0 waited 4 s
    s.schedule_pending()
    clock.now += 6  # b-0 times out after 10 s
    s.schedule_pending()
    m = s.metrics.as_dict()
    assert m["permit_wait_count"] == {"Success": 1, "Unschedulable": 1}
    assert m["permit_wait_seconds"] == {"Success": 4.0, "Unschedulable": 10.0}
    assert m["waiting_pods"] == 0
    # b-0's release freed room: "big" went to backoff, b-0 waits unschedulable for an event.
    assert m["pending_pods"] == {"active": 0, "backoff": 1, "unschedulable": 1, "gated": 1}


def test_metrics_without_a_scheduler_read_zero_gauges() -> None:
    from scheduling.metrics import Metrics
    m = Metrics()
    assert m.pending_pods == {"active": 0, "backoff": 0, "unschedulable": 0, "gated": 0} and m.waiting_pods == 0
    m.observe_permit_wait("Success", -1.0)  # a clock stepped back counts as no wait
    assert m.permit_wait_seconds == {"Success": 0.0} and m.permit_wait_count == {"Success": 1}


class Recorder(Plugin, PostBindPlugin):
    """A PostBind plugin recording the thread each binding finished on."""

    name = "Recorder"
    threads: list[int] = []

    def post_bind(self, state: Any, pod: Any, node_name: str) -> None:
        self.threads.append(threading.get_ident())


def test_allow_from_another_thread_is_carried_out_by_the_run_loop(registry: Any) -> None:
    plugins = default_registry()
    plugins.register("Gang", Gang)
    plugins.register("Recorder", Recorder)
    config = {"profiles": [{"plugins": {"permit": {"enabled": [{"name": "Gang"}]},
                                        "postBind": {"enabled": [{"name": "Recorder"}]}},
                            "pluginConfig": [{"name": "Gang", "args": {"timeoutSeconds": 600}}]}]}
    s = Scheduler(config, registry=plugins, clock=Clock())
    Recorder.threads = []
    registry.create(node("n0", cpu="4"))
    registry.create(member("g-0", "g", 2))
    loop: list[int] = []

    def run() -> None:
        loop.append(threading.get_ident())
        s.run(registry, until_idle=True, timeout=30)

    runner = threading.Thread(target=run)
    runner.start()
    try:
        assert _wait_for(lambda: s.metrics.waiting_pods == 1)
        # Allowed on this thread (keys are UIDs here): the run loop binds it, through the registry.
        s._handle.iterate_over_waiting_pods(lambda waiting: waiting.allow("Gang"))
    finally:
        runner.join(40)
    assert not runner.is_alive()
    assert _placements(registry) == {"g-0": "n0"}
    assert Recorder.threads == loop and s.metrics.permit_wait_count == {"Success": 1}
