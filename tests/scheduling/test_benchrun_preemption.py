"""The benchmark loop waits only where kube-scheduler waits: with nothing active it takes rejected pods from
backoff (SchedulerPopFromBackoffQ), so a preemptor is retried as soon as the scheduler is idle — checked on a
frozen clock, where the backoff never ends — and the Preemption workload's shape runs to the end."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.bench import run as benchrun  # noqa: E402
from scheduling.bench.workload import load_workload  # noqa: E402

PREEMPTION = "Preemption_5000Nodes_5000Pods.json"


def test_an_idle_bench_loop_retries_the_preemptor_from_backoff_without_waiting() -> None:
    s = Scheduler(seed=1, clock=lambda: 0.0)  # the 1 s backoff never ends on this clock
    s.add_node(node("n1", cpu="2"))
    s.add_pod(pod("low", cpu="1500m", priority=0, node_name="n1"))
    s.add_pod(pod("high", cpu="1", priority=10))
    results = [r for r, _ in benchrun._attempt_all(s)]
    assert [(r.pod.key, r.node_name, r.nominated_node_name) for r in results] == [
        ("default/high", None, "n1"), ("default/high", "n1", None)]


def test_a_pod_no_plugin_rejected_keeps_its_backoff_in_the_bench_loop() -> None:
    """kube-scheduler pops only from the backoff heap of plugin rejections, not from the error heap."""
    s = Scheduler(seed=1, clock=lambda: 0.0)
    s.add_pod(pod("p"))
    [(first, _)] = benchrun._attempt_all(s)  # no nodes at all: no plugin rejected it
    assert first.node_name is None and s.queue.unschedulable_count == 1
    s.add_node(node("n1"))  # the event moves it to backoff, which never ends on this clock
    assert s.queue.backoff_count == 1
    assert benchrun._attempt_all(s) == [] and s.queue.backoff_count == 1


def test_the_preemption_workload_binds_every_preemptor() -> None:
    path = pathlib.Path(benchrun.__file__).parent / "workloads" / PREEMPTION
    workload = load_workload(path).scaled(0.01)  # 50 nodes full of low-priority pods, 50 preemptors
    result = benchrun.run_core(workload)
    assert result.measured_pods == 50
    assert (result.scheduled, result.unschedulable) == (50, 0)
