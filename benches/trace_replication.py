"""Where one sequential write to a 3-member borgkit cluster spends its time, across the processes.

    python benches/trace_replication.py [--puts N]

Starts three member processes (tests/replication/member_main.py, run through this file so that
timestamps can be recorded inside them without any tracing code in the library), sends N sequential
puts (1,000 by default) from one client, and matches the events of each put across the processes
by log index: the client's send, the leader's propose/append/AppendEntries/fsync, the first
acknowledging follower's wake-up/receive/append/fsync/acknowledgement, the leader's wake-up,
commit, apply and answer, the client's receipt. Timestamps are CLOCK_MONOTONIC (one clock for every
process on the machine). Prints the median and the 90th percentile of each step, and the CPU time
each member used per put (user + system, all threads). Less sensitive to the machine's load than a
rate: it shows which steps are work and which are waiting.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))

from tests.replication.harness import MEMBER_MAIN, ProcessCluster  # noqa: E402

VALUE = b"v" * 256
_events: list[tuple[int, str, int]] = []
_now = time.perf_counter_ns  # CLOCK_MONOTONIC on Linux: comparable across processes


def _record(kind: str, value: int = 0) -> None:
    _events.append((_now(), kind, value))  # list.append is atomic under the GIL


def _wrap(owner: Any, name: str, before: Any = None, after: Any = None) -> None:
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args, **kwargs)
        result = original(*args, **kwargs)
        if after is not None:
            after(*args, **kwargs)
        return result

    setattr(owner, name, wrapper)


def _message_index(message: Any) -> tuple[str, int]:
    kind = message.get("type", "?") if isinstance(message, dict) else "?"
    if kind == "append_entries":
        entries = message.get("entries") or []
        return kind, (entries[-1][1] if entries else 0)
    if kind == "next_node_idx":
        return kind, message["next_node_idx"] - 1
    return kind, 0


def instrument(trace_path: str) -> None:
    """Record the events of the write path in this member process; flush them to `trace_path`."""
    from kvstore.replication import engine, journal, leadersync, raftnode, ticklock, transport

    _wrap(journal.DurableJournal, "add", before=lambda self, command, idx, term: _record("add", idx))
    _wrap(journal.DurableJournal, "_sync_locked",
          before=lambda self: _record("sync0", self._end), after=lambda self: _record("sync1", self._written))
    _wrap(transport.DurableTransport, "send",
          before=lambda self, node, message: _record("send:%s" % _message_index(message)[0],
                                                      _message_index(message)[1]),
          after=lambda self, node, message: _record("sent:%s" % _message_index(message)[0],
                                                     _message_index(message)[1]))
    _wrap(raftnode.RaftNode, "_SyncObj__onMessageReceived",
          before=lambda self, node, message: _record("recv:%s" % _message_index(message)[0],
                                                      _message_index(message)[1]))
    _wrap(raftnode.RaftNode, "_SyncObj__doApplyCommand",
          before=lambda self, command: _record("apply0", self.raftLastApplied + 1),
          after=lambda self, command: _record("apply1", self.raftLastApplied + 1))
    if hasattr(raftnode.RaftNode, "_tick"):
        _wrap(raftnode.RaftNode, "_tick", before=lambda self, time_to_wait: _record("tick"))
    _wrap(engine.RaftEngine, "propose", before=lambda self, command: _record("prop0"),
          after=lambda self, command: _record("prop1"))
    _wrap(leadersync.LeaderSync, "start", before=lambda self: _record("lsync"))

    class PollProxy:
        def __init__(self, poll: Any) -> None:
            self._poll = poll

        def poll(self, timeout: Any) -> Any:
            events = self._poll.poll(timeout)
            _record("wake", len(events))
            for descr, event in events:
                _record("event", descr * 100 + event)  # descriptor, epoll event bits
            return events

        def __getattr__(self, name: str) -> Any:
            return getattr(self._poll, name)

    if hasattr(ticklock.TickLockPoller, "install"):  # before the epoll poller (A/B runs)
        original_install = ticklock.TickLockPoller.install.__func__

        def install(cls: Any, poller: Any, tick_lock: Any) -> None:
            original_install(cls, poller, tick_lock)
            poller._PollPoller__poll = PollProxy(poller._PollPoller__poll)

        ticklock.TickLockPoller.install = classmethod(install)
    else:
        original_init = ticklock.TickLockPoller.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self._epoll = PollProxy(self._epoll)

        ticklock.TickLockPoller.__init__ = init

    def flush() -> None:
        # Written only when asked (the file `trace_path + ".dump"` appears), after the measured puts:
        # formatting events during the run would hold the GIL on the write path.
        while not os.path.exists(trace_path + ".dump"):
            time.sleep(0.1)
        with open(trace_path + ".tmp", "w") as out:
            out.writelines(f"{t} {kind} {value}\n" for t, kind, value in list(_events))
        os.rename(trace_path + ".tmp", trace_path)

    threading.Thread(target=flush, daemon=True).start()


class TracedCluster(ProcessCluster):
    """ProcessCluster whose members run through this file, recording events to trace{i}.txt."""

    def start(self, i: int, peers: Optional[list[str]] = None) -> None:
        import subprocess

        from tests.replication.support import wait_until

        log = open(self.logs[i], "ab")
        self.procs[i] = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--member", self.trace(i),
             os.path.join(self.root, f"data{i}"), self.addresses[i], f"127.0.0.1:{self.raft_ports[i]}",
             str(self.rpc_ports[i]), *(peers or self.addresses)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(lambda: self._rpc_up(i), 15, f"member {i} to serve")

    def trace(self, i: int) -> str:
        return os.path.join(self.root, f"trace{i}.txt")


def read_trace(path: str) -> list[tuple[int, str, int]]:
    events = []
    with open(path) as lines:
        for line in lines:
            t, kind, value = line.split()
            events.append((int(t), kind, int(value)))
    events.sort()
    return events


def first(events: list[tuple[int, str, int]], kind: str, index: Optional[int], start: int,
          end: int) -> Optional[int]:
    """Time of the first `kind` event (with value >= index, when given) in [start, end]."""
    for t, k, v in events:
        if t < start:
            continue
        if t > end:
            return None
        if k == kind and (index is None or v >= index):
            return t
    return None


def last_before(events: list[tuple[int, str, int]], kind: str, end: int, start: int) -> Optional[int]:
    found = None
    for t, k, _v in events:
        if t > end:
            break
        if t >= start and k == kind:
            found = t
    return found


def analyse(leader_events: list, follower_events: list[list], client: list[tuple[int, int]]) -> None:
    steps: dict[str, list[float]] = defaultdict(list)
    order: list[str] = []

    def step(name: str, a: Optional[int], b: Optional[int]) -> None:
        if name not in order:
            order.append(name)
        if a is not None and b is not None:
            steps[name].append((b - a) / 1000)

    import bisect
    times = [t for t, _k, _v in leader_events]
    ftimes = [[t for t, _k, _v in events] for events in follower_events]
    for sent, received in client:
        lo = bisect.bisect_left(times, sent)
        hi = bisect.bisect_right(times, received)
        window = leader_events[lo:hi]
        prop0 = first(window, "prop0", None, sent, received)
        add = next((v for t, k, v in window if k == "add"), None)
        if prop0 is None or add is None:
            continue
        t_add = first(window, "add", add, sent, received)
        t_send = first(window, "send:append_entries", add, sent, received)
        t_sent = last_before(window, "sent:append_entries", received, t_send or sent)
        t_lsync0 = first(window, "sync0", add, sent, received)
        t_lsync1 = first(window, "sync1", add, sent, received)
        t_ack = first(window, "recv:next_node_idx", add, sent, received)
        t_wake = last_before(window, "wake", t_ack or received, sent) if t_ack else None
        t_apply0 = first(window, "apply0", add, sent, received)
        t_apply1 = first(window, "apply1", add, sent, received)
        t_prop1 = first(window, "prop1", None, t_apply1 or sent, received)
        # the follower whose acknowledgement left first
        best = None
        for f, events in enumerate(follower_events):
            flo = bisect.bisect_left(ftimes[f], sent)
            fhi = bisect.bisect_right(ftimes[f], received)
            fw = events[flo:fhi]
            t_fack = first(fw, "send:next_node_idx", add, sent, received)
            if t_fack is not None and (best is None or t_fack < best[0]):
                best = (t_fack, fw)
        step("client -> leader propose()", sent, prop0)
        step("propose() -> append", prop0, t_add)
        step("append -> 1st AppendEntries send", t_add, t_send)
        step("AppendEntries sends (both)", t_send, t_sent)
        step("leader fsync start (after 1st AE)", t_send, t_lsync0)
        step("leader fsync", t_lsync0, t_lsync1)
        if best is not None:
            t_fack, fw = best
            t_frecv = first(fw, "recv:append_entries", add, sent, received)
            t_fwake = last_before(fw, "wake", t_frecv, t_send or sent) if t_frecv else None
            t_fsync0 = first(fw, "sync0", add, t_frecv or sent, received)
            t_fsync1 = first(fw, "sync1", add, t_frecv or sent, received)
            t_fsent = first(fw, "sent:next_node_idx", add, t_fack, received)
            step("AE send -> follower poll wakes", t_send, t_fwake)
            step("follower wake -> AE decoded", t_fwake, t_frecv)
            step("AE decoded -> follower fsync start", t_frecv, t_fsync0)
            step("follower fsync", t_fsync0, t_fsync1)
            step("fsync end -> ack send() done", t_fsync1, t_fsent)
            step("ack sent -> leader poll wakes", t_fsent, t_wake)
        step("leader wake -> ack decoded", t_wake, t_ack)
        if t_ack is not None and t_lsync1 is not None:
            # how long the commit waited for the leader's own fsync after the first acknowledgement
            step("  commit waits for leader fsync", t_ack, max(t_ack, t_lsync1))
            t_ack2 = next((t for t, k, v in window if k == "recv:next_node_idx" and v >= add and t > t_ack), None)
            if t_ack2 is not None:
                # with "any two of three durable": commit at the 2nd of (leader durable, ack, ack)
                now_rule = max(t_lsync1, t_ack)
                two_of_three = sorted([t_lsync1, t_ack, t_ack2])[1]
                step("  saving with 2-of-3 durable rule", two_of_three, now_rule)
        step("ack decoded -> apply start", t_ack, t_apply0)
        step("apply", t_apply0, t_apply1)
        step("apply end -> propose() returns", t_apply1, t_prop1)
        step("propose() returns -> client has reply", t_prop1, received)
        step("TOTAL (client round trip)", sent, received)
    print(f"{'step':42}{'median us':>11}{'p90 us':>9}{'mean us':>9}{'n':>6}")
    for name in order:
        values = sorted(steps[name])
        if not values:
            print(f"{name:42}{'-':>11}")
            continue
        p90 = values[int(0.9 * (len(values) - 1))]
        print(f"{name:42}{statistics.median(values):11.0f}{p90:9.0f}{statistics.fmean(values):9.0f}"
              f"{len(values):6d}")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process `pid`, all threads."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of process `pid`."""
    times = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return times


def main() -> None:
    if sys.argv[1:2] == ["--member"]:
        instrument(sys.argv[2])
        sys.path.insert(0, os.path.dirname(MEMBER_MAIN))
        sys.argv = [MEMBER_MAIN, *sys.argv[3:]]
        import member_main  # type: ignore[import-not-found]

        member_main.main()
        return
    puts = int(sys.argv[sys.argv.index("--puts") + 1]) if "--puts" in sys.argv else 1000
    with tempfile.TemporaryDirectory(prefix="trace-replication-", ignore_cleanup_errors=True) as root:
        cluster = TracedCluster(3, root, proxied=False)
        try:
            cluster.start_all()
            leader = cluster.leader()
            for i in range(3):
                cluster.call(i, "wait_ready", 15, timeout=20)
            client = cluster.client(leader)
            for i in range(200):  # warm-up: connections, caches
                client.call("put", f"warm/{i}", VALUE)
            time.sleep(0.5)
            cpu0 = [cpu_seconds(p.pid) for p in cluster.procs if p is not None]
            threads0 = thread_cpu(cluster.procs[leader].pid)  # type: ignore[union-attr]
            load0 = os.getloadavg()
            marks: list[tuple[int, int]] = []
            start = time.perf_counter()
            for i in range(puts):
                sent = _now()
                client.call("put", f"trace/{i}", VALUE)
                marks.append((sent, _now()))
            elapsed = time.perf_counter() - start
            cpu1 = [cpu_seconds(p.pid) for p in cluster.procs if p is not None]
            threads1 = thread_cpu(cluster.procs[leader].pid)  # type: ignore[union-attr]
            for i in range(3):
                open(cluster.trace(i) + ".dump", "w").close()
            deadline = time.monotonic() + 30
            while not all(os.path.exists(cluster.trace(i)) for i in range(3)) and time.monotonic() < deadline:
                time.sleep(0.1)
            traces = [read_trace(cluster.trace(i)) for i in range(3)]
        finally:
            cluster.stop_all()
    print(f"{puts} sequential puts, 1 client, {puts / elapsed:.0f}/s; load average before "
          f"{load0[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    print("CPU per put (us, user + system, all threads): " + ", ".join(
        f"{'leader' if i == leader else 'follower'} {(b[0] - a[0]) / puts * 1e6:.0f} + "
        f"{(b[1] - a[1]) / puts * 1e6:.0f}" for i, (a, b) in enumerate(zip(cpu0, cpu1))))
    busy = sorted(((threads1[tid] - threads0.get(tid, 0.0)) / puts * 1e6 for tid in threads1), reverse=True)
    print("leader CPU per put by thread (us, busiest first; the client's connection thread and the tick "
          "thread lead): " + ", ".join(f"{us:.0f}" for us in busy if us >= 1))
    span = (marks[0][0], marks[-1][1])
    for i in range(3):
        counts: dict[str, int] = defaultdict(int)
        for t, kind, _value in traces[i]:
            if span[0] <= t <= span[1]:
                counts[kind] += 1
        print(f"{'leader' if i == leader else 'follower'} events per put: " + ", ".join(
            f"{kind} {counts[kind] / puts:.2f}" for kind in ("wake", "tick", "sync0", "lsync", "recv:next_node_idx",
                                                              "recv:append_entries", "send:append_entries")))
    analyse(traces[leader], [traces[i] for i in range(3) if i != leader], marks)


if __name__ == "__main__":
    main()
