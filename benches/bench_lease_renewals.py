"""CPU per node Lease renewal, end to end: the hollow kubelets' write, the watch fan-out, a Lease informer.

    PYTHONPATH=src python benches/bench_lease_renewals.py [--nodes 5000] [--heartbeat 10] [--seconds 10]
        [--rounds 2] [--report-interval 300] [--no-watch] [--src OTHER/src] [--micro]

Into a fresh in-memory store, --nodes hollow nodes renew their Leases every --heartbeat seconds (5,000 / 10 s:
the 500 renewals/s of the 5,000-node simulation) while a Lease informer with the NodeLifecycle controller's
handler (note the renewTime of each node under a lock) watches them, under the process settings python -m
borgsim runs under (collector off, switch interval 0.02, one CPU). Printed: CPU per renewal of the hollow nodes'
threads, of the Lease informer's thread and of the whole process, over --seconds of renewals (after the
start-up), the median of the rounds, with the load average (the hollow nodes' status reports, every
--report-interval seconds, are in their threads' figure too; --no-watch leaves the informer out). ``--src`` also measures another checkout's
``src``, the two alternating round by round.

``--micro``: one thread renewing 2,000 Leases in a loop as HollowNodes._renew_lease does, no watcher
(CPU per renewal of the write alone).
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time

from abrounds import alternate, print_medians, source_trees

FIGURES = ("hollow nodes", "informer-Lease", "process", "renewals/s")


def _cpu(thread: threading.Thread) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident or 0))


def _threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def _round(nodes: int, heartbeat: float, seconds: float, report: float, watch: bool) -> dict[str, float]:
    import kvstore
    from borgsim.affinity import one_cpu
    from borgsim.gctuning import collector_off
    from borgsim.switching import SIMULATION_SWITCH_INTERVAL, switch_interval
    from controllers import HollowNodes
    from controllers.informer import Informer
    from objects.registry import Registry

    registry = Registry(kvstore.open())
    seen: dict[str, str | None] = {}
    lock = threading.Lock()

    def lease_changed(lease: object) -> None:  # NodeLifecycleController._lease_changed's work
        name, renew = lease.metadata.name, lease.spec.renew_time  # type: ignore[attr-defined]
        with lock:
            if seen.get(name) != renew:
                seen[name] = renew

    hollow = HollowNodes(registry, nodes, heartbeat_interval=heartbeat,
                         status_report_interval=report)
    informer = Informer(registry, "Lease")
    informer.add_handler(on_add=lease_changed, on_update=lambda old, new: lease_changed(new))
    hollow.start()
    if watch:
        informer.start()
        informer.wait_synced(60)
    time.sleep(min(heartbeat, 2.0))  # the first heartbeats spread over the interval
    try:
        with collector_off(), switch_interval(SIMULATION_SWITCH_INTERVAL), one_cpu():
            wheel, watcher = _threads("hollow-nodes"), _threads("informer-Lease")
            r0, c0, p0 = hollow.writes["lease"], [_cpu(t) for t in wheel + watcher], time.process_time()
            t0 = time.monotonic()
            time.sleep(seconds)
            renewals = hollow.writes["lease"] - r0
            used = [_cpu(t) - c for t, c in zip(wheel + watcher, c0)]
            process = time.process_time() - p0
            elapsed = time.monotonic() - t0
    finally:
        informer.stop()
        hollow.stop()
    n = max(1, renewals)
    return {"hollow nodes": 1e6 * sum(used[:len(wheel)]) / n, "informer-Lease": 1e6 * sum(used[len(wheel):]) / n,
            "process": 1e6 * process / n, "renewals/s": renewals / elapsed}


def _micro() -> dict[str, float]:
    import kvstore
    from controllers.hollownodes import HollowNodes
    from objects.registry import Registry

    registry = Registry(kvstore.open())
    hollow = HollowNodes(registry, 2000)
    hollow._ensure_namespace()
    nodes = list(hollow)
    for node in nodes:
        hollow._register(node)
        hollow._renew_lease(node)
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for node in nodes:
            hollow._renew_lease(node)
        best = min(best, (time.process_time() - t) / len(nodes))
    return {"renewal (write only)": 1e6 * best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report-interval", type=float, default=300.0, help="the nodes' status_report_interval")
    parser.add_argument("--no-watch", action="store_true", help="no Lease informer")
    parser.add_argument("--micro", action="store_true")
    parser.add_argument("--src", action="append", default=[], help="another checkout's src directory")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_micro() if args.micro else _round(args.nodes, args.heartbeat, args.seconds,
                                                           args.report_interval, not args.no_watch)))
        return
    sources = source_trees(args.src)
    child_args = ["--nodes", str(args.nodes), "--heartbeat", str(args.heartbeat), "--seconds", str(args.seconds),
                  "--report-interval", str(args.report_interval)] + (["--micro"] if args.micro else []) + (
                      ["--no-watch"] if args.no_watch else [])
    load = os.getloadavg()
    figures = alternate(__file__, child_args, sources, args.rounds)
    print(f"us per renewal, median of {args.rounds} rounds; load {load[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    print_medians(figures, list(figures[sources[0]][0]))

if __name__ == "__main__":
    main()
