"""The bench's table for a first-time reader (#15): rows as their runs end, a legend, the scale in the rows."""
from __future__ import annotations

import io

from scheduling.bench import cli as bench
from scheduling.bench import LEGEND, format_table, main
from scheduling.bench.run import RunResult


def _fake_runs(monkeypatch, out: io.StringIO) -> list[str]:
    """Replace the child runs; record what stdout held when each run started."""
    seen_at_start: list[str] = []

    def fake_run(source, workload, mode, args, stderr):
        seen_at_start.append(out.getvalue())
        result = RunResult(workload.name, mode, workload.node_count, workload.measured_pod_count,
                           scheduled=workload.measured_pod_count, threshold=workload.threshold)
        result.finish(1.0, [0.001] * 10)
        return result

    monkeypatch.setattr(bench, "_run_isolated", fake_run)
    return seen_at_start


def test_each_row_is_printed_as_its_run_ends(monkeypatch):
    out = io.StringIO()
    seen = _fake_runs(monkeypatch, out)
    assert main(["--builtin", "SchedulingBasic_5000Nodes_10000Pods", "--builtin", "Preemption_5000Nodes_5000Pods",
                 "--scale", "0.1"], stdout=out, stderr=io.StringIO()) == 0
    assert len(seen) == 4
    assert seen[0].startswith("workload") and " core " not in seen[0]       # the header before the first run
    for i in range(1, 4):                                                   # then one more row per finished run
        assert sum(" core " in line or " e2e " in line for line in seen[i].splitlines()) == i
    lines = out.getvalue().splitlines()
    column = lines[0].index("mode")
    assert [line[column:column + 4].strip() for line in lines[2:6]] == ["core", "e2e", "core", "e2e"]  # aligned


def test_rows_name_the_scale_and_the_legend_says_floors_are_for_full_size(monkeypatch):
    out = io.StringIO()
    _fake_runs(monkeypatch, out)
    main(["--builtin", "SchedulingBasic_5000Nodes_10000Pods", "--scale", "0.1", "--mode", "core"], stdout=out,
         stderr=io.StringIO())
    text = out.getvalue()
    assert "SchedulingBasic_5000Nodes_10000Pods @0.1  core" in text
    legend = text[text.index("Legend:"):]
    for name, _ in LEGEND:
        assert f"  {name} " in legend
    assert "k8s floor" in legend and "ratio" in legend and "last/1st 10%" in legend and "unsched" in legend
    assert "@0.1" in legend and "kube-scheduler's at full size" in legend.replace("\n", " ").replace("  ", " ")


def test_full_size_rows_carry_no_scale_label():
    row = RunResult("W", "core", 5000, 100, 100, 0, 0.5, 200.0, 100, 2.0).to_dict() | {"scale": 1.0}
    na = RunResult("W", "e2e", 5000, 100, available=False, note="not run").to_dict() | {"scale": 1.0}
    text = format_table([row, na])
    assert "W @" not in text and "Legend:" in text and "--scale" not in text and "W e2e: not run" in text
