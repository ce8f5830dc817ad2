"""Hypothesis over random clusters where pods must preempt: the fast paths — class indexes that leave room
for nominated pods, ``IndexedStatuses``, DefaultPreemption's ``DryRunTable`` search — decide exactly as the
plain paths (every node filtered every cycle with the nominated pods added on copies, every dry run done
node by node from the random offset): same nodes, nominations, victims and messages, round after round.
After every round no node is over-committed and every nomination names a pending pod.
"""
from __future__ import annotations

import pathlib
import sys
from typing import Any

import objects
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402

TAINT = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
STARTS = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z", None]


class PlainScheduler(Scheduler):
    """No class index: every node's filters run every cycle (nominated pods added on copies)."""

    def _schedule_indexed(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None


def _started(p: Any, start: str | None) -> Any:
    if start is None:
        return p
    d = objects.to_dict(p)
    d["status"] = {"startTime": start}
    return objects.from_dict(d)


@st.composite
def clusters(draw: Any) -> tuple[list, list, list]:
    nodes, bound = [], []
    for i in range(draw(st.integers(3, 10))):
        name = f"n{i:02}"
        cpu = draw(st.sampled_from([2000, 4000]))
        nodes.append(node(name, cpu=f"{cpu}m", taints=[TAINT] if draw(st.integers(0, 5)) == 0 else []))
        for j in range(draw(st.integers(0, 3))):
            request = draw(st.sampled_from([500, 1000]))
            if request > cpu:
                break
            cpu -= request
            bound.append(_started(pod(f"low-{name}-{j}", cpu=f"{request}m", priority=draw(st.integers(0, 3)),
                                      node_name=name, labels={"app": draw(st.sampled_from(["a", "b"]))}),
                                  draw(st.sampled_from(STARTS))))
    pending = []
    for i in range(draw(st.integers(2, 9))):
        extra: dict[str, Any] = {}
        if draw(st.integers(0, 6)) == 0:
            extra["preemptionPolicy"] = "Never"
        cpu, priority = draw(st.sampled_from(["1", "2", "3"])), draw(st.integers(0, 6))
        for twin in range(draw(st.integers(1, 3))):  # twins share a class: indexes and tables get built
            pending.append(pod(f"p{i}-{twin}", cpu=cpu, priority=priority, **extra))
    return nodes, bound, pending


def _decisions(results: list) -> list:
    return [(r.pod.key, r.node_name, r.message, r.nominated_node_name, [v.key for v in r.victims])
            for r in results]


def _check(s: Scheduler) -> None:
    for info in s.cache.list():
        assert sum(p.requests.get("cpu", 0) for p in info.pods.values()) <= info.allocatable["cpu"], info.name
    for name in list(s._nominations.nodes()):
        for p in s._nominations.pods_on(name):
            assert p.key in s.queue and s.bound_pod(p.key) is None, p.key


@settings(max_examples=40, deadline=None)
@given(clusters(), st.sampled_from([1, 2, 100]), st.booleans(), st.integers(0, 2),
       st.lists(st.integers(0, 9), max_size=4))
def test_preemption_fast_paths_decide_as_the_plain_paths(cluster: tuple, min_candidates: int, pdb: bool,
                                                         seed: int, takers: list) -> None:
    nodes, bound, pending = cluster
    config = {"profiles": [{"pluginConfig": [{"name": "DefaultPreemption", "args": {
        "minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": min_candidates}}]}]}
    fast, plain = Scheduler(config, seed=seed), PlainScheduler(config, seed=seed)
    plain.framework().plugins["DefaultPreemption"]._table = lambda key: None  # every dry run node by node
    for s in (fast, plain):
        for n in nodes:
            s.add_node(n)
        for p in bound:
            s.add_pod(p)
        if pdb:
            s.add_pdb(objects.from_dict({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                         "metadata": {"name": "a", "namespace": "default"},
                                         "spec": {"selector": {"matchLabels": {"app": "a"}}},
                                         "status": {"disruptionsAllowed": 1}}))
    half = len(pending) // 2
    for round_ in range(6):
        batch = pending[:half] if round_ == 0 else pending[half:] if round_ == 1 else []
        for s in (fast, plain):
            for p in batch:
                s.add_pod(p)
        if round_ == 2:  # someone else's pods take room that preemption made: nominated pods fail again
            for k, at in enumerate(takers):
                info = fast.cache.list()[at % len(nodes)]
                if info.allocatable["cpu"] - info.requested.get("cpu", 0) >= 500:
                    taker = pod(f"taker-{k}", cpu="500m", priority=10, node_name=info.name)
                    for s in (fast, plain):
                        s.add_pod(taker)
        a = fast.schedule_pending(include_backoff=True)
        b = plain.schedule_pending(include_backoff=True)
        assert _decisions(a) == _decisions(b)
        _check(fast)
    assert fast.rng.getstate() == plain.rng.getstate()
