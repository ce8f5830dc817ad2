"""One scheduler thread for many timers: what lets 5,000 hollow kubelets share a process.

Timers are kept in a heap by due time on the caller's clock (seconds). The thread runs every timer that is
due, then sleeps until the next one, but never longer than ``poll`` seconds, so a clock moved by hand (a
test's fake clock) is noticed without a wake-up call. Tasks run on ``workers`` threads, each timer on the
worker its ``shard`` maps to, so the tasks of one shard (one node) never run concurrently and keep their
order; with one worker the timer thread runs them itself.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
from typing import Any, Callable

__all__ = ["TimerWheel", "Timer"]

log = logging.getLogger(__name__)


class Timer:
    """A scheduled call; ``cancel()`` keeps it from running (if it has not started)."""

    __slots__ = ("due", "fn", "shard", "cancelled")

    def __init__(self, due: float, fn: Callable[[], Any], shard: int) -> None:
        self.due = due
        self.fn = fn
        self.shard = shard
        self.cancelled = False

    def cancel(self) -> None:
        """Keep the timer from running (no effect once it started)."""
        self.cancelled = True


class TimerWheel:
    """Timers on a clock, run by one thread (see the module documentation)."""

    def __init__(self, clock: Callable[[], float], *, workers: int = 1, poll: float = 0.1,
                 name: str = "timer-wheel") -> None:
        if workers < 1:
            raise ValueError(f"workers: Invalid value: {workers}: must be at least 1")
        self._clock = clock
        self._poll = poll
        self._name = name
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queues: list[queue.SimpleQueue[Timer | None]] = [queue.SimpleQueue() for _ in range(workers)] \
            if workers > 1 else []
        self._busy = 0  # tasks handed to workers and not finished
        self.ran = 0    # tasks run, for tests and benches

    def __len__(self) -> int:
        with self._cond:
            return len(self._heap)

    def call_at(self, due: float, fn: Callable[[], Any], shard: int = 0) -> Timer:
        """Run ``fn`` once the clock reads ``due`` or later."""
        timer = Timer(due, fn, shard)
        with self._cond:
            first = not self._heap or due < self._heap[0][0]
            heapq.heappush(self._heap, (due, next(self._seq), timer))
            if first:
                self._cond.notify()
        return timer

    def call_later(self, delay: float, fn: Callable[[], Any], shard: int = 0) -> Timer:
        """Run ``fn`` after ``delay`` seconds of the clock."""
        return self.call_at(self._clock() + delay, fn, shard)

    def wake(self) -> None:
        """Look at the clock again now (after moving a fake clock, say)."""
        with self._cond:
            self._cond.notify()

    def start(self) -> None:
        """Start the timer thread (and the workers); calling it again does nothing."""
        if self._threads:
            return
        self._stop.clear()
        for index, q in enumerate(self._queues):
            worker = threading.Thread(target=self._work, args=(q,), name=f"{self._name}-worker-{index}", daemon=True)
            worker.start()
            self._threads.append(worker)
        thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread(s); timers not yet run are dropped."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        self._threads = []
        with self._cond:
            self._heap.clear()

    def idle(self, horizon: float = 0.0) -> bool:
        """True when no timer is due within ``horizon`` seconds and no task is running."""
        with self._cond:
            live = [entry for entry in self._heap if not entry[2].cancelled]
            due_soon = bool(live) and min(e[0] for e in live) <= self._clock() + horizon
            return not due_soon and self._busy == 0

    # ------------------------------------------------------------------ threads
    def _run(self) -> None:
        while not self._stop.is_set():
            due: list[Timer] = []
            with self._cond:
                now = self._clock()
                while self._heap and self._heap[0][0] <= now:
                    timer = heapq.heappop(self._heap)[2]
                    if not timer.cancelled:
                        due.append(timer)
                if not due:
                    wait = self._poll if not self._heap else min(self._poll, max(0.0, self._heap[0][0] - now))
                    self._cond.wait(wait)
                    continue
                self._busy += len(due)
            for timer in due:
                if self._stop.is_set():
                    break
                if self._queues:
                    self._queues[timer.shard % len(self._queues)].put(timer)
                else:
                    self._call(timer)

    def _work(self, q: "queue.SimpleQueue[Timer | None]") -> None:
        while True:
            timer = q.get()
            if timer is None or self._stop.is_set():
                return
            self._call(timer)

    def _call(self, timer: Timer) -> None:
        try:
            if not timer.cancelled:
                timer.fn()
                self.ran += 1
        except Exception:  # noqa: BLE001 - one task's failure must not stop every node's timers
            log.exception("%s: task %r failed", self._name, timer.fn)
        finally:
            with self._cond:
                self._busy -= 1
