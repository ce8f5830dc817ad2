"""CPU per ReplicaSet sync with thousands of pods: the inlined passes against the plain per-pod functions.

    python benches/bench_rs_sync.py [--pods 3000] [--syncs 30]

One ReplicaSet owning --pods Running, Ready pods (minReadySeconds 10, Ready since spread over a minute)
in the embedded store; one ReplicaSetController over shared informers. Each sync finds nothing to do (the
pods are there, the status is current), which is the common case while a big set's pods are updated.
Reference, in the same run and on the same cache: a subclass whose claim_pods and status counts are the
previous implementation (controllerref.candidates + claim; podstate.is_ready / is_available per pod).
CPU is time.process_time() per sync; the load average is printed beside the table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import kvstore  # noqa: E402
import objects  # noqa: E402
from controllers.controllerref import candidates, claim  # noqa: E402
from controllers.events import EventRecorder  # noqa: E402
from controllers.informer import SharedInformers  # noqa: E402
from controllers.podstate import format_time, is_active, is_available, is_ready  # noqa: E402
from controllers.replicaset import ReplicaSetController  # noqa: E402


class PlainReplicaSetController(ReplicaSetController):
    """The previous per-pod code: several passes through small functions."""

    def claim_pods(self, owner: Any, selector: Any, active_only: bool = True) -> list[Any]:
        pods = candidates(self.pods, owner)
        if active_only:
            pods = [p for p in pods if is_active(p)]
        return claim(self.registry, owner, lambda p: selector.matches(p.metadata.labels), pods,
                     can_adopt=lambda: self._still_there(owner))

    @staticmethod
    def _count(pods: list[Any], template_labels: dict[str, str], min_ready: int, now: float) -> tuple[int, int, int]:
        return (sum(1 for p in pods if all(p.metadata.labels.get(k) == v for k, v in template_labels.items())),
                sum(1 for p in pods if is_ready(p)),
                sum(1 for p in pods if is_available(p, min_ready, now)))


def setup(pods: int) -> tuple[Any, Any, Any, str]:
    store = kvstore.open()
    registry = objects.Registry(store)
    labels = {"app": "big"}
    rs = registry.create(objects.from_dict({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "big", "namespace": "default"},
        "spec": {"replicas": pods, "minReadySeconds": 10, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))
    now = time.time()
    for i in range(pods):
        p = registry.create(objects.from_dict({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"big-{i}", "namespace": "default", "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "big",
                                              "uid": rs.metadata.uid, "controller": True}]},
            "spec": {"containers": [{"name": "c", "image": "i"}], "nodeName": f"n{i % 100}"}}))
        conditions = [objects.Condition(type=t, status="True", last_transition_time=format_time(now - 120 + i % 60))
                      for t in ("Initialized", "ContainersReady", "PodScheduled", "Ready")]
        registry.update_status(p.replace(status=p.status.replace(phase="Running", conditions=conditions)))
    return store, registry, rs, "default/big"


def per_sync(controller: Any, key: str, syncs: int) -> float:
    started = time.process_time()
    for _ in range(syncs):
        controller.sync(key)
    return (time.process_time() - started) / syncs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--syncs", type=int, default=30)
    args = parser.parse_args()
    store, registry, rs, key = setup(args.pods)
    informers = SharedInformers(registry)
    recorder = EventRecorder(registry, "bench", enabled=False)
    fast = ReplicaSetController(registry, informers, recorder=recorder)
    plain = PlainReplicaSetController(registry, informers, recorder=recorder)
    informers.start()
    try:
        assert informers.wait_synced(60)
        fast.sync(key)  # writes the status once; wait until the cache has it, so no sync is skipped as stale
        written = fast._status_written.get(key, 0)
        deadline = time.monotonic() + 30
        while int(fast.owners.lister.get(key).metadata.resource_version) < written and time.monotonic() < deadline:
            time.sleep(0.01)
        status = fast.owners.lister.get(key).status
        assert status.replicas == args.pods and status.ready_replicas == args.pods, status
        load = os.getloadavg()[0]
        rounds = [(per_sync(plain, key, args.syncs), per_sync(fast, key, args.syncs)) for _ in range(3)]
        assert fast.owners.lister.get(key).status == status  # neither wrote anything
        plain_s = min(r[0] for r in rounds)
        fast_s = min(r[1] for r in rounds)
        print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}; {args.pods} pods, best of 3 x {args.syncs} syncs")
        print("| sync of one ReplicaSet | CPU ms / sync | pods / CPU-s |")
        print("|---|---|---|")
        print(f"| plain functions (reference) | {plain_s * 1e3:.1f} | {args.pods / plain_s:,.0f} |")
        print(f"| inlined passes | {fast_s * 1e3:.1f} | {args.pods / fast_s:,.0f} |")
        print(f"speed-up: {plain_s / fast_s:.1f}x")
    finally:
        informers.stop()
        store.close()


if __name__ == "__main__":
    main()
