"""The benchmark harness: the runner's bookkeeping with a fake scheduler, the table, and the CLI for real
(child processes, both modes, --json, --exact with the reference check, shared files unchanged)."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from scheduling.bench import format_table, main
from scheduling.benchrun import RunResult, run_core
from scheduling.workload import parse_workload

SHARED = pathlib.Path("/work/shared/workloads/SchedulingBasic_5000Nodes_10000Pods.json")
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"generateName": "node-"},
        "status": {"allocatable": {"cpu": "1", "memory": "1Gi", "pods": "10"}}}


def _pod(cpu: str, prefix: str = "pod-") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": prefix},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]}}


def _workload(nodes: int = 3, setup: int = 2, measured: int = 5, huge: int = 0) -> dict:
    steps = [{"op": "createNodes", "count": nodes, "template": NODE},
             {"op": "createPods", "count": setup, "namespace": "a", "template": _pod("100m")},
             {"op": "createPods", "count": measured, "namespace": "b", "template": _pod("100m"), "measure": True}]
    if huge:
        steps.append({"op": "createPods", "count": huge, "namespace": "b", "template": _pod("8", "huge-"),
                      "measure": True})
    return {"name": "Tiny", "reference": {"kube_scheduler_threshold_pods_per_s": 100}, "steps": steps}


class FakeResult:
    def __init__(self, pod, node_name):
        self.pod, self.node_name, self.nominated_node_name, self.victims = pod, node_name, None, []


class FakeScheduler:
    """Binds every pod asking at most 1 cpu to the next node, round robin; others are unschedulable."""

    def __init__(self, config=None, seed=0):
        self.config, self.nodes, self.pending, self.next = config, [], [], 0

    def add_node(self, node):
        self.nodes.append(node.metadata.name)

    def add_pod(self, pod):
        self.pending.append(pod)

    def schedule_pending(self):
        out = []
        for pod in self.pending:
            if pod.requests.get("cpu", 0) <= 1000:
                out.append(FakeResult(pod, self.nodes[self.next % len(self.nodes)]))
                self.next += 1
            else:
                out.append(FakeResult(pod, None))
        self.pending = []
        return out


def test_core_runner_counts_measured_pods_only():
    progress = []
    w = parse_workload(_workload(setup=4, measured=6, huge=2))
    r = run_core(w, exact=True, progress=lambda d, t: progress.append((d, t)), scheduler_factory=FakeScheduler)
    assert (r.nodes, r.measured_pods, r.scheduled, r.unschedulable) == (3, 8, 6, 2)
    assert r.seconds > 0 and r.pods_per_s == pytest.approx(8 / r.seconds)
    assert r.ratio == pytest.approx(r.pods_per_s / 100)
    assert r.p50_ms is not None and r.p99_ms >= r.p50_ms
    assert progress[-1] == (8, 8)


def test_table_has_every_column_and_notes():
    ok = RunResult("W", "core", 5000, 100, 100, 0, 0.5, 200.0, 100, 2.0, 0.4, 1.5, 300.0, exact=True, checked=20)
    na = RunResult("W", "e2e", 5000, 100, threshold=None, available=False, note="not available: no registry")
    text = format_table([ok.to_dict(), na.to_dict()])
    header = text.splitlines()[0].split()
    for title in ("workload", "mode", "nodes", "measured", "pods/s", "floor", "ratio", "p50", "p99", "peak",
                  "unsched", "checked"):
        assert title in header
    assert "2.00x" in text and "20 ok" in text and "n/a" in text
    assert "W e2e: not available: no registry" in text


def test_bad_arguments_exit_with_status_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--scale", "0"])
    assert e.value.code == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "steps": [{"op": "nope"}]}')
    assert main(["--workload", str(bad)]) == 2
    assert "steps[0].op" in capsys.readouterr().err


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scheduling.bench", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_runs_both_modes_writes_json_and_checks_decisions(tmp_path):
    wfile = tmp_path / "tiny.json"
    wfile.write_text(json.dumps(_workload(nodes=4, setup=3, measured=12, huge=1)))
    out = tmp_path / "out.json"
    proc = _cli("--workload", str(wfile), "--exact", "--check", "5", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())
    assert [(r["workload"], r["mode"]) for r in rows] == [("Tiny", "core"), ("Tiny", "e2e")]
    for r in rows:
        for key in ("workload", "mode", "nodes", "measured_pods", "scheduled", "unschedulable", "seconds",
                    "pods_per_s", "threshold", "peak_rss_mib"):
            assert key in r
        assert r["available"], r["note"]
        assert (r["measured_pods"], r["scheduled"], r["unschedulable"]) == (13, 12, 1)
        assert r["peak_rss_mib"] > 0
    assert rows[0]["checked"] == 5 and rows[0]["mismatches"] == 0
    assert "Tiny" in proc.stdout and "100%" in proc.stderr


@pytest.mark.skipif(not SHARED.is_file(), reason="shared workloads not on this machine")
def test_cli_runs_a_shared_file_unchanged():
    proc = _cli("--workload", str(SHARED), "--scale", "0.01", "--mode", "core")
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("SchedulingBasic"))
    assert line.split()[1:4] == ["core", "50", "100"]
