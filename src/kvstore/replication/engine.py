"""The Store engine of a Raft member: commands go through the log, reads are confirmed first.

`kvstore.Store` is built on an engine (see store.py). This one owns the state machine, the RaftNode
that applies committed entries to it on pysyncobj's tick thread, and the Proposer that batches
requests into entries. Reads are linearizable by default: on the leader a ReadIndex round
(readindex.py), elsewhere a barrier entry committed and applied locally first (many concurrent
reads share one); a thread can ask for a serializable read, which reads local state as it is.

Lease expiry is decided by the leader only: an `expire` command proposed by a follower is dropped
here (the follower's lease loop is a no-op), and the leader's `now` travels in the entry, so apply
stays deterministic.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator

from ..errors import StoreClosed, Timeout
from ..statemachine import StateMachine
from .cluster import Cluster
from .machine import RESULT_LOST, ApplyFailed, BatchApplier
from .proposer import Proposer
from .raftnode import SNAPSHOT_NAME, RaftNode


class RaftEngine:
    """engine.state / lock / propose / read_barrier / db_size / save_snapshot / close, over Raft."""

    def __init__(self, data_dir: str, cluster: Cluster, state: StateMachine) -> None:
        self.state = state
        self.lock = threading.RLock()
        self.cluster = cluster
        self.applier = BatchApplier(state, lock=self.lock)
        self.node = RaftNode(cluster, data_dir, self.applier)
        self.proposer = Proposer(self.node, cluster.max_batch_bytes)
        self._local = threading.local()
        self._closed = False

    def propose(self, command: Any) -> Any:
        """Replicate a command; its result once applied here (KVError values are returned, not raised)."""
        if self._closed:
            return StoreClosed()
        if command and command[0] == "expire" and not self.node.is_leader:
            return None  # lease expiry is the leader's decision
        result = self.proposer.propose(command, self.cluster.request_timeout, size_hint=_size(command))
        if isinstance(result, ApplyFailed):
            raise result
        if result is RESULT_LOST:
            raise Timeout(f"{command[0]} was applied, but its response was lost when a snapshot replaced "
                          "this member's state during a retry; read the key to see its effect")
        return result

    def read_barrier(self) -> None:
        """Commit and apply a barrier entry unless this thread asked for a serializable read."""
        if self._closed:
            raise StoreClosed()
        if getattr(self._local, "serializable", False):
            return
        # On the leader, a confirmed heartbeat round suffices (ReadIndex); elsewhere, or when it
        # cannot be confirmed quickly, a barrier entry through the log.
        timeout = min(self.cluster.request_timeout, self.cluster.read_index_timeout)
        if self.node.is_leader and self.node.leader_read(timeout):
            return
        self.proposer.barrier(self.cluster.request_timeout)

    @contextlib.contextmanager
    def serializable(self) -> Iterator[None]:
        """Within this block, reads on this thread skip the barrier (local, possibly stale)."""
        previous = getattr(self._local, "serializable", False)
        self._local.serializable = True
        try:
            yield
        finally:
            self._local.serializable = previous

    def db_size(self) -> int:
        """Bytes of Raft journal records and snapshot on disk (not the journal's preallocation)."""
        total = self.node.journal.size
        with contextlib.suppress(OSError):
            total += os.path.getsize(os.path.join(self.node.data_dir, SNAPSHOT_NAME))
        return total

    def save_snapshot(self) -> None:
        """Ask pysyncobj to snapshot and compact the journal at its next tick."""
        self.node.forceLogCompaction()

    def close(self) -> None:
        """Stop proposing, stop the member and close its journal. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.proposer.close()
        if threading.current_thread() is not getattr(self.node, "_SyncObj__thread", None):
            self.node.destroy_synchronous()
        else:
            self.node.destroy()


def _size(command: Any) -> int:
    size = 32
    for part in command:  # a loop, not a generator: this runs for every request
        if type(part) is bytes:
            size += len(part)
    return size
