"""The simulation as pictures: ``python -m borgsim.plot results.json [more.json] --out DIR`` (or
``python -m borgsim ... --plot DIR``). Two figures, PNG and SVG: ``sim-running`` (pods Running over time,
the phases marked) and ``sim-startup-cdf`` (the pod startup latency CDF of each phase that created pods,
against the 5 s SLO line). Several files go on one chart, labelled by file name."""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any, Sequence, TextIO

from scheduling.bench.plot import PlotUnavailable, pyplot, save_figure

__all__ = ["plot_sim", "load_results", "main"]

Run = tuple[str, dict[str, Any]]


class SimPlotError(ValueError):
    """A results file that cannot be plotted."""


def plot_running(runs: Sequence[Run], out_dir: pathlib.Path) -> list[pathlib.Path]:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    for j, (label, result) in enumerate(runs):
        timeline = result.get("timeline") or []
        name = label if len(runs) > 1 else "pods Running"
        ax.plot([t for t, _, _ in timeline], [r for _, r, _ in timeline], color=f"C{j}", label=name)
        for phase in result.get("phases", []):
            ax.axvline(phase["started_at"], color=f"C{j}", linestyle=":", linewidth=0.8)
            ax.text(phase["started_at"], 1.0, f" {phase['name']}", transform=ax.get_xaxis_transform(),
                    rotation=90, va="top", fontsize="x-small", color=f"C{j}")
    ax.set_xlabel("seconds since the start")
    ax.set_ylabel("pods Running")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Pods Running over the run (density, rolling update, node failure)")
    return save_figure(fig, out_dir, "sim-running")


def plot_startup_cdf(runs: Sequence[Run], out_dir: pathlib.Path) -> list[pathlib.Path]:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    slo = 5.0
    k = 0
    for label, result in runs:
        slo = result.get("slo_seconds", slo)
        for phase in result.get("phases", []):
            qs = phase.get("startup_quantiles") or []
            if len(qs) < 2:
                continue
            name = phase["name"] if len(runs) == 1 else f"{label}: {phase['name']}"
            ys = [i / (len(qs) - 1) for i in range(len(qs))]
            ax.plot(qs, ys, color=f"C{k}", label=name, drawstyle="steps-post")
            for q, marker in ((0.5, "o"), (0.99, "^")):
                ax.plot([qs[round((len(qs) - 1) * q)]], [q], marker=marker, color=f"C{k}", linestyle="none")
            k += 1
    ax.axvline(slo, color="red", linestyle="--", label=f"SLO: p99 <= {slo:g} s")
    ax.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
    ax.set_xlabel("pod startup latency, created -> Running (s)")
    ax.set_ylabel("fraction of pods")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Pod startup latency (CDF) against Kubernetes' SLO")
    return save_figure(fig, out_dir, "sim-startup-cdf")


def plot_sim(runs: Sequence[Run], out_dir: str | pathlib.Path) -> list[pathlib.Path]:
    """Both figures for ``runs`` ([(label, SimResult dict)]); :class:`PlotUnavailable` without matplotlib."""
    out = pathlib.Path(out_dir)
    pyplot()
    return plot_running(runs, out) + plot_startup_cdf(runs, out)


def load_results(paths: Sequence[str | pathlib.Path]) -> list[Run]:
    runs: list[Run] = []
    stems = [pathlib.Path(p).stem for p in paths]
    for path, stem in zip(map(pathlib.Path, paths), stems):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise SimPlotError(f"{path}: cannot read simulation results: {e}") from e
        if not isinstance(result, dict) or not isinstance(result.get("phases"), list):
            raise SimPlotError(f"{path}: not simulation results: expected a JSON object with 'phases' "
                               "(the output of python -m borgsim --json)")
        runs.append((str(path) if stems.count(stem) > 1 else stem, result))
    return runs


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    p = argparse.ArgumentParser(prog="python -m borgsim.plot",
                                description="Draw the simulation's figures from saved results "
                                            "(python -m borgsim --json FILE), several files on one chart.")
    p.add_argument("results", nargs="+", metavar="RESULTS.json")
    p.add_argument("--out", required=True, metavar="DIR")
    args = p.parse_args(argv)
    try:
        paths = plot_sim(load_results(args.results), args.out)
    except (PlotUnavailable, SimPlotError) as e:
        stderr.write(f"borgsim.plot: {e}\n")
        return 2
    stdout.write("".join(f"{path}\n" for path in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
