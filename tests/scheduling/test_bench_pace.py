"""The bench's pace: which cycles count as a measured pod's decision, the first and last tenth's throughput
(steady, slowing down, too few pods), and the timed scheduler the bench hands the runner, on a real
Scheduler and through the core runner."""
from __future__ import annotations

import pathlib
import sys

import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling.bench.pace import Pace, paced_scheduler_factory  # noqa: E402
from scheduling.bench.run import run_core  # noqa: E402
from scheduling.bench.workload import parse_workload  # noqa: E402


class Result:
    def __init__(self, key: str, node_name: str | None = None, nominated: str | None = None) -> None:
        self.pod = type("P", (), {"key": key})()
        self.node_name, self.nominated_node_name = node_name, nominated


def test_a_measured_pod_is_decided_by_its_binding_or_a_failure_without_nomination() -> None:
    pace = Pace({"b/a", "b/b", "b/c"})
    pace.note(Result("a/setup", "n1"), 0.0, 0.1)  # not measured: ignored
    pace.note(Result("b/a", None, "n1"), 1.0, 1.1)  # preempted for: retried, not decided yet
    pace.note(Result("b/a", "n1"), 2.0, 2.1)
    pace.note(Result("b/b", None), 3.0, 3.2)  # unschedulable: decided
    pace.note(Result("b/b", "n2"), 4.0, 4.1)  # bound later: the first decision stands
    assert pace.first_cycle_at == 1.0
    assert pace.decided_at == {"b/a": 2.1, "b/b": 3.2}
    assert pace.cycle_seconds == pytest.approx([0.1, 0.1, 0.2, 0.1])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(10, 400), rate=st.floats(1.0, 1e5))
def test_a_steady_stream_has_the_same_pace_in_both_tenths(n: int, rate: float) -> None:
    pace = Pace({f"ns/p{i}" for i in range(n)})
    for i in range(n):
        pace.note(Result(f"ns/p{i}", "n"), i / rate, (i + 1) / rate)
    first, last = pace.tenths()
    assert first == pytest.approx(rate) and last == pytest.approx(rate)
    assert pace.columns()["last_to_first"] == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(10, 400), slowdown=st.floats(1.5, 50))
def test_a_stream_that_slows_down_shows_in_the_last_tenth(n: int, slowdown: float) -> None:
    pace = Pace({f"ns/p{i}" for i in range(n)})
    now = 0.0
    for i in range(n):
        step = 1.0 if i < n - n // 10 else slowdown  # the last tenth's cycles take longer
        pace.note(Result(f"ns/p{i}", "n"), now, now + step)
        now += step
    columns = pace.columns()
    assert columns["last_tenth_pods_per_s"] == pytest.approx(1 / slowdown)
    assert columns["last_to_first"] == pytest.approx(1 / slowdown)
    assert columns["first_tenth_p50_ms"] == pytest.approx(1000)
    assert columns["last_tenth_p50_ms"] == pytest.approx(1000 * slowdown)


def test_fewer_than_ten_decisions_give_no_tenths() -> None:
    pace = Pace({"ns/a"})
    pace.note(Result("ns/a", "n"), 0.0, 1.0)
    assert pace.tenths() == (None, None)
    assert pace.columns() == {"first_tenth_pods_per_s": None, "last_tenth_pods_per_s": None,
                              "last_to_first": None, "first_tenth_p50_ms": None, "last_tenth_p50_ms": None,
                              "cpu_seconds": None, "pods_per_cpu_s": None}


def test_cpu_time_runs_from_the_first_measured_cycle_to_the_last_decision() -> None:
    cpu = iter([5.0, 7.0, 9.0])  # read at each decision
    pace = Pace({"ns/a", "ns/b"}, cpu_clock=lambda: next(cpu))
    pace.note(Result("other/x", "n"), 0.0, 1.0, started_cpu=1.0)  # not measured
    pace.note(Result("ns/a", None, "n"), 1.0, 2.0, started_cpu=4.0)  # first measured cycle (nominated)
    pace.note(Result("ns/a", "n"), 2.0, 3.0, started_cpu=4.5)  # decided: cpu 5.0
    pace.note(Result("ns/b", "n"), 3.0, 4.0, started_cpu=5.5)  # decided: cpu 7.0
    assert pace.cpu_seconds() == 3.0
    assert pace.columns()["pods_per_cpu_s"] == pytest.approx(2 / 3)


def test_each_new_decision_is_reported_with_the_measured_count() -> None:
    seen: list[tuple[int, int]] = []
    pace = Pace({"ns/a", "ns/b"}, on_decided=lambda done, total: seen.append((done, total)))
    pace.note(Result("ns/a", None, "n1"), 0.0, 1.0)  # nominated: not decided
    pace.note(Result("ns/a", "n1"), 1.0, 2.0)
    pace.note(Result("ns/a", "n1"), 2.0, 3.0)  # already decided
    pace.note(Result("ns/b", None), 3.0, 4.0)
    assert seen == [(1, 2), (2, 2)]


def test_the_paced_scheduler_times_every_cycle_of_a_real_scheduler() -> None:
    pace = Pace({"default/p0", "default/p1", "default/big"})
    scheduler = paced_scheduler_factory(pace)(config=None, seed=3)
    scheduler.add_node(node("n1", cpu="1"))
    for p in (pod("p0"), pod("p1"), pod("big", cpu="2"), pod("other")):
        scheduler.add_pod(p)
    results = scheduler.schedule_pending()
    assert sorted((r.pod.key, r.node_name) for r in results) == [
        ("default/big", None), ("default/other", "n1"), ("default/p0", "n1"), ("default/p1", "n1")]
    assert set(pace.decided_at) == {"default/p0", "default/p1", "default/big"}
    assert len(pace.cycle_seconds) == 3 and all(s >= 0 for s in pace.cycle_seconds)


def test_the_core_runner_drives_the_paced_scheduler() -> None:
    node_t = {"apiVersion": "v1", "kind": "Node", "metadata": {"generateName": "node-"},
              "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
    pod_t = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "pod-"},
             "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "100m"}}}]}}
    w = parse_workload({"name": "w", "steps": [
        {"op": "createNodes", "count": 5, "template": node_t},
        {"op": "createPods", "count": 10, "namespace": "a", "template": pod_t},
        {"op": "createPods", "count": 30, "namespace": "b", "template": pod_t, "measure": True}]})
    pace = Pace(w.measured_pod_keys())
    result = run_core(w, scheduler_factory=paced_scheduler_factory(pace))
    assert result.scheduled == 30
    assert set(pace.decided_at) == w.measured_pod_keys() and len(pace.cycle_seconds) == 30
    first, last = pace.tenths()
    assert first is not None and first > 0 and last is not None and last > 0
    assert pace.columns()["pods_per_cpu_s"] > 0
