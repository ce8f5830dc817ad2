"""The interpreter's thread switch interval for a simulation run.

Every component of the simulated cluster is a thread of one process, under one GIL. A thread woken (a watch
event, a queued key, a timer) that finds the GIL held asks the holder to drop it after the switch interval
(CPython: 5 ms), and the holder waits until the woken thread has it: two context switches per forced
hand-over. With a dozen busy threads that is most of the process's context switches. Over 20 ms the
holder more often reaches a blocking call first (a hand-over without the forcing), and a woken consumer
finds more events queued when it runs: it takes them in one batch. docs/simulation.md has the figures.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

__all__ = ["SIMULATION_SWITCH_INTERVAL", "MAX_SWITCH_INTERVAL", "checked_switch_interval", "switch_interval"]

SIMULATION_SWITCH_INTERVAL = 0.02
MAX_SWITCH_INTERVAL = 1.0  # a thread that needs the GIL may wait this long for a busy one


def checked_switch_interval(seconds: float) -> float:
    """``seconds`` when it is a switch interval this module sets; ValueError naming the value otherwise."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_SWITCH_INTERVAL:
        raise ValueError(f"switch interval: invalid value {seconds!r}: must be a number of seconds > 0 and "
                         f"<= {MAX_SWITCH_INTERVAL:g}")
    return float(seconds)


@contextmanager
def switch_interval(seconds: float = SIMULATION_SWITCH_INTERVAL) -> Iterator[None]:
    """``sys.setswitchinterval(seconds)`` inside the block, the previous interval back on leaving.
    Process-wide: meant for an entry point that owns the process (``python -m borgsim``)."""
    checked = checked_switch_interval(seconds)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(checked)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
