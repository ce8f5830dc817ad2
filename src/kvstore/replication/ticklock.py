"""One lock around pysyncobj's tick, released while the tick thread waits in `poll`.

pysyncobj keeps its state single-threaded: only its tick thread touches it. The cost is a hand-off
for every client request: the caller wakes the tick thread (through a pipe), which wakes up, runs
a whole tick and only then appends the request and sends it to the followers. With this lock, a
caller that finds the tick thread asleep in `poll` takes the lock and appends and sends the entry
itself; the tick thread, woken meanwhile by the network, waits for the lock before it handles
anything. pysyncobj's state is still touched by one thread at a time.
"""
from __future__ import annotations

import collections
import select
import threading
from typing import Deque

from pysyncobj.poller import POLL_EVENT_TYPE, PollPoller

_READ, _WRITE, _ERROR = POLL_EVENT_TYPE.READ, POLL_EVENT_TYPE.WRITE, POLL_EVENT_TYPE.ERROR


class TickLockPoller(PollPoller):  # type: ignore[misc]
    """pysyncobj's PollPoller that releases `tick_lock` (held by its caller) during the system call,
    and hands out one ready descriptor per call.

    pysyncobj computes commits in the tick that follows a poll. Dispatching every ready socket first
    would decode the second follower's acknowledgement before the first one's commit is counted;
    one descriptor per call (the others wait in a backlog, dispatched in turn before the next system
    call) lets each tick act on what it just read.
    """

    tick_lock: threading.Lock
    backlog: Deque[tuple[int, int]]

    @classmethod
    def install(cls, poller: PollPoller, tick_lock: threading.Lock) -> None:
        """Make pysyncobj's poller (built inside SyncObj.__init__) release `tick_lock` while waiting."""
        poller.tick_lock = tick_lock
        poller.backlog = collections.deque()
        poller.__class__ = cls

    def subscribe(self, descr: int, callback: object, eventMask: int) -> None:  # noqa: N803
        """Register as PollPoller does, forgetting events reported for an earlier user of `descr`."""
        self._forget(descr)
        super().subscribe(descr, callback, eventMask)

    def unsubscribe(self, descr: int) -> None:
        """Unregister as PollPoller does; events waiting in the backlog for `descr` are dropped."""
        self._forget(descr)
        super().unsubscribe(descr)

    def _forget(self, descr: int) -> None:
        backlog = getattr(self, "backlog", None)
        if backlog and any(ready == descr for ready, _event in backlog):
            self.backlog = collections.deque(item for item in backlog if item[0] != descr)

    def poll(self, timeout: float) -> None:
        """Dispatch the next ready descriptor with the tick lock held; wait for events without it
        when none is left from the previous wait."""
        if not self.backlog:
            self.tick_lock.release()
            try:
                events = self._PollPoller__poll.poll(timeout * 1000)
            finally:
                self.tick_lock.acquire()
            self.backlog.extend(events)
        while self.backlog:
            descr, event = self.backlog.popleft()
            callback = self._PollPoller__descrToCallbacks.get(descr)
            if callback is None:  # unsubscribed meanwhile (by a caller thread, or by a dispatch)
                continue
            mask = 0
            if event & select.POLLIN:
                mask |= _READ
            if event & select.POLLOUT:
                mask |= _WRITE
            if event & (select.POLLERR | select.POLLHUP):
                mask |= _ERROR
            callback(descr, mask)
            return
