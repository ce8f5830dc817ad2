"""Micro-benchmarks of preemption's two costly steps on 1,000 nodes full of low-priority pods, half of them
already nominated to earlier preemptors (the middle of the Preemption workload), each with its reference
measured in the same run: the plain path (every node filtered every cycle with its nominated pods added on a
copy; every dry run done node by node from the random offset).

    python -m pytest benches/bench_preemption.py --benchmark-columns=mean,ops,rounds

* ``test_filter_*``: one cycle of a pod that fits nowhere (``preemptionPolicy: Never``, so PostFilter stops
  at once): the Filter pass with nominations and the "0/1000 nodes are available" message.
* ``test_dry_run_*``: DefaultPreemption's search for ``numCandidates`` candidates from a random offset.
"""
from __future__ import annotations

import itertools
from typing import Any

import objects
import pytest

from scheduling import Scheduler
from scheduling.framework import CycleState

NODES = 1000
_names = itertools.count()


class PlainScheduler(Scheduler):
    """No class index: the per-node path with nominated pods added on copies."""

    def _schedule_indexed(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        return None


def _pod(cpu: str, priority: int, **spec: Any) -> Any:
    body: dict[str, Any] = {"containers": [{"name": "c", "image": "pause:3.10",
                                            "resources": {"requests": {"cpu": cpu, "memory": "500Mi"}}}],
                            "priority": priority}
    body.update(spec)
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": f"p-{next(_names)}", "namespace": "b"}, "spec": body})


def _cluster(plain: bool) -> Scheduler:
    s = PlainScheduler(seed=0) if plain else Scheduler(seed=0)
    if plain:
        s.framework().plugins["DefaultPreemption"]._table = lambda key: None
    for i in range(NODES):
        s.add_node(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i}"},
                                      "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}}))
        for _ in range(4):
            s.add_pod(_pod("900m", 0, nodeName=f"node-{i}"))
    for _ in range(NODES // 2):  # half the nodes preempted and nominated already
        s.add_pod(_pod("3", 10))
        s.schedule_pending()
    return s


@pytest.fixture(scope="module", params=["fast", "plain"])
def cluster(request: Any) -> Scheduler:
    return _cluster(request.param == "plain")


def test_filter_fits_nowhere_with_500_nominated_nodes(benchmark: Any, cluster: Scheduler) -> None:
    polite = _pod("3", 10, preemptionPolicy="Never")
    cluster.add_pod(_pod("3", 10, preemptionPolicy="Never"))  # a twin first: the class gets its index
    cluster.schedule_pending()

    def cycle() -> Any:
        cluster.queue.delete(polite)
        cluster.queue.add(polite)
        return cluster.schedule_one(cluster.queue.pop())

    result = benchmark(cycle)
    assert result.node_name is None and f"0/{NODES} nodes are available" in result.message


def test_dry_run_search_with_500_nominated_nodes(benchmark: Any, cluster: Scheduler) -> None:
    fwk = cluster.framework()
    plugin = fwk.plugins["DefaultPreemption"]
    nodes = cluster.cache.list()
    pod = _pod("3", 10)
    state = CycleState()
    fwk.run_pre_filter_plugins(state, pod, nodes)
    found = benchmark(lambda: plugin._dry_run(fwk, state, pod, nodes, {}))
    assert found
