"""Linearizable reads on the leader without a log entry (etcd's ReadIndex, Raft thesis §6.4).

A read on the leader records the commit index, then waits until a majority of the cluster has
answered an AppendEntries sent *after* the read started: proof that no other leader could have
committed anything newer at that moment. It then waits until the state machine has applied the
recorded commit index and reads locally. Concurrent reads share the same heartbeat round.

Heartbeats carry a sequence number (`read_seq`, added by DurableTransport); a follower echoes the
last one it received in its acknowledgement, and only acknowledgements of the leader's current term
exist (pysyncobj ignores AppendEntries from an older term and does not answer them). Sequence
numbers only grow, so an echo >= the number current when the read started answers a later message.

A read also stops waiting the moment its leader loses leadership (a higher term arrived, or it
stepped down): it is redirected at once instead of waiting out its confirmation timeout. The two
ways a confirmation can fail are counted as etcd counts them (`read_indexes_failed`: leadership
lost; `slow_read_indexes`: the timeout ran out).
"""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Callable


class ReadIndex:
    """Per-member bookkeeping of heartbeat sequences and their acknowledgements."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._issued = 0
        self._acked: dict[Any, int] = {}
        self._sent: dict[Any, int] = {}
        self.wanted = 0  # the highest sequence a waiting read needs answers to
        self.read_indexes_failed = 0  # confirmations ended because leadership was lost (etcd's metric name)
        self.slow_read_indexes = 0  # confirmations that ran out of time (etcd's metric name)
        self._changed = threading.Condition()
        self._waiting = 0  # threads in wait(), counted under _changed

    def stamp(self) -> int:
        """The sequence number for an AppendEntries about to be sent (tick thread)."""
        self._issued = next(self._counter)
        return self._issued

    def mark_sent(self, node: Any, sequence: int) -> None:
        """The AppendEntries stamped `sequence` was handed to `node`'s connection (tick thread)."""
        self._sent[node] = sequence

    def sent_since(self, node: Any, sequence: int) -> bool:
        """Whether an AppendEntries stamped >= sequence already went to `node`."""
        return self._sent.get(node, 0) >= sequence

    def next_sequence(self) -> int:
        """The smallest sequence a message sent from now on can carry."""
        return self._issued + 1

    def acknowledged(self, node: Any, sequence: int) -> None:
        """A follower echoed `sequence` (tick thread)."""
        if sequence > self._acked.get(node, 0):
            self._acked[node] = sequence  # one writer (under the tick lock); readers read the dict as it is
            self.notify()

    def notify(self) -> None:
        """Something else a waiter may wait for changed (an entry was applied, leadership changed)."""
        # Called for every acknowledgement and every applied entry, almost always with nobody waiting:
        # skip the condition then. A waiter counts itself before it checks its predicate, under the
        # condition, so one that comes in after this check already sees the change.
        if not self._waiting:
            return
        with self._changed:
            self._changed.notify_all()

    def wait(self, predicate: Callable[[], bool], deadline: float) -> bool:
        """Wait until `predicate()` holds (checked on every change), or the monotonic deadline."""
        with self._changed:
            self._waiting += 1
            try:
                while not predicate():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(min(remaining, 0.05))
                return True
            finally:
                self._waiting -= 1

    def confirmed(self, nodes: set, sequence: int) -> bool:
        """Whether the leader plus acknowledgements >= sequence form a majority of `nodes` + leader."""
        votes = 1 + sum(1 for node in nodes if self._acked.get(node, 0) >= sequence)
        return votes * 2 > len(nodes) + 1
