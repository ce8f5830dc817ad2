"""WorkQueue: dedup, one worker per key, delays, exponential backoff and forget, against a model."""
from __future__ import annotations

import threading
import time

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from controllers import WorkQueue
from controllers.workqueue import TokenBucket

from ctrl_helpers import WAIT, FakeClock

KEYS = st.sampled_from(["a", "b", "c", "d"])
WORKERS = st.sampled_from([0, 1, 2])
BASE, CAP = 1.0, 8.0


class WorkQueueMachine(RuleBasedStateMachine):
    """The queue against a plain model: queued (ordered), dirty, processing, waiting (key -> due, seq)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(0.0)
        # a bucket too large to matter: the per-key backoff is what this machine checks
        self.q = WorkQueue("m", clock=self.clock, base_delay=BASE, max_delay=CAP, qps=1e9, burst=10**9)
        self.queued: list[str] = []
        self.dirty: set[str] = set()
        self.processing: set[str] = set()
        self.waiting: dict[str, tuple[float, int]] = {}
        self.seq = 0
        self.failures: dict[str, int] = {}
        self.held: dict[int, str] = {}

    # -- model helpers
    def _model_add(self, key: str) -> None:
        if key in self.dirty:
            return
        self.dirty.add(key)
        if key not in self.processing:
            self.queued.append(key)

    def _model_add_after(self, key: str, delay: float) -> None:
        if delay <= 0:
            self._model_add(key)
            return
        due = self.clock.now + delay
        if key in self.waiting and self.waiting[key][0] <= due:
            return
        self.waiting[key] = (due, self.seq)
        self.seq += 1

    # -- rules
    @rule(key=KEYS)
    def add(self, key: str) -> None:
        self.q.add(key)
        self._model_add(key)

    @rule(key=KEYS, delay=st.sampled_from([0, 0.5, 1.0, 2.5]))
    def add_after(self, key: str, delay: float) -> None:
        self.q.add_after(key, delay)
        self._model_add_after(key, delay)

    @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 4.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        due = sorted((d, s, k) for k, (d, s) in self.waiting.items() if d <= self.clock.now)
        for _, _, key in due:
            del self.waiting[key]
            self._model_add(key)
        len(self.q)  # the queue releases due keys when next looked at

    @rule(worker=WORKERS)
    def get(self, worker: int) -> None:
        if worker in self.held:
            return
        key = self.q.get(timeout=0)
        expected = self.queued.pop(0) if self.queued else None
        assert key == expected
        if key is not None:
            assert key not in self.processing, f"{key} handed to two workers"
            self.processing.add(key)
            self.dirty.discard(key)
            self.held[worker] = key

    @precondition(lambda self: self.held)
    @rule(worker=WORKERS, fail=st.booleans())
    def done(self, worker: int, fail: bool) -> None:
        key = self.held.pop(worker, None)
        if key is None:
            return
        if fail:
            n = self.failures.get(key, 0)
            assert self.q.num_requeues(key) == n
            self.q.add_rate_limited(key)
            self._model_add_after(key, min(BASE * 2 ** n, CAP))  # doubling, capped
            self.failures[key] = n + 1
        else:
            self.q.forget(key)
            self.failures.pop(key, None)
        self.q.done(key)
        self.processing.discard(key)
        if key in self.dirty:
            self.queued.append(key)

    @invariant()
    def same_length(self) -> None:
        assert len(self.q) == len(self.queued)
        assert self.q.processing() == len(self.processing)

    @invariant()
    def next_due_is_the_earliest(self) -> None:
        due = self.q.next_due()
        expected = min((d for d, _ in self.waiting.values()), default=None)
        assert due == (None if expected is None else expected - self.clock.now)

    @invariant()
    def requeues_counted(self) -> None:
        for key in "abcd":
            assert self.q.num_requeues(key) == self.failures.get(key, 0)


WorkQueueMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=50, deadline=None)
TestWorkQueue = WorkQueueMachine.TestCase


def test_backoff_doubles_from_base_to_max_and_forget_resets():
    clock = FakeClock(0.0)
    q = WorkQueue("b", clock=clock, base_delay=0.005, max_delay=1000.0, qps=1e9, burst=10**9)
    delays = []
    for _ in range(20):
        before = clock.now
        q.add_rate_limited("k")
        delays.append(q.next_due())
        clock.advance(2000)
        assert q.get(timeout=0) == "k"
        q.done("k")
        assert before < clock.now
    assert delays[:4] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert delays[-1] == pytest.approx(1000.0) and max(delays) == pytest.approx(1000.0)
    q.forget("k")
    q.add_rate_limited("k")
    assert q.next_due() == pytest.approx(0.005)


def test_token_bucket_limits_overall_rate():
    clock = FakeClock(0.0)
    bucket = TokenBucket(qps=2.0, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == 0.5
    assert bucket.reserve() == 1.0
    clock.advance(10)
    assert bucket.reserve() == 0.0  # refilled, up to the burst


def test_rate_limited_delay_is_the_larger_of_backoff_and_bucket():
    clock = FakeClock(0.0)
    q = WorkQueue("r", clock=clock, base_delay=0.001, qps=1.0, burst=1)
    q.add_rate_limited("a")   # bucket token at hand, backoff 1 ms
    q.add_rate_limited("b")   # bucket empty: waits a second for its token
    assert q.next_due() == pytest.approx(0.001)
    clock.advance(0.5)
    assert q.get(timeout=0) == "a"
    assert q.get(timeout=0) is None
    clock.advance(0.5)
    assert q.get(timeout=0) == "b"


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="base_delay 0"):
        WorkQueue("x", base_delay=0)
    with pytest.raises(ValueError, match="max_delay 0.001"):
        WorkQueue("x", base_delay=0.01, max_delay=0.001)


@pytest.mark.parametrize("qps, burst, named", [(0, 100, "qps 0"), (-5, 100, "qps -5"), (10, 0, "burst 0"),
                                               (10, -1, "burst -1")])
def test_a_rate_limiter_that_cannot_hand_out_tokens_is_refused(qps, burst, named):
    # qps 0 divided by zero on the second failure (burst 1); a negative qps or burst gave negative delays
    with pytest.raises(ValueError, match=named):
        WorkQueue("x", qps=qps, burst=burst)
    with pytest.raises(ValueError, match=named):
        TokenBucket(qps, burst)


def test_threads_never_share_a_key_and_every_add_is_processed():
    q = WorkQueue("t")
    active: set[str] = set()
    lock = threading.Lock()
    overlaps: list[str] = []
    processed_after: dict[str, int] = {}
    adds: dict[str, int] = {}
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            key = q.get(timeout=0.05)
            if key is None:
                continue
            with lock:
                if key in active:
                    overlaps.append(key)
                active.add(key)
                seen = adds[key]
            time.sleep(0.0005)
            with lock:
                active.discard(key)
                processed_after[key] = max(processed_after.get(key, 0), seen)
            q.done(key)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(2000):
            key = f"k{i % 7}"
            with lock:
                adds[key] = adds.get(key, 0) + 1
            q.add(key)
        # every key is processed at least once after its last add
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with lock:
                if all(processed_after.get(k) == n for k, n in adds.items()):
                    break
            time.sleep(0.01)
    finally:
        stop.set()
        q.shut_down()
        for t in threads:
            t.join(WAIT)
    assert not overlaps
    assert all(processed_after.get(k) == n for k, n in adds.items())
    assert not any(t.is_alive() for t in threads)


def test_shut_down_wakes_waiting_getters():
    q = WorkQueue("s")
    got: list = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    time.sleep(0.05)
    q.shut_down()
    t.join(WAIT)
    assert got == [None] and not t.is_alive()
    q.add("x")
    assert len(q) == 0  # nothing is queued after shut down
