"""The pysyncobj member: SyncObj with our journal, our snapshots, our apply path and the guards.

What this class changes in pysyncobj 0.3.17 (each pinned in `_pin`):
- journal: `DurableJournal` (checksummed, fsynced before any acknowledgement and before the leader
  counts its own copy; the leader's fsync runs beside its followers', on the caller's thread or on
  `LeaderSync`'s) instead of the unsynced mmap;
- snapshots: msgpack files (`snapshots.py`, via the `serializer`/`deserializer` hooks), never pickle;
- apply: REGULAR entries are our msgpack batches, applied by `BatchApplier` (never raises), so
  no pickle is ever loaded for a client command;
- AppendEntries: `trim_append_entries` keeps committed entries from being truncated;
- reads: heartbeats carry a sequence for ReadIndex (`readindex.py`);
- frames: the same Fernet tokens and zlib stream, built with less CPU (`frames.py`);
- threads: a caller appends its own entry when the tick thread is idle, and waits for its
  acknowledgements in the (epoll) poller itself (`ticklock.py`);
- timers: AppendEntries sent as soon as an entry is queued (no 100 ms batching timer), the
  post-apply commit announcement only when a follower waits for it, election and step-down
  timeouts in the sub-second range, a secret always set, bound to one address, admin commands off.
"""
from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from typing import Any, Callable, Optional

import pysyncobj.monotonic as _pysyncobj_monotonic
import pysyncobj.syncobj as _syncobj
import pysyncobj.tcp_connection as _tcp_connection
import pysyncobj.transport as _transport
from pysyncobj.node import TCPNode

from ._pin import FAIL_REASON, REGULAR_COMMAND, SyncObj, SyncObjConf
from .cluster import Cluster
from .frames import FernetCodec
from .guards import trim_append_entries
from .journal import DurableJournal, fsync_directory
from .leadersync import LeaderSync
from .machine import BatchApplier
from .readindex import ReadIndex
from .snapshots import SNAPSHOT_NAME, align_journal, read_snapshot, write_snapshot
from .ticklock import TickLockPoller
from .transport import DurableTransport

ADMIN_COMMANDS_REFUSED = ("add", "remove", "set_version", "transfer")

_original_create_journal = _syncobj.createJournal


def _create_journal(journal_file: Any = None) -> Any:
    # pysyncobj builds its journal from conf.journalFile; ours is passed as that object.
    if isinstance(journal_file, DurableJournal):
        return journal_file
    return _original_create_journal(journal_file)


_syncobj.createJournal = _create_journal

_original_create_poller = _syncobj.createPoller


def _create_poller(poller_type: Any) -> Any:
    # Likewise for the poller: conf.pollerType is our TickLockPoller itself.
    if isinstance(poller_type, TickLockPoller):
        return poller_type
    return _original_create_poller(poller_type)


_syncobj.createPoller = _create_poller

# pysyncobj reads CLOCK_MONOTONIC_RAW through a lambda, dozens of times per replicated write (every
# tick, every frame sent or read); the same clock through a C-level partial costs no Python frame.
_raw_monotonic = functools.partial(time.clock_gettime, time.CLOCK_MONOTONIC_RAW)
if "CLOCK_MONOTONIC_RAW" in getattr(getattr(_pysyncobj_monotonic.monotonic, "__code__", None), "co_names", ()):
    # only where pysyncobj chose that clock (not one of its fallbacks)
    for _module in (_pysyncobj_monotonic, _syncobj, _tcp_connection, _transport):
        if hasattr(_module, "monotonicTime"):
            _module.monotonicTime = _raw_monotonic
    _pysyncobj_monotonic.monotonic = _raw_monotonic

Callback = Callable[[Any, int], None]
CALLER_LOCK_WAIT = 0.002  # seconds a caller waits for a busy tick thread before handing its write over

_log = logging.getLogger(__name__)


class RaftNode(SyncObj):  # type: ignore[misc]
    """One Raft member replicating a `BatchApplier`'s state machine."""

    truncation_guard = True

    def __init__(self, cluster: Cluster, data_dir: str, applier: BatchApplier,
                 on_applied: Optional[Callable[[], None]] = None, auto_tick: bool = True) -> None:
        os.makedirs(data_dir, exist_ok=True)
        self.cluster = cluster
        self.data_dir = data_dir
        self.applier = applier
        self.journal = DurableJournal(data_dir)
        self._on_applied = on_applied
        self._before_commands: list[Callable[[], None]] = []
        self._one_shots: "queue.SimpleQueue[Callable[[], None]]" = queue.SimpleQueue()
        self.read_index = ReadIndex()
        # called on the tick thread with is_leader whenever the Raft state changes (must not block)
        self.leadership_listeners: list[Callable[[bool], None]] = []
        self.echo_sequence: Optional[int] = None  # read_seq of the AppendEntries being handled
        self.forwarded_upto = 0  # highest log index of an entry a follower proposed through us
        self._propagated_commit = 0
        self._codec = FernetCodec(cluster.secret_bytes)  # pysyncobj's connections take it in __init__
        self.leader_sync = LeaderSync(self.journal, on_durable=self._wake_if_alone)  # used from __init__ on
        self._tick_lock = threading.Lock()
        # True while a caller's thread appends under the tick lock: it fsyncs the leader's copy
        # itself once it has released the lock (propose_now), so LeaderSync is not started.
        self.caller_syncs = False
        # thread id -> "has its answer" of each caller waiting in the poller for its entry (_drive);
        # removed once answered by another thread (which wakes it then, once)
        self._drivers: dict[int, Callable[[], bool]] = {}
        self._ticklock_poller = TickLockPoller(self._tick_lock)
        snapshot_path = os.path.join(data_dir, SNAPSHOT_NAME)
        if os.path.exists(snapshot_path):
            read_snapshot(snapshot_path)  # pysyncobj would log and skip a damaged one: refuse here
        conf = SyncObjConf(
            password=cluster.secret_bytes,
            bindAddress=cluster.bind_address or cluster.self_address,
            autoTick=auto_tick,
            autoTickPeriod=cluster.heartbeat_interval,
            appendEntriesUseBatch=False,
            appendEntriesPeriod=cluster.heartbeat_interval,
            appendEntriesBatchSizeBytes=2 * cluster.max_batch_bytes,
            raftMinTimeout=cluster.election_timeout_min,
            raftMaxTimeout=cluster.election_timeout_max,
            connectionTimeout=max(cluster.election_timeout_max, 1.5),
            connectionRetryTime=cluster.reconnect_interval,
            leaderFallbackTimeout=cluster.leader_step_down_timeout,
            commandsWaitLeader=False,
            journalFile=self.journal,
            fullDumpFile=os.path.join(data_dir, SNAPSHOT_NAME),
            serializer=self._write_snapshot,
            deserializer=self._read_snapshot,
            logCompactionMinEntries=cluster.snapshot_entries,
            logCompactionMinTime=10 ** 9,
            dynamicMembershipChange=True,
            onStateChanged=self._state_changed,
            useFork=False,
            bindRetryTime=0.2,
            tcp_keepalive=None,
            pollerType=self._ticklock_poller,
        )
        super().__init__(cluster.self_address, cluster.other_members, conf,
                         transportClass=DurableTransport)
        # Membership and code-version changes go through Member.add_member/remove_member/move_leader
        # only; pysyncobj's admin commands would let any holder of the secret change the cluster.
        for command in ADMIN_COMMANDS_REFUSED:
            self._SyncObj__transport.setOnUtilityMessageCallback(command, None)

    def _onTick(self, timeToWait: float = 0.0) -> None:  # noqa: N802 - pysyncobj's name
        with self._tick_lock:
            self._tick(timeToWait)

    def _tick(self, time_to_wait: float) -> None:
        # Under the tick lock. A leader counts its own copy of every entry towards the commit
        # computed at the top of the tick: everything appended so far must be on disk first
        # (acknowledgements sync in send). Usually the caller or LeaderSync has done it meanwhile;
        # otherwise this waits for it or does it.
        self.journal.sync()
        super()._onTick(time_to_wait)

    def _doDestroy(self) -> None:  # noqa: N802 - pysyncobj's name
        self.leader_sync.stop()
        with self._tick_lock:
            super()._doDestroy()
            self._ticklock_poller.close()

    def _state_changed(self, _old: int, _new: int) -> None:
        # A read waiting for its ReadIndex confirmation on a leader that just lost leadership ends at
        # once (leader_read checks is_leader and the term); listeners learn of a new leadership.
        self.read_index.notify()
        leading = self.is_leader
        for listener in self.leadership_listeners:
            listener(leading)

    def _wake_if_alone(self) -> None:
        # LeaderSync made entries durable. Followers' acknowledgements wake the tick thread to count
        # them; a member without followers has nothing else to wake it.
        if not getattr(self, "_SyncObj__otherNodes", True):
            self.wake()

    @property
    def encryptor(self) -> FernetCodec:
        """What pysyncobj's connections authenticate and encrypt every frame with (never None)."""
        return self._codec

    # -- proposing -------------------------------------------------------------------------------

    def submit(self, payload: bytes, callback: Callback) -> None:
        """Queue one log entry (a msgpack batch) from the tick thread, right before pysyncobj drains
        its command queue; `callback(results, fail_reason)` runs on the tick thread."""
        # Not _applyCommand: it would also wake the tick thread, costing an empty tick per entry.
        try:
            self._SyncObj__commandsQueue.put_nowait((REGULAR_COMMAND + payload, callback))
        except queue.Full:
            callback(None, FAIL_REASON.QUEUE_FULL)

    def add_before_commands_callback(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the tick thread right before pysyncobj drains its command queue."""
        self._before_commands.append(callback)

    def _checkCommandsToApply(self) -> None:  # noqa: N802 - pysyncobj's name
        if self.journal.size > self.cluster.snapshot_bytes:
            self.forceLogCompaction()  # pysyncobj counts entries only; ours batch many requests
        # Proposals queued by callbacks here are appended in this very tick, not the next one.
        for callback in self._before_commands:
            callback()
        one_shots = self._one_shots  # consumed only under the tick lock: empty() then get() is safe
        while not one_shots.empty():
            one_shots.get_nowait()()
        if self._SyncObj__commandsQueue._FastQueue__queue:  # else pysyncobj's drain only raises Empty
            super()._checkCommandsToApply()
        if not self.journal.durable and self.is_leader and not self.caller_syncs:
            self.leader_sync.start()  # appended without AppendEntries (no follower connected)

    def propose_now(self, done: Optional[Callable[[], bool]] = None) -> None:
        """Get the proposer's pending requests appended and sent: on this thread when this member
        leads with nothing in flight and the tick thread sleeps in poll (no hand-off), else by
        waking the tick thread, which takes everything pending by then. With entries in flight the
        tick thread is busy with their acknowledgements, so concurrent clients share entries.

        When this thread appended, it then fsyncs the leader's copy and, given `done` (true once the
        caller's request has its answer), waits for the acknowledgements itself (`_drive`)."""
        if self._take_tick_lock():
            appended = False
            try:
                if self.is_leader and self.journal.durable \
                        and self.raftCommitIndex == self._SyncObj__getCurrentLogIndex():
                    self.caller_syncs = True
                    try:
                        self._checkCommandsToApply()
                    finally:
                        self.caller_syncs = False
                    appended = True
            finally:
                self._tick_lock.release()
            if appended:
                self._sync_as_caller()
                if done is not None:
                    self._drive(done)
                return
        self.wake()

    def _take_tick_lock(self, idle_only: bool = True) -> bool:
        # Free: the tick thread sleeps in poll. Taken: it is working, and on an idle leader that is
        # short work, mostly the previous write's second acknowledgement, after which it releases
        # the lock to wait in poll. Waiting for that (bounded) keeps this write on the caller's thread;
        # handing it over instead costs a wake-up of the tick thread, one of LeaderSync's thread for
        # the fsync and one of this thread for the answer. Leadership and the log are only peeked at
        # here; the caller checks them again under the lock.
        lock = self._tick_lock
        if lock.acquire(blocking=False):
            return True
        if idle_only and (not self.is_leader or self.raftCommitIndex != self._SyncObj__getCurrentLogIndex()):
            return False  # entries in flight: the tick thread takes the pending requests with its next ones
        return lock.acquire(timeout=CALLER_LOCK_WAIT)

    def _sync_as_caller(self) -> None:
        # The caller appended and sent its entry; it has nothing to do until the entry commits, so
        # it writes and fsyncs the leader's copy itself, outside the tick lock (the tick thread
        # reads the acknowledgements meanwhile and waits for this sync before it counts its own
        # copy). No wake-up of LeaderSync's thread, which would compete for the GIL with the
        # AppendEntries being encoded and sent.
        try:
            self.journal.sync()
        except OSError:
            return  # the records stay buffered: the tick thread's sync() retries and reports it
        self._wake_if_alone()

    def _drive(self, done: Callable[[], bool]) -> None:
        # Wait for the acknowledgements in the poller on this thread, running the ticks that count
        # the commit and apply the entry, instead of sleeping until the tick thread has done so
        # and wakes us: one thread hand-off less per write. epoll wakes the thread that started
        # waiting last, this one, so the tick thread sleeps on. Bounded by one heartbeat interval;
        # if the tick lock is taken, the tick thread is awake and does the work as before.
        if not self._take_tick_lock(idle_only=False):
            return
        poller = self._ticklock_poller
        until = time.monotonic() + self.cluster.heartbeat_interval
        me = threading.get_ident()
        poller.begin_wait(done)
        self._drivers[me] = done
        try:
            while not done() and self.is_leader:
                remaining = until - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    self._tick(remaining)
                except Exception:  # as pysyncobj's tick thread does; it carries on from here
                    _log.exception("a tick on a caller's thread failed; the tick thread takes over")
                    break
        finally:
            self._drivers.pop(me, None)
            poller.give_back()  # events this thread took from epoll but did not dispatch
            poller.end_wait()
            self._tick_lock.release()

    def run_on_tick(self, function: Callable[[], None]) -> None:
        """Run `function` once with pysyncobj's state to itself: here if the tick thread sleeps in
        poll, else on the tick thread before its next command drain."""
        if self._tick_lock.acquire(blocking=False):
            try:
                function()
            finally:
                self._tick_lock.release()
            return
        self._one_shots.put(function)
        self.wake()

    def leader_read(self, timeout: float) -> bool:
        """ReadIndex: True once a read started now may be served from local state; False when this
        member cannot confirm it (not leader, no entry of its term committed yet, term changed, or
        timeout); the caller then falls back to a barrier entry."""
        try:
            term = self.raftCurrentTerm
            commit = self.raftCommitIndex
            if not self.is_leader or self.term_at(commit) != term:
                return False
        except (IndexError, KeyError):  # the log moved under us: let the barrier decide
            return False
        sequence = self.read_index.next_sequence()
        nodes = self.otherNodes
        self.read_index.wanted = max(self.read_index.wanted, sequence)
        self.run_on_tick(self._confirm_leadership)
        deadline = time.monotonic() + timeout

        def deposed() -> bool:
            return self.raftCurrentTerm != term or not self.is_leader

        # Ends as soon as a majority confirmed, or this member stopped leading (a newer term reached
        # it): a deposed leader redirects the read to the barrier at once instead of waiting it out.
        if not self.read_index.wait(lambda: deposed() or self.read_index.confirmed(nodes, sequence), deadline):
            self.read_index.slow_read_indexes += 1
            return False
        if deposed():
            self.read_index.read_indexes_failed += 1
            return False
        return self.read_index.wait(lambda: self.raftLastApplied >= commit, deadline)

    def _confirm_leadership(self) -> None:
        # Under the tick lock (run_on_tick). A heartbeat to just enough caught-up followers to make a
        # majority (they need no entries, so prevLogIdx is the last index); otherwise a full
        # AppendEntries round now.
        if not self.is_leader:
            return
        last_index, last_term = self.journal[-1][1], self.journal[-1][2]
        match = self._SyncObj__raftMatchIndex
        connected = self._SyncObj__connectedNodes
        wanted = self.read_index.wanted
        needed = (len(self.otherNodes) + 1) // 2  # followers needed besides the leader for a majority
        needed -= sum(1 for node in self.otherNodes if self.read_index.sent_since(node, wanted))
        if needed <= 0:
            return  # concurrent reads: a heartbeat covering them is already on its way
        caught_up = [node for node in self.otherNodes if match.get(node) == last_index and node in connected
                     and not self.read_index.sent_since(node, wanted)]
        if len(caught_up) < needed:
            self._SyncObj__newAppendEntriesTime = 0
            self.wake()  # this may run on a caller's thread: the tick thread sends the round
            return
        transport = self._SyncObj__transport
        for node in caught_up[:needed]:
            transport.send(node, {"type": "append_entries", "term": self.raftCurrentTerm,
                                  "commit_index": self.raftCommitIndex, "entries": [],
                                  "prevLogIdx": last_index, "prevLogTerm": last_term})

    def wake(self) -> None:
        """Make the tick thread run now (instead of after its poll timeout)."""
        notifier = getattr(self, "_SyncObj__pipeNotifier", None)
        if notifier is not None:
            notifier.notify()

    # -- state -----------------------------------------------------------------------------------

    @property
    def leader_address(self) -> Optional[str]:
        """The address of the leader this member last heard from, or None."""
        leader = self._getLeader()
        return None if leader is None else leader.address

    @property
    def is_leader(self) -> bool:
        """Whether this member believes it is the leader."""
        return bool(self._isLeader())

    def member_addresses(self) -> list[str]:
        """Every voting member's address, this one included."""
        return sorted([self.selfNode.address] + [n.address for n in self.otherNodes])

    def term_at(self, index: int) -> Optional[int]:
        """Term of the local log entry at `index`, or None when not held."""
        if not len(self.journal):
            return None
        first = self.journal[0][1]
        position = index - first
        if position < 0 or position >= len(self.journal):
            return None
        return int(self.journal[position][2])

    # -- pysyncobj overrides (name-mangled methods of SyncObj 0.3.17) -----------------------------

    def _SyncObj__applyLogEntries(self) -> bool:  # noqa: N802
        # With appendEntriesUseBatch=False pysyncobj sends every follower an extra AppendEntries after
        # each apply, only to tell it the new commit index: half of a leader's messages. A follower
        # needs it at once only when it waits for an entry it forwarded (a write or a read barrier);
        # otherwise the next AppendEntries or heartbeat (50 ms) carries the commit index.
        send_now = SyncObj._SyncObj__applyLogEntries(self)
        if self._drivers:
            me = threading.get_ident()
            for ident, done in list(self._drivers.items()):
                if ident != me and done() and self._drivers.pop(ident, None) is not None:
                    self.wake()  # another thread answered a caller waiting in epoll: it returns at once
        if send_now and self.forwarded_upto > self._propagated_commit:
            self._propagated_commit = self.raftCommitIndex
            return True
        return False

    def _SyncObj__doApplyCommand(self, command: bytes) -> Any:  # noqa: N802
        if command[:1] == REGULAR_COMMAND:
            results = self.applier.apply_entry(command[1:])
            if self._on_applied is not None:
                self._on_applied()
            self.read_index.notify()
            return results
        result = SyncObj._SyncObj__doApplyCommand(self, command)
        self.read_index.notify()
        return result

    def _SyncObj__onMessageReceived(self, node: Any, message: Any) -> None:  # noqa: N802
        ack = None
        kind = message.get("type") if isinstance(message, dict) else None
        poller = self._ticklock_poller
        if kind == "next_node_idx" and self.is_leader:
            if "read_seq" in message:
                self.read_index.acknowledged(node, message["read_seq"])
            # An acknowledgement of entries already committed, from a follower that holds the whole
            # log, leaves the next tick nothing to do (no commit to count, nothing to send): the tick
            # thread may go on waiting (TickLockPoller.poll). Anything else asks for the tick.
            acked = message.get("next_node_idx", 0) - 1
            quiet = message.get("success") is True and not message.get("reset") \
                and acked <= self.raftCommitIndex and acked == self._SyncObj__getCurrentLogIndex()
            if poller.quiet is not False:
                poller.quiet = quiet
        else:
            poller.quiet = False
        if kind != "append_entries":
            SyncObj._SyncObj__onMessageReceived(self, node, message)
            return
        if self.truncation_guard and message.get("term", -1) >= self.raftCurrentTerm:
            last_index = self.journal[-1][1] if len(self.journal) else 0
            message, ack = trim_append_entries(message, self.term_at, last_index)
        self.echo_sequence = message.get("read_seq")
        try:
            SyncObj._SyncObj__onMessageReceived(self, node, message)
            if ack is not None:
                self._SyncObj__sendNextNodeIdx(node, nextNodeIdx=ack, success=True)
        finally:
            self.echo_sequence = None

    # -- snapshots in msgpack (pysyncobj's serializer / deserializer hooks) -----------------------

    def _write_snapshot(self, path: str, data: Any) -> None:
        last_entry, previous_entry, cluster = data
        write_snapshot(path, last_entry, previous_entry, [node.address for node in cluster],
                       self.applier.snapshot())

    def _read_snapshot(self, path: str) -> tuple[Any, Any, Any]:
        snap = read_snapshot(path)
        self.applier.restore(snap["machine"])
        self._align_journal(snap["previous"], snap["last"])
        fsync_directory(self.data_dir)
        if self._on_applied is not None:
            self._on_applied()
        return snap["last"], snap["previous"], [TCPNode(address) for address in snap["cluster"]]

    def _align_journal(self, previous: tuple[bytes, int, int], last: tuple[bytes, int, int]) -> None:
        align_journal(self.journal, previous, last)


__all__ = ["RaftNode", "FAIL_REASON", "SNAPSHOT_NAME"]
