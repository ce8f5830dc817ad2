"""CPU per pod event of the controller manager's Pod informer: its cache, its indexes and every default
controller's pod handlers, as in a saturation run (issue #10).

    python benches/bench_informer.py [--pods 3000] [--deployments 30] [--rounds 5] [--profile]

Setup (not timed): Deployments and their ReplicaSets as ``borgsim`` creates them (clusterloader2's density
template), then each pod created from its ReplicaSet's template, bound to a node and written Running by
the hollow kubelet's ``running_status``, through the Registry; a Pod watch records the events (ADDED,
MODIFIED bind, MODIFIED Running: what the manager's Pod informer gets in ``borgsim``). Then every default
controller is built over one SharedInformers, as the manager builds them; the informers of the other
kinds list, and the recorded events are handed to the Pod informer's own watch loop (``Informer._watch``)
through a stand-in stream, the work queues emptied every 30 events as the workers would (not counted).

Measured: CPU seconds (``time.process_time``) per event, the best of ``--rounds`` replays, each into a
fresh set of controllers (the garbage collector off while timing: where a collection lands is noise). Prints the load average beside it. Compare two checkouts by running the same
command with ``PYTHONPATH`` at each one's ``src``, alternating.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import types
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import kvstore  # noqa: E402
import objects  # noqa: E402
from controllers import DEFAULT_CONTROLLERS, EventRecorder, SharedInformers, resolve_controllers  # noqa: E402
from controllers.kubeletstatus import rfc3339, running_status  # noqa: E402
from controllers.podcontrol import pod_from_template  # noqa: E402
from controllers.controllerref import owner_reference  # noqa: E402

NAMESPACE = "density"


def _deployment(index: int, replicas: int) -> dict:
    name = f"density-{index}"
    tolerations = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                   for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"group": "density"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"name": name}},
                     "template": {"metadata": {"labels": {"name": name, "group": "density"}},
                                  "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                                           "resources": {"requests": {"cpu": "10m",
                                                                                      "memory": "10Mi"}}}],
                                           "terminationGracePeriodSeconds": 1, "tolerations": tolerations}}}}


def record(registry: objects.Registry, pods: int, deployments: int) -> list:
    """Write the workload; return the Pod watch events it caused."""
    registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}))
    per = pods // deployments
    sets = []
    for i in range(deployments):
        d = registry.create(objects.from_dict(_deployment(i, per)))
        body = _deployment(i, per)
        body.update(apiVersion="apps/v1", kind="ReplicaSet")
        body["metadata"]["name"] = f"density-{i}-5d4f8c7b9"
        labels = {"name": f"density-{i}", "pod-template-hash": "5d4f8c7b9"}
        body["spec"]["selector"] = {"matchLabels": labels}
        body["spec"]["template"]["metadata"]["labels"] = {**labels, "group": "density"}
        rs = objects.from_dict(body)
        rs.metadata.owner_references = [owner_reference(d)]
        sets.append(registry.create(rs))
    stream = registry.watch("Pod", all_namespaces=True, resource_version=str(registry.list("Pod").resource_version))
    events = []

    def drain(wait: float) -> None:
        while True:
            event = stream.get(wait)
            if event is None:
                return
            events.append(event)

    for n in range(per * deployments):
        rs = sets[n % deployments]
        pod = registry.create(pod_from_template(rs.spec.template, rs))
        node = f"hollow-node-{n % 100}"
        pod = registry.bind(pod.metadata.name, node, NAMESPACE)
        stamp = rfc3339(time.time())
        status = running_status(pod, stamp, f"10.64.{n % 100}.1", f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                                stamp, stamp, 0)
        registry.patch_status("Pod", pod.metadata.name, {"metadata": {"resourceVersion": pod.metadata.resource_version},
                                                         "status": status}, NAMESPACE)
        if n % 100 == 99:
            drain(0)
    drain(0.5)
    stream.stop()
    if len(events) != 3 * per * deployments:
        raise SystemExit(f"recorded {len(events)} pod events, expected {3 * per * deployments}")
    return events


class _Recorded:
    """A watch stream handing out recorded events; every 30 events ``between`` runs (the workers' share:
    its CPU time is counted apart, in ``between_cpu``)."""

    def __init__(self, events: list, between: Callable[[], None]) -> None:
        self._events, self._between, self._next = events, between, 0
        self.stopped = False
        self.between_cpu = 0.0

    def get(self, timeout: float | None = None) -> Any:
        n = self._next
        if n == len(self._events):
            self.stopped = True
            return None
        if n and n % 30 == 0:
            began = time.process_time()
            self._between()
            self.between_cpu += time.process_time() - began
        self._next = n + 1
        return self._events[n]

    def take(self, timeout: float | None = None) -> list:
        """The events up to the next 30 (a batch as the informer takes them: every event queued)."""
        n = self._next
        if n == len(self._events):
            self.stopped = True
            return []
        if n and n % 30 == 0:
            began = time.process_time()
            self._between()
            self.between_cpu += time.process_time() - began
        self._next = end = min(len(self._events), n - n % 30 + 30)
        return self._events[n:end]

    def stop(self) -> None:
        self.stopped = True

    def request_bookmark(self) -> None:
        pass


def replay(registry: objects.Registry, events: list, profile: bool = False, without: tuple = (),
           queued: dict | None = None) -> float:
    """Fresh controllers over fresh informers; the events into the Pod informer. CPU seconds per event.
    ``queued``: filled with the keys each controller's handlers queued (counted, not timed)."""
    informers = SharedInformers(registry)
    recorder = EventRecorder(registry, "bench", enabled=False)
    controllers = [DEFAULT_CONTROLLERS[name](registry, informers, recorder=recorder, clock=None)
                   for name in resolve_controllers(None) if name not in without]
    pods = informers.informer("Pod")
    for informer in informers.informers():
        if informer is not pods:
            informer._relist()
    queues = [c.queue for c in controllers]
    if queued is not None:
        for c in controllers:
            queued[c.name] = 0

            def counting(key: str, add=c.queue.add, name=c.name) -> None:
                queued[name] += 1
                add(key)
            c.queue.add = counting  # type: ignore[method-assign]

    def empty_queues() -> None:
        for q in queues:
            while len(q):
                q.done(q.get(0))

    stream = _Recorded(events, empty_queues)
    pods.registry = types.SimpleNamespace(watch=lambda *args, **options: stream)  # type: ignore[assignment]
    pods._resource_version = "0"
    gc.collect()
    gc.disable()  # a collection landing in one replay and not in another is noise, not cost
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    began = time.process_time()
    pods._watch()  # the informer's own loop, over the recorded stream
    spent = time.process_time() - began - stream.between_cpu
    if profiler is not None:
        profiler.disable()
    gc.enable()
    for c in controllers:
        c.shut_down()
    if profiler is not None:
        import pstats
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return spent / len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--deployments", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one more replay and print it")
    parser.add_argument("--per-controller", action="store_true",
                        help="also the cost of each controller: the replay without it, against the replay with all")
    args = parser.parse_args()
    store = kvstore.open()
    try:
        registry = objects.Registry(store)
        events = record(registry, args.pods, args.deployments)
        best = min(replay(registry, events) for _ in range(args.rounds))
        print(f"pod informer: {len(events)} events of {args.pods} pods, {len(resolve_controllers(None))} controllers: "
              f"{best * 1e6:.1f} CPU us / event (best of {args.rounds}); load {os.getloadavg()[0]:.2f}")
        queued: dict[str, int] = {}
        replay(registry, events, queued=queued)
        pods = len(events) // 3
        print("  keys queued per pod: " + ", ".join(f"{name} {n / pods:.2f}" for name, n in queued.items() if n))
        if args.per_controller:
            for name in resolve_controllers(None):
                rest = min(replay(registry, events, without=(name,)) for _ in range(args.rounds))
                print(f"  {name:24s} {(best - rest) * 1e6:5.1f} CPU us / event")
        if args.profile:
            replay(registry, events, profile=True)
    finally:
        store.close()


if __name__ == "__main__":
    main()
