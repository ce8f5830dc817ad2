"""Job controller on a real Registry: completions and parallelism, work-queue Jobs, backoffLimit,
activeDeadlineSeconds, Indexed completion, suspend. Pod phases are set by the test, as a kubelet would."""
from __future__ import annotations

import pytest

import objects
from controllers import ControllerManager
from controllers.job import format_indexes, parse_indexes

from ctrl_helpers import WAIT, owned_pods, set_pod_phase, wait_for


@pytest.fixture
def manager(registry):
    managers = []

    def make():
        m = ControllerManager(registry, controllers=["job"], metrics=False)
        m.start()
        m.controllers["job"].pod_failure_backoff = 0.05  # Kubernetes waits 10 s; the test need not
        managers.append(m)
        return m
    yield make
    for m in managers:
        m.stop()


def job(name, restart="Never", **spec):
    return objects.from_dict({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                              "spec": {"template": {"spec": {"restartPolicy": restart,
                                                             "containers": [{"name": "c", "image": "i"}]}},
                                       **spec}})


def state(registry, name):
    j = registry.get("Job", name, "default")
    conditions = {c.type: (c.status, c.reason) for c in j.status.conditions}
    return j, owned_pods(registry, j), conditions


def finish(registry, pods, phase="Succeeded"):
    for p in pods:
        set_pod_phase(registry, p, phase)


def test_completions_with_parallelism(registry, manager):
    m = manager()
    registry.create(job("pi", completions=3, parallelism=2))
    assert m.wait_idle(WAIT)
    j, active, _ = state(registry, "pi")
    assert len(active) == 2 and j.status.active == 2 and j.status.start_time is not None
    assert all(p.metadata.labels["job-name"] == "pi" for p in active)
    finish(registry, active[:1])
    assert m.wait_idle(WAIT)
    j, active, _ = state(registry, "pi")
    assert len(active) == 2 and j.status.succeeded == 1  # one more started: min(parallelism, 3 - 1)
    finish(registry, active)
    assert m.wait_idle(WAIT)
    j, active, conditions = state(registry, "pi")
    assert conditions == {"Complete": ("True", None)}
    assert (j.status.succeeded, j.status.active, j.status.failed) == (3, 0, 0)
    assert j.status.completion_time is not None and active == []
    assert any(e.reason == "Completed" for e in registry.list("Event", "default").items)


def test_a_work_queue_job_completes_when_one_succeeded_and_none_runs(registry, manager):
    m = manager()
    registry.create(job("wq", parallelism=3, completions=None))
    j = registry.get("Job", "wq", "default")
    assert j.spec.completions is None
    assert m.wait_idle(WAIT)
    _, active, _ = state(registry, "wq")
    assert len(active) == 3
    finish(registry, active[:1])
    assert m.wait_idle(WAIT)
    _, still, conditions = state(registry, "wq")
    assert len(still) == 2 and "Complete" not in conditions  # no new pods once one succeeded
    finish(registry, still)
    assert m.wait_idle(WAIT)
    assert state(registry, "wq")[2] == {"Complete": ("True", None)}


def test_backoff_limit_counts_failed_pods(registry, manager):
    m = manager()
    registry.create(job("flaky", backoffLimit=1))
    for attempt in range(2):
        wait_for(lambda: len(state(registry, "flaky")[1]) == 1, message=f"attempt {attempt}")
        finish(registry, state(registry, "flaky")[1], "Failed")
    assert m.wait_idle(WAIT)
    j, active, conditions = state(registry, "flaky")
    assert conditions["Failed"] == ("True", "BackoffLimitExceeded")
    assert j.status.failed == 2 and active == [] and j.status.completion_time is None
    assert any(e.reason == "BackoffLimitExceeded" and e.type == "Warning"
               for e in registry.list("Event", "default").items)


def _restarted(registry, p, count):
    registry.patch_status("Pod", p.metadata.name, {"status": {"phase": "Running", "containerStatuses": [
        {"name": "c", "image": "i", "imageID": "", "ready": True, "restartCount": count,
         "state": {"running": {}}}]}}, p.metadata.namespace)


@pytest.mark.parametrize("limit, restarts, fails", [(2, 1, False), (2, 2, True), (0, 1, True)])
def test_on_failure_restarts_reaching_the_backoff_limit_fail_the_job(registry, manager, limit, restarts, fails):
    # kube's pastBackoffLimitOnFailure: the container restarts of running / pending pods >= backoffLimit
    # (> 0 when backoffLimit is 0) fail the Job, apart from failed pods > backoffLimit
    m = manager()
    registry.create(job("crashy", restart="OnFailure", backoffLimit=limit))
    wait_for(lambda: len(state(registry, "crashy")[1]) == 1, message="the pod")
    _restarted(registry, state(registry, "crashy")[1][0], restarts)
    assert m.wait_idle(WAIT)
    _, active, conditions = state(registry, "crashy")
    if fails:
        assert conditions.get("Failed") == ("True", "BackoffLimitExceeded") and active == []
    else:
        assert "Failed" not in conditions and len(active) == 1


def test_on_failure_restarts_are_summed_over_every_container_of_the_pod(registry, manager):
    # kube's pastBackoffLimitOnFailure adds up restartCount over initContainerStatuses and containerStatuses:
    # two containers restarted once each and an init container once reach backoffLimit 3 (the largest
    # single count, 1, would not)
    m = manager()
    registry.create(job("multi", restart="OnFailure", backoffLimit=3))
    wait_for(lambda: len(state(registry, "multi")[1]) == 1, message="the pod")
    p = state(registry, "multi")[1][0]

    def entry(name):
        return {"name": name, "image": "i", "imageID": "", "ready": True, "restartCount": 1, "state": {"running": {}}}
    registry.patch_status("Pod", p.metadata.name, {"status": {
        "phase": "Running", "containerStatuses": [entry("c"), entry("d")], "initContainerStatuses": [entry("init")]}},
        p.metadata.namespace)
    assert m.wait_idle(WAIT)
    _, active, conditions = state(registry, "multi")
    assert conditions.get("Failed") == ("True", "BackoffLimitExceeded") and active == []


def test_on_failure_failed_pods_and_restarts_are_not_added_up(registry, manager):
    # backoffLimit 2, two failed pods and one restart of the running one: kube fails the Job on neither
    # (failed 2 > 2 no, restarts 1 >= 2 no); their sum 3 > 2 would have
    m = manager()
    registry.create(job("mixed", restart="OnFailure", backoffLimit=2))
    for attempt in range(2):
        wait_for(lambda: len(state(registry, "mixed")[1]) == 1, message=f"attempt {attempt}")
        finish(registry, state(registry, "mixed")[1], "Failed")
    wait_for(lambda: len(state(registry, "mixed")[1]) == 1, message="the third pod")
    _restarted(registry, state(registry, "mixed")[1][0], 1)
    assert m.wait_idle(WAIT)
    j, active, conditions = state(registry, "mixed")
    assert j.status.failed == 2 and "Failed" not in conditions and len(active) == 1


def test_active_deadline_fails_the_job_and_deletes_its_pods(registry, manager):
    m = manager()
    registry.create(job("slow", activeDeadlineSeconds=1, parallelism=2, completions=2))
    wait_for(lambda: "Failed" in state(registry, "slow")[2], message="the deadline")
    assert m.wait_idle(WAIT)
    j, active, conditions = state(registry, "slow")
    assert conditions["Failed"] == ("True", "DeadlineExceeded")
    assert active == [] and registry.list("Pod", "default").items == []


def test_indexed_job_runs_each_index_until_it_succeeds(registry, manager):
    m = manager()
    registry.create(job("idx", completionMode="Indexed", completions=3, parallelism=3))
    assert m.wait_idle(WAIT)
    _, active, _ = state(registry, "idx")
    by_index = {p.metadata.annotations["batch.kubernetes.io/job-completion-index"]: p for p in active}
    assert sorted(by_index) == ["0", "1", "2"]
    assert by_index["1"].metadata.name.startswith("idx-1-")
    finish(registry, [by_index["0"], by_index["2"]])
    finish(registry, [by_index["1"]], "Failed")
    assert m.wait_idle(WAIT)
    j, active, _ = state(registry, "idx")
    assert j.status.completed_indexes == "0,2"
    assert [p.metadata.labels["batch.kubernetes.io/job-completion-index"] for p in active] == ["1"]
    finish(registry, active)
    assert m.wait_idle(WAIT)
    j, _, conditions = state(registry, "idx")
    assert j.status.completed_indexes == "0-2" and conditions == {"Complete": ("True", None)}


def test_suspend_and_resume(registry, manager):
    m = manager()
    registry.create(job("later", suspend=True, parallelism=2, completions=2))
    assert m.wait_idle(WAIT)
    j, active, conditions = state(registry, "later")
    assert active == [] and conditions["Suspended"][0] == "True" and j.status.start_time is None
    registry.update(j.replace(spec=j.spec.replace(suspend=False)))
    assert m.wait_idle(WAIT)
    j, active, conditions = state(registry, "later")
    assert len(active) == 2 and "Suspended" not in conditions


def test_indexes_format_as_kubernetes_writes_them():
    assert format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert parse_indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}
    assert parse_indexes("") == set() and parse_indexes("x,3") == {3}
