"""Nominations as kube-scheduler keeps them (its nominator and preemption's ``prepareCandidate``):

* a pod nominated by preemption keeps its room from pods of lower or equal priority, on the class index
  path too, and is tried first on its nominated node when it comes back (``evaluateNominatedNode``);
* a higher-priority preemptor nominated to the same node clears the lower-priority pods' nominations there
  (``getLowerPriorityNominatedPods``) and sends them back to be retried;
* a nomination ends when its pod is bound (by us or reported bound elsewhere), deleted, or finds no
  candidate any more; a pending pod fed with ``status.nominatedNodeName`` is nominated there.
"""
from __future__ import annotations

import pathlib
import sys
from typing import Any

import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402


def _only(results: list, key: str) -> Any:
    return next(r for r in results if r.pod.key == key)


def _nominated(s: Scheduler, key: str) -> Any:
    return s._nominations.node_of(key)


def _preempted(nodes: list, bound: list, preemptor: Any) -> Scheduler:
    """A scheduler where ``preemptor`` has just preempted and been nominated."""
    s = Scheduler(seed=1)
    for n in nodes:
        s.add_node(n)
    for p in bound:
        s.add_pod(p)
    s.add_pod(preemptor)
    r = _only(s.schedule_pending(), preemptor.key)
    assert r.node_name is None and r.nominated_node_name
    return s


def test_the_room_made_by_preemption_is_kept_from_lower_and_equal_priority_pods_on_the_index_path() -> None:
    s = _preempted([node("n1", cpu="4")], [pod("low", cpu="3", priority=0, node_name="n1")],
                   pod("mid", cpu="3", priority=5))
    assert _nominated(s, "default/mid") == "n1"
    indexed = s.metrics.indexed_cycles
    for name, priority in (("filler-0", 1), ("filler-1", 1), ("peer-0", 5), ("peer-1", 5)):
        s.add_pod(pod(name, cpu="2", priority=priority))  # twins: their classes get an index
    results = s.schedule_pending()
    assert [r.node_name for r in results if r.pod.key != "default/mid"] == [None] * 4
    assert s.metrics.indexed_cycles > indexed
    assert _only(s.schedule_pending(include_backoff=True), "default/mid").node_name == "n1"
    assert _nominated(s, "default/mid") is None


def test_a_pod_comes_back_to_its_nominated_node_first() -> None:
    s = _preempted([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=0, node_name="n1")],
                   pod("mid", cpu="1", priority=5))
    s.add_node(node("n2", cpu="64"))  # emptier: LeastAllocated would prefer it
    again = _only(s.schedule_pending(include_backoff=True), "default/mid")
    assert again.node_name == "n1"


def test_a_higher_priority_preemptor_clears_lower_priority_nominations_on_its_node() -> None:
    written: list = []
    s = Scheduler(seed=1)
    s.nomination_writer = lambda p, name: written.append((p.key, name))
    s.add_node(node("n1", cpu="4"))
    for i in range(2):
        s.add_pod(pod(f"low-{i}", cpu="2", priority=0, node_name="n1"))
    s.add_pod(pod("mid", cpu="2", priority=5))
    assert _only(s.schedule_pending(), "default/mid").nominated_node_name == "n1"
    s.add_pod(pod("high", cpu="4", priority=10))
    high = _only(s.schedule_pending(), "default/high")
    assert high.nominated_node_name == "n1" and len(high.victims) == 1
    assert _nominated(s, "default/mid") is None
    assert s.queue.get("default/mid").pod.status.nominated_node_name is None
    assert ("default/mid", None) in written and ("default/high", "n1") in written
    results = s.schedule_pending(include_backoff=True)
    assert _only(results, "default/high").node_name == "n1"
    assert s._nominations.node_of("default/high") is None and not s._nominations


def test_a_nomination_ends_when_its_pod_is_deleted_and_the_room_is_free_again() -> None:
    s = _preempted([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=0, node_name="n1")],
                   pod("mid", cpu="2", priority=5))
    s.remove_pod(pod("mid", cpu="2", priority=5))
    assert not s._nominations
    s.add_pod(pod("small", cpu="2", priority=1))
    assert _only(s.schedule_pending(), "default/small").node_name == "n1"


def test_a_nomination_ends_when_its_pod_is_reported_bound_elsewhere() -> None:
    s = _preempted([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=0, node_name="n1")],
                   pod("mid", cpu="1", priority=5))
    s.add_node(node("n2", cpu="4"))
    s.add_pod(pod("mid", cpu="1", priority=5, node_name="n2"))
    assert not s._nominations and "default/mid" not in s.queue
    assert s.cache.get("n2").requested["cpu"] == 1000


def test_a_nominated_pod_that_fits_elsewhere_when_it_comes_back_loses_its_nomination() -> None:
    s = _preempted([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=0, node_name="n1")],
                   pod("mid", cpu="1", priority=5))
    s.add_pod(pod("taker", cpu="2", priority=10, node_name="n1"))  # its room is gone
    s.add_node(node("n2", cpu="4"))
    again = _only(s.schedule_pending(include_backoff=True), "default/mid")
    assert again.node_name == "n2" and not s._nominations


def test_a_pod_that_finds_no_candidate_any_more_loses_its_nomination() -> None:
    s = _preempted([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=0, node_name="n1")],
                   pod("mid", cpu="1", priority=5))
    s.add_pod(pod("taker", cpu="2", priority=10, node_name="n1"))  # bound there by someone else
    again = _only(s.schedule_pending(include_backoff=True), "default/mid")
    assert again.node_name is None and again.nominated_node_name is None
    assert not s._nominations and again.pod.status.nominated_node_name is None


def test_a_pending_pod_fed_with_a_nominated_node_keeps_its_room_there() -> None:
    s = Scheduler(seed=1)
    s.add_node(node("n1", cpu="2"))
    d = objects.to_dict(pod("restarted", cpu="2", priority=5))
    d["status"] = {"nominatedNodeName": "n1"}
    s.add_pod(objects.from_dict(d))
    assert _nominated(s, "default/restarted") == "n1"
    s.add_pod(pod("small", cpu="1", priority=1))
    assert _only(s.schedule_pending(), "default/small").node_name is None
    s.update_pod(pod("restarted", cpu="2", priority=5))  # its status no longer names it: cleared
    assert _nominated(s, "default/restarted") is None


def test_an_update_that_never_carried_the_nomination_keeps_it() -> None:
    """``updateNominatedPod``: the status write recording the nomination may not have come back yet."""
    s = _preempted([node("n1", cpu="2")], [pod("low", cpu="1500m", priority=0, node_name="n1")],
                   pod("mid", cpu="1", priority=5))
    s.update_pod(pod("mid", cpu="1", priority=5, labels={"changed": "yes"}))
    assert _nominated(s, "default/mid") == "n1"
    assert s.queue.get("default/mid").pod.metadata.labels == {"changed": "yes"}


def test_forget_changes_what_clearing_the_nomination_changes_and_nothing_more() -> None:
    # Nominator.forget skips the clearing when the pod is nominated nowhere; differential against the
    # clearing every time: the same nominations, the same nodes logged changed, no write either way.
    from hypothesis import given, settings, strategies as st

    from scheduling.cache import Cache
    from scheduling.cycle.nominator import Nominations, Nominator
    from scheduling.queue import SchedulingQueue
    from scheduling.plugins.prioritysort import PrioritySort

    def build() -> tuple[Nominator, Nominations, Cache, list]:
        cache = Cache()
        for name in ("n0", "n1"):
            cache.add_node(node(name))
        nominations = Nominations()
        queue = SchedulingQueue(PrioritySort())
        writes: list = []
        nominator = Nominator(nominations, cache, queue)
        nominator.writer = lambda p, n: writes.append((p.key, n))
        return nominator, nominations, cache, writes

    def state(nominations: Nominations, cache: Cache, writes: list) -> tuple:
        return ({k: nominations.node_of(k) for k in ("default/p0", "default/p1", "default/p2")},
                [(n, sorted(p.key for p in nominations.pods_on(n))) for n in ("n0", "n1")],
                [info.name for info in cache.changes], writes)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(["set", "forget", "take_fed"]), st.integers(0, 2),
                              st.sampled_from([None, "n0", "n1"])), max_size=20))
    def check(ops: list) -> None:
        fast, fast_nominations, fast_cache, fast_writes = build()
        plain, plain_nominations, plain_cache, plain_writes = build()
        for op, i, target in ops:
            p = pod(f"p{i}") if target is None else pod(f"p{i}").with_nominated_node_name(target)
            if op == "set":
                fast.set(p, target)
                plain.set(p, target)
            elif op == "forget":
                fast.forget(p)
                plain._fed.pop(p.key, None)  # forget as it was: clear whatever the pod's state
                plain.set(p, None, record=False)
            else:
                for n in (fast, plain):
                    n._queue.add(p)
                    n.take_fed(p)
            assert state(fast_nominations, fast_cache, fast_writes) == state(plain_nominations, plain_cache,
                                                                              plain_writes)
            assert fast._fed == plain._fed

    check()
