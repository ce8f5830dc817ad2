"""Equivalence-class indexes: node-local filter verdicts and scores of every node for one class of pods
(pods whose plugins' equivalence keys are equal), kept current by replaying the cache's change log.

``FilterIndex`` holds, per node position ``i`` (``NodeInfo.index``), the first failing filter status
(None when the node fits) and a ``SortedList`` of the positions that fit: kube-scheduler's sampling window
(the first ``numFeasibleNodesToFind`` feasible nodes from the round-robin start) is then found by
bisection. ``ScoreTable`` holds, per position, the weighted sum of the scores that need no normalization
and the raw scores of the normalizing plugins, computed on first need and dropped when the node changes.

A cycle then costs the nodes that changed since the class was last used (usually the one node the previous
pod went to) plus list operations over the window — not a plugin call per examined node.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from sortedcontainers import SortedList

from .cache import Cache
from .framework import Code, CycleState, NodeInfo, PluginFailure, Status

__all__ = ["FilterIndex", "ScoreTable"]


class _Tracked:
    """Follows the cache's change log; ``_pending()`` is the positions changed since the last call, or None
    when every position must be recomputed (nodes were added or removed, or the log was trimmed)."""

    __slots__ = ("cache", "topology", "cursor")

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.topology = -1
        self.cursor = 0

    def _pending(self) -> Optional[list[NodeInfo]]:
        cache = self.cache
        if self.topology != cache.topology_version:
            return None
        changed, self.cursor = cache.changes_since(self.cursor)
        return changed

    def _mark_synced(self) -> None:
        cache = self.cache
        self.topology = cache.topology_version
        self.cursor = cache.change_cursor()


class FilterIndex(_Tracked):
    """Node-local filter verdicts for one class (see the module docstring)."""

    __slots__ = ("status", "feasible", "filters")

    def __init__(self, cache: Cache, filters: Sequence[Any]) -> None:
        super().__init__(cache)
        self.status: list[Optional[Status]] = []
        self.feasible = SortedList()
        self.filters = tuple(filters)

    def sync(self, state: CycleState, pod: Any) -> int:
        """Bring every node's verdict up to date; returns how many nodes were evaluated."""
        changed = self._pending()
        if changed is None:
            return self._rebuild(state, pod)
        feasible = self.feasible
        status = self.status
        for ni in changed:
            i = ni.index
            if i < 0:
                continue
            was = status[i] is None
            verdict = self._evaluate(ni, state, pod)
            status[i] = verdict
            if verdict is None:
                if not was:
                    feasible.add(i)
            elif was:
                feasible.remove(i)
        return len(changed)

    def _rebuild(self, state: CycleState, pod: Any) -> int:
        nodes = self.cache.list()
        self.topology = -1  # stays invalid if a plugin fails half way
        self.status = [self._evaluate(ni, state, pod) for ni in nodes]
        self.feasible = SortedList(i for i, s in enumerate(self.status) if s is None)
        self._mark_synced()
        return len(nodes)

    def _evaluate(self, ni: NodeInfo, state: CycleState, pod: Any) -> Optional[Status]:
        for plugin in self.filters:
            status = plugin.filter(state, pod, ni)
            if status is not None and status.code != Code.SUCCESS:
                if status.plugin != plugin.name:
                    status = status.with_plugin(plugin.name)
                if status.code == Code.ERROR:
                    self.topology = -1
                    raise PluginFailure(status)
                return status
        return None

    def window(self, start: int, n: int, to_find: int) -> tuple[list[int], int]:
        """The feasible positions kube-scheduler's search finds from ``start`` (in search order), and how
        many nodes that search examined (``len(feasible) + len(statuses)``)."""
        feasible = self.feasible
        total = len(feasible)
        before = feasible.bisect_left(start)
        after = total - before
        if total >= to_find:
            if after >= to_find:
                positions = feasible[before:before + to_find]
            else:
                positions = feasible[before:] + feasible[:to_find - after]
            return positions, (positions[-1] - start) % n + 1
        return feasible[before:] + feasible[:before], n


class ScoreTable(_Tracked):
    """Node-local raw scores for one class: ``fixed[i]`` (weighted sum of non-normalizing plugins) and
    ``raw[i]`` (the normalizing plugins' raw scores), None until needed or after the node changed."""

    __slots__ = ("fixed", "raw", "scorers", "fixed_weights", "normalizing", "nonzero_raw")

    def __init__(self, cache: Cache, scorers: Sequence[Any]) -> None:
        super().__init__(cache)
        self.fixed: list[Optional[int]] = []
        self.raw: list[Optional[tuple[int, ...]]] = []
        self.scorers = tuple(scorers)
        self.fixed_weights = tuple((j, sp.weight) for j, sp in enumerate(scorers) if not sp.normalizes
                                   and getattr(sp.plugin, "default_normalize_reverse", None) is None)
        fixed_set = {j for j, _ in self.fixed_weights}
        self.normalizing = tuple(j for j in range(len(self.scorers)) if j not in fixed_set)
        self.nonzero_raw = 0  # positions whose normalizing raw scores are not all zero

    def totals(self, positions: Sequence[int], nodes: Sequence[NodeInfo], state: CycleState,
               pod: Any) -> list[int]:
        """The fixed sums for ``positions``, computing what is missing; ``column`` then reads raw scores."""
        changed = self._pending()
        if changed is None:
            n = len(nodes)
            self.fixed = [None] * n
            self.raw = [None] * n
            self.nonzero_raw = 0
            self._mark_synced()
        else:
            fixed = self.fixed
            for ni in changed:
                if ni.index >= 0:
                    fixed[ni.index] = None
        fixed = self.fixed
        totals = list(map(fixed.__getitem__, positions))
        if None in totals:
            k = totals.index(None)
            while True:
                i = positions[k]
                self._evaluate(i, nodes[i], state, pod)
                totals[k] = fixed[i]
                try:
                    k = totals.index(None, k + 1)
                except ValueError:
                    break
        return totals  # type: ignore[return-value]

    def column(self, positions: Sequence[int], index: int) -> list[int]:
        """The raw scores of the ``index``-th normalizing plugin at ``positions`` (after ``totals``)."""
        raw = self.raw
        return [raw[i][index] for i in positions]  # type: ignore[index]

    def _evaluate(self, i: int, ni: NodeInfo, state: CycleState, pod: Any) -> None:
        scorers = self.scorers
        raw = [sp.plugin.score(state, pod, ni) for sp in scorers]
        total = 0
        for j, weight in self.fixed_weights:
            score = raw[j]
            if not 0 <= score <= 100:
                raise PluginFailure(Status.error(
                    f"plugin {scorers[j].name!r} returns an invalid score {score} for node {ni.name!r}: it must "
                    f"be in 0..100").with_plugin(scorers[j].name))
            total += score * weight
        old = self.raw[i]
        new = tuple([raw[j] for j in self.normalizing])
        self.nonzero_raw += (any(new) if new else 0) - (any(old) if old else 0)
        self.raw[i] = new
        self.fixed[i] = total
