"""Hollow nodes at scale on the embedded store, beside the Registry's raw write rate in the same run.

    python benches/bench_hollownodes.py [--nodes 5000] [--pods 20000] [--heartbeat 10] [--watch-seconds 20]

Reference: --pods pods created with Registry.create from one thread, then each given a status with
patch_status (what a kubelet's writes cost at least: one create + one status write per pod).
Measured, in one process: start of --nodes hollow nodes (every Node and Lease registered), the lease
renewals and node status writes sustained over --watch-seconds (expected: nodes / heartbeat per second), then
--pods pods created already bound (round robin over the nodes) -> every pod Running (pods/s, end to end: the
create, the watch event, the hollow kubelet's status write), and the peak RSS of the process. The load
average is printed beside the figures.
"""
from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import kvstore  # noqa: E402
import objects  # noqa: E402
from controllers import HollowNodes  # noqa: E402


def pod(name: str, node: str | None) -> object:
    spec: dict = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                                  "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]}
    if node:
        spec["nodeName"] = node
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": name, "namespace": "default"}, "spec": spec})


def reference(pods: int) -> float:
    store = kvstore.open()
    registry = objects.Registry(store)
    started = time.perf_counter()
    for i in range(pods):
        created = registry.create(pod(f"ref-{i}", "n1"))
        registry.patch_status("Pod", created.metadata.name,
                              {"metadata": {"resourceVersion": created.metadata.resource_version},
                               "status": {"phase": "Running"}}, "default")
    elapsed = time.perf_counter() - started
    store.close()
    return pods / elapsed


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(node_count: int, pods: int, heartbeat: float, watch_seconds: float) -> dict:
    store = kvstore.open()
    registry = objects.Registry(store)
    nodes = HollowNodes(registry, node_count, heartbeat_interval=heartbeat)
    result: dict = {}
    started = time.perf_counter()
    nodes.start(timeout=600)
    result["start_s"] = time.perf_counter() - started
    result["threads"] = threading.active_count()
    try:
        before = dict(nodes.writes)
        time.sleep(watch_seconds)
        renewed = nodes.writes["lease"] - before["lease"]
        result["lease_per_s"] = renewed / watch_seconds
        result["node_status_per_s"] = (nodes.writes["node_status"] - before["node_status"]) / watch_seconds
        names = nodes.names
        running = threading.Event()
        count = [0]

        def watch() -> None:
            stream = registry.watch("Pod", "default", resource_version=str(store.status().revision))
            deadline = time.monotonic() + 900
            while count[0] < pods and time.monotonic() < deadline:
                event = stream.get(0.5)
                if event is not None and event.object is not None and event.type == "MODIFIED" and \
                        event.object.status.phase == "Running":
                    count[0] += 1
            stream.stop()
            running.set()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.perf_counter()
        for i in range(pods):
            registry.create(pod(f"p-{i}", names[i % len(names)]))
        created = time.perf_counter() - started
        running.wait(900)
        elapsed = time.perf_counter() - started
        result["pods_running"] = count[0]
        result["create_per_s"] = pods / created
        result["running_per_s"] = count[0] / elapsed
        result["rss_mib"] = peak_rss_mib()
        result["writes"] = dict(nodes.writes)
    finally:
        nodes.stop()
        store.close()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    parser.add_argument("--watch-seconds", type=float, default=20.0)
    parser.add_argument("--reference-pods", type=int, default=5000)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    load = os.getloadavg()[0]
    ref = reference(args.reference_pods)
    r = run(args.nodes, args.pods, args.heartbeat, args.watch_seconds)
    print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"Registry create + status write, one thread (reference): {ref:8.0f} pods/s")
    print(f"{args.nodes} hollow nodes started (Nodes + Leases):     {r['start_s']:8.1f} s, "
          f"{r['threads']} threads in the process")
    print(f"lease renewals sustained:                         {r['lease_per_s']:8.0f} /s "
          f"(expected {args.nodes / args.heartbeat:.0f}/s)")
    print(f"{r['pods_running']} bound pods -> Running:                  {r['running_per_s']:8.0f} pods/s "
          f"({r['running_per_s'] / ref:.2f}x reference; created at {r['create_per_s']:.0f}/s)")
    print(f"peak RSS:                                         {r['rss_mib']:8.0f} MiB")
    print(f"writes by the hollow nodes: {r['writes']}")


if __name__ == "__main__":
    main()
