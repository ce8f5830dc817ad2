"""The scheduling benchmark: ``python -m scheduling.bench`` (or ``borgkit-bench``).

Runs a workload set (the built-in one, or ``--workload FILE`` in the shared format) in two modes, ``core``
(the scheduler fed directly) and ``e2e`` (through the objects Registry on the embedded kvstore; with
``--store etcd://127.0.0.1:2379`` also on a real etcd through ``kvstore.connect()``, in the same run), and prints
one table with kube-scheduler's own throughput floor beside each row. Each run happens in a child process of
its own, so its peak memory is its own and one run's garbage does not slow the next; the child reports
progress on stderr and its result as JSON on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Sequence, TextIO

from .pace import Pace, paced_scheduler_factory
from .run import MODES, RunResult, peak_rss_mib, run_workload, unavailable
from .workload import Workload, WorkloadError, builtin_workloads, load_workload

__all__ = ["main", "format_table", "Table", "LEGEND", "DEFAULT_SCALE", "ProgressBar", "ProgressLines"]

# The scale of a run with no arguments: the whole built-in set, both modes, in about a minute on this 2-core
# machine (51 s measured while other work shared it; 0.2 took 108 s).
DEFAULT_SCALE = 0.15
PROGRESS_PREFIX = "@progress "

COLUMNS = [
    ("workload", "workload", "<"), ("mode", "mode", "<"), ("nodes", "nodes", ">"),
    ("measured", "measured_pods", ">"), ("pods/s", "pods_per_s", ">"), ("k8s floor", "threshold", ">"),
    ("ratio", "ratio", ">"), ("p50 ms", "p50_ms", ">"), ("p99 ms", "p99_ms", ">"),
    ("peak MiB", "peak_rss_mib", ">"), ("unsched", "unschedulable", ">"), ("last/1st 10%", "last_to_first", ">"),
    ("pods/cpu-s", "pods_per_cpu_s", ">"),
]


# Under the table: what the columns a first-time reader cannot guess mean.
LEGEND = (
    ("mode", "core: the scheduler fed directly (scheduling alone); e2e: end to end, pods created in the objects "
             "Registry on the embedded kvstore, watched, bound through it"),
    ("k8s floor", "kube-scheduler's own throughput threshold for this workload in scheduler_perf (pods/s; "
                  "- when it sets none)"),
    ("ratio", "pods/s divided by the k8s floor: above 1.00x is faster than the pace kube-scheduler must keep"),
    ("p50/p99 ms", "scheduling cycle time per measured pod, median and 99th percentile"),
    ("unsched", "measured pods left unschedulable at the end (a workload may expect some)"),
    ("last/1st 10%", "pods/s over the last tenth of the measured pods divided by pods/s over the first tenth: "
                     "below 1 the scheduler slowed down as the cluster filled"),
    ("pods/cpu-s", "decisions per CPU-second of the run's process: what one core of ours does, which a busy "
                   "machine moves far less than pods/s"),
)


def _workload_cell(row: dict[str, Any]) -> str:
    scale = row.get("scale")
    name = str(row.get("workload"))
    return name if scale in (None, 1, 1.0) else f"{name} @{scale:g}"


def _cell(key: str, row: dict[str, Any]) -> str:
    if key == "workload":
        return _workload_cell(row)
    value = row.get(key)
    if not row.get("available", True) and key not in ("workload", "mode", "nodes", "measured_pods", "threshold"):
        return "n/a" if key == "pods_per_s" else ""
    if value is None:
        return "-"
    if key == "ratio":
        return f"{value:.2f}x"
    if key == "last_to_first":
        return f"{value:.2f}"
    if key in ("p50_ms", "p99_ms"):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _check_cell(row: dict[str, Any]) -> str:
    if not row.get("exact") or row.get("mode") != "core" or not row.get("available", True):
        return "-"
    return f"{row.get('checked', 0)} ok" if not row.get("mismatches") else f"{row['mismatches']}/{row['checked']} BAD"


# Column widths wide enough for full-size figures, so rows printed as their runs end line up.
_MIN_WIDTHS = {"mode": 8, "nodes": 6, "measured": 8, "pods/s": 7, "k8s floor": 9, "ratio": 7, "p50 ms": 6,
               "p99 ms": 6, "peak MiB": 8, "unsched": 7, "last/1st 10%": 12, "pods/cpu-s": 10, "checked": 8}


class Table:
    """The results table, printable a row at a time as each run ends (``header``, ``line``, ``footer``)."""

    def __init__(self, workload_labels: Sequence[str], exact: bool, rows: Sequence[dict[str, Any]] = ()) -> None:
        self.columns = list(COLUMNS) + ([("checked", "checked", ">")] if exact else [])
        self.widths = []
        for title, key, _ in self.columns:
            width = max(len(title), _MIN_WIDTHS.get(title, 0) if not rows else 0)
            if key == "workload":
                width = max(width, *(len(label) for label in workload_labels)) if workload_labels else width
            width = max([width] + [len(self._cell(key, r)) for r in rows])
            self.widths.append(width)

    @staticmethod
    def _cell(key: str, row: dict[str, Any]) -> str:
        return _cell(key, row) if key != "checked" else _check_cell(row)

    def _line(self, cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if align == "<" else c.rjust(w)
                         for c, w, (_, _, align) in zip(cells, self.widths, self.columns)).rstrip()

    def header(self) -> str:
        """The column titles and the rule under them."""
        return self._line([t for t, _, _ in self.columns]) + "\n" + self._line(["-" * w for w in self.widths])

    def line(self, row: dict[str, Any]) -> str:
        """One result row."""
        return self._line([self._cell(key, row) for _, key, _ in self.columns])

    @staticmethod
    def footer(rows: Sequence[dict[str, Any]]) -> str:
        """Notes (unavailable modes, failures) and the legend of the columns."""
        out = []
        notes = [f"{r['workload']} {r['mode']}: {r['note']}" for r in rows if r.get("note")]
        if notes:
            out += [""] + notes
        legend = list(LEGEND)
        for scale in sorted({r["scale"] for r in rows if r.get("scale") not in (None, 1, 1.0)}):
            legend.append((f"@{scale:g}", f"a run at --scale {scale:g}: every count of the workload (nodes, pods) "
                                          f"times {scale:g}; the name keeps the full sizes. The k8s floors are "
                                          "kube-scheduler's at full size: the ratio compares this smaller, easier "
                                          "run with them"))
        out += ["", "Legend:"] + [textwrap.fill(text, 112, initial_indent=f"  {name:<13} ", subsequent_indent=" " * 16)
                                  for name, text in legend]
        return "\n".join(out)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The results as a fixed-width text table, with notes (unavailable modes, check results) and the legend
    below it."""
    table = Table([_workload_cell(r) for r in rows], any(r.get("exact") for r in rows), rows)
    return "\n".join([table.header()] + [table.line(r) for r in rows]) + "\n" + table.footer(rows)


class ProgressBar:
    """A one-line progress bar on a stream (stderr); redrawn in place on a terminal, sparingly otherwise."""

    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.tty = stream.isatty()
        self._shown = -1

    def update(self, done: int, total: int) -> None:
        """Show ``done`` out of ``total``."""
        pct = 100 * done // total if total else 100
        # Not a terminal (a log): one line per quarter crossed, however coarse the counts arrive.
        step = 1 if self.tty else 25
        if pct // step <= self._shown // step and self._shown >= 0:
            return
        self._shown = pct
        filled = self.width * pct // 100
        bar = "#" * filled + "." * (self.width - filled)
        end = "\r" if self.tty else "\n"
        self.stream.write(f"[{bar}] {pct:3d}% {self.label} {done}/{total}{end}")
        self.stream.flush()

    def close(self) -> None:
        """End the line."""
        if self.tty and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def _child_args(source: str, mode: str, args: argparse.Namespace, store: str | None = None) -> list[str]:
    out = [sys.executable, "-m", "scheduling.bench", "--child", source, "--mode", mode,
           "--scale", repr(args.scale), "--seed", str(args.seed), "--check", str(args.check)]
    if store is not None:
        out += ["--store", store]
    return out + (["--exact"] if args.exact else [])


def _run_isolated(source: str, workload: Workload, mode: str, args: argparse.Namespace,
                  stderr: TextIO, store: str | None = None) -> RunResult | dict[str, Any]:
    """Run one workload in a child process; forward its progress to a bar and return its result row."""
    env = dict(os.environ)
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the folder holding scheduling
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    bar = ProgressBar(stderr, f"{workload.name} {mode}{'' if store is None else ' etcd'}")
    proc = subprocess.Popen(_child_args(source, mode, args, store), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    errors: list[str] = []

    def follow() -> None:
        assert proc.stderr is not None
        for text in proc.stderr:
            if text.startswith(PROGRESS_PREFIX):
                done, total = text[len(PROGRESS_PREFIX):].split()
                bar.update(int(done), int(total))
            else:
                errors.append(text)

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    timer = threading.Timer(args.timeout, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.wait()
    finally:
        timed_out = not timer.is_alive()
        timer.cancel()
    reader.join(timeout=5)
    bar.close()
    if timed_out:
        return unavailable(workload, _label(mode, store), f"did not finish within --timeout {args.timeout:g} s")
    if proc.returncode != 0 or not out.strip():
        last = "".join(errors).strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return unavailable(workload, _label(mode, store), f"failed: {last[0]}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _label(mode: str, store: str | None) -> str:
    return mode if store is None else f"{mode} etcd"


def _load(source: str, scale: float) -> Workload:
    if source.startswith("builtin:"):
        (workload,) = builtin_workloads([source[len("builtin:"):]])
    else:
        workload = load_workload(source)
    return workload.scaled(scale)


class ProgressLines:
    """The child's side of the progress bar: a line on ``stream`` each time the highest count reported (by
    the runner or by the scheduler's cycles, whichever is ahead) reaches a new percent."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.done = -1
        self.percent = -1

    def __call__(self, done: int, total: int) -> None:
        if done <= self.done:
            return
        self.done = done
        percent = 100 * done // total if total else 100
        if percent != self.percent:
            self.percent = percent
            self.stream.write(f"{PROGRESS_PREFIX}{done} {total}\n")
            self.stream.flush()


def _child(args: argparse.Namespace) -> int:
    """Run one workload in this process and print its result row as JSON (progress on stderr)."""
    workload = _load(args.child, args.scale)
    progress = ProgressLines(sys.stderr)
    pace = Pace(workload.measured_pod_keys(), on_decided=progress)
    try:
        options = {} if args.store is None else {"store": args.store}
        result = run_workload(workload, args.mode, exact=args.exact, seed=args.seed, progress=progress,
                              scheduler_factory=paced_scheduler_factory(pace), **options)
    except ImportError as e:
        # The e2e pieces (Registry, Scheduler.run) may be missing from a partial install: say so, not fake it.
        result = unavailable(workload, args.mode, f"not available: {e}")
    else:
        if result.p50_ms is None:  # e2e: the runner sees bindings only, the scheduler saw each cycle
            result.finish(result.seconds, pace.cycle_seconds)
        if args.exact and args.check and result.available and args.mode == "core":
            from .check import check_sample

            result.checked, result.mismatches = check_sample(workload, args.check, seed=args.seed)
    result.peak_rss_mib = peak_rss_mib()
    row = result.to_dict()
    if result.available:
        row.update(pace.columns())
        row.update(pace.series())
    print(json.dumps(row))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="borgkit-bench",
        description="Benchmark the scheduler on kube-scheduler's scheduler_perf shapes and compare with "
                    "kube-scheduler's own throughput floors.",
        epilog=f"With no arguments: the built-in set at --scale {DEFAULT_SCALE} (about a minute). "
               "Full sizes: --scale 1 (5,000 nodes; about ten minutes for both modes). "
               "The shared workload files run as they are: --workload FILE.")
    p.add_argument("--workload", action="append", default=[], metavar="FILE",
                   help="a workload file in the shared format (repeatable); default: the built-in set")
    p.add_argument("--builtin", action="append", default=[], metavar="NAME",
                   help="run only this built-in workload (repeatable)")
    p.add_argument("--scale", type=float, default=None,
                   help=f"multiply every count by this (default {DEFAULT_SCALE} for the built-in set, "
                        "1 for --workload files)")
    p.add_argument("--mode", choices=[*MODES, "both"], default="both", help="which modes to run (default both)")
    p.add_argument("--exact", action="store_true",
                   help="score every feasible node (percentageOfNodesToScore 100) and check a sample of "
                        "decisions against the exhaustive reference")
    p.add_argument("--check", type=int, default=20, metavar="N",
                   help="with --exact: how many decisions to check against the reference (default 20)")
    p.add_argument("--seed", type=int, default=0, help="tie-break seed (default 0)")
    p.add_argument("--json", metavar="FILE", help="also write the results as a JSON list to FILE")
    p.add_argument("--plot", metavar="DIR",
                   help="also draw the figures (PNG and SVG) in DIR; needs the extra borgkit[plot] "
                        "(matplotlib). From saved results: python -m scheduling.bench.plot FILE.json --out DIR")
    p.add_argument("--store", metavar="URL",
                   help="also run the e2e mode on a real etcd through kvstore.connect(), beside the embedded "
                        "store: etcd://127.0.0.1:2379 (comma-separated endpoints; the objects go under a "
                        "prefix of their own, deleted at the end)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per run (default 3600)")
    p.add_argument("--child", metavar="SOURCE", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point of ``python -m scheduling.bench`` and ``borgkit-bench``; returns the exit status."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = _parser()
    args = parser.parse_args(argv)
    if args.scale is not None and not args.scale > 0:
        parser.error(f"--scale: invalid value {args.scale!r}: must be greater than 0")
    if args.store and args.mode == "core":
        parser.error("--store runs the e2e mode on etcd: use it with --mode e2e or both")
    if args.child:
        code = _child(args)
        # The row is printed: leave without the interpreter's finalization, whose last garbage collection
        # can wait forever on a lock of gRPC's (a stream call's finalizer) after --store etcd:// runs.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sources = list(args.workload) or [f"builtin:{n}" for n in (args.builtin or _builtin_names())]
    if args.scale is None:
        args.scale = 1.0 if args.workload else DEFAULT_SCALE
    try:
        workloads = [(s, _load(s, args.scale)) for s in sources]
    except WorkloadError as e:
        stderr.write(f"borgkit-bench: {e}\n")
        return 2
    modes = list(MODES) if args.mode == "both" else [args.mode]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    table = Table([_workload_cell({"workload": w.name, "scale": args.scale}) for _, w in workloads], args.exact)
    stdout.write(table.header() + "\n")
    stdout.flush()

    def done(result: RunResult | dict[str, Any]) -> None:
        """A run ended: its row is printed now, not when every run is done."""
        row = result.to_dict() if isinstance(result, RunResult) else result
        row["scale"] = args.scale
        rows.append(row)
        stdout.write(table.line(row) + "\n")
        stdout.flush()

    for source, workload in workloads:
        for mode in modes:
            done(_run_isolated(source, workload, mode, args, stderr))
            if mode == "e2e" and args.store:
                done(_run_isolated(source, workload, mode, args, stderr, store=args.store))
    stdout.write(table.footer(rows) + "\n")
    stdout.write(f"\n{len(rows)} runs in {time.perf_counter() - started:.0f} s at --scale {args.scale:g}"
                 f"{' --exact' if args.exact else ''}.")
    if args.scale < 1 and not args.workload:
        stdout.write(" Full sizes (5,000 nodes, kube-scheduler's): python -m scheduling.bench --scale 1")
    stdout.write("\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    if args.plot:
        _plot(rows, args, stderr)
    return 0


def _plot(rows: list[dict[str, Any]], args: argparse.Namespace, stderr: TextIO) -> None:
    """Draw the figures of this run; without matplotlib say what to install (the results are written)."""
    from . import plot as benchplot

    label = os.path.splitext(os.path.basename(args.json))[0] if args.json else "this run"
    try:
        paths = benchplot.plot_bench([(label, rows)], args.plot)
    except benchplot.PlotUnavailable as e:
        stderr.write(f"borgkit-bench: {e}; the results are{' in ' + args.json if args.json else ' above'}\n")
        return
    stderr.write(f"borgkit-bench: {len(paths)} figures in {args.plot}\n")


def _builtin_names() -> list[str]:
    from .workload import builtin_workload_names

    return builtin_workload_names()

