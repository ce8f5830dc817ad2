"""`Member`: the embedded Store's API on a Raft member, plus the cluster operations etcd users know."""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable, Optional

from ..errors import InvalidArgument, NotReady, Timeout
from ..statemachine import StateMachine
from ..store import (DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, DEFAULT_MAX_VALUE_BYTES,
                     Store)
from ..types import KeyValue, Lease, LeaseTimeToLive, RangeResponse, SortOrder, SortTarget
from ._pin import FAIL_REASON
from .cluster import Cluster, _check_address
from .engine import RaftEngine


class Member(Store):
    """A kvstore Store whose writes and linearizable reads go through Raft (open with `open`).

    Every member accepts writes (forwarded to the leader) and returns once the write is committed
    and applied locally. Reads (lease reads too) are linearizable unless `serializable=True`. Leases
    expire by the leader's wall clock; a new leader first gives every lease its full TTL again
    (etcd's lessor promotion). Watches work on every member, from the member's own applied history,
    once it has caught up with the cluster's commit.
    """

    def __init__(self, engine: RaftEngine, **store_options: Any) -> None:
        self._raft = engine
        super().__init__(engine, clock=time.time, **store_options)
        # A snapshot installed from the leader replaces the state without per-revision events:
        # watchers then catch up from the new history instead of missing revisions.
        engine.applier.before_restore = lambda: self._hub.resync(engine.state.revision)
        self._promoted_term = -1  # the Raft term in which this member, as leader, promoted the leases
        self._ticker_wake = threading.Event()
        engine.node.leadership_listeners.append(self._on_leadership)
        self._ticker_stop = threading.Event()
        self._ticker_thread = threading.Thread(target=self._tick, name="kvstore-member-ticker", daemon=True)
        self._ticker_thread.start()

    # -- reads with etcd's serializable option ---------------------------------------------------

    def get(self, key: bytes | str, *, revision: Optional[int] = None,  # type: ignore[override]
            serializable: bool = False) -> Optional[KeyValue]:
        """The live value of `key`; `serializable=True` reads local state without a barrier."""
        if serializable:
            with self._raft.serializable():
                return super().get(key, revision=revision)
        return super().get(key, revision=revision)

    def range(self, key: bytes | str, range_end: bytes | str | None = None, *,  # type: ignore[override]
              prefix: bool = False, limit: int = 0, revision: Optional[int] = None,
              sort_order: SortOrder = SortOrder.NONE, sort_target: SortTarget = SortTarget.KEY,
              keys_only: bool = False, count_only: bool = False, min_mod_revision: int = 0,
              max_mod_revision: int = 0, min_create_revision: int = 0, max_create_revision: int = 0,
              serializable: bool = False) -> RangeResponse:
        """etcd Range (see `Store.range`); `serializable=True` reads local state without a barrier."""
        options = dict(prefix=prefix, limit=limit, revision=revision, sort_order=sort_order,
                       sort_target=sort_target, keys_only=keys_only, count_only=count_only,
                       min_mod_revision=min_mod_revision, max_mod_revision=max_mod_revision,
                       min_create_revision=min_create_revision, max_create_revision=max_create_revision)
        if serializable:
            with self._raft.serializable():
                return super().range(key, range_end, **options)
        return super().range(key, range_end, **options)

    def time_to_live(self, id: int, keys: bool = False, *,  # type: ignore[override]  # noqa: A002
                     serializable: bool = False) -> LeaseTimeToLive:
        """Remaining and granted TTL of a lease (etcd LeaseTimeToLive), linearizable like `get`;
        `serializable=True` reads this member's lease table as it is."""
        if serializable:
            with self._raft.serializable():
                return super().time_to_live(id, keys)
        return super().time_to_live(id, keys)

    def leases(self, *, serializable: bool = False) -> list[Lease]:  # type: ignore[override]
        """Every live lease (etcd LeaseLeases), linearizable like `get`; `serializable=True` reads
        this member's lease table as it is."""
        if serializable:
            with self._raft.serializable():
                return super().leases()
        return super().leases()

    # -- cluster ---------------------------------------------------------------------------------

    def wait_ready(self, timeout: float) -> None:
        """Block until a leader is known and this member has applied what it committed; else NotReady."""
        node = self._raft.node
        deadline = time.monotonic() + timeout
        while not (node.leader_address is not None and node.isReady()):
            if time.monotonic() >= deadline:
                raise NotReady(f"member {node.cluster.self_address} not ready within timeout={timeout}s "
                               f"(leader={node.leader_address}, applied={node.raftLastApplied}, "
                               f"commit={node.raftCommitIndex})")
            time.sleep(0.01)

    @property
    def leader(self) -> Optional[str]:
        """Address of the current leader as this member knows it, or None during an election."""
        return self._raft.node.leader_address

    @property
    def is_leader(self) -> bool:
        """True when this member is the leader."""
        return self._raft.node.is_leader

    def members(self) -> list[str]:
        """Addresses of every voting member, this one included (etcd MemberList)."""
        return self._raft.node.member_addresses()

    def add_member(self, address: str, timeout: Optional[float] = None) -> None:
        """Add a voting member (etcd MemberAdd); start it with every current member as peers."""
        _check_address("address", address)
        self._change_membership(self._raft.node.addNodeToCluster, address, timeout)

    def remove_member(self, address: str, timeout: Optional[float] = None) -> None:
        """Remove a voting member (etcd MemberRemove)."""
        _check_address("address", address)
        if address not in self.members():
            raise InvalidArgument(f"address={address!r} is not a member ({', '.join(self.members())})")
        self._change_membership(self._raft.node.removeNodeFromCluster, address, timeout)

    def move_leader(self, address: str, timeout: Optional[float] = None) -> None:
        """Hand leadership to a caught-up member (etcd MoveLeader); call it on the leader."""
        _check_address("address", address)
        if address not in self.members():
            raise InvalidArgument(f"address={address!r} is not a member ({', '.join(self.members())})")
        timeout = self._raft.cluster.request_timeout if timeout is None else timeout
        node = self._raft.node
        done = threading.Event()
        outcome: list[int] = []

        def callback(_result: Any, error: int) -> None:
            outcome.append(error)
            done.set()

        node.run_on_tick(lambda: node.transferLeadership(address, callback))
        deadline = time.monotonic() + timeout
        if not done.wait(timeout) or outcome[0] != FAIL_REASON.SUCCESS:
            raise InvalidArgument(f"move_leader to address={address!r} refused: call it on the leader, "
                                  "with the target connected and caught up")
        while self.leader != address:
            if time.monotonic() >= deadline:
                raise Timeout(f"leadership did not move to {address} within timeout={timeout}s")
            time.sleep(0.01)

    def _change_membership(self, change: Callable[..., None], address: str, timeout: Optional[float]) -> None:
        timeout = self._raft.cluster.request_timeout if timeout is None else timeout
        done = threading.Event()
        outcome: list[int] = []

        def callback(_result: Any, error: int) -> None:
            outcome.append(error)
            done.set()

        change(address, callback=callback)
        if not done.wait(timeout):
            raise Timeout(f"membership change for {address} not committed within timeout={timeout}s; "
                          "it may still be applied")
        if outcome[0] != FAIL_REASON.SUCCESS:
            raise InvalidArgument(f"membership change for address={address!r} refused (pysyncobj reason "
                                  f"{outcome[0]}): one change at a time, on a cluster with a leader")

    # -- leases ----------------------------------------------------------------------------------

    def expire_leases(self) -> list[int]:
        """On the leader, once it has promoted the leases in its term: revoke every lease whose TTL
        has run out by its wall clock; returns their IDs. Elsewhere: nothing (the leader decides)."""
        if not self.is_leader or not self._promote_leases():
            return []
        return super().expire_leases()

    def _promote_leases(self) -> bool:
        # etcd's rule (lessor.Promote when a new leader has applied its first entry): every lease
        # expires no earlier than its full TTL plus an election timeout after the new leader's
        # clock reads `now`, so neither a failover nor a whole-cluster restart expires a lease
        # early. Unlike etcd's in-memory promotion, this goes through the log: every member's table
        # (time_to_live on any member, snapshots) holds the same expiry. Before it is applied this
        # leader expires nothing; an `expire` an old leader proposed with an earlier `now` finds
        # the promoted expiry and does nothing.
        node = self._raft.node
        term = node.raftCurrentTerm
        if self._promoted_term == term:
            return True
        self._propose(["promote", time.time(), self._raft.cluster.election_timeout_max])
        if not (node.is_leader and node.raftCurrentTerm == term):
            return False
        self._promoted_term = term
        return True

    def _on_leadership(self, leading: bool) -> None:
        if leading:  # promote now rather than at the next lease check
            self._ticker_wake.set()

    def _tick(self) -> None:
        # The embedded store's ticker runs only on its own clock; a member has this one instead: lease
        # expiry decided by the leader, progress notifications on every member (as etcd's members).
        interval = self._raft.cluster.lease_check_interval
        while not self._ticker_stop.is_set():
            self._ticker_wake.wait(interval)
            self._ticker_wake.clear()
            if self.closed or self._ticker_stop.is_set():
                return
            self._notify_progress_if_due(time.monotonic())
            if self.is_leader:
                try:
                    self.expire_leases()
                except Exception:  # NoLeader/Timeout during an election: the next round retries
                    continue

    def close(self) -> None:
        """Leave the cluster's traffic (the member stays a member), stop threads, close the journal."""
        self._ticker_stop.set()
        self._ticker_wake.set()
        super().close()
        if self._ticker_thread is not threading.current_thread():
            self._ticker_thread.join(timeout=5.0)

    def __repr__(self) -> str:
        return (f"<kvstore.replication.Member {self._raft.cluster.self_address} leader={self.leader} "
                f"revision={self.revision}>")


def open(path: str, *, cluster: Cluster, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,  # noqa: A001
         max_txn_ops: int = DEFAULT_MAX_TXN_OPS, watch_queue_size: int = 1024,
         progress_notify_interval: float = 600.0, snapshot_every: Optional[int] = None, fsync: str = "always",
         clock: Optional[Callable[[], float]] = None, max_key_bytes: int = DEFAULT_MAX_KEY_BYTES,
         max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, **options: Any) -> Member:
    """Open (or create) a Raft member's data directory and join its cluster.

    The options are the embedded store's (`kvstore.open`). `snapshot_every` replaces
    `cluster.snapshot_entries` (log entries between Raft snapshots, like etcd's --snapshot-count).
    The journal is always fsynced before an entry is acknowledged (`fsync` must stay "always"), and
    the lease clock is the leader's wall clock (`clock` must be None).
    """
    if not isinstance(cluster, Cluster):
        raise InvalidArgument(f"cluster={cluster!r} is not a kvstore.Cluster")
    if path is None:
        raise InvalidArgument("path=None: a Raft member needs a data directory for its journal")
    if fsync != "always":
        raise InvalidArgument(f"fsync={fsync!r}: a Raft member always fsyncs before acknowledging (use 'always')")
    if clock is not None:
        raise InvalidArgument("clock: a Raft member's leases follow the leader's clock; it cannot be injected")
    if options:
        raise InvalidArgument(f"unknown options for a Raft member: {', '.join(sorted(options))}")
    if snapshot_every is not None:
        if type(snapshot_every) is not int or snapshot_every < 2:
            raise InvalidArgument(f"snapshot_every={snapshot_every!r} must be an int >= 2 (log entries "
                                  "between Raft snapshots)")
        cluster = dataclasses.replace(cluster, snapshot_entries=snapshot_every)
    state = StateMachine(max_txn_ops=max_txn_ops, max_value_bytes=max_value_bytes)
    engine = RaftEngine(path, cluster, state)
    try:
        return Member(engine, max_value_bytes=max_value_bytes, max_txn_ops=max_txn_ops, max_key_bytes=max_key_bytes,
                      max_request_bytes=max_request_bytes,
                      watch_queue_size=watch_queue_size, progress_notify_interval=progress_notify_interval)
    except BaseException:
        engine.close()
        raise
