"""Preemption's dry runs kept for one class of pods: every node's ``SelectVictimsOnNode`` answer, current with
the scheduler's cache, and the positions of the nodes where preemption works (candidates) in a ``SortedList``.

DefaultPreemption searches from a random offset until it has ``numCandidates`` candidates; with the
candidates sorted by position, that search walks only candidates (bisection finds the offset), not every
node that cannot help. A node's dry run depends only on the node, the pods nominated there and the class
(pod requirements, priority, PDBs), so it is evaluated again only when the cache logs the node as changed.

A dry run is kept as ``DryRun``: (victims most important first, PDB violations, failure status or None,
the pick order key). The pick order key is ``pickOneNodeForPreemption``'s criteria in one tuple: fewest PDB
violations, lowest highest-victim priority, smallest priority sum, fewest victims, latest start of the
highest-priority victims — so the chosen node is the first found among the smallest keys.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Callable, Iterator, Optional

from sortedcontainers import SortedList

from ..cycle.classindex import NodeTable
from ..framework import NodeInfo, Status

__all__ = ["DryRun", "DryRunTable", "dry_run", "pick_key"]

MAX_INT32_PLUS_1 = 2**31

DryRun = tuple[list[Any], int, Optional[Status], tuple]
NO_KEY: tuple = ()


def _started_at(start: Optional[str]) -> float:
    """``status.startTime`` in seconds; a pod without one counts as started now, after every other."""
    if not start:
        return math.inf
    try:
        return datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return math.inf


def pick_key(victims: list[Any], violations: int) -> tuple:
    """``pickOneNodeForPreemption``'s order of a candidate (smaller is better), victims most important first."""
    top = victims[0].priority_value
    earliest_top = min(_started_at(v.status.start_time) for v in victims if v.priority_value == top)
    return (violations, top, sum(v.priority_value + MAX_INT32_PLUS_1 for v in victims), len(victims),
            -earliest_top)


def dry_run(victims: list[Any], violations: int, status: Optional[Status]) -> DryRun:
    """A ``SelectVictimsOnNode`` answer with its pick key (none when the node is no candidate)."""
    if status is not None or not victims:
        return victims, violations, status, NO_KEY
    return victims, violations, status, pick_key(victims, violations)


def is_candidate(entry: DryRun) -> bool:
    return entry[2] is None and bool(entry[0])


def _set_member(members: SortedList, position: int, member: bool) -> None:
    if member and position not in members:
        members.add(position)
    elif not member and position in members:
        members.remove(position)


class DryRunTable:
    """Every node's dry run for one class, and the candidates' positions in node order."""

    __slots__ = ("table", "candidates", "clean")

    def __init__(self, cache: Any) -> None:
        self.table = NodeTable(cache)
        self.candidates = SortedList()
        self.clean = SortedList()  # the candidates whose victims violate no PodDisruptionBudget

    def update(self, nodes: list[NodeInfo], evaluate: Callable[[NodeInfo], DryRun]) -> list[DryRun]:
        """Evaluate the nodes that changed (all of them the first time); returns the dry runs by position."""
        changed = self.table.refresh()
        values = self.table.values
        if changed is None:
            self.candidates = SortedList()
            self.clean = SortedList()
            changed = range(len(values))
        for i in changed:
            entry = values[i] = evaluate(nodes[i])
            candidate = is_candidate(entry)
            _set_member(self.candidates, i, candidate)
            _set_member(self.clean, i, candidate and entry[1] == 0)
        return values

    def search(self, offset: int, n: int, wanted: int) -> list[int]:
        """The candidates DryRunPreemption's search from ``offset`` collects, in search order: the first
        ``wanted``, or more until one without PDB violations is among them (all when there is none)."""
        candidates = self.candidates
        total = len(candidates)
        before = candidates.bisect_left(offset)
        in_order = candidates[before:] + candidates[:before] if total <= wanted else (
            candidates[before:before + wanted] if total - before >= wanted
            else candidates[before:] + candidates[:wanted - (total - before)])
        if not in_order:
            return in_order
        clean = self.clean
        if not clean:
            return candidates[before:] + candidates[:before]
        at = clean.bisect_left(offset)
        first_clean = clean[at] if at < len(clean) else clean[0]
        if (first_clean - offset) % n <= (in_order[-1] - offset) % n:
            return in_order
        # Go on until the first clean candidate.
        if first_clean >= offset:
            return candidates[before:candidates.bisect_right(first_clean)]
        return candidates[before:] + candidates[:candidates.bisect_right(first_clean)]

    def in_search_order(self, offset: int) -> Iterator[int]:
        """The candidates' positions as a search from ``offset`` meets them."""
        candidates = self.candidates
        before = candidates.bisect_left(offset)
        yield from candidates.islice(before)
        yield from candidates.islice(0, before)
