"""The plain path of a cycle: the filter walk from the round-robin start and the scoring of what it found.

Every node examined is filtered; node-local plugins' verdicts and scores are still read from the
per-class dictionaries (``Profile.filter_class`` / ``score_class``) while the node's ``generation`` is
unchanged, and the cluster-wide plugins run plainly. Nominated pods are added on copies of their nodes
(``RunFilterPluginsWithNominatedPods``). ``classlookup.py`` makes the same decisions faster when every
active filter is node-local; this path serves every other cycle.
"""
from __future__ import annotations

import random
from typing import Any, Hashable, Mapping, Optional, Sequence

from ..framework import Code, CycleState, Framework, NodeInfo, PluginFailure, Status
from ..metrics import Metrics
from .selection import (Profile, add_weighted, bad_score, normalized, num_feasible_nodes_to_find, plain_scores,
                        pre_score, run_filters, select)

__all__ = ["filter_with_nominated", "find_feasible", "prioritize"]


def filter_with_nominated(fwk: Framework, state: CycleState, pod: Any, ni: NodeInfo,
                          nominated: list[Any]) -> Optional[Status]:
    """``RunFilterPluginsWithNominatedPods``: the node must fit the pod both with the nominated pods
    added (on copies) and without them."""
    if not nominated:
        status = fwk.run_filter_plugins(state, pod, ni)
        return None if status.is_success else status
    state_with = state.clone()
    info_with = ni.clone()
    for other in nominated:
        info_with.add_pod(other)
        status = fwk.run_pre_filter_extension_add_pod(state_with, pod, other, info_with)
        if status is not None and not status.is_success:
            return status
    status = fwk.run_filter_plugins(state_with, pod, info_with)
    if status.is_success:
        status = fwk.run_filter_plugins(state, pod, ni)
    return None if status.is_success else status


def find_feasible(prof: Profile, state: CycleState, pod: Any, keys: Mapping[str, Hashable],
                  nodes: Sequence[NodeInfo], start: int, statuses: dict[str, Status],
                  nominated: Optional[Mapping[str, list[Any]]], metrics: Metrics) -> tuple[list[NodeInfo], int]:
    """Filter from the round-robin ``start`` until enough nodes fit (``findNodesThatPassFilters``); the
    rejected nodes' statuses go into ``statuses``. Returns the feasible nodes and the next cycle's start."""
    fwk = prof.framework
    n = len(nodes)
    if n == 0:
        return [], start
    to_find = num_feasible_nodes_to_find(fwk.percentage_of_nodes_to_score, n)
    start %= n
    skip = state.skip_filter_plugins
    active = [(pos, p) for pos, p in enumerate(fwk.filter_plugins) if not (skip and p.name in skip)]
    if not active:
        take = min(to_find, n)
        feasible = [nodes[(start + i) % n] for i in range(take)]
        return feasible, (start + take) % n
    cached = [(pos, p) for pos, p in active if keys[p.name] is not None]
    plain = [(pos, p) for pos, p in active if keys[p.name] is None]
    table = prof.filter_class(tuple((p.name, keys[p.name]) for _, p in cached))
    lookup = table.get
    feasible: list[NodeInfo] = []
    append = feasible.append
    misses = 0
    processed = 0
    for i in range(start, start + n):
        ni = nodes[i - n if i >= n else i]
        processed += 1
        if nominated and ni.name in nominated:
            found = filter_with_nominated(fwk, state, pod, ni, nominated[ni.name])
        else:
            entry = lookup(ni)
            if entry is None or entry[0] != ni.generation:
                misses += 1
                entry = run_filters(cached, state, pod, ni)
                if entry[1] is None or entry[1].code != Code.ERROR:
                    table[ni] = entry
            found = entry[1]
            if plain:
                fail_pos = entry[2]
                for pos, plugin in plain:
                    if pos > fail_pos:
                        break
                    s = plugin.filter(state, pod, ni)
                    if s is not None and s.code != Code.SUCCESS:
                        found = s if s.plugin == plugin.name else s.with_plugin(plugin.name)
                        break
        if found is None:
            append(ni)
            if len(feasible) >= to_find:
                break
        elif found.code == Code.ERROR:
            raise PluginFailure(found)
        else:
            statuses[ni.name] = found
    # As kube-scheduler: processed = feasible + rejected (including nodes PreFilter's result excluded).
    metrics.equivalence_cache_misses += misses
    metrics.equivalence_cache_hits += processed - misses
    return feasible, (start + len(feasible) + len(statuses)) % n


def prioritize(prof: Profile, state: CycleState, pod: Any, keys: Mapping[str, Hashable],
               feasible: list[NodeInfo], rng: random.Random) -> str:
    """PreScore, Score, NormalizeScore, weights, then the highest total (ties at random)."""
    active = pre_score(prof.framework, state, pod, feasible)
    if not active:
        totals = [0] * len(feasible)
    else:
        totals = _totals(prof, state, pod, keys, feasible, active)
    return feasible[select(totals, rng)].name


def _totals(prof: Profile, state: CycleState, pod: Any, keys: Mapping[str, Hashable],
            feasible: list[NodeInfo], active: list[Any]) -> list[int]:
    """Every feasible node's weighted total: node-local scores from the class's cache, the others plainly."""
    fwk = prof.framework
    cached = [sp for sp in active if keys[sp.name] is not None]
    plain = [sp for sp in active if keys[sp.name] is None]
    totals: list[int]
    if cached:
        table = prof.score_class(tuple((sp.name, keys[sp.name]) for sp in cached))
        fixed = [(j, sp.weight) for j, sp in enumerate(cached) if not sp.normalizes]
        rows = []
        for ni in feasible:
            entry = table.get(ni)
            if entry is None or entry[0] != ni.generation:
                raw = tuple([sp.plugin.score(state, pod, ni) for sp in cached])
                for j, _ in fixed:
                    if not 0 <= raw[j] <= 100:
                        raise PluginFailure(bad_score(cached[j].name, raw[j], ni.name))
                entry = (ni.generation, raw, sum(raw[j] * w for j, w in fixed))
                table[ni] = entry
            rows.append(entry)
        totals = [e[2] for e in rows]
        for j, sp in enumerate(cached):
            if sp.normalizes:
                column = [e[1][j] for e in rows]
                totals = add_weighted(totals, sp.weight, normalized(fwk, sp, state, pod, feasible, column))
    else:
        totals = [0] * len(feasible)
    for sp in plain:
        totals = add_weighted(totals, sp.weight, plain_scores(fwk, sp, state, pod, feasible))
    return totals
