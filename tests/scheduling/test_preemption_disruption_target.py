"""Preemption fidelity (#15): kube-scheduler's podTerminatingByPreemption and prepareCandidate's condition.

A nominated pod waits only for a lower-priority pod that is terminating *and* carries DisruptionTarget=True
with reason PreemptionByScheduler (TestPodEligibleToPreemptOthers, "non-victim Pods terminating"); run()
writes that condition on each victim, through the Registry, before deleting it.
"""
from __future__ import annotations

import pathlib
import sys

import pytest

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.plugins.defaultpreemption import terminating_by_preemption  # noqa: E402

TERMINATING = "preemption: not eligible due to a terminating pod on the nominated node."
GONE = "2024-01-01T00:00:00Z"


def _with(conditions: list[dict], deleting: bool = True) -> objects.Pod:
    meta = {"deletionTimestamp": GONE} if deleting else {}
    p = pod("victim", node_name="a", metadata=meta)
    return p.replace(status=objects.PodStatus.from_dict({"conditions": conditions}))


DISRUPTED = {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}


@pytest.mark.parametrize("conditions,deleting,expected", [
    ([DISRUPTED], True, True),                                         # a victim of preemption
    ([], True, False),                                                  # non-victim pod terminating
    ([{**DISRUPTED, "reason": "EvictionByEvictionAPI"}], True, False),  # evicted, not preempted
    ([{**DISRUPTED, "status": "False"}], True, False),
    ([DISRUPTED], False, False),                                        # marked but not (yet) deleted
    ([{"type": "Ready", "status": "False"}, DISRUPTED], True, True),
])
def test_terminating_by_preemption_is_kube_schedulers_rule(conditions, deleting, expected):
    assert terminating_by_preemption(_with(conditions, deleting)) is expected


@pytest.fixture
def registry(tmp_path: pathlib.Path):
    store = kvstore.open(str(tmp_path / "db"), fsync="never")
    registry = objects.Registry(store)
    registry.create(objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                       "metadata": {"name": "high"}, "value": 100}))
    registry.create(node("a", cpu="1"))
    yield registry
    store.close()


def _scheduled_message(p: objects.Pod) -> str:
    return next((c.message or "" for c in p.status.conditions if c.type == "PodScheduled"), "")


def test_run_marks_victims_disruption_target_before_deleting_them_and_then_waits(registry):
    registry.create(pod("low", cpu="1", node_name="a", metadata={"finalizers": ["example.com/hold"]}))
    registry.create(pod("high", cpu="1", priorityClassName="high"))
    assert Scheduler().run(registry, until_idle=True, timeout=30) == 0
    low = registry.get("Pod", "low", "default")
    assert low.metadata.deletion_timestamp is not None
    [target] = [c for c in low.status.conditions if c.type == "DisruptionTarget"]
    assert (target.status, target.reason, target.message) == (
        "True", "PreemptionByScheduler", "default-scheduler: preempting to accommodate a higher priority pod")
    assert target.last_transition_time is not None
    high = registry.get("Pod", "high", "default")
    assert high.status.nominated_node_name == "a"
    assert TERMINATING in _scheduled_message(high)                    # its own victim: it waits


def test_a_pod_terminating_for_another_reason_does_not_hold_the_nominated_pod_back(registry):
    # "low" is being deleted by someone else (a finalizer keeps it): no DisruptionTarget condition.
    registry.create(pod("low", cpu="1", node_name="a", metadata={"finalizers": ["example.com/hold"]}))
    registry.delete("Pod", "low", "default")
    high = pod("high", cpu="1", priorityClassName="high")
    registry.create(high.replace(status=objects.PodStatus(nominated_node_name="a")))  # nominated earlier
    assert Scheduler().run(registry, until_idle=True, timeout=30) == 0
    # Eligible to preempt: it preempted "low" (kube-scheduler does the same), which now carries the mark.
    low = registry.get("Pod", "low", "default")
    assert [(c.status, c.reason) for c in low.status.conditions if c.type == "DisruptionTarget"] == [
        ("True", "PreemptionByScheduler")]
    assert registry.get("Pod", "high", "default").status.nominated_node_name == "a"
