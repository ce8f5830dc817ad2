"""A rate-limited work queue of keys, as client-go's workqueue (Type + DelayingQueue + RateLimitingQueue).

* A key waits in the queue at most once (``add`` of a queued key does nothing).
* A key is never handed to two workers at once: a key added while a worker holds it is queued again
  when that worker calls ``done``.
* ``add_after`` holds a key back until its time (the earliest wins when added twice);
  ``add_rate_limited`` holds it back by the rate limiter's answer: the larger of a per-key exponential
  backoff (``base_delay`` doubling per failure up to ``max_delay``) and an overall token bucket
  (10 per second, burst 100), client-go's DefaultControllerRateLimiter. ``forget`` resets the key's backoff.

Difference from client-go: after ``shut_down`` ``get`` returns None at once instead of draining what is
left (a controller stopping drops its queue; the next start lists everything again anyway).
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from typing import Any, Callable

__all__ = ["WorkQueue", "ExponentialBackoff", "TokenBucket", "Clock"]

Clock = Callable[[], float]

DEFAULT_QPS = 10.0
DEFAULT_BURST = 100
MAX_WAIT = 0.5  # how long get() sleeps at most between looks at a clock it does not own


class ExponentialBackoff:
    """ItemExponentialFailureRateLimiter: ``base * 2**failures`` seconds, at most ``max_delay``."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay, self.max_delay = base_delay, max_delay
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        """The delay for this failure of ``key`` (and count it)."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        if failures > 62:  # 2**63 overflows the exponent long after max_delay is reached
            return self.max_delay
        return min(self.base_delay * (2 ** failures), self.max_delay)

    def num_requeues(self, key: str) -> int:
        """Failures of ``key`` counted since it was last forgotten."""
        return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        """Reset ``key``'s failures: its next delay is ``base_delay`` again."""
        self._failures.pop(key, None)


def _check_bucket(what: str, qps: float, burst: int) -> None:
    # qps 0 would divide by zero once the burst is spent; a negative qps or burst gives negative delays
    if not qps > 0:
        raise ValueError(f"{what}: qps {qps} must be > 0")
    if not burst >= 1:
        raise ValueError(f"{what}: burst {burst} must be >= 1")


class TokenBucket:
    """BucketRateLimiter: ``qps`` tokens a second, ``burst`` at most; a reservation past the tokens at hand
    waits for its token (golang.org/x/time/rate's Reserve)."""

    def __init__(self, qps: float = DEFAULT_QPS, burst: int = DEFAULT_BURST, clock: Clock = time.monotonic) -> None:
        _check_bucket("token bucket", qps, burst)
        self.qps, self.burst, self._clock = qps, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def reserve(self) -> float:
        """Take a token; the seconds until it is there."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + max(0.0, now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps


class WorkQueue:
    """Keys to reconcile; see the module documentation. Thread-safe.

    ``clock`` (seconds, monotonic) drives ``add_after`` and the rate limiter; ``metrics`` receives the
    ``workqueue_*`` measurements (see :mod:`controllers.metrics`).
    """

    def __init__(self, name: str, *, clock: Clock | None = None, base_delay: float = 0.005,
                 max_delay: float = 1000.0, metrics: Any = None, qps: float = DEFAULT_QPS,
                 burst: int = DEFAULT_BURST) -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError(f"workqueue {name}: base_delay {base_delay} must be > 0 and <= max_delay {max_delay}")
        _check_bucket(f"workqueue {name}", qps, burst)
        self.name = name
        self._clock: Clock = clock or time.monotonic
        self._backoff = ExponentialBackoff(base_delay, max_delay)
        self._bucket = TokenBucket(qps, burst, self._clock)
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: list[tuple[float, int, str]] = []   # (due, seq, key), stale entries skipped
        self._due: dict[str, float] = {}
        self._seq = itertools.count()
        self._added_at: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        self._shutting_down = False
        self.activity = 0  # grows on every add and done: wait_idle compares it across two looks
        self.metrics = metrics

    # ------------------------------------------------------------------ adding
    def add(self, key: str) -> None:
        """Queue ``key`` unless it is queued already (a key being processed is queued again on done)."""
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: str) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self.activity += 1
        self._dirty.add(key)
        self._added_at.setdefault(key, self._clock())
        if self.metrics is not None:
            self.metrics.add()
        if key in self._processing:
            return
        self._queue.append(key)
        if self.metrics is not None:
            self.metrics.depth(len(self._queue))
        self._cond.notify()

    def add_after(self, key: str, delay: float) -> None:
        """Queue ``key`` once ``delay`` seconds have passed (at once when ``delay`` <= 0)."""
        with self._cond:
            if self._shutting_down:
                return
            if delay <= 0:
                self._add_locked(key)
                return
            due = self._clock() + delay
            if self._due.get(key, float("inf")) <= due:
                return  # already waiting for an earlier time
            self._due[key] = due
            self.activity += 1
            heapq.heappush(self._waiting, (due, next(self._seq), key))
            self._cond.notify()

    def add_rate_limited(self, key: str) -> None:
        """Queue ``key`` after the rate limiter's delay (a failed sync: backoff doubles per failure)."""
        with self._cond:
            delay = max(self._backoff.when(key), self._bucket.reserve())
        if self.metrics is not None:
            self.metrics.retry()
        self.add_after(key, delay)

    def forget(self, key: str) -> None:
        """The key synced: its next failure starts the backoff from ``base_delay`` again."""
        with self._cond:
            self._backoff.forget(key)

    def num_requeues(self, key: str) -> int:
        """Failures of ``key`` since it was last forgotten."""
        with self._cond:
            return self._backoff.num_requeues(key)

    # ------------------------------------------------------------------ taking
    def get(self, timeout: float | None = None) -> str | None:
        """The next key (now held by the caller until ``done``); None once shut down or after ``timeout``
        seconds without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._shutting_down:
                    return None
                next_due = self._release_due_locked()
                if self._queue:
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    now = self._clock()
                    self._started_at[key] = now
                    added = self._added_at.pop(key, now)
                    if self.metrics is not None:
                        self.metrics.depth(len(self._queue))
                        self.metrics.got(max(0.0, now - added))
                    return key
                wait = MAX_WAIT if next_due is None else min(MAX_WAIT, max(0.0, next_due - self._clock()))
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    wait = min(wait, remaining)
                self._cond.wait(wait)

    def _release_due_locked(self) -> float | None:
        """Move keys whose time has come into the queue; the next due time still waiting, if any."""
        now = self._clock()
        waiting = self._waiting
        while waiting:
            due, _, key = waiting[0]
            if self._due.get(key) != due:
                heapq.heappop(waiting)  # superseded by an earlier add_after
                continue
            if due > now:
                return due
            heapq.heappop(waiting)
            del self._due[key]
            self._add_locked(key)
        return None

    def done(self, key: str) -> None:
        """The caller finished ``key``; if it was added meanwhile it goes back into the queue."""
        with self._cond:
            self.activity += 1
            self._processing.discard(key)
            started = self._started_at.pop(key, None)
            if self.metrics is not None and started is not None:
                self.metrics.done(max(0.0, self._clock() - started))
            if key in self._dirty and not self._shutting_down:
                self._queue.append(key)
                if self.metrics is not None:
                    self.metrics.depth(len(self._queue))
                self._cond.notify()

    # ------------------------------------------------------------------ state
    def shut_down(self) -> None:
        """Stop handing out keys; waiting ``get`` calls return None."""
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    @property
    def shutting_down(self) -> bool:
        """Whether ``shut_down`` was called."""
        return self._shutting_down

    def __len__(self) -> int:
        """Keys queued now (not those held by workers nor those waiting for their time)."""
        with self._cond:
            self._release_due_locked()
            return len(self._queue)

    def processing(self) -> int:
        """Keys held by workers now."""
        with self._cond:
            return len(self._processing)

    def next_due(self) -> float | None:
        """Seconds until the earliest key waiting in ``add_after`` is due (None when none waits)."""
        with self._cond:
            due = self._release_due_locked()
            return None if due is None else max(0.0, due - self._clock())
