"""The bench's figures (issue #14): a real small run draws them (valid PNG and SVG with the expected axis
labels), saved results are drawn again and two files share one chart labelled by file, bad files are refused
by name, and without matplotlib ``--plot`` says what to install while the results are still written."""
from __future__ import annotations

import io
import json
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from scheduling.bench import cli as bench, plot as benchplot  # noqa: E402
from scheduling.bench.pace import Pace  # noqa: E402
from scheduling.bench.run import RunResult  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STEMS = ("bench-pods-per-s", "bench-throughput", "bench-cycle-cdf")
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"generateName": "node-"},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "50"}}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "pod-"},
       "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "100m"}}}]}}
TINY = {"name": "Tiny", "reference": {"kube_scheduler_threshold_pods_per_s": 100},
        "steps": [{"op": "createNodes", "count": 4, "template": NODE},
                  {"op": "createPods", "count": 40, "namespace": "b", "template": POD, "measure": True}]}


def svg_texts(path: pathlib.Path) -> str:
    """Every text in an SVG (it must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t for el in root.iter() for t in (el.text,) if t)


def assert_figures(out: pathlib.Path, stems: tuple[str, ...]) -> dict[str, str]:
    texts = {}
    for stem in stems:
        png = (out / f"{stem}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 1000, stem
        from matplotlib.image import imread

        assert imread(out / f"{stem}.png").shape[0] > 100  # decodes to a real picture
        texts[stem] = svg_texts(out / f"{stem}.svg")
    return texts


def test_a_small_run_with_plot_writes_every_figure_with_its_axes(tmp_path: pathlib.Path) -> None:
    wfile = tmp_path / "tiny.json"
    wfile.write_text(json.dumps(TINY))
    out, results = tmp_path / "figs", tmp_path / "run.json"
    proc = subprocess.run([sys.executable, "-m", "scheduling.bench", "--workload", str(wfile), "--json",
                           str(results), "--plot", str(out)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(results.read_text())
    for row in rows:  # what the figures draw is in the saved results
        assert len(row["cycle_ms_quantiles"]) == 101 and row["window_s"] > 0
        assert sum(row["throughput_windows"]) * row["window_s"] == pytest.approx(40)
    texts = assert_figures(out, STEMS)
    assert "pods scheduled per second (log scale)" in texts["bench-pods-per-s"]
    assert "kube-scheduler floor" in texts["bench-pods-per-s"] and "Tiny" in texts["bench-pods-per-s"]
    assert "seconds since the first measured cycle" in texts["bench-throughput"]
    assert "pods decided per second" in texts["bench-throughput"]
    assert "cycle time per pod (ms, log scale)" in texts["bench-cycle-cdf"]
    assert "fraction of pods" in texts["bench-cycle-cdf"] and "p99" in texts["bench-cycle-cdf"]
    for mode in ("core", "e2e"):
        assert mode in texts["bench-pods-per-s"]


def _rows(pods_per_s: float) -> list[dict]:
    out = []
    for mode in ("core", "e2e"):
        pace = Pace({f"b/p{i}" for i in range(50)}, clock=lambda: 0.0)
        for i in range(50):
            pace.first_cycle_at = 0.0
            pace.decided_at[f"b/p{i}"] = (i + 1) / pods_per_s
            pace.cycle_seconds.append(0.001 * (i + 1))
        row = RunResult("Tiny", mode, 4, 50, pods_per_s=pods_per_s, threshold=100.0).to_dict()
        out.append(row | pace.series())
    return out


def test_two_saved_runs_go_on_one_chart_labelled_by_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "before.json").write_text(json.dumps(_rows(300.0)))
    (tmp_path / "after.json").write_text(json.dumps(_rows(900.0)))
    stdout = io.StringIO()
    status = benchplot.main([str(tmp_path / "before.json"), str(tmp_path / "after.json"), "--out",
                             str(tmp_path / "cmp")], stdout=stdout)
    assert status == 0
    assert len(stdout.getvalue().split()) == 6
    texts = assert_figures(tmp_path / "cmp", STEMS)
    for stem in STEMS:
        for label in ("before: core", "before: e2e", "after: core", "after: e2e"):
            assert label in texts[stem], (stem, label)


def test_a_file_that_is_not_bench_results_is_refused_by_name(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"not": "rows"}))
    stderr = io.StringIO()
    assert benchplot.main([str(bad), "--out", str(tmp_path / "x")], stderr=stderr) == 2
    assert str(bad) in stderr.getvalue() and "--json" in stderr.getvalue()
    assert not (tmp_path / "x").exists()


def test_without_matplotlib_plot_says_what_to_install_and_results_are_written(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    monkeypatch.setattr(bench, "_run_isolated",
                        lambda source, workload, mode, args, stderr: RunResult(workload.name, mode, 4, 40))
    wfile = tmp_path / "tiny.json"
    wfile.write_text(json.dumps(TINY))
    out, err = io.StringIO(), io.StringIO()
    status = bench.main(["--workload", str(wfile), "--json", str(tmp_path / "r.json"), "--plot",
                         str(tmp_path / "figs")], stdout=out, stderr=err)
    assert status == 0
    assert "pip install 'borgkit[plot]'" in err.getvalue()
    assert [r["mode"] for r in json.loads((tmp_path / "r.json").read_text())] == ["core", "e2e"]
    assert "Tiny" in out.getvalue() and not (tmp_path / "figs").exists()


def test_pace_series_windows_count_every_decision_and_the_cdf_is_ordered() -> None:
    pace = Pace({f"p{i}" for i in range(200)})
    pace.first_cycle_at = 10.0
    for i in range(200):
        pace.decided_at[f"p{i}"] = 10.0 + (i + 1) * 0.01 * (1 + (i >= 100))  # slower in the second half
        pace.cycle_seconds.append((200 - i) / 1000)
    s = pace.series(windows=10, points=11)
    assert len(s["throughput_windows"]) == 10
    assert sum(s["throughput_windows"]) * s["window_s"] == pytest.approx(200)
    assert s["throughput_windows"][0] > s["throughput_windows"][-1]
    assert s["cycle_ms_quantiles"][0] == pytest.approx(1.0) and s["cycle_ms_quantiles"][-1] == pytest.approx(200.0)
    assert s["cycle_ms_quantiles"] == sorted(s["cycle_ms_quantiles"])
    assert Pace(set()).series() == {"window_s": None, "throughput_windows": [], "cycle_ms_quantiles": []}
