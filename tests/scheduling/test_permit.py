"""Permit Wait, as kube-scheduler: with a small gang-scheduling (Coscheduling-like) permit plugin, a group of
N pods waits — assumed, its resources held — until N are assumed, then all bind; an incomplete group times
out (the scheduler's clock) and releases its resources; allow / reject from outside a cycle; Unreserve in
reverse order; waiting pods deleted or preempted; hypothesis over random arrivals and clock steps; and the
same through a registry."""
from __future__ import annotations

import pathlib
import sys
from typing import Any, Optional

import kvstore
import objects
import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import Clock, node, pod  # noqa: E402

from scheduling import Scheduler, default_registry  # noqa: E402
from scheduling.framework import (MAX_PERMIT_TIMEOUT, Code, PermitPlugin, Plugin, ReservePlugin,  # noqa: E402
                                  Status, WaitingPods)

GROUP, SIZE = "pod-group.example/name", "pod-group.example/min-available"


class Gang(Plugin, PermitPlugin):
    """Coscheduling in a few lines: a pod of a group waits until ``min-available`` of its group are assumed."""

    name = "Gang"

    def __init__(self, args: Any = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        self.timeout = float(self.args.get("timeoutSeconds", 10))

    def permit(self, state: Any, pod: Any, node_name: str) -> tuple[Optional[Status], float]:
        group = pod.metadata.labels.get(GROUP)
        if group is None:
            return None, 0
        mates: list[Any] = []
        self.handle.iterate_over_waiting_pods(
            lambda w: mates.append(w) if w.pod.metadata.labels.get(GROUP) == group else None)
        if len(mates) + 1 >= int(pod.metadata.labels[SIZE]):
            for waiting in mates:
                waiting.allow(self.name)
            return None, 0
        return Status(Code.WAIT), self.timeout


class Journal(Plugin, ReservePlugin):
    """Two of these record Reserve / Unreserve calls, to check the order."""

    name = "JournalA"
    calls: list[str] = []

    def reserve(self, state: Any, pod: Any, node_name: str) -> Optional[Status]:
        self.calls.append(f"reserve {self.name} {pod.metadata.name}")
        return None

    def unreserve(self, state: Any, pod: Any, node_name: str) -> None:
        self.calls.append(f"unreserve {self.name} {pod.metadata.name}")


class JournalB(Journal):
    name = "JournalB"


def scheduler(clock: Optional[Clock] = None, timeout: float = 10, journal: bool = False) -> Scheduler:
    registry = default_registry()
    registry.register("Gang", Gang)
    registry.register("JournalA", Journal)
    registry.register("JournalB", JournalB)
    plugins: dict[str, Any] = {"permit": {"enabled": [{"name": "Gang"}]}}
    if journal:
        plugins["reserve"] = {"enabled": [{"name": "JournalA"}, {"name": "JournalB"}]}
    config = {"profiles": [{"schedulerName": "default-scheduler", "plugins": plugins,
                            "pluginConfig": [{"name": "Gang", "args": {"timeoutSeconds": timeout}}]}]}
    return Scheduler(config, registry=registry, clock=clock or Clock())


def member(name: str, group: str, size: int, cpu: str = "1", **kw: Any) -> Any:
    return pod(name, cpu=cpu, labels={GROUP: group, SIZE: str(size)}, **kw)


def _cpu(s: Scheduler) -> dict[str, int]:
    return {ni.name: ni.requested.get("cpu", 0) for ni in s.cache.list()}


def test_a_group_waits_assumed_until_complete_then_all_bind() -> None:
    s = scheduler()
    s.add_node(node("n0", cpu="4"))
    for i in range(3):
        s.add_pod(member(f"g-{i}", "g", 3))
    results = s.schedule_pending()
    summary = [(r.pod.metadata.name, r.node_name, r.waiting_node_name) for r in results]
    # The third member's cycle allows the two waiting ones; they bind when that cycle ends.
    assert summary == [("g-0", None, "n0"), ("g-1", None, "n0"), ("g-2", "n0", None),
                       ("g-0", "n0", None), ("g-1", "n0", None)]
    assert results[0].message == 'one or more plugins asked to wait and no plugin rejected pod "g-0"'
    assert s.bound_pod("default/g-0").spec.node_name == "n0"
    assert _cpu(s) == {"n0": 3000} and s.pending == 0 and s.metrics.scheduled == 3


def test_waiting_pods_hold_their_resources_for_later_cycles() -> None:
    s = scheduler()
    s.add_node(node("n0", cpu="2"))
    s.add_pod(member("g-0", "g", 3))
    s.add_pod(member("g-1", "g", 3))
    assert [r.waiting_node_name for r in s.schedule_pending()] == ["n0", "n0"]
    assert _cpu(s) == {"n0": 2000}
    s.add_pod(pod("other", cpu="1"))
    (result,) = s.schedule_pending()
    assert result.node_name is None and "Insufficient cpu" in result.message
    handle = s.framework()
    assert sorted(w.pod.metadata.name for w in handle.waiting_pods) == ["g-0", "g-1"]
    assert s._handle.get_waiting_pod("default/g-0").get_pending_plugins() == ["Gang"]


def test_an_incomplete_group_times_out_unreserves_in_reverse_and_frees_the_node() -> None:
    clock = Clock()
    s = scheduler(clock, timeout=10, journal=True)
    Journal.calls = []
    s.add_node(node("n0", cpu="2"))
    s.add_pod(member("g-0", "g", 3))
    s.add_pod(member("g-1", "g", 3))
    s.schedule_pending()
    s.add_pod(pod("other", cpu="1"))
    assert s.schedule_pending()[0].node_name is None  # the waiting group holds the node
    clock.now += 9.5
    assert s.schedule_pending() == []
    clock.now += 0.5
    results = s.schedule_pending(include_backoff=True)
    timed_out = [r for r in results if r.pod.metadata.name.startswith("g-")]
    # kube-scheduler's FitError over the one node the pod waited on.
    assert [r.message for r in timed_out] == [
        "0/1 nodes are available: 1 rejected due to timeout after waiting 10s at plugin Gang."] * 2
    assert all(r.node_name is None and not r.error for r in timed_out)
    assert [c for c in Journal.calls if c.startswith("unreserve")] == [
        "unreserve JournalB g-0", "unreserve JournalA g-0", "unreserve JournalB g-1", "unreserve JournalA g-1"]
    # The freed room let the other pod in (it was retried on the release), the group waits unschedulable.
    assert [r.node_name for r in results if r.pod.metadata.name == "other"] == ["n0"]
    assert _cpu(s) == {"n0": 1000}
    # Pods moved since their cycle (the other pod's binding), so they back off rather than wait for an event.
    assert s.queue.unschedulable_count + s.queue.backoff_count == 2 and len(s.framework().waiting_pods) == 0


def test_timeouts_are_capped_at_fifteen_minutes() -> None:
    clock = Clock()
    s = scheduler(clock, timeout=3600)
    s.add_node(node("n0"))
    s.add_pod(member("g-0", "g", 2))
    s.schedule_pending()
    clock.now += MAX_PERMIT_TIMEOUT
    (result,) = s.schedule_pending()
    assert result.message.endswith("1 rejected due to timeout after waiting 15m0s at plugin Gang.")


def test_allow_and_reject_from_outside_a_cycle_act_at_once() -> None:
    s = scheduler()
    s.add_node(node("n0"))
    s.add_pod(member("a", "g", 5))
    s.add_pod(member("b", "g", 5))
    s.schedule_pending()
    handle = s._handle
    handle.get_waiting_pod("default/a").allow("Gang")
    assert s.bound_pod("default/a").spec.node_name == "n0"  # bound at once
    handle.get_waiting_pod("default/b").reject("Gang", "group cancelled")
    assert _cpu(s) == {"n0": 1000}
    results = s.schedule_pending()  # the results of those two arrive with the next call
    assert [(r.pod.metadata.name, r.node_name, r.message) for r in results] == [
        ("a", "n0", ""), ("b", None, '0/1 nodes are available: 1 group cancelled.')]
    assert handle.get_waiting_pod("default/b") is None and not handle.reject_waiting_pod("default/b")


def test_a_deleted_waiting_pod_is_released_and_not_requeued() -> None:
    s = scheduler()
    s.add_node(node("n0"))
    p = member("a", "g", 2)
    s.add_pod(p)
    s.schedule_pending()
    s.remove_pod(p)
    assert _cpu(s) == {"n0": 0} and s.pending == 0
    (result,) = s.schedule_pending()
    assert result.message == "0/1 nodes are available: 1 removed."


def test_a_waiting_pod_chosen_as_victim_is_rejected_not_deleted() -> None:
    s = scheduler()
    s.add_node(node("n0", cpu="1"))
    s.add_pod(member("low", "g", 2, priority=0))
    s.schedule_pending()
    s.add_pod(pod("high", cpu="1", priority=100))
    results = s.schedule_pending()
    assert results[0].nominated_node_name == "n0" and [v.metadata.name for v in results[0].victims] == ["low"]
    assert results[1].message == "0/1 nodes are available: 1 preempted."
    assert [r.node_name for r in s.schedule_pending(include_backoff=True)] == ["n0"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("pod"), st.sampled_from("abc"), st.integers(1, 3)),
                          st.tuples(st.just("tick"), st.floats(0, 6), st.just(0))), max_size=20))
def test_random_arrivals_and_clock_steps_keep_groups_whole_and_the_node_exact(steps) -> None:
    clock = Clock()
    s = scheduler(clock, timeout=5)
    s.add_node(node("n0", cpu="100", pods=200))
    sizes: dict[str, int] = {}
    count = 0
    for kind, what, size in steps:
        if kind == "pod":
            size = sizes.setdefault(what, size)
            s.add_pod(member(f"{what}-{count}", what, size, cpu="100m"))
            count += 1
        else:
            clock.now += what
        s.schedule_pending(include_backoff=True)
        waiting = list(s.framework().waiting_pods)
        bound = [p for p in s.cache.pods() if s.bound_pod(p.key) is not None]
        assert {p.key for p in bound}.isdisjoint({w.pod.key for w in waiting})
        assert _cpu(s) == {"n0": 100 * (len(bound) + len(waiting))}
        for group, size in sizes.items():
            waiting_in = sum(1 for w in waiting if w.pod.metadata.labels[GROUP] == group)
            assert waiting_in < size  # a complete group never keeps waiting
        deadline = s.framework().waiting_pods.next_deadline()
        assert (deadline is None) == (not waiting) and (deadline is None or deadline > clock.now)


def test_waiting_pods_map_expires_each_plugin_on_its_own_deadline() -> None:
    clock = Clock()
    verdicts: list[Any] = []
    pods = WaitingPods(clock)
    p = pod("p", metadata={"uid": "u-1"})
    waiting = pods.add(p, "n0", {"Slow": 30, "Fast": 2}, lambda w: verdicts.append(w.verdict))
    assert pods.get("u-1") is waiting and pods.next_deadline() == clock.now + 2
    waiting.allow("Fast")
    assert waiting.get_pending_plugins() == ["Slow"] and pods.next_deadline() == clock.now + 30
    clock.now += 29
    assert pods.expire() == 0 and verdicts == []
    clock.now += 1
    assert pods.expire() == 1
    assert verdicts[0].code == Code.UNSCHEDULABLE and verdicts[0].plugin == "Slow"
    assert verdicts[0].message == "rejected due to timeout after waiting 30s at plugin Slow"
    waiting.allow("Slow")  # a decided pod stays decided
    assert len(verdicts) == 1


@pytest.fixture
def registry(tmp_path: pathlib.Path):
    store = kvstore.open(str(tmp_path / "db"))
    try:
        yield objects.Registry(store)
    finally:
        store.close()


class TickingClock(Clock):
    """Moves on by ``step`` seconds at every reading: time passes while ``run()`` loops."""

    def __init__(self, step: float) -> None:
        super().__init__()
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_through_a_registry_a_complete_group_binds_and_an_incomplete_one_times_out(registry: Any) -> None:
    registry.create(node("n0", cpu="4"))
    for i in range(2):
        registry.create(member(f"full-{i}", "full", 2))
    registry.create(member("half-0", "half", 2))
    s = scheduler(TickingClock(0.05), timeout=10)
    # until_idle stays up while half-0 waits, and returns once its timeout released it.
    assert s.run(registry, until_idle=True, timeout=60) == 2
    placed = {p.metadata.name: p.spec.node_name for p in registry.list("Pod", all_namespaces=True).items}
    assert placed == {"full-0": "n0", "full-1": "n0", "half-0": None}
    assert _cpu(s) == {"n0": 2000} and len(s.framework().waiting_pods) == 0
    condition = [c for c in registry.get("Pod", "half-0", "default").status.conditions if c.type == "PodScheduled"]
    assert [(c.status, c.message) for c in condition] == [
        ("False", "0/1 nodes are available: 1 rejected due to timeout after waiting 10s at plugin Gang.")]


def test_a_waiting_pod_seen_bound_elsewhere_stays_accounted_once() -> None:
    s = scheduler()
    s.add_node(node("n0"))
    s.add_node(node("n1"))
    p = member("a", "g", 2)
    s.add_pod(p)
    (waiting,) = s.schedule_pending()
    elsewhere = "n1" if waiting.waiting_node_name == "n0" else "n0"
    s.add_pod(p.with_node_name(elsewhere))  # another scheduler bound it first
    s._handle.get_waiting_pod("default/a").reject("Gang", "too late")
    assert _cpu(s) == {elsewhere: 1000, waiting.waiting_node_name: 0}
    assert s.pending == 0


_PLUGINS = ["P", "Q", "R"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 3), st.dictionaries(st.sampled_from(_PLUGINS),
                                                                 st.floats(0, 2000), min_size=1)),
    st.tuples(st.sampled_from(["allow", "reject"]), st.integers(0, 3), st.sampled_from(_PLUGINS)),
    st.tuples(st.just("tick"), st.floats(0, 400), st.just(None))), max_size=40))
def test_waiting_pods_map_against_a_model(ops) -> None:
    clock = Clock()
    pods = WaitingPods(clock)
    decided: list[tuple[str, bool, str]] = []

    def verdict(w: Any) -> None:  # as the scheduler: a decided pod leaves the map
        pods.remove(w.pod.key)
        decided.append((w.pod.metadata.name, w.verdict.is_success, w.verdict.plugin))

    model: dict[str, dict[str, tuple[float, int]]] = {}  # pod -> plugin -> (deadline, order added)
    added = 0
    expected: list[tuple[str, bool, str]] = []
    for op, which, arg in ops:
        name = f"p{which}"
        if op == "add":
            if name in model:
                continue
            pods.add(pod(name), "n0", arg, verdict)
            model[name] = {}
            for plugin, timeout in arg.items():
                model[name][plugin] = (clock.now + min(timeout, MAX_PERMIT_TIMEOUT), added)
                added += 1
        elif op in ("allow", "reject"):
            waiting = pods.get(f"default/{name}")
            assert (waiting is None) == (name not in model)
            if waiting is None:
                continue
            if op == "allow":
                waiting.allow(arg)
                model[name].pop(arg, None)
                if not model[name]:
                    del model[name]
                    expected.append((name, True, ""))
            else:
                waiting.reject(arg, "no")
                del model[name]
                expected.append((name, False, arg))
        else:
            clock.now += which
            due = sorted((d, n, p) for n, plugins in model.items() for p, d in plugins.items() if d[0] <= clock.now)
            for _, n, p in due:
                if n in model:
                    del model[n]
                    expected.append((n, False, p))
            pods.expire()
        assert decided == expected
        assert {w.pod.metadata.name: sorted(w.get_pending_plugins()) for w in pods} == {
            n: sorted(plugins) for n, plugins in model.items()}
        soonest = min((d[0] for plugins in model.values() for d in plugins.values()), default=None)
        assert pods.next_deadline() == soonest
