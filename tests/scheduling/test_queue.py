"""The scheduling queue: QueueSort order, backoff 1 s doubling to 10 s on an injected clock, unschedulable
pods moved back by the events their rejecting plugins registered, scheduling gates; and a hypothesis state
machine checking that every queued pod is in exactly one place and pops in priority order."""
from __future__ import annotations

import pathlib
import sys

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import Clock, pod  # noqa: E402

from scheduling.framework import ClusterEvent, QueueSortPlugin, Status  # noqa: E402
from scheduling.plugins import PrioritySort, SchedulingGates  # noqa: E402
from scheduling.queue import QueuedPodInfo, SchedulingQueue  # noqa: E402


def _queue(clock: Clock, events: dict | None = None) -> SchedulingQueue:
    gates = SchedulingGates()

    def pre_enqueue(p):  # the runtime names the plugin; do the same here
        status = gates.pre_enqueue(p)
        return None if status is None else status.with_plugin("SchedulingGates")

    table = events or {}
    return SchedulingQueue(PrioritySort(), clock, pre_enqueue, lambda plugin: table.get(plugin, ClusterEvent.ALL))


def test_active_pops_by_priority_then_arrival() -> None:
    clock = Clock()
    q = _queue(clock)
    for name, prio in [("low", 1), ("high", 10), ("mid", 5), ("high2", 10)]:
        q.add(pod(name, priority=prio))
        clock.now += 1
    order = [q.pop().pod.metadata.name for _ in range(4)]
    assert order == ["high", "high2", "mid", "low"]
    assert q.pop() is None


def test_less_only_queue_sort_orders_the_same() -> None:
    class LessOnly(PrioritySort):
        sort_key = QueueSortPlugin.sort_key  # the base's "no key" answer: the queue must use less()

    clock = Clock()
    q = SchedulingQueue(LessOnly(), clock)
    for name, prio in [("a", 1), ("b", 3), ("c", 2)]:
        q.add(pod(name, priority=prio))
        clock.now += 1
    assert [q.pop().pod.metadata.name for _ in range(3)] == ["b", "c", "a"]


def test_backoff_doubles_from_one_second_up_to_ten() -> None:
    info = QueuedPodInfo(pod("p"), 0.0, 0)
    expiries = []
    for attempts in range(1, 8):
        info.attempts = attempts
        expiries.append(info.backoff_expiry())
    assert expiries == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_unschedulable_pod_moves_only_on_a_registered_event_and_respects_backoff() -> None:
    clock = Clock()
    q = _queue(clock, {"NodeResourcesFit": (ClusterEvent.NODE_ADD, ClusterEvent.ASSIGNED_POD_DELETE)})
    q.add(pod("p"))
    info = q.pop()
    q.add_unschedulable(info, {"NodeResourcesFit"})
    assert q.move_on_event(ClusterEvent.ASSIGNED_POD_ADD) == 0
    assert q.unschedulable_count == 1
    assert q.move_on_event(ClusterEvent.NODE_ADD) == 1
    assert q.backoff_count == 1 and q.pop() is None  # still within its 1 s backoff
    clock.now += 1.0
    assert q.flush_backoff_completed() == 1
    assert q.pop() is info and info.attempts == 2


def test_unschedulable_pods_return_after_five_minutes() -> None:
    clock = Clock()
    q = _queue(clock)
    q.add(pod("p"))
    q.add_unschedulable(q.pop(), {"X"})
    clock.now += 299
    assert q.flush_unschedulable_leftover() == 0
    clock.now += 2
    assert q.flush_unschedulable_leftover() == 1 and q.active_count == 1


def test_gated_pods_wait_until_updated_without_gates() -> None:
    clock = Clock()
    q = _queue(clock)
    q.add(pod("p", schedulingGates=[{"name": "example.com/foo"}]))
    assert q.gated_count == 1 and q.pop() is None
    assert SchedulingGates().pre_enqueue(pod("p", schedulingGates=[{"name": "a"}, {"name": "b"}])) == \
        Status.unresolvable("waiting for scheduling gates: [a b]")
    q.update(pod("p"))
    assert q.gated_count == 0 and q.pop().pod.metadata.name == "p"


def test_delete_removes_from_every_place() -> None:
    clock = Clock()
    q = _queue(clock)
    for name in "abc":
        q.add(pod(name))
    q.add_unschedulable(q.pop(), {"X"})
    q.add_backoff(q.pop())
    for name in "abc":
        assert q.delete(pod(name))
    assert len(q) == 0 and q.pop() is None and q.flush_backoff_completed(everything=True) == 0
    assert q.move_on_event(ClusterEvent.NODE_ADD) == 0


def test_pop_backoff_takes_a_rejected_pod_before_its_backoff_ends_but_not_one_that_errored() -> None:
    """SchedulerPopFromBackoffQ (kube-scheduler 1.33+): with nothing active, the scheduler does not sit idle
    while rejected pods back off; pods that failed with an error keep their backoff."""
    clock = Clock()
    q = _queue(clock)
    for name in ("rejected", "errored"):
        q.add(pod(name))
    rejected, errored = q.pop(), q.pop()
    q.add_backoff(errored)
    q.move_on_event(ClusterEvent.ASSIGNED_POD_DELETE)  # during rejected's cycle: it goes to backoff
    q.add_unschedulable(rejected, {"NodeResourcesFit"})
    assert q.backoff_count == 2 and q.pop() is None
    again = q.pop_backoff()
    assert again is rejected and again.attempts == 2 and q.pop_backoff() is None
    assert q.backoff_count == 1
    clock.now += 1.0
    assert q.flush_backoff_completed() == 1 and q.pop() is errored


NAMES = [f"p{i}" for i in range(6)]


class QueueMachine(RuleBasedStateMachine):
    """A model: each known pod is in one place; pops come out in (priority desc, arrival) order."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.q = _queue(self.clock, {"A": (ClusterEvent.NODE_ADD,), "B": (ClusterEvent.ASSIGNED_POD_DELETE,)})
        self.place: dict[str, str] = {}
        self.priority: dict[str, int] = {}
        self.popped: dict[str, QueuedPodInfo] = {}
        self.cycle = 0
        self.move_request = -1
        self.popped_in: dict[str, int] = {}

    @rule(name=st.sampled_from(NAMES), priority=st.integers(0, 3))
    def add(self, name: str, priority: int) -> None:
        if name in self.place or name in self.popped:
            return
        self.q.add(pod(name, priority=priority))
        self.clock.now += 0.5
        self.place[name] = "active"
        self.priority[name] = priority

    @rule()
    def pop(self) -> None:
        info = self.q.pop()
        active = [n for n, p in self.place.items() if p == "active"]
        if info is None:
            assert not active
            return
        name = info.pod.metadata.name
        assert self.place[name] == "active"
        assert self.priority[name] == max(self.priority[n] for n in active)
        del self.place[name]
        self.popped[name] = info
        self.cycle += 1
        self.popped_in[name] = self.cycle

    @rule(plugin=st.sampled_from(["A", "B"]), data=st.data())
    def fail(self, plugin: str, data: st.DataObject) -> None:
        if not self.popped:
            return
        name = data.draw(st.sampled_from(sorted(self.popped)))
        self.q.add_unschedulable(self.popped.pop(name), {plugin})
        # an event since it was popped may be what it waits for: backoff instead of unschedulable
        self.place[name] = "backoff" if self.move_request >= self.popped_in[name] else "unschedulable:" + plugin

    @rule(data=st.data())
    def error(self, data: st.DataObject) -> None:
        if not self.popped:
            return
        name = data.draw(st.sampled_from(sorted(self.popped)))
        self.q.add_backoff(self.popped.pop(name))
        self.place[name] = "error-backoff"

    @rule()
    def pop_backoff(self) -> None:
        """kube-scheduler's popBackoff: the rejected pod whose backoff ends first, never one that errored."""
        # Read before popping: a popped pod's attempt count moves, and its expiry with it (two pods rejected
        # with equal expiries then looked as if the later one had been popped first).
        waiting = {n: self.q.get("default/" + n).backoff_expiry() for n, p in self.place.items() if p == "backoff"}
        info = self.q.pop_backoff()
        if info is None:
            assert not waiting
            return
        name = info.pod.metadata.name
        assert name in waiting and waiting[name] == min(waiting.values())
        del self.place[name]
        self.popped[name] = info
        self.cycle += 1
        self.popped_in[name] = self.cycle

    @rule(event=st.sampled_from([ClusterEvent.NODE_ADD, ClusterEvent.ASSIGNED_POD_DELETE]))
    def event(self, event: str) -> None:
        moved = self.q.move_on_event(event)
        self.move_request = self.cycle
        plugin = "A" if event == ClusterEvent.NODE_ADD else "B"
        expect = [n for n, p in self.place.items() if p == "unschedulable:" + plugin]
        assert moved == len(expect)
        for n in expect:  # still backing off -> backoff, else straight to active
            expiry = self.q.get("default/" + n).backoff_expiry()
            self.place[n] = "backoff" if expiry > self.clock.now else "active"

    @rule(seconds=st.sampled_from([0.5, 1.0, 10.0]))
    def tick(self, seconds: float) -> None:
        self.clock.now += seconds
        self.q.flush_backoff_completed()
        for n, p in self.place.items():
            if p.endswith("backoff") and self.q.get("default/" + n) is not None and \
                    self.q.get("default/" + n).backoff_expiry() <= self.clock.now:
                self.place[n] = "active"

    @rule(name=st.sampled_from(NAMES))
    def delete(self, name: str) -> None:
        known = name in self.place or name in self.popped
        assert self.q.delete(pod(name)) == known
        self.place.pop(name, None)
        self.popped.pop(name, None)

    @invariant()
    def one_place_each(self) -> None:
        self.q.check_invariants()
        assert len(self.q) == len(self.place) + len(self.popped)
        assert self.q.active_count == sum(1 for p in self.place.values() if p == "active")
        assert self.q.backoff_count == sum(1 for p in self.place.values() if p.endswith("backoff"))
        assert self.q.unschedulable_count == sum(1 for p in self.place.values() if p.startswith("unsched"))


TestQueueMachine = QueueMachine.TestCase
TestQueueMachine.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
