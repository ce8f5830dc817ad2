"""One lock around pysyncobj's tick, released while the tick thread waits in `poll`.

pysyncobj keeps its state single-threaded: only its tick thread touches it. The cost is a hand-off
for every client request: the caller wakes the tick thread (through a pipe), which wakes up, runs
a whole tick and only then appends the request and sends it to the followers. With this lock, a
caller that finds the tick thread asleep in `poll` takes the lock and appends and sends the entry
itself; the tick thread, woken meanwhile by the network, waits for the lock before it handles
anything. pysyncobj's state is still touched by one thread at a time.
"""
from __future__ import annotations

import select
import threading

from pysyncobj.poller import POLL_EVENT_TYPE, PollPoller

_READ, _WRITE, _ERROR = POLL_EVENT_TYPE.READ, POLL_EVENT_TYPE.WRITE, POLL_EVENT_TYPE.ERROR


class TickLockPoller(PollPoller):  # type: ignore[misc]
    """pysyncobj's PollPoller that releases `tick_lock` (held by its caller) during the system call."""

    tick_lock: threading.Lock

    @classmethod
    def install(cls, poller: PollPoller, tick_lock: threading.Lock) -> None:
        """Make pysyncobj's poller (built inside SyncObj.__init__) release `tick_lock` while waiting."""
        poller.tick_lock = tick_lock
        poller.__class__ = cls

    def poll(self, timeout: float) -> None:
        """Wait for events without the tick lock, then dispatch them with it (as PollPoller does)."""
        self.tick_lock.release()
        try:
            events = self._PollPoller__poll.poll(timeout * 1000)
        finally:
            self.tick_lock.acquire()
        callbacks = self._PollPoller__descrToCallbacks
        for descr, event in events:
            callback = callbacks.get(descr)
            if callback is None:  # unsubscribed by a caller thread while this one waited
                continue
            mask = 0
            if event & select.POLLIN:
                mask |= _READ
            if event & select.POLLOUT:
                mask |= _WRITE
            if event & (select.POLLERR | select.POLLHUP):
                mask |= _ERROR
            callback(descr, mask)
