"""The benchmark harness: the runner's bookkeeping with a fake scheduler, the table, the progress bar, the
decision check, and the CLI for real (child processes, both modes, --json, --exact with the reference check,
every shared file unchanged, what no arguments run, the console script)."""
from __future__ import annotations

import importlib.metadata
import io
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from scheduling.bench import check as benchcheck, cli as bench
from scheduling.bench import DEFAULT_SCALE, ProgressBar, ProgressLines, format_table, main
from scheduling.bench.check import check_sample
from scheduling.bench.run import RunResult, run_core, unavailable
from scheduling.bench.workload import builtin_workload_names, load_workload, parse_workload

SHARED_DIR = pathlib.Path("/work/shared/workloads")
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

    configs: list = []

    def __init__(self, config=None, seed=0):
        self.config, self.nodes, self.pending, self.next = config, [], [], 0
        FakeScheduler.configs.append(config)

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
    FakeScheduler.configs.clear()
    r = run_core(w, exact=True, progress=lambda d, t: progress.append((d, t)), scheduler_factory=FakeScheduler)
    assert [c["percentageOfNodesToScore"] for c in FakeScheduler.configs] == [100]  # --exact scores every node
    assert (r.nodes, r.measured_pods, r.scheduled, r.unschedulable) == (3, 8, 6, 2)
    assert r.seconds > 0 and r.pods_per_s == pytest.approx(8 / r.seconds)
    assert r.ratio == pytest.approx(r.pods_per_s / 100)
    assert r.p50_ms is not None and r.p99_ms >= r.p50_ms
    assert progress[-1] == (8, 8)


def test_table_has_every_column_and_notes():
    ok = RunResult("W", "core", 5000, 100, 100, 0, 0.5, 200.0, 100, 2.0, 0.4, 1.5, 300.0, exact=True, checked=20)
    na = RunResult("W", "e2e", 5000, 100, threshold=None, available=False, note="not available: no registry")
    text = format_table([ok.to_dict() | {"last_to_first": 0.987, "pods_per_cpu_s": 4321.0}, na.to_dict()])
    header = text.splitlines()[0].split()
    for title in ("workload", "mode", "nodes", "measured", "pods/s", "floor", "ratio", "p50", "p99", "peak",
                  "unsched", "last/1st", "pods/cpu-s", "checked"):
        assert title in header
    assert "2.00x" in text and "20 ok" in text and "n/a" in text and " 0.99 " in text and " 4,321 " in text
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
        assert r["exact"] is True
        assert (r["measured_pods"], r["scheduled"], r["unschedulable"]) == (13, 12, 1)
        assert r["peak_rss_mib"] > 0
        assert r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"]  # e2e too: the scheduler timed its cycles
        assert r["first_tenth_pods_per_s"] > 0 and r["last_tenth_pods_per_s"] > 0
        assert r["last_to_first"] == pytest.approx(r["last_tenth_pods_per_s"] / r["first_tenth_pods_per_s"])
        assert r["pods_per_cpu_s"] > 0 and r["cpu_seconds"] > 0
    assert rows[0]["checked"] == 5 and rows[0]["mismatches"] == 0
    assert "Tiny" in proc.stdout and "] 100% Tiny" not in proc.stdout  # the table on stdout, the bar on stderr
    for mode in ("core", "e2e"):  # the bar moves in both modes (a line per quarter in a log), not only at the end
        bar = [line for line in proc.stderr.splitlines() if f"% Tiny {mode} " in line]
        assert len(bar) >= 4 and bar[-1].endswith(f"100% Tiny {mode} 13/13"), proc.stderr


@pytest.mark.skipif(not SHARED_DIR.is_dir(), reason="shared workloads not on this machine")
def test_every_shared_file_runs_unchanged_through_the_cli_in_both_modes(tmp_path):
    files = sorted(SHARED_DIR.glob("*.json"))
    args = [a for f in files for a in ("--workload", str(f))]
    out = tmp_path / "out.json"
    proc = _cli(*args, "--scale", "0.01", "--json", str(out), timeout=400)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())
    expected = [(load_workload(f).scaled(0.01), mode) for f in files for mode in ("core", "e2e")]
    assert [(r["workload"], r["mode"]) for r in rows] == [(w.name, m) for w, m in expected]
    for r, (w, _) in zip(rows, expected):
        assert r["available"], (r["workload"], r["mode"], r["note"])
        assert (r["nodes"], r["measured_pods"]) == (w.node_count, w.measured_pod_count)
        # At 50 nodes every shape still fits all its measured pods (Preemption's by preempting).
        assert (r["scheduled"], r["unschedulable"]) == (w.measured_pod_count, 0), r["workload"]
    assert "Full sizes" not in proc.stdout  # --workload files run at the scale given


def test_no_arguments_run_the_builtin_set_in_both_modes_and_say_how_to_run_full_sizes(monkeypatch):
    seen = []

    def fake_run(source, workload, mode, args, stderr):
        seen.append((source, workload.node_count, mode, args.scale))
        return unavailable(workload, mode, "not run in this test")

    monkeypatch.setattr(bench, "_run_isolated", fake_run)
    out, err = io.StringIO(), io.StringIO()
    assert main([], stdout=out, stderr=err) == 0
    names = builtin_workload_names()
    assert [(s, m) for s, _, m, _ in seen] == [(f"builtin:{n}", m) for n in names for m in ("core", "e2e")]
    assert {scale for *_, scale in seen} == {DEFAULT_SCALE}
    assert ("builtin:Scaling_15000Nodes_2000Pods", round(15000 * DEFAULT_SCALE), "core", DEFAULT_SCALE) in seen
    text = out.getvalue()
    assert f"at --scale {DEFAULT_SCALE:g}" in text
    assert "Full sizes (5,000 nodes, kube-scheduler's): python -m scheduling.bench --scale 1" in text


def test_the_console_script_is_the_bench():
    try:
        (entry,) = importlib.metadata.entry_points(group="console_scripts", name="borgkit-bench")
    except ValueError:
        pytest.skip("borgkit is not installed in this environment (pip install -e .)")
    assert entry.value == "scheduling.bench:main"
    path = shutil.which("borgkit-bench")
    if path is None:
        pytest.skip("borgkit-bench is not on PATH in this environment")
    proc = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--scale" in proc.stdout and "--workload" in proc.stdout


def test_progress_bar_draws_on_its_stream_only():
    stream = io.StringIO()  # not a terminal: a line at every quarter
    bar = ProgressBar(stream, "W core")
    for done in range(0, 101):
        bar.update(done, 100)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["0%", "25%", "50%", "75%", "100%"]
    assert lines[-1].endswith("W core 100/100") and lines[-1].startswith("[" + "#" * 30 + "]")


def test_the_decision_check_counts_a_choice_that_is_not_the_reference_best(monkeypatch):
    w = parse_workload(_workload(nodes=4, setup=2, measured=6))
    assert check_sample(w, 3) == (3, 0)

    def biased(pod, cluster):  # every real node scores 0, and a node the scheduler cannot pick scores best
        return {n.metadata.name: 0 for n in cluster.nodes} | {"no-such-node": 100}

    monkeypatch.setattr(benchcheck, "total_scores", biased)
    assert check_sample(w, 3) == (3, 3)


def test_progress_lines_report_each_new_percent_of_the_highest_count():
    stream = io.StringIO()
    lines = ProgressLines(stream)
    for done in (0, 1, 1, 2, 150, 149, 151, 400, 399, 400):  # two sources, one ahead of the other
        lines(done, 400)
    assert stream.getvalue().splitlines() == [
        "@progress 0 400", "@progress 150 400", "@progress 400 400"]
