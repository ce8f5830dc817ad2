"""The equivalence-class path of a cycle, taken when every active filter plugin is node-local.

It makes the same decisions as the plain path (``nodewalk.find_feasible`` + ``prioritize``) — the same
window, PreScore on the same feasible nodes, the same totals in the same order, the same random draws —
with the verdicts and the node-local scores read from the class's ``FilterIndex`` / ``ScoreTable``
(``classindex.py``). ``indexed_window`` finds the window, ``indexed_pick`` scores it; the scheduler moves the
round-robin start between the two, as the plain walk does before scoring.

Nominated pods: a class's index is per pod priority and holds ``RunFilterPluginsWithNominatedPods``
verdicts (every pod nominated to a node with that priority or more). The pod's own nominated node, which it
has just failed (``own_status``), is the one node it sees differently.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Optional, Sequence

from ..cache import Cache
from ..framework import CycleState, Framework, NodeInfo, Status, TabledScores
from ..metrics import Metrics
from .classindex import FilterIndex, runs_of
from .nominator import Nominations
from .selection import (Profile, Window, add_weighted, hybrid_window, normalized, num_feasible_nodes_to_find,
                        plain_scores, pre_score, select, select_tabled)

__all__ = ["IndexedWindow", "indexed_window", "indexed_pick"]


@dataclass
class IndexedWindow:
    """What a class index found: the feasible positions in window order, how many nodes were examined, and
    the index with the per-node overrides (the statuses of a pod that fits nowhere, ``IndexedStatuses``)."""

    index: FilterIndex
    positions: list[int]
    processed: int
    overrides: dict[str, Status]
    spans: Optional[tuple[tuple[int, int], ...]] = None  # ``positions`` as runs of consecutive nodes, if so


def _pre_filter_extensions_active(fwk: Framework, state: CycleState, filters: Sequence[Any]) -> bool:
    """Whether a node-local filter plugin has PreFilter extensions (AddPod) that nominated pods use."""
    names = {p.name for p in filters} - state.skip_filter_plugins
    return any(p.name in names and p.pre_filter_extensions() is not None for p in fwk.pre_filter_plugins)


def indexed_window(prof: Profile, state: CycleState, pod: Any, keys: Mapping[str, Hashable],
                   nodes: list[NodeInfo], start: int, own_status: Optional[Status], cache: Cache,
                   nominations: Nominations, metrics: Metrics) -> Optional[IndexedWindow]:
    """The sampling window from ``start`` read from the pod's class index; None when the pod does not
    qualify (then the plain walk decides)."""
    fwk = prof.framework
    skip = state.skip_filter_plugins
    active = [p for p in fwk.filter_plugins if not (skip and p.name in skip)]
    if not active:
        return None
    filters = [p for p in active if keys[p.name] is not None]
    plain = [p for p in active if keys[p.name] is None]
    priority = pod.priority_value
    if plain and (own_status is not None or (nominations and nominations.by_node(priority, pod.key))):
        return None  # the plugins that are not node-local must see the nominated pods: the plain walk
    if nominations and _pre_filter_extensions_active(fwk, state, filters):
        return None  # adding a nominated pod must go through PreFilter extensions: the plain walk
    index = prof.filter_index((tuple([(p.name, keys[p.name]) for p in filters]), priority), cache, filters)
    if index is None:
        return None
    if index.nominated is None:  # a new index: its verdicts leave room for the pods nominated there
        index.nominated = functools.partial(nominations.relevant, priority=priority)
    metrics.equivalence_cache_misses += index.sync(state, pod)
    n = len(nodes)
    to_find = num_feasible_nodes_to_find(fwk.percentage_of_nodes_to_score, n)
    overrides: dict[str, Status] = {}
    own = -1
    if own_status is not None:
        own_info = cache.find(pod.status.nominated_node_name)
        if own_info is not None:
            overrides[own_info.name] = own_status
            own = own_info.index
    if plain:
        positions, processed = hybrid_window(index, plain, state, pod, nodes, start, to_find)
        if not positions:
            return None  # nothing fits: the plain walk gathers every node's first failing status
    else:
        positions, processed = index.window(start, n, to_find, own)
        if own < 0:  # a rotation of the sorted feasible positions: what runs_of reads
            spans = runs_of(positions, n)
            metrics.indexed_cycles += 1
            metrics.equivalence_cache_hits += processed
            return IndexedWindow(index, positions, processed, overrides, spans)
    metrics.indexed_cycles += 1
    metrics.equivalence_cache_hits += processed
    return IndexedWindow(index, positions, processed, overrides)


def indexed_pick(prof: Profile, state: CycleState, pod: Any, keys: Mapping[str, Hashable], feasible: Window,
                 cache: Cache, rng: random.Random) -> str:
    """PreScore, then the totals — node-local scores from the class's ``ScoreTable``, the others plainly —
    and the seeded pick among the best: the chosen node's name."""
    fwk = prof.framework
    active = pre_score(fwk, state, pod, feasible)
    keyed = [sp for sp in active if keys[sp.name] is not None]
    positions, nodes = feasible.positions, feasible.base
    totals: list[int]
    if keyed:
        table = prof.score_table(tuple([(sp.name, keys[sp.name]) for sp in keyed]), cache, keyed)
        totals = table.totals(positions, nodes, state, pod, feasible.pick, feasible.spans)
        # All-zero raw scores normalize to one constant per plugin, which moves every total alike.
        for column_index, j in enumerate(table.normalizing if table.nonzero_raw else ()):
            sp = keyed[j]
            column = table.column(positions, column_index)
            totals = add_weighted(totals, sp.weight, normalized(fwk, sp, state, pod, feasible, column))
    else:
        totals = [0] * len(feasible)
    plain = [sp for sp in active if keys[sp.name] is None]
    for sp in plain[:-1]:
        totals = add_weighted(totals, sp.weight, plain_scores(fwk, sp, state, pod, feasible))
    if not plain:
        return feasible[select(totals, rng)].name
    sp = plain[-1]
    scores = plain_scores(fwk, sp, state, pod, feasible)
    if len(plain) == 1 and keyed and not (table.nonzero_raw and table.normalizing) \
            and type(scores) is TabledScores and type(scores.keys) is bytearray:
        # The usual cycle: the class's sums plus PodTopologySpread's scores keyed by counts. Selected from
        # their byte codes, without the totals built (the same position, the same draw).
        codes = table.codes_at(feasible.pick)
        if codes is not None:
            at = select_tabled(codes, table.values, table.by_value, scores.keys, scores.table, sp.weight, rng)
            if at is not None:
                return feasible[at].name
    return feasible[select(add_weighted(totals, sp.weight, scores), rng)].name
