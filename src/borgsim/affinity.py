"""One CPU for every thread of the simulated cluster while the scenario runs.

The whole cluster is threads of one process under one GIL, so at most one of them runs Python at a time
whatever the CPUs. Spread over several CPUs, a thread woken on another CPU spins for the GIL there while the
holder runs: the hand-over crosses CPUs and caches (the "convoy" of CPython's GIL on multi-core machines), and
the kernel's wake-ups cost system time. Pinned to one CPU, the woken thread simply waits its turn. Measured on
the density phase at 100 nodes x 10,000 pods (2 cores, load 1.7-1.8, alternating): 2,384 and 2,332 pods
Running/s pinned (system time 0.16 s) against 1,632 and 1,639 spread (0.96 and 0.87 s); docs/simulation.md
has the figures. Child processes (the Raft members of ``--cluster``) are started before and keep their own
CPUs. Linux only (``/proc/self/task``); elsewhere, or with a single allowed CPU, nothing changes.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Optional

__all__ = ["one_cpu"]

_TASKS = "/proc/self/task"


def _thread_ids() -> list[int]:
    return [int(name) for name in os.listdir(_TASKS)]


def _cpu_of_this_thread() -> Optional[int]:
    """The CPU this thread last ran on (field 39 of /proc/thread-self/stat), None if unreadable."""
    try:
        with open("/proc/thread-self/stat") as f:
            stat = f.read()
        return int(stat.rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def _set(tid: int, cpus: set[int]) -> None:
    try:
        os.sched_setaffinity(tid, cpus)
    except (ProcessLookupError, PermissionError):
        pass  # the thread ended meanwhile, or is not ours to move


@contextmanager
def one_cpu(cpu: Optional[int] = None) -> Iterator[Optional[int]]:
    """Pin every thread of this process to ``cpu`` (default: the CPU this thread runs on) inside the block,
    and give every thread the process's previous CPUs back on leaving; threads started inside inherit the pin.
    Yields the CPU, or None when nothing was pinned (not Linux, or one CPU allowed). Process-wide: meant for an
    entry point that owns the process (``python -m borgsim``)."""
    if not hasattr(os, "sched_setaffinity") or not os.path.isdir(_TASKS):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    if cpu is not None and cpu not in allowed:
        raise ValueError(f"cpu: invalid value {cpu!r}: must be one of this process's CPUs {sorted(allowed)}")
    if len(allowed) < 2:
        yield None
        return
    if cpu is None:
        here = _cpu_of_this_thread()
        cpu = here if here in allowed else min(allowed)
    for tid in _thread_ids():
        _set(tid, {cpu})
    try:
        yield cpu
    finally:
        for tid in _thread_ids():
            _set(tid, allowed)
