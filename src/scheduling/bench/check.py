"""The bench's decision check: replay a workload in exact mode and compare sampled decisions with
``scheduling.reference`` (every node filtered and scored with the plain definitions).

The reference walks every pod for every node, so the replay runs on the workload shrunk to at most
``MAX_NODES`` nodes (same shape, same proportions); the timed runs are not slowed by it. A decision agrees
when the node the scheduler chose has the reference's best total score (ties may be broken either way), or
when both find no feasible node. Decisions involving preemption are not compared (the reference does not
model nominated pods).
"""
from __future__ import annotations

from typing import Any

from ..reference import Cluster, total_scores
from .run import exact_config
from .workload import PodStep, Workload

__all__ = ["check_sample", "MAX_NODES"]

MAX_NODES = 150


def _shrunk(workload: Workload) -> Workload:
    nodes = workload.node_count
    return workload.scaled(MAX_NODES / nodes) if nodes > MAX_NODES else workload


def check_sample(workload: Workload, sample: int, seed: int = 0) -> tuple[int, int]:
    """Replay ``workload`` (shrunk) and check up to ``sample`` measured decisions; (checked, mismatches)."""
    import objects

    from ..scheduler import Scheduler

    small = _shrunk(workload)
    scheduler = Scheduler(config=exact_config(), seed=seed)
    nodes: list[Any] = []
    bound: dict[str, Any] = {}

    def settle(results: list[Any]) -> None:
        for r in results:
            for victim in r.victims:
                bound.pop(victim.key, None)
            if r.node_name:
                bound[r.pod.key] = r.pod if r.pod.spec.node_name else r.pod.with_node_name(r.node_name)

    measured: list[Any] = []
    for step, manifests in small.expand():
        objs = [objects.from_dict(m) for m in manifests]
        if not isinstance(step, PodStep):
            for n in objs:
                scheduler.add_node(n)
            nodes.extend(objs)
        elif step.measure:
            measured.extend(objs)
        else:
            for p in objs:
                scheduler.add_pod(p)
            settle(scheduler.schedule_pending(include_backoff=True))
    every = max(1, len(measured) // max(1, sample))
    checked = mismatches = 0
    for i, pod in enumerate(measured):
        wanted = i % every == 0 and checked < sample
        totals = total_scores(pod, Cluster(nodes, list(bound.values()))) if wanted else {}
        scheduler.add_pod(pod)
        results = scheduler.schedule_pending(include_backoff=True)
        settle(results)
        if not wanted:
            continue
        mine = next((r for r in results if r.pod.key == pod.key), None)
        if mine is None or mine.victims or mine.nominated_node_name:
            continue
        checked += 1
        if mine.node_name is None:
            mismatches += bool(totals)
        elif not totals or totals.get(mine.node_name) != max(totals.values()):
            mismatches += 1
    return checked, mismatches
