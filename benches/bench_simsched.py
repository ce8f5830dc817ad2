"""The scheduler's CPU per pod on the cluster simulation's workload, and where the simulation's CPU goes.

    python benches/bench_simsched.py core [--nodes 100] [--pods 6000] [--deployments 30] [--src DIR]
    python benches/bench_simsched.py sim  [--nodes 100] [--pods 3000] [--deployments 30] [--src DIR]

``core``: a ``scheduling.Scheduler`` fed directly with what ``python -m borgsim`` makes it schedule: hollow
nodes (the hollow kubelet's Node), one ReplicaSet per Deployment, their pods (owned by the ReplicaSet, so
PodTopologySpread's system default constraints apply) arriving interleaved in batches of 50 per ReplicaSet,
as the ReplicaSet controllers' slow-start batches create them. Prints the scheduler's CPU per pod
(``time.process_time`` around ``schedule_pending``, nothing else runs) and a digest of every decision: two
versions of the scheduler that decide alike print the same digest.

``sim``: the density phase of ``python -m borgsim`` (saturation: every Deployment created at once; heartbeat
10 s, node grace 40 s, no rolling update, no failure), printing pods Running/s and each thread group's CPU
(``pthread_getcpuclockid``, sampled every 0.2 s) per pod: the scheduler thread's share is its CPU per pod
end to end (watch decode, cycles, binding writes, status writes).

``--src DIR``: import borgkit from DIR (another checkout's ``src``) instead of this one, to measure an older
version in the same sitting: the only fair comparison on a shared machine. The load average is printed with
every figure.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import os
import re
import sys
import threading
import time

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("core", "sim"))
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--pods", type=int, default=None, help="default: 6,000 (core), 3,000 (sim)")
    p.add_argument("--deployments", type=int, default=30)
    p.add_argument("--batch", type=int, default=50, help="core: pods of one ReplicaSet in a row")
    p.add_argument("--src", default=_HERE, help="the borgkit source tree to import (default: this checkout's)")
    return p.parse_args(argv)


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def core(a: argparse.Namespace) -> None:
    import objects
    import scheduling
    from controllers.kubeletstatus import node_object

    pods_total = a.pods or 6000
    s = scheduling.Scheduler(seed=0)
    now = "2026-01-01T00:00:00Z"
    for i in range(a.nodes):
        s.add_node(objects.from_dict(node_object(f"hollow-node-{i}", {}, i, now)))
    s.add_object(objects.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "density"}}))
    per = pods_total // a.deployments
    owners = []
    for d in range(a.deployments):
        name, template_hash = f"density-{d}", f"h{d:05d}"
        labels = {"name": name, "group": "density", "pod-template-hash": template_hash}
        s.add_object(objects.from_dict({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{name}-{template_hash}", "namespace": "density", "uid": f"uid-rs-{d}"},
            "spec": {"replicas": per, "selector": {"matchLabels": {"name": name, "pod-template-hash": template_hash}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}]}}}}))
        owners.append((f"{name}-{template_hash}", labels, d))

    def pod(d: int, k: int) -> object:
        owner, labels, _ = owners[d]
        return objects.from_dict({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{owner}-{k:05d}", "namespace": "density", "uid": f"uid-{d}-{k}", "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                              "uid": f"uid-rs-{d}", "controller": True}]},
            "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}],
                     "terminationGracePeriodSeconds": 1}})

    order = [(d, k) for start in range(0, per, a.batch) for d in range(a.deployments)
             for k in range(start, min(per, start + a.batch))]
    pods = [pod(d, k) for d, k in order]
    digest = hashlib.sha256()
    cpu = 0.0
    bound = 0
    for i in range(0, len(pods), 500):  # pods arrive while earlier ones are being scheduled
        for p in pods[i:i + 500]:
            s.add_pod(p)
        t0 = time.process_time()
        results = s.schedule_pending()
        cpu += time.process_time() - t0
        for r in results:
            digest.update(f"{r.pod.key}={r.node_name};".encode())
            bound += r.node_name is not None
    print(f"core: {a.nodes} nodes, {len(pods)} pods of {a.deployments} ReplicaSets: {bound} bound, "
          f"scheduler CPU {1e6 * cpu / len(pods):.0f} us/pod, decisions {digest.hexdigest()[:16]}, load {_load()}")


def sim(a: argparse.Namespace) -> None:
    from borgsim.affinity import one_cpu
    from borgsim.cluster import SimCluster, StoreSpec
    from borgsim.config import SimConfig
    from borgsim.gctuning import collector_off
    from borgsim.scenario import run_density
    from borgsim.switching import SIMULATION_SWITCH_INTERVAL, switch_interval

    cfg = SimConfig(nodes=a.nodes, pods=a.pods or 3000, deployments=a.deployments, rolling_update=False,
                    failure_fraction=0, heartbeat_interval=10, node_monitor_grace_period=40)
    cpu: dict[tuple[str, int], float] = {}
    at_start: dict[tuple[str, int], float] = {}  # what threads had used before the phase (start-up)
    done = threading.Event()

    def sample() -> None:
        while True:
            for t in threading.enumerate():
                try:
                    used = time.clock_gettime(time.pthread_getcpuclockid(t.ident or 0))
                except (OSError, ProcessLookupError):
                    continue  # the thread ended meanwhile
                at_start.setdefault((t.name, t.ident or 0), used)
                cpu[(t.name, t.ident or 0)] = used
            if done.wait(0.2):
                return

    load_before = _load()
    sampler = threading.Thread(target=sample, name="bench-sampler", daemon=True)
    with SimCluster(cfg, StoreSpec()) as cluster:
        sampler.start()
        # the process settings python -m borgsim runs its scenario under (docs/simulation.md)
        with collector_off(), switch_interval(SIMULATION_SWITCH_INTERVAL), one_cpu():
            c0 = time.process_time()
            result = run_density(cluster)
            total = time.process_time() - c0
        done.set()
        sampler.join()
    phase = result.phases[0]
    groups: collections.Counter[str] = collections.Counter()
    for (name, ident), seconds in cpu.items():
        groups[re.sub(r"[-_ ]?\d+$", "", name)] += seconds - at_start[(name, ident)]
    print(f"sim: {a.nodes} nodes, {phase.pods} pods of {a.deployments} Deployments: {phase.seconds:.1f} s, "
          f"{phase.pods_per_s or 0:.0f} pods Running/s, p50 {phase.p50_s or 0:.2f} s, p99 {phase.p99_s or 0:.2f} s, "
          f"process CPU {1e6 * total / max(1, phase.pods):.0f} us/pod, load {load_before} -> {_load()}")
    for group, seconds in groups.most_common(12):
        print(f"  {group:28s} {seconds:7.2f} s CPU  {100 * seconds / total:5.1f} %  {1e6 * seconds / max(1, phase.pods):6.0f} us/pod")


def main(argv: list[str] | None = None) -> None:
    a = _args(argv)
    sys.path.insert(0, os.path.abspath(a.src))
    (core if a.mode == "core" else sim)(a)


if __name__ == "__main__":
    main()
