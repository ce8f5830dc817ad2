"""CPU cost of a pod's writes through the Registry as the saturation run makes them, watchers included.

    PYTHONPATH=src python benches/bench_registry_writes.py [--rounds 4] [--pods 1500] [--src OTHER/src]

Each pod of the density template (benches/bench_status_writes.py) is created, bound, and patched Pending then
Running as a hollow kubelet does, into a fresh in-memory store with three unfiltered Pod watch streams, each
drained by a thread of its own (as the scheduler and two informers do). The figure is the CPU of the whole
process (every thread: ``time.process_time``) per pod, the median of the rounds, with the load average.
``--src`` also measures another checkout (its ``src`` directory), the two alternating round by round.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import threading
import time

from abrounds import alternate, print_medians, source_trees

STREAMS = 3
WRITES_PER_POD = 4


def _round(pods: int) -> float:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_status_writes as shapes
    import kvstore
    from controllers.kubeletstatus import pending_status, rfc3339, running_status
    from objects.registry import Registry

    with kvstore.open(watch_queue_size=100_000) as store:
        registry = Registry(store, clock=lambda: shapes.NOW)
        streams = [registry.watch("Pod", all_namespaces=True) for _ in range(STREAMS)]
        seen = [0] * STREAMS

        def drain(i: int) -> None:
            while seen[i] < WRITES_PER_POD * pods and streams[i].get(30) is not None:
                seen[i] += 1

        fresh = [shapes._pod(i) for i in range(pods)]
        gc.collect()
        readers = [threading.Thread(target=drain, args=(i,)) for i in range(STREAMS)]
        for reader in readers:
            reader.start()
        started = time.process_time()
        running = rfc3339(shapes.NOW + 2)
        for pod in fresh:
            created = registry.create(pod)
            bound = registry.bind(created.metadata.name, "node-0", shapes.NAMESPACE)
            pending = registry.patch_status("Pod", bound.metadata.name, shapes._patch(bound, pending_status(
                bound, rfc3339(shapes.NOW), "172.16.0.1", "10.0.0.1")), shapes.NAMESPACE)
            registry.patch_status("Pod", pending.metadata.name, shapes._patch(pending, running_status(
                pending, running, "172.16.0.1", pending.status.pod_ip, pending.status.start_time, running, 0)),
                shapes.NAMESPACE)
        for reader in readers:
            reader.join(60)
        spent = time.process_time() - started
        for stream in streams:
            stream.stop()
    if seen != [WRITES_PER_POD * pods] * STREAMS:
        raise SystemExit(f"the watch streams saw {seen} events, not {WRITES_PER_POD * pods} each")
    return spent / pods * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pods", type=int, default=1500)
    parser.add_argument("--src", action="append", default=[], help="another checkout's src directory")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_round(args.pods)))
        return
    sources = source_trees(args.src)
    load = [os.getloadavg()[0]]
    figures = alternate(__file__, ["--pods", str(args.pods)], sources, args.rounds)
    load.append(os.getloadavg()[0])
    print(f"CPU us per pod (create, bind, 2 status patches, {STREAMS} watch streams drained), median of "
          f"{args.rounds} rounds x {args.pods} pods (load average {load[0]:.1f}-{load[1]:.1f})")
    for src in sources:
        values = [float(v) for v in figures[src]]
        print(f"{src[-40:]:40s} {statistics.median(values):8.1f}  (min {min(values):.1f}, max {max(values):.1f})")

if __name__ == "__main__":
    main()
