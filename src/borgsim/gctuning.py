"""The cyclic garbage collector's settings for a simulation run.

A simulated cluster allocates some fifty container objects per pod that live as long as the pod (decoded
revisions, their conditions, the informers' and the scheduler's entries). Under CPython's default thresholds
(700, 10, 10) the heap's growth keeps triggering full collections, each of which walks every object alive:
measured on the density phase at 100 nodes x 10,000 pods, 8 full collections took 1.8 s of a 10 s run, and
the young generations another 0.5 s. Objects that live as long as the run (modules, the started cluster)
are frozen so no collection walks them again (the approach of servers that freeze their start-up heap, as
Instagram's ``gc.freeze``); then either the young generation is collected every 50,000 net allocations
instead of 700 (:func:`tuned_gc`), or not at all until the run ends (:func:`collector_off`, borgsim's
default: in every phase of its scenarios the young collections found no cycle, while walking the young
objects cost about 8 % of the CPU at 5,000 nodes). Reference counting frees everything that is not in a
cycle at once either way. docs/simulation.md has the figures of each setting.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

__all__ = ["SIMULATION_THRESHOLDS", "tuned_gc", "collector_off"]

SIMULATION_THRESHOLDS: tuple[int, int, int] = (50_000, 20, 10)


@contextmanager
def tuned_gc(thresholds: tuple[int, int, int] = SIMULATION_THRESHOLDS) -> Iterator[None]:
    """Freeze the objects alive now and collect with ``thresholds`` inside the block; on leaving, the
    previous thresholds are back and the frozen objects are collectable again. Process-wide: meant for an
    entry point that owns the process (``python -m borgsim``), not for a library call."""
    if len(thresholds) != 3 or any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in thresholds):
        raise ValueError(f"thresholds: invalid value {thresholds!r}: must be three integers >= 1")
    previous, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        if not frozen_before:  # someone else's frozen objects stay frozen
            gc.unfreeze()


@contextmanager
def collector_off() -> Iterator[list[int]]:
    """Freeze the objects alive now and turn the cyclic collector off inside the block: reference counting
    still frees every object that is not in a cycle, at once; cycles wait for the end. On leaving, one
    collection over what the block allocated frees the cycles it left (their count is appended to the list
    the block gets), then the frozen objects are collectable again and the collector is as it was.
    Process-wide, as :func:`tuned_gc`. For a run whose young collections find nothing: in borgsim's phases
    they collected no object at all, and walking the young objects, which point into a large heap, cost about
    8 % of the density phase's CPU at 5,000 nodes (docs/simulation.md)."""
    was_enabled, frozen_before = gc.isenabled(), gc.get_freeze_count()
    gc.freeze()
    gc.disable()
    cycles: list[int] = []
    try:
        yield cycles
    finally:
        cycles.append(gc.collect())  # the frozen objects are not walked: only what the block allocated
        if not frozen_before:  # someone else's frozen objects stay frozen
            gc.unfreeze()
        if was_enabled:
            gc.enable()
