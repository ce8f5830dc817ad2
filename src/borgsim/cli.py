"""``python -m borgsim`` / ``borgkit-sim``: run the density scenario on a simulated cluster and print the
table (progress on stderr, ``--json`` for plotting, ``--plot DIR`` for the figures)."""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from typing import Any, Sequence, TextIO

from .affinity import one_cpu
from .cluster import SimCluster, StoreSpec
from .config import SimConfig, SimConfigError
from .gctuning import collector_off, tuned_gc
from .report import format_table
from .scenario import run_density
from .switching import MAX_SWITCH_INTERVAL, SIMULATION_SWITCH_INTERVAL, checked_switch_interval, switch_interval

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    d = SimConfig()
    p = argparse.ArgumentParser(
        prog="borgkit-sim",
        description="A whole cluster in one process (store, Registry, scheduler, controller manager, hollow "
                    "nodes) running clusterloader2's density scenario: Deployments until every pod is Running, "
                    "a rolling update of all of them, a failure of 10%% of the nodes and their return.",
        epilog="Defaults finish in about a minute. Kubernetes' envelope: --nodes 5000 --pods 150000 "
               "--deployments 50 --heartbeat 10 --node-grace 40 (see docs/simulation.md).")
    p.add_argument("--nodes", type=int, default=d.nodes, help=f"hollow nodes (default {d.nodes})")
    p.add_argument("--pods", type=int, default=d.pods, help=f"replicas in all (default {d.pods})")
    p.add_argument("--deployments", type=int, default=d.deployments,
                   help=f"Deployments the pods are spread over (default {d.deployments})")
    p.add_argument("--create-rate", type=float, default=d.create_rate, metavar="PODS_PER_S",
                   help="create Deployments so their pods arrive at this rate (default 0: all at once, "
                        "saturation)")
    p.add_argument("--no-rolling-update", action="store_true", help="skip the rolling update phase")
    p.add_argument("--failure-fraction", type=float, default=d.failure_fraction,
                   help=f"fraction of nodes failed (default {d.failure_fraction:g}; 0 skips the phase)")
    p.add_argument("--heartbeat", type=float, default=d.heartbeat_interval, metavar="SECONDS",
                   help=f"node Lease renewal interval (default {d.heartbeat_interval:g}; kubelet: 10)")
    p.add_argument("--node-grace", type=float, default=d.node_monitor_grace_period, metavar="SECONDS",
                   help=f"node-monitor-grace-period (default {d.node_monitor_grace_period:g}; "
                        "kube-controller-manager: 40)")
    p.add_argument("--toleration-seconds", type=int, default=d.toleration_seconds,
                   help=f"the pods' tolerationSeconds for unreachable/not-ready nodes (default "
                        f"{d.toleration_seconds}; DefaultTolerationSeconds: 300)")
    p.add_argument("--compaction-interval", type=float, default=d.compaction_interval, metavar="SECONDS",
                   help=f"compact the store's history this often (default {d.compaction_interval:g}; "
                        "kube-apiserver: 300)")
    p.add_argument("--phase-timeout", type=float, default=d.phase_timeout, metavar="SECONDS",
                   help=f"give up a phase after this long (default {d.phase_timeout:g})")
    p.add_argument("--gc", choices=("off", "tuned", "python"), default="off",
                   help="the cyclic garbage collector while the scenario runs: off (default: the started cluster "
                        "frozen, cycles collected once, at the end; the footer says how many), tuned (the started "
                        "cluster frozen, young objects collected every 50,000 allocations) or python (CPython's "
                        "defaults); see docs/simulation.md")
    p.add_argument("--switch-interval", type=float, default=SIMULATION_SWITCH_INTERVAL, metavar="SECONDS",
                   help=f"the interpreter's thread switch interval while the scenario runs (default "
                        f"{SIMULATION_SWITCH_INTERVAL:g}; CPython's: 0.005; at most {MAX_SWITCH_INTERVAL:g}; see "
                        "docs/simulation.md)")
    p.add_argument("--cpus", choices=("one", "all"), default="one",
                   help="the CPUs this process's threads run on while the scenario runs: one (default: all on "
                        "the CPU the run started on, as one GIL runs one thread at a time; see docs/simulation.md) "
                        "or all (the CPUs it was given)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the scheduler and of the failed nodes")
    store = p.add_argument_group("store (default: in memory)")
    store.add_argument("--data-dir", metavar="DIR", help="durable store (WAL + snapshots) in DIR")
    store.add_argument("--cluster", action="store_true",
                       help="a 3-member Raft cluster on 127.0.0.1 (this process's member and two child "
                            "processes; data in --data-dir or a temporary directory)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--plot", metavar="DIR", help="also draw the figures (PNG and SVG) in DIR; needs the extra "
                                                 "borgkit[plot]. From saved results: python -m borgsim.plot")
    p.add_argument("-v", "--verbose", action="store_true", help="log warnings of the components on stderr")
    return p


class _Bars:
    """A progress bar per phase on stderr."""

    def __init__(self, stream: TextIO) -> None:
        from scheduling.bench import ProgressBar

        self._cls = ProgressBar
        self.stream = stream
        self.phase: str | None = None
        self.bar: "ProgressBar | None" = None  # noqa: F821

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = self._cls(self.stream, phase)
        assert self.bar is not None
        self.bar.update(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _collector(setting: str) -> Any:
    """The block the scenario runs in for ``--gc``; it gives the cycles list of ``collector_off`` (else None)."""
    if setting == "off":
        return collector_off()
    return tuned_gc() if setting == "tuned" else contextlib.nullcontext()


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Entry point; returns the exit status (0 when every phase finished, 1 when one did not, 2 for bad
    arguments)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL, stream=stderr)
    config = SimConfig(nodes=args.nodes, pods=args.pods, deployments=args.deployments, create_rate=args.create_rate,
                       rolling_update=not args.no_rolling_update, failure_fraction=args.failure_fraction,
                       heartbeat_interval=args.heartbeat, node_monitor_grace_period=args.node_grace,
                       toleration_seconds=args.toleration_seconds, phase_timeout=args.phase_timeout, seed=args.seed,
                       compaction_interval=args.compaction_interval)
    try:
        config.check()
    except SimConfigError as e:
        stderr.write(f"borgkit-sim: {e}\n")
        return 2
    try:
        checked_switch_interval(args.switch_interval)
    except ValueError as e:
        stderr.write(f"borgkit-sim: --switch-interval: {str(e).split(': ', 1)[1]}\n")
        return 2
    bars = _Bars(stderr)
    stderr.write(f"borgkit-sim: starting {config.nodes:,} hollow nodes...\n")
    with SimCluster(config, StoreSpec(data_dir=args.data_dir, cluster=args.cluster)) as cluster:
        try:
            with _collector(args.gc) as cycles, \
                    switch_interval(args.switch_interval), \
                    one_cpu() if args.cpus == "one" else contextlib.nullcontext() as cpu:
                result = run_density(cluster, progress=bars)
        finally:
            bars.close()
    row = result.to_dict()
    row["gc"] = args.gc
    if cycles is not None:
        row["gc_cycles_collected_at_end"] = cycles[0]
    row["switch_interval"] = args.switch_interval
    row["cpus"] = f"one (cpu {cpu})" if cpu is not None else "all"
    stdout.write(format_table(row) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(row, f, indent=1)
    if args.plot:
        from scheduling.bench.plot import PlotUnavailable

        from .plot import plot_sim

        label = args.json.rsplit("/", 1)[-1].rsplit(".", 1)[0] if args.json else "this run"
        try:
            paths = plot_sim([(label, row)], args.plot)
            stderr.write(f"borgkit-sim: {len(paths)} figures in {args.plot}\n")
        except PlotUnavailable as e:
            stderr.write(f"borgkit-sim: {e}; the results are{' in ' + args.json if args.json else ' above'}\n")
    return 0 if all(p.ok or p.skipped for p in result.phases) else 1
