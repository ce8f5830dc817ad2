"""Hollow kubelets ride through the store's transient failures (objects.ServerTimeout / Unavailable, kube-
apiserver's 504 / 503) as kubelets do: a pod sync or a node status report that fails is tried again later,
instead of the pod staying where it was or the node's reports ending (review finding)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import kvstore
import objects
from controllers.hollownodes import HollowNodes

from ctrl_helpers import FakeClock, pod, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds flaky_store
from flaky_store import FlakyStore  # noqa: E402

ROUNDS = 40


def _advance_until(nodes: HollowNodes, clock: FakeClock, step: float, done: Any) -> Any:
    """Move the clock ``step`` at a time (bounded) until ``done()`` gives something truthy."""
    for _ in range(ROUNDS):
        result = done()
        if result:
            return result
        clock.advance(step)
        nodes.wheel.wake()
        try:
            return wait_for(done, timeout=0.5, message="")
        except AssertionError:
            continue
    return None


@pytest.mark.parametrize("error", [kvstore.Timeout, kvstore.NoLeader])
def test_a_pod_status_write_that_fails_is_tried_again(error: type[Exception]) -> None:
    store = FlakyStore(error, methods=["txn"])
    clock = FakeClock()
    direct = objects.Registry(store.inner)      # the test's own writes never meet the injected failure
    nodes = HollowNodes(objects.Registry(store), 1, clock=clock, pod_startup_seconds=5)
    nodes.start()
    try:
        store.failures = 1                       # the kubelet's first write: the pod's Pending status
        direct.create(pod("web", node_name="hollow-node-0"))
        wait_for(lambda: store.failures == 0, message="the kubelet tried to write the pod's status")

        def phase() -> str | None:
            return direct.get("Pod", "web", "default").status.phase  # type: ignore[no-any-return]
        assert _advance_until(nodes, clock, 5.0, lambda: phase() == "Running"), phase()
    finally:
        nodes.stop()
        store.inner.close()


def test_node_status_reports_go_on_after_one_fails() -> None:
    store = FlakyStore(kvstore.Timeout, methods=["txn"])
    clock = FakeClock()
    direct = objects.Registry(store.inner)
    nodes = HollowNodes(objects.Registry(store), 1, clock=clock, heartbeat_interval=1000,
                        status_report_interval=10)
    nodes.start()

    def reports() -> int:
        return nodes.writes["node_status"]
    try:
        # every report is due within one interval of the start: let the first one fail
        store.failures = 1
        assert _advance_until(nodes, clock, 5.0, lambda: store.failures == 0)
        before = reports()
        assert _advance_until(nodes, clock, 5.0, lambda: reports() > before), \
            "no node status report after the failed one"
        ready = next(c for c in direct.get("Node", "hollow-node-0").status.conditions if c.type == "Ready")
        assert ready.status == "True"
    finally:
        nodes.stop()
        store.inner.close()
