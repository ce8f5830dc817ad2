"""Shared helpers of the replication tests: free ports, a tiny stand-in state machine, bounded waits."""
from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Any, Callable, Iterator, Sequence

SECRET = "replication-test-secret-0123456789"
WAIT = 30.0  # bound of a wait for the cluster to get somewhere: generous, since a loaded machine delays
# elections and replication by seconds, and a passing test never waits for it to run out


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now (held open together so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def leader_of(members: Sequence[Any]) -> Any:
    """The member of `members` (in-process Members) that all of them name as leader, once they agree.
    Waited for, not read once: on a loaded machine an election may be under way at any instant."""
    def agreed() -> Any:
        leading = [m for m in members if m.is_leader]
        named = {m.leader for m in members}
        return leading[0] if len(leading) == 1 and named == {leading[0]._raft.cluster.self_address} else None
    return wait_until(agreed, WAIT, "one leader named by every member")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """Poll `predicate` until truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class CounterMachine:
    """A minimal deterministic state machine: a dict and a revision counter."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.revision = 0

    def apply(self, command: Any) -> Any:
        self.revision += 1
        self.data[command[0]] = command[1]
        return self.revision

    def snapshot(self) -> Any:
        return {"data": self.data, "revision": self.revision}

    def restore(self, snapshot: Any) -> None:
        self.data = dict(snapshot["data"])
        self.revision = snapshot["revision"]


@contextlib.contextmanager
def in_process_members(directory: str, count: int = 3) -> Iterator[list[Any]]:
    """``count`` Raft members in this process on 127.0.0.1 (durable under ``directory``), ready; closed on exit.
    Their request_timeout lets a write wait out an election (a loaded machine holds some) instead of failing."""
    import kvstore
    from kvstore.replication import Cluster

    addresses = [f"127.0.0.1:{p}" for p in free_ports(count)]
    opened: list[Any] = []
    try:
        for i in range(count):
            cluster = Cluster(self_address=addresses[i], peers=addresses, secret=SECRET, request_timeout=WAIT)
            opened.append(kvstore.open(os.path.join(directory, f"m{i}"), cluster=cluster))
        for member in opened:
            member.wait_ready(15)
        yield opened
    finally:
        for member in opened:
            member.close()
