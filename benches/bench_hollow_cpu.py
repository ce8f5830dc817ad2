"""CPU per pod of the hollow kubelets and of borgsim's pod observer, thread by thread.

    PYTHONPATH=src python benches/bench_hollow_cpu.py [--rounds 4] [--pods 3000] [--nodes 100] [--src OTHER/src]

Into a fresh in-memory store, with 100 hollow nodes (no heartbeats during the round) and borgsim's
PodObserver watching the namespace, the main thread creates pods of the density template and binds them
round robin over the nodes, as the ReplicaSet controller and the scheduler do, until the observer has seen
every pod Running and Ready; the collector set as borgsim sets it (off, cycles collected at the end). Each
thread's CPU (its own clock, ``time.pthread_getcpuclockid``) per pod: the hollow nodes' two threads (timer
wheel, pod informer), the part of them spent inside the Registry's status writes (not the hollow nodes' own
work), what is left (their own work), and the observer's thread; the median of the rounds, with the load
average. ``--src`` also measures another checkout (its ``src`` directory), the two alternating round by round.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from typing import Any, Callable

from abrounds import alternate, print_medians, source_trees

FIGURES = ("hollow nodes", "  timer thread", "  pod informer", "  in the Registry", "  own work", "observer",
           "process")


def _cpu(thread: threading.Thread | None) -> float:
    if thread is None or thread.ident is None:
        return 0.0
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _thread(name: str) -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == name)


def _round(pods: int, nodes: int) -> dict[str, float]:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_status_writes as shapes
    import kvstore
    from borgsim.gctuning import collector_off
    from borgsim.observe import PodObserver
    from controllers import HollowNodes
    from objects.registry import Registry

    in_registry = [0.0]

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                in_registry[0] += time.thread_time() - started
        return call

    with kvstore.open(watch_queue_size=100_000) as store, collector_off():
        registry = Registry(store)
        hollow = HollowNodes(registry, nodes, heartbeat_interval=100_000.0, status_report_interval=100_000.0)
        hollow.start()
        observer = PodObserver(registry, shapes.NAMESPACE)
        observer.start()
        registry.patch_status = timed(registry.patch_status)  # type: ignore[method-assign]
        names = hollow.names
        fresh = [shapes._pod(i) for i in range(pods)]
        wheel, informer = _thread("hollow-nodes"), hollow.pods._thread
        # the observer's own thread (an informer's before it watched by itself)
        watcher = observer.informer._thread if hasattr(observer, "informer") else _thread("borgsim-observer")
        gc.collect()
        before = [_cpu(wheel), _cpu(informer), _cpu(watcher), time.process_time()]
        for i, pod in enumerate(fresh):
            created = registry.create(pod)
            registry.bind(created.metadata.name, names[i % len(names)], shapes.NAMESPACE)
        if not observer.wait(lambda o: o.running_count() >= pods, 120):
            raise SystemExit(f"only {observer.running_count()} of {pods} pods Running after 120 s")
        after = [_cpu(wheel), _cpu(informer), _cpu(watcher), time.process_time()]
        observer.stop()
        hollow.stop()
    timer, informer_us, observer_us, process = [(b - a) / pods * 1e6 for a, b in zip(before, after)]
    registry_us = in_registry[0] / pods * 1e6
    hollow_us = timer + informer_us
    return dict(zip(FIGURES, (hollow_us, timer, informer_us, registry_us, hollow_us - registry_us, observer_us,
                              process)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--src", action="append", default=[], help="another checkout's src directory")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_round(args.pods, args.nodes)))
        return
    sources = source_trees(args.src)
    load = [os.getloadavg()[0]]
    figures = alternate(__file__, ["--pods", str(args.pods), "--nodes", str(args.nodes)], sources, args.rounds)
    load.append(os.getloadavg()[0])
    print(f"CPU us per pod by thread, median of {args.rounds} rounds x {args.pods} pods on {args.nodes} hollow "
          f"nodes (load average {load[0]:.1f}-{load[1]:.1f})")
    print_medians(figures, FIGURES)

if __name__ == "__main__":
    main()
