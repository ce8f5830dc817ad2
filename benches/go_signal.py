"""Client processes started apart and let go together, so that one interpreter's GIL does not bound a
measured rate: the parent starts every child, waits for each to print "ready", writes "go" to all and
times until each printed "done"; a child runs its threads' operations between the two.
Imported by name by the benches beside it (bench_replication, kvstore_table).
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["ChildFailed", "behind_a_barrier", "go_together", "run_on_go"]


class ChildFailed(RuntimeError):
    """A child did not print "ready" or "done"."""


def go_together(commands: Sequence[Sequence[str]], env: Mapping[str, str] | None = None) -> float:
    """Seconds from "go" to the last child's "done"; every child killed if still running, then reaped."""
    children = [subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env=None if env is None else dict(env)) for command in commands]
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise ChildFailed("a client process did not start")
        start = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "done":
                raise ChildFailed("a client process failed")
        return time.perf_counter() - start
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=30)


def behind_a_barrier(operations: Sequence[Callable[[int], Any]],
                     count: int) -> tuple[threading.Barrier, list[threading.Thread]]:
    """A started thread per operation, each calling it with 0 .. count-1 once the caller too has waited on
    the barrier returned (so that every thread is up before any is timed)."""
    barrier = threading.Barrier(len(operations) + 1)

    def loop(operation: Callable[[int], Any]) -> None:
        barrier.wait()
        for i in range(count):
            operation(i)

    threads = [threading.Thread(target=loop, args=(operation,)) for operation in operations]
    for thread in threads:
        thread.start()
    return barrier, threads


def run_on_go(operations: Sequence[Callable[[int], Any]], count: int) -> None:
    """The child's side: a thread per operation, each calling it with 0 .. count-1 once the parent says go."""
    barrier, threads = behind_a_barrier(operations, count)
    print("ready", flush=True)
    sys.stdin.readline()
    barrier.wait()
    for thread in threads:
        thread.join()
    print("done", flush=True)
