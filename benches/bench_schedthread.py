"""The scheduler thread's CPU per pod in the cluster simulation's workload, without the other threads.

    python benches/bench_simsched.py ...          the whole simulation (every thread) and the cycle alone
    python benches/bench_schedthread.py [--nodes 5000] [--pods 15000] [--deployments 50] [--src DIR]

What ``python -m borgsim``'s scheduler thread does per pod, replayed in one thread against a Registry on
an in-memory kvstore with three more Pod watchers (the simulation's informers): the pending pod's watch
event, the cycle, the binding write (``RegistryConnection.bind``), the binding's watch event and the
kubelet's Running status write's event. Pods are created (one ReplicaSet per Deployment, batches of 500
interleaved as the ReplicaSet controllers create them) and their status written outside the measured time.
The garbage collector runs with the simulation's thresholds. Prints the CPU per pod of the whole and of its
parts (watch events applied; bindings written; the cycles without them) and a digest of every decision:
two versions that decide alike print the same digest. Being one thread, it is steadier than the simulation
for comparing versions of the scheduler's side (``--src DIR``: another checkout's ``src``, in the same
sitting); the load average is printed with every figure.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import os
import sys
import time

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--pods", type=int, default=15000)
    p.add_argument("--deployments", type=int, default=50)
    p.add_argument("--src", default=_HERE, help="the borgkit source tree to import (default: this checkout's)")
    a = p.parse_args(argv)
    sys.path.insert(0, os.path.abspath(a.src))
    import kvstore
    import objects
    import scheduling
    from controllers.kubeletstatus import node_object
    from scheduling.connect import RegistryConnection

    registry = objects.Registry(kvstore.open(None))
    now = "2026-01-01T00:00:00Z"
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "density"}}))
    for i in range(a.nodes):
        registry.create(objects.from_dict(node_object(f"hollow-node-{i}", {}, i, now)))
    per = a.pods // a.deployments
    owners = []
    for d in range(a.deployments):
        name, template_hash = f"density-{d}", f"h{d:05d}"
        labels = {"name": name, "group": "density", "pod-template-hash": template_hash}
        rs = registry.create(objects.from_dict({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{name}-{template_hash}", "namespace": "density"},
            "spec": {"replicas": per, "selector": {"matchLabels": {"name": name, "pod-template-hash": template_hash}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}]}}}}))
        owners.append((f"{name}-{template_hash}", labels, rs.metadata.uid))

    def pod(d: int, k: int) -> object:
        owner, labels, uid = owners[d]
        return objects.from_dict({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{owner}-{k:05d}", "namespace": "density", "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                              "uid": uid, "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}],
                     "terminationGracePeriodSeconds": 1}})

    s = scheduling.Scheduler(seed=0)
    connection = RegistryConnection(s, registry)
    connection.rebuild()
    spent = {"watch events": 0.0, "bindings": 0.0}

    def timed(part: str, fn):  # the part's CPU, counted into the whole as well
        def call(*args, **kwargs):
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += time.process_time() - t0
        return call
    s._binder, s._evictor, s.nomination_writer = timed("bindings", connection.bind), connection.evict, \
        connection.hold_nomination
    drain = timed("watch events", connection.drain)
    informers = [registry.watch("Pod", all_namespaces=True) for _ in range(3)]
    order = [(d, k) for start in range(0, per, 50) for d in range(a.deployments)
             for k in range(start, min(per, start + 50))]
    digest = hashlib.sha256()
    total = 0.0
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)  # borgsim.gctuning's
    for i in range(0, len(order), 500):
        for d, k in order[i:i + 500]:
            registry.create(pod(d, k))
        t0 = time.process_time()
        drain()
        results = s.schedule_pending()
        connection.write_failures(results)
        total += time.process_time() - t0
        for r in results:
            digest.update(f"{r.pod.key}={r.node_name};".encode())
            if r.node_name:
                m = r.pod.metadata
                registry.patch_status("Pod", m.name, {
                    "metadata": {"resourceVersion": m.resource_version},
                    "status": {"phase": "Running", "podIP": "10.0.0.1", "startTime": now,
                               "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}},
                    m.namespace)
        t0 = time.process_time()
        drain()
        total += time.process_time() - t0
        for w in informers:
            while w.take(0):
                pass
    n = len(order)
    cycles = total - spent["watch events"] - spent["bindings"]
    print(f"schedthread: {a.nodes} nodes, {n} pods of {a.deployments} ReplicaSets: {connection.bound} bound, "
          f"scheduler thread {1e6 * total / n:.1f} us/pod (watch events {1e6 * spent['watch events'] / n:.1f}, "
          f"bindings {1e6 * spent['bindings'] / n:.1f}, cycles {1e6 * cycles / n:.1f}), "
          f"decisions {digest.hexdigest()[:16]}, load {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
