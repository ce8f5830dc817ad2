"""The scheduling bench as pictures: ``python -m scheduling.bench.plot results.json [more.json] --out DIR``
(or ``python -m scheduling.bench ... --plot DIR`` at the end of a run).

Three figures, each as PNG and SVG, drawn with matplotlib (the optional extra ``borgkit[plot]``) on its
headless Agg backend:

* ``bench-pods-per-s``: each workload's pods/s, the modes side by side, on a log scale, with
  kube-scheduler's throughput floor for that workload drawn as a mark;
* ``bench-throughput``: pods decided per second in windows over the run, one panel per workload;
* ``bench-cycle-cdf``: the CDF of the measured pods' cycle times, p50 and p99 marked, one panel per
  workload.

Several JSON files (``--json`` of the bench) go on the same charts, each series labelled by its file name, so
two runs (two policies, two commits) can be compared. The figures read the columns the bench writes:
``pods_per_s``, ``threshold``, ``throughput_windows`` / ``window_s`` and ``cycle_ms_quantiles``; a row
without them (a run that was not available, a file from an older bench) is left out of the charts that need
them.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
from typing import Any, Iterable, Sequence, TextIO

__all__ = ["PlotUnavailable", "INSTALL_HINT", "pyplot", "save_figure", "plot_bench", "load_runs", "main"]

INSTALL_HINT = "pip install 'borgkit[plot]' (matplotlib)"
FORMATS = ("png", "svg")
Run = tuple[str, list[dict[str, Any]]]   # (label, the rows of one bench run)


class PlotUnavailable(RuntimeError):
    """The plotting library is not installed; the message says which package to install."""


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed), with SVG text kept as text (so a
    figure's labels can be searched and read), or :class:`PlotUnavailable`."""
    try:
        import matplotlib
    except ImportError as e:
        raise PlotUnavailable(f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "borgkit"   # stable ids: a regenerated figure diffs only if it changed
    matplotlib.rcParams["figure.dpi"] = 100
    return plt


def save_figure(fig: Any, out_dir: pathlib.Path, stem: str) -> list[pathlib.Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.svg`` in ``out_dir`` (made if missing) and close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = out_dir / f"{stem}.{fmt}"
        # no creation date in the files: a regenerated figure differs only where the figure does
        fig.savefig(path, format=fmt, bbox_inches="tight",
                    metadata={"Date": None} if fmt == "svg" else {"Software": None})
        paths.append(path)
    pyplot().close(fig)
    return paths


def _series_label(run_label: str, mode: str, runs: int) -> str:
    return mode if runs == 1 else f"{run_label}: {mode}"


def _workloads(runs: Sequence[Run]) -> list[str]:
    seen: dict[str, None] = {}
    for _, rows in runs:
        for row in rows:
            seen.setdefault(row["workload"], None)
    return list(seen)


def _series(runs: Sequence[Run]) -> list[tuple[str, str, str]]:
    """Every (run label, mode, series label) in order."""
    out = []
    for label, rows in runs:
        modes: dict[str, None] = {}
        for row in rows:
            modes.setdefault(row["mode"], None)
        out += [(label, mode, _series_label(label, mode, len(runs))) for mode in modes]
    return out


def _row(runs: Sequence[Run], label: str, mode: str, workload: str) -> dict[str, Any] | None:
    for run_label, rows in runs:
        if run_label != label:
            continue
        for row in rows:
            if row["workload"] == workload and row["mode"] == mode and row.get("available", True):
                return row
    return None


def _grid(plt: Any, panels: int, width: float = 4.2, height: float = 3.0) -> tuple[Any, list[Any]]:
    cols = min(3, max(1, panels))
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = [ax for line in axes for ax in line]
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:panels]


_Panel = tuple[Any, str, list[tuple[int, str, dict[str, Any]]]]  # (axes, workload, [(colour index, series, row)])


def _workload_panels(runs: Sequence[Run]) -> tuple[Any, list[_Panel]]:
    """A figure with a panel per workload, and each panel with the rows the series have for its workload."""
    workloads = _workloads(runs)
    series = _series(runs)
    fig, axes = _grid(pyplot(), len(workloads))
    panels = []
    for ax, workload in zip(axes, workloads):
        rows = [(j, name, row) for j, (label, mode, name) in enumerate(series)
                if (row := _row(runs, label, mode, workload)) is not None]
        panels.append((ax, workload, rows))
    return fig, panels


def plot_pods_per_s(runs: Sequence[Run], out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Each workload's pods/s, modes (and runs) side by side, log scale, kube-scheduler's floor as a mark."""
    plt = pyplot()
    workloads = _workloads(runs)
    series = _series(runs)
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(workloads) * max(1, len(series)) / 2 + 1.6))
    height = 0.8 / max(1, len(series))
    floor_drawn = False
    for i, workload in enumerate(workloads):
        floor = None
        for j, (label, mode, name) in enumerate(series):
            row = _row(runs, label, mode, workload)
            if row is None or not row.get("pods_per_s"):
                continue
            floor = floor or row.get("threshold")
            y = i + (j - (len(series) - 1) / 2) * height
            ax.barh(y, row["pods_per_s"], height=height * 0.9, color=f"C{j}", label=name if i == 0 else None)
        if floor:
            ax.plot([floor, floor], [i - 0.45, i + 0.45], color="black", linewidth=2.5,
                    label=None if floor_drawn else "kube-scheduler floor")
            floor_drawn = True
    ax.set_xscale("log")
    ax.set_yticks(range(len(workloads)), workloads)
    ax.invert_yaxis()
    ax.set_xlabel("pods scheduled per second (log scale)")
    ax.set_ylabel("workload")
    ax.set_title("Scheduling throughput against kube-scheduler's floor")
    ax.grid(axis="x", which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="best", fontsize="small")
    return save_figure(fig, out_dir, "bench-pods-per-s")


def plot_throughput(runs: Sequence[Run], out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Pods decided per second in windows over each run, a panel per workload."""
    fig, panels = _workload_panels(runs)
    for ax, workload, rows in panels:
        for j, name, row in rows:
            if not row.get("throughput_windows") or not row.get("window_s"):
                continue
            width = row["window_s"]
            xs = [(k + 0.5) * width for k in range(len(row["throughput_windows"]))]
            ax.plot(xs, row["throughput_windows"], color=f"C{j}", label=name, linewidth=1.5)
        ax.set_title(workload, fontsize="medium")
        ax.set_xlabel("seconds since the first measured cycle")
        ax.set_ylabel("pods decided per second")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    fig.suptitle("Throughput over the run")
    fig.tight_layout()
    return save_figure(fig, out_dir, "bench-throughput")


def _quantile(values: Sequence[float], q: float) -> float:
    return values[round((len(values) - 1) * q)]


def plot_cycle_cdf(runs: Sequence[Run], out_dir: pathlib.Path) -> list[pathlib.Path]:
    """The CDF of per-pod cycle times, p50 and p99 marked, a panel per workload."""
    fig, panels = _workload_panels(runs)
    for ax, workload, rows in panels:
        for j, name, row in rows:
            quantiles = row.get("cycle_ms_quantiles") or []
            if len(quantiles) < 2:
                continue
            ys = [i / (len(quantiles) - 1) for i in range(len(quantiles))]
            ax.plot(quantiles, ys, color=f"C{j}", label=name, linewidth=1.5, drawstyle="steps-post")
            for q, marker in ((0.5, "o"), (0.99, "^")):
                ax.plot([_quantile(quantiles, q)], [q], marker=marker, color=f"C{j}", linestyle="none")
        ax.axhline(0.5, color="grey", linewidth=0.6, linestyle=":")
        ax.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
        ax.text(0.01, 0.5, " p50", transform=ax.get_yaxis_transform(), va="bottom", fontsize="x-small")
        ax.text(0.01, 0.99, " p99", transform=ax.get_yaxis_transform(), va="top", fontsize="x-small")
        ax.set_xscale("log")
        ax.set_title(workload, fontsize="medium")
        ax.set_xlabel("cycle time per pod (ms, log scale)")
        ax.set_ylabel("fraction of pods")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="lower right")
    fig.suptitle("Per-pod scheduling cycle time (CDF)")
    fig.tight_layout()
    return save_figure(fig, out_dir, "bench-cycle-cdf")


def plot_bench(runs: Sequence[Run], out_dir: str | pathlib.Path) -> list[pathlib.Path]:
    """Every bench figure for ``runs`` ([(label, rows)]) in ``out_dir``; returns the files written.
    Raises :class:`PlotUnavailable` without matplotlib."""
    out = pathlib.Path(out_dir)
    pyplot()  # fail before anything is drawn
    return plot_pods_per_s(runs, out) + plot_throughput(runs, out) + plot_cycle_cdf(runs, out)


class BenchPlotError(ValueError):
    """A results file that cannot be plotted (the message names the file and what is wrong)."""


def load_runs(paths: Iterable[str | pathlib.Path]) -> list[Run]:
    """Read bench ``--json`` files: [(label, rows)], labelled by file name (by path where two names clash)."""
    paths = [pathlib.Path(p) for p in paths]
    names = [p.stem for p in paths]
    runs: list[Run] = []
    for path, name in zip(paths, names):
        label = str(path) if names.count(name) > 1 else name
        try:
            rows = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise BenchPlotError(f"{path}: cannot read bench results: {e}") from e
        if not isinstance(rows, list) or not all(isinstance(r, dict) and "workload" in r and "mode" in r
                                                 for r in rows):
            raise BenchPlotError(f"{path}: not bench results: expected a JSON list of rows with 'workload' "
                                 "and 'mode' (the output of python -m scheduling.bench --json)")
        runs.append((label, rows))
    return runs


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point of ``python -m scheduling.bench.plot``; returns the exit status."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    p = argparse.ArgumentParser(prog="python -m scheduling.bench.plot",
                                description="Draw the scheduling bench's figures from saved results "
                                            "(python -m scheduling.bench --json FILE); several files go on "
                                            "the same charts, labelled by file name.")
    p.add_argument("results", nargs="+", metavar="RESULTS.json", help="a bench --json file (repeatable)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the PNG and SVG figures")
    args = p.parse_args(argv)
    try:
        paths = plot_bench(load_runs(args.results), args.out)
    except (PlotUnavailable, BenchPlotError) as e:
        stderr.write(f"benchplot: {e}\n")
        return 2
    for path in paths:
        stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
