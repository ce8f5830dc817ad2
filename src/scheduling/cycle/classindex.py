"""Equivalence-class indexes: node-local filter verdicts and scores of every node for one class of pods
(pods whose plugins' equivalence keys are equal), kept current by replaying the cache's change log.

``FilterIndex`` holds, per node position ``i`` (``NodeInfo.index``), the first failing filter status
(None when the node fits) and a ``SortedList`` of the positions that fit: kube-scheduler's sampling window
(the first ``numFeasibleNodesToFind`` feasible nodes from the round-robin start) is then found by
bisection. ``ScoreTable`` holds, per position, the weighted sum of the scores that need no normalization
and the raw scores of the normalizing plugins, computed on first need and dropped when the node changes.

A cycle then costs the nodes that changed since the class was last used (usually the one node the previous
pod went to) plus list operations over the window — not a plugin call per examined node.

Nominated pods (preemption's): a ``FilterIndex`` built with ``nominated`` (node name -> the pods nominated
there that this class must leave room for) gives each node kube-scheduler's
``RunFilterPluginsWithNominatedPods`` verdict — the filters with those pods added on a copy of the node, then
without them. The scheduler logs a node as changed when its nominations change, so only that node is
evaluated again. The index also keeps the count of every failure reason and of UnschedulableAndUnresolvable
nodes, so that a pod that fits nowhere gets its message and its ``IndexedStatuses`` without a pass over
every node.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from sortedcontainers import SortedList

from ..cache import Cache
from ..framework import Code, CycleState, NodeInfo, PluginFailure, Status

__all__ = ["FilterIndex", "ScoreTable", "IndexedStatuses", "NodeTable"]

NominatedLookup = Callable[[str], Sequence[Any]]


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


def _tally(counts: dict[str, int], key: str, delta: int) -> None:
    """Add ``delta`` to ``counts[key]``, dropping the key when it reaches zero."""
    left = counts.get(key, 0) + delta
    if left:
        counts[key] = left
    else:
        del counts[key]


class NodeTable(_Tracked):
    """One value per node position for one class, computed on demand by its user and dropped when the node
    changes (the change log); preemption keeps its dry runs here."""

    __slots__ = ("values",)

    def __init__(self, cache: Cache) -> None:
        super().__init__(cache)
        self.values: list[Any] = []

    def current(self) -> list[Any]:
        """The values by ``NodeInfo.index``, None where unknown or stale; the caller fills them in."""
        self.refresh()
        return self.values

    def refresh(self) -> Optional[list[int]]:
        """Drop the values of the nodes that changed and return their positions; None when every value was
        dropped (nodes were added or removed)."""
        changed = self._pending()
        if changed is None:
            self.values = [None] * len(self.cache.list())
            self._mark_synced()
            return None
        values = self.values
        positions = [ni.index for ni in changed if ni.index >= 0]
        for i in positions:
            values[i] = None
        return positions


class FilterIndex(_Tracked):
    """Node-local filter verdicts for one class (see the module docstring)."""

    __slots__ = ("status", "feasible", "filters", "nominated", "reasons", "plugins", "unresolvable")

    def __init__(self, cache: Cache, filters: Sequence[Any], nominated: Optional[NominatedLookup] = None) -> None:
        super().__init__(cache)
        self.status: list[Optional[Status]] = []
        self.feasible = SortedList()
        self.filters = tuple(filters)
        self.nominated = nominated
        self.reasons: dict[str, int] = {}  # reason -> how many nodes' statuses give it
        self.plugins: dict[str, int] = {}  # rejecting plugin -> on how many nodes
        self.unresolvable = 0  # nodes whose status is UnschedulableAndUnresolvable

    def sync(self, state: CycleState, pod: Any) -> int:
        """Bring every node's verdict up to date; returns how many nodes were evaluated."""
        changed = self._pending()
        if changed is None:
            return self._rebuild(state, pod)
        feasible = self.feasible
        status = self.status
        count = self._count
        for ni in changed:
            i = ni.index
            if i < 0:
                continue
            old = status[i]
            verdict = self._evaluate(ni, state, pod)
            status[i] = verdict
            if verdict is None:
                if old is not None:
                    count(old, -1)
                    feasible.add(i)
            elif old is None:
                count(verdict, 1)
                feasible.remove(i)
            elif old is not verdict:
                count(old, -1)
                count(verdict, 1)
        return len(changed)

    def _count(self, status: Status, delta: int) -> None:
        for reason in status.reasons:
            _tally(self.reasons, reason, delta)
        _tally(self.plugins, status.plugin, delta)
        if status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            self.unresolvable += delta

    def _rebuild(self, state: CycleState, pod: Any) -> int:
        nodes = self.cache.list()
        self.topology = -1  # stays invalid if a plugin fails half way
        self.status = [self._evaluate(ni, state, pod) for ni in nodes]
        self.feasible = SortedList(i for i, s in enumerate(self.status) if s is None)
        self.reasons = {}
        self.plugins = {}
        self.unresolvable = 0
        for s in self.status:
            if s is not None:
                self._count(s, 1)
        self._mark_synced()
        return len(nodes)

    def _evaluate(self, ni: NodeInfo, state: CycleState, pod: Any) -> Optional[Status]:
        nominated = self.nominated(ni.name) if self.nominated is not None else None
        if nominated:
            with_nominated = ni.clone()
            for other in nominated:
                with_nominated.add_pod(other)
            status = self._first_failure(with_nominated, state, pod)
            if status is not None:
                return status
        return self._first_failure(ni, state, pod)

    def _first_failure(self, ni: NodeInfo, state: CycleState, pod: Any) -> Optional[Status]:
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

    def window(self, start: int, n: int, to_find: int, exclude: int = -1) -> tuple[list[int], int]:
        """The feasible positions kube-scheduler's search finds from ``start`` (in search order), and how
        many nodes that search examined (``len(feasible) + len(statuses)``). ``exclude``: a position known
        not to fit this pod although the class's verdict says it does (the pod's own nominated node)."""
        if exclude >= 0:
            positions, examined = self.window(start, n, to_find + 1)
            positions = [i for i in positions if i != exclude]
            if len(positions) >= to_find:
                del positions[to_find:]
                return positions, (positions[-1] - start) % n + 1
            return positions, n
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


def runs_of(positions: Sequence[int], n: int) -> Optional[tuple[tuple[int, int], ...]]:
    """``positions`` — a rotation of a sorted list of distinct positions in ``range(n)``, as ``window``
    returns them — as one run ``((a, b),)`` or two runs ``((a, n), (0, b))`` of consecutive positions when
    they are that, else None. Reads the two ends only: a rotation's part from its first item up holds at most
    ``n - first`` positions, the part below at most ``last + 1``; the length tells whether both are full."""
    k = len(positions)
    if k < 2:
        return None
    first, last = positions[0], positions[-1]
    if first <= last:
        return ((first, last + 1),) if last - first == k - 1 else None
    if (n - first) + (last + 1) == k:
        return (first, n), (0, last + 1)
    return None


class IndexedStatuses(Mapping[str, Status]):
    """Every rejected node's filter status in one cycle (kube-scheduler's ``NodeToStatus``), read from a
    class's ``FilterIndex`` plus ``overrides`` (nodes this pod sees differently from its class: its own
    nominated node). Lookups are O(1); only iterating walks the nodes. Valid until the cycle ends."""

    __slots__ = ("_index", "_cache", "_overrides")

    def __init__(self, index: FilterIndex, cache: Cache, overrides: Optional[Mapping[str, Status]] = None) -> None:
        self._index = index
        self._cache = cache
        self._overrides = dict(overrides or {})

    def _base(self, name: str) -> Optional[Status]:
        ni = self._cache.find(name)
        return None if ni is None or ni.index < 0 else self._index.status[ni.index]

    def __getitem__(self, name: str) -> Status:
        status = self._overrides.get(name)
        if status is None:
            status = self._base(name)
        if status is None:
            raise KeyError(name)
        return status

    def __iter__(self) -> Iterator[str]:
        overrides = self._overrides
        status = self._index.status
        for i, ni in enumerate(self._cache.list()):
            if ni.name in overrides or status[i] is not None:
                yield ni.name

    def __len__(self) -> int:
        extra = sum(1 for name in self._overrides if self._base(name) is None)
        return len(self._index.status) - len(self._index.feasible) + extra

    def reason_counts(self) -> dict[str, int]:
        """How many rejected nodes give each reason (what the "0/N nodes are available" message counts)."""
        counts = dict(self._index.reasons)
        for name, status in self._overrides.items():
            for s, delta in ((self._base(name), -1), (status, 1)):
                for reason in s.reasons if s is not None else ():
                    counts[reason] = counts.get(reason, 0) + delta
        return {reason: n for reason, n in counts.items() if n}

    def rejecting_plugins(self) -> set[str]:
        """The plugins that rejected at least one node."""
        counts = dict(self._index.plugins)
        for name, status in self._overrides.items():
            base = self._base(name)
            if base is not None:
                counts[base.plugin] -= 1
            counts[status.plugin] = counts.get(status.plugin, 0) + 1
        return {plugin for plugin, n in counts.items() if n > 0 and plugin}

    def unresolvable_count(self) -> int:
        """How many nodes are UnschedulableAndUnresolvable (preemption cannot help there)."""
        count = self._index.unresolvable
        for name, status in self._overrides.items():
            base = self._base(name)
            count += (status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE) - (
                base is not None and base.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE)
        return count


class ScoreTable(_Tracked):
    """Node-local raw scores for one class: ``fixed[i]`` (weighted sum of non-normalizing plugins) and
    ``raw[i]`` (the normalizing plugins' raw scores), None until needed or after the node changed."""

    __slots__ = ("fixed", "raw", "scorers", "fixed_weights", "normalizing", "nonzero_raw", "stale",
                 "_stale_room", "codes", "values", "by_value", "_code_of")

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
        # The positions whose sums are None (the nodes changed since a window last read them, about one per
        # cycle since): a window's totals are scanned for None only when this is not the smaller search.
        self.stale: set[int] = set()
        self._stale_room = 0  # the most positions ``stale`` held since it was last built
        # The sums as byte codes, for a selection read at memchr speed (``selection.select_tabled``): a node's
        # sum is ``values[codes[i]]`` once computed (a stale position's code means nothing); ``by_value`` lists
        # the codes from the highest sum down. None once the nodes' sums took too many values (until the
        # next rebuild).
        self.codes: Optional[bytearray] = None
        self.values: list[int] = []
        self.by_value: list[int] = []
        self._code_of: dict[int, int] = {}

    @property
    def missing(self) -> int:
        """How many positions have no sums (None in ``fixed``)."""
        return len(self.stale)

    def totals(self, positions: Sequence[int], nodes: Sequence[NodeInfo], state: CycleState,
               pod: Any, pick: Optional[Callable[[Sequence[Any]], list[Any]]] = None,
               spans: Optional[Sequence[tuple[int, int]]] = None) -> list[int]:
        """The fixed sums for ``positions``, computing what is missing; ``column`` then reads raw scores.
        ``pick``: what reads a list's items at ``positions`` (``Window.pick``); ``spans``: the positions are
        exactly these ranges of ``nodes``, in order (``Window.spans``)."""
        changed = self._pending()
        if changed is None:
            n = len(nodes)
            self.fixed = [None] * n
            self.raw = [None] * n
            self.nonzero_raw = 0
            self.stale = set(range(n))
            self._stale_room = n
            self.codes = bytearray(n)
            self.values, self.by_value, self._code_of = [], [], {}
            self._mark_synced()
        else:
            fixed = self.fixed
            stale = self.stale
            for ni in changed:
                i = ni.index
                if i >= 0 and fixed[i] is not None:
                    fixed[i] = None
                    stale.add(i)
            if len(stale) > self._stale_room:
                self._stale_room = len(stale)
        fixed = self.fixed
        # itemgetter picks every position in one C call: half the cost of a map over __getitem__.
        if pick is not None:
            totals = pick(fixed)
        elif len(positions) > 1:
            totals = list(operator.itemgetter(*positions)(fixed))
        else:
            totals = [fixed[i] for i in positions]
        stale = self.stale
        if not stale:
            return totals  # type: ignore[return-value]
        if spans is not None and len(stale) < len(totals) and len(fixed) == len(nodes):
            # The few stale positions looked up in the runs, in window order (the order the scan below
            # evaluates them in: the same error first), instead of two scans of the window for None.
            if len(stale) * 8 < self._stale_room:
                # A set keeps the room it once needed, and walking it walks that room (every position
                # after a rebuild): copied, it is walked at the size of what it holds.
                stale = self.stale = set(stale)
                self._stale_room = len(stale) + 64
            for k, i in _in_spans(stale, spans):
                self._evaluate(i, nodes[i], state, pod)
                totals[k] = fixed[i]
            return totals  # type: ignore[return-value]
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
        self.stale.discard(i)
        self.fixed[i] = total
        codes = self.codes
        if codes is not None:
            code = self._code_of.get(total)
            if code is None:
                code = self._new_code(total)
                codes = self.codes
            if codes is not None:
                codes[i] = code  # type: ignore[assignment]

    def _new_code(self, total: int) -> Optional[int]:
        """A code for a sum not seen before; when the codes are all taken, the codes of the sums the nodes
        have now (the others are forgotten), or None — and no codes any more — when those are too many."""
        values = self.values
        if len(values) >= MAX_CODES:
            live = {v for v in self.fixed if v is not None}
            if len(live) > MAX_CODES - MAX_CODES // 4:  # room left for new sums, or a pass per new sum
                self.codes = None
                return None
            values[:] = sorted(live)
            self._code_of = {v: code for code, v in enumerate(values)}
            self.codes = bytearray([self._code_of[v] if v is not None else 0 for v in self.fixed])
            self.by_value = sorted(range(len(values)), key=values.__getitem__, reverse=True)
            return self._code_of[total]
        code = self._code_of[total] = len(values)
        values.append(total)
        self.by_value = sorted(range(len(values)), key=values.__getitem__, reverse=True)
        return code

    def codes_at(self, pick: Callable[[Sequence[Any]], Any]) -> Optional[bytearray]:
        """The codes of a window's sums (after ``totals``), as a bytearray when ``pick`` slices (a window of
        runs); None when there are no codes or the window is not runs."""
        codes = self.codes
        if codes is None:
            return None
        picked = pick(codes)
        return picked if type(picked) is bytearray else None


MAX_CODES = 64  # distinct sums a score table codes as bytes


def _in_spans(positions: Iterable[int], spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (index in the window, position) of each of ``positions`` inside the window made of ``spans``
    (ranges of positions, in window order), sorted by index."""
    found = []
    offset = 0
    for a, b in spans:
        found += [(offset + i - a, i) for i in positions if a <= i < b]
        offset += b - a
    found.sort()
    return found
