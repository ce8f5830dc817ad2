"""One lock around pysyncobj's tick, released while a thread waits for events; an epoll poller.

pysyncobj keeps its state single-threaded: only its tick thread touches it. The cost is a hand-off
for every client request: the caller wakes the tick thread (through a pipe), which wakes up, runs
a whole tick and only then appends the request and sends it to the followers; and once the entry
is committed, the tick thread wakes the caller again. With this lock, a caller that finds the tick
thread asleep takes the lock, appends and sends the entry itself, and then waits for the
acknowledgements in this poller itself (`RaftNode.propose_now`): it runs the ticks that count the
commit and apply the entry, and returns without a hand-off. pysyncobj's state is still touched by
one thread at a time, the one holding the lock.

The poller is epoll with one-shot registrations. Several threads may wait in `epoll_wait` on it at
once (the tick thread and a caller); Linux wakes one waiter per event (exclusive wake-ups), the one
that started waiting last, so an acknowledgement goes to the caller waiting for it while the tick
thread sleeps on (select.poll would wake both). A one-shot descriptor stays disarmed until its event
has been dispatched, so no two threads dispatch the same event; it is re-armed after the dispatch.
"""
from __future__ import annotations

import collections
import errno
import select
import threading
import time
from typing import Any, Callable, Deque, Optional

from pysyncobj.poller import POLL_EVENT_TYPE, Poller

_READ, _WRITE, _ERROR = POLL_EVENT_TYPE.READ, POLL_EVENT_TYPE.WRITE, POLL_EVENT_TYPE.ERROR
_ONESHOT = select.EPOLLONESHOT


class TickLockPoller(Poller):  # type: ignore[misc]
    """pysyncobj's poller interface over epoll; `poll` is called with `tick_lock` held, releases
    it during the system call, and dispatches one ready descriptor per call.

    pysyncobj computes commits in the tick that follows a poll. Dispatching every ready socket first
    would decode the second follower's acknowledgement before the first one's commit is counted;
    one descriptor per call (the others wait in a backlog, dispatched in turn before the next system
    call) lets each tick act on what it just read.

    A thread that waits for something particular sets `waiting_for.stop` (thread-local) to a
    predicate: once it is true, `poll` returns at once, without waiting or dispatching.
    """

    def __init__(self, tick_lock: threading.Lock) -> None:
        self.tick_lock = tick_lock
        self.backlog: Deque[tuple[int, int]] = collections.deque()
        self.waiting_for = threading.local()
        self._epoll = select.epoll()
        self._masks: dict[int, int] = {}
        self._callbacks: dict[int, Callable[[int, int], Any]] = {}
        # Callers waiting for their answer in this poller (begin_wait/end_wait); while there are
        # any, other threads (the tick thread) stand by instead of entering epoll_wait after them,
        # which would make them the waiter epoll wakes first.
        self._waiters = 0
        self._standing_by = 0
        self._waiters_changed = threading.Condition(threading.Lock())
        # Set by the dispatched callbacks (tick lock held): True when everything the last dispatch
        # read needs no tick after it, False as soon as one thing does; None: nobody said.
        self.quiet: Optional[bool] = None

    def begin_wait(self, stop: Callable[[], bool]) -> None:
        """This thread polls until `stop()` is true: the events go to it, not to the tick thread."""
        self.waiting_for.stop = stop
        with self._waiters_changed:
            self._waiters += 1

    def end_wait(self) -> None:
        """This thread stops polling; a thread standing by resumes waiting in epoll."""
        self.waiting_for.stop = None
        with self._waiters_changed:
            self._waiters -= 1
            if not self._waiters and self._standing_by:
                self._waiters_changed.notify_all()

    def subscribe(self, descr: int, callback: Callable[[int, int], Any], eventMask: int) -> None:  # noqa: N803
        """Watch `descr` for `eventMask` (pysyncobj's flags), forgetting events reported for an
        earlier user of `descr`."""
        self._forget(descr)
        mask = 0
        if eventMask & _READ:
            mask |= select.EPOLLIN
        if eventMask & _WRITE:
            mask |= select.EPOLLOUT
        if eventMask & _ERROR:
            mask |= select.EPOLLERR
        self._callbacks[descr] = callback
        self._masks[descr] = mask
        self._arm(descr, mask)

    def unsubscribe(self, descr: int) -> None:
        """Stop watching `descr` (already closed or never watched: nothing to do); events waiting
        in the backlog for it are dropped."""
        self._forget(descr)
        self._callbacks.pop(descr, None)
        if self._masks.pop(descr, None) is not None:
            try:
                self._epoll.unregister(descr)
            except OSError:  # closed before unsubscribed (pysyncobj does so): epoll dropped it
                pass

    def close(self) -> None:
        """Release the epoll descriptor."""
        self._epoll.close()

    def _stand_by(self, timeout: float) -> float:
        # Wait (at most `timeout`) until no caller waits in epoll; returns the time left. Whatever
        # arrives meanwhile is read by those callers, or stays ready for epoll_wait afterwards.
        deadline = time.monotonic() + timeout
        with self._waiters_changed:
            self._standing_by += 1
            try:
                self._waiters_changed.wait_for(lambda: not self._waiters, timeout)
            finally:
                self._standing_by -= 1
        return deadline - time.monotonic()

    def give_back(self) -> None:
        """Re-arm the descriptors whose events wait in the backlog and forget those events: a thread
        that stops polling before it has dispatched them leaves them to the others (epoll reports
        a descriptor that is still ready again, to a thread still waiting). Tick lock held."""
        backlog, self.backlog = self.backlog, collections.deque()
        for descr, _event in backlog:
            if descr in self._masks:
                self._arm(descr, self._masks[descr])

    def _arm(self, descr: int, mask: int) -> None:
        try:
            self._epoll.modify(descr, mask | _ONESHOT)
        except FileNotFoundError:
            self._epoll.register(descr, mask | _ONESHOT)
        except OSError as error:
            if error.errno != errno.EBADF:
                raise
            self._masks.pop(descr, None)  # closed meanwhile: pysyncobj unsubscribes it next

    def _forget(self, descr: int) -> None:
        backlog = self.backlog
        if backlog and any(ready == descr for ready, _event in backlog):
            self.backlog = collections.deque(item for item in backlog if item[0] != descr)

    def poll(self, timeout: float) -> None:
        """Dispatch the next ready descriptor with the tick lock held; wait for events (up to
        `timeout` seconds) without it when none is left from the previous wait.

        The tick thread (no `waiting_for.stop`) goes on waiting, within the same `timeout`, after a
        dispatch that marked itself `quiet` (a follower's acknowledgement of an entry already
        committed, typically the second one of every write): the tick that would follow has
        nothing to act on, and skipping it saves the tick thread's most frequent pass."""
        stop: Optional[Callable[[], bool]] = getattr(self.waiting_for, "stop", None)
        if stop is not None and stop():
            return
        deadline = None
        while True:
            if not self.backlog:
                self.tick_lock.release()
                try:
                    if stop is None and self._waiters:
                        timeout = self._stand_by(timeout)
                    events = self._epoll.poll(max(timeout, 0.0))
                finally:
                    self.tick_lock.acquire()
                self.backlog.extend(events)
            self.quiet = None
            if not self._dispatch_next() or stop is not None or self.quiet is not True:
                return
            now = time.monotonic()
            if deadline is None:
                deadline = now + timeout
            timeout = deadline - now
            if timeout <= 0:
                return

    def _dispatch_next(self) -> bool:
        # One ready descriptor from the backlog; False when none was left to dispatch.
        while self.backlog:
            descr, event = self.backlog.popleft()
            callback = self._callbacks.get(descr)
            if callback is None:  # unsubscribed meanwhile (by a caller thread, or by a dispatch)
                continue
            mask = 0
            if event & select.EPOLLIN:
                mask |= _READ
            if event & select.EPOLLOUT:
                mask |= _WRITE
            if event & (select.EPOLLERR | select.EPOLLHUP):
                mask |= _ERROR
            try:
                callback(descr, mask)
            finally:
                if self._callbacks.get(descr) is callback and descr in self._masks:
                    self._arm(descr, self._masks[descr])  # one-shot: watch it again
            return True
        return False
