"""The pieces of a scheduling cycle that do not need the Scheduler: how many nodes to find, the
unschedulable message, a profile's equivalence-class caches, the hybrid window walk, normalization and
the tie-breaking pick. ``scheduler.py`` strings them together.
"""
from __future__ import annotations

import itertools
import operator
import random
from collections import OrderedDict
from typing import Any, Hashable, Mapping, Optional, Sequence

from ..cache import Cache
from ..framework import Code, CycleState, Framework, NodeInfo, NodeScore, Plugin, PluginFailure, Status, TabledScores
from ..queue import QueuedPodInfo
from .classindex import FilterIndex, IndexedStatuses, ScoreTable

__all__ = ["num_feasible_nodes_to_find", "fit_error_message", "Profile", "Window", "hybrid_window", "select",
           "select_tabled",
           "run_filters", "bad_score", "normalized", "plain_scores", "pre_score", "add_weighted",
           "MIN_FEASIBLE_NODES_TO_FIND",
           "MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND", "NO_FAILURE"]

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
NO_FAILURE = 1 << 30
_MAX_CLASSES = 128
_MAX_INDEXES = 64
_MAX_SEEN = 4096
_MIN_CHUNK = 32  # nodes per batch of the hybrid window, at the least
_FIXED_POINT_STEPS = 16  # select_tabled: counts tried before walking to the nth best node instead


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """kube-scheduler's ``numFeasibleNodesToFind``: how many feasible nodes end the search."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = 50 - num_all_nodes // 125
        if percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND:
            percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
    num = num_all_nodes * percentage // 100
    return max(num, MIN_FEASIBLE_NODES_TO_FIND)


def fit_error_message(num_all_nodes: int, statuses: Mapping[str, Status], pre_filter_message: str = "",
                      post_filter_message: str = "") -> str:
    """``FitError.Error()``: "0/N nodes are available: <count> <reason>, ... ." plus PostFilter's message.

    Reasons are counted over the nodes' statuses and sorted as strings, as kube-scheduler sorts them.
    """
    message = f"0/{num_all_nodes} nodes are available:"
    if pre_filter_message:
        message += f" {pre_filter_message}."
    else:
        counts: dict[str, int] = {}
        if isinstance(statuses, IndexedStatuses):
            counts = statuses.reason_counts()  # kept by the class index: no pass over every node
        else:
            for status in statuses.values():
                for reason in status.reasons:
                    counts[reason] = counts.get(reason, 0) + 1
        if counts:
            message += " " + ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items())) + "."
    if post_filter_message:
        # kube-scheduler appends PostFilter's message as it is; DefaultPreemption's messages end with "."
        # ("... not eligible due to preemptionPolicy=Never."), ours may leave it to be added here.
        message += f" {post_filter_message}" + ("" if post_filter_message.endswith(".") else ".")
    return message


def _key_call(plugin: Any) -> Any:
    """``plugin.equivalence_key`` bound, or None when it is Plugin's own (None for every pod: not called)."""
    if getattr(type(plugin), "equivalence_key", None) is Plugin.equivalence_key \
            and "equivalence_key" not in getattr(plugin, "__dict__", {}):
        return None
    return plugin.equivalence_key


class Profile:
    """A framework plus its equivalence-class caches."""

    def __init__(self, framework: Framework) -> None:
        self.framework = framework
        self.filter_classes: OrderedDict[Hashable, dict[NodeInfo, tuple]] = OrderedDict()
        self.score_classes: OrderedDict[Hashable, dict[NodeInfo, tuple]] = OrderedDict()
        self.filter_indexes: OrderedDict[Hashable, FilterIndex] = OrderedDict()
        self.score_tables: OrderedDict[Hashable, ScoreTable] = OrderedDict()
        self.seen_classes: OrderedDict[Hashable, bool] = OrderedDict()
        self.plugins_by_name = framework.plugins
        names = [p.name for p in framework.filter_plugins] + [sp.name for sp in framework.score_plugins]
        self.keyed_names = tuple(dict.fromkeys(names))
        self.volatile = tuple(n for n in self.keyed_names
                              if getattr(self.plugins_by_name[n], "equivalence_key_volatile", False))
        # keys_for's calls, bound once; a plugin that keeps Plugin's equivalence_key has None for every pod
        # (the class index then leaves it out), so it is not called.
        self._key_calls = tuple((n, _key_call(self.plugins_by_name[n])) for n in self.keyed_names)
        self._volatile_calls = tuple((n, self.plugins_by_name[n].equivalence_key) for n in self.volatile)

    @staticmethod
    def _lru(classes: "OrderedDict[Hashable, dict]", key: Hashable) -> dict:
        table = classes.get(key)
        if table is None:
            table = classes[key] = {}
            if len(classes) > _MAX_CLASSES:
                classes.popitem(last=False)
        else:
            classes.move_to_end(key)
        return table

    def filter_index(self, key: Hashable, cache: Cache, filters: Sequence[Any]) -> Optional[FilterIndex]:
        """The class's index; None the first time a class is seen (building an index costs every node,
        worth it only for a class that comes back — a pod pinned to its own node never does)."""
        index = self.filter_indexes.get(key)
        if index is None:
            if key not in self.seen_classes:
                self.seen_classes[key] = True
                if len(self.seen_classes) > _MAX_SEEN:
                    self.seen_classes.popitem(last=False)
                return None
            del self.seen_classes[key]
            index = self.filter_indexes[key] = FilterIndex(cache, filters)
            if len(self.filter_indexes) > _MAX_INDEXES:
                self.filter_indexes.popitem(last=False)
        else:
            self.filter_indexes.move_to_end(key)
        return index

    def score_table(self, key: Hashable, cache: Cache, scorers: Sequence[Any]) -> ScoreTable:
        table = self.score_tables.get(key)
        if table is None:
            table = self.score_tables[key] = ScoreTable(cache, scorers)
            if len(self.score_tables) > _MAX_INDEXES:
                self.score_tables.popitem(last=False)
        else:
            self.score_tables.move_to_end(key)
        return table

    def filter_class(self, key: Hashable) -> dict:
        return self._lru(self.filter_classes, key)

    def score_class(self, key: Hashable) -> dict:
        return self._lru(self.score_classes, key)

    def keys_for(self, info: QueuedPodInfo) -> dict[str, Hashable]:
        """Every filter/score plugin's equivalence key for the pod (memoized on the queue entry)."""
        keys = info.signature
        pod = info.pod
        if keys is None:
            keys = {}
            for name, call in self._key_calls:
                keys[name] = None if call is None else call(pod)
            info.signature = keys
        else:
            for name, call in self._volatile_calls:
                keys[name] = call(pod)
        return keys


class Window(Sequence[NodeInfo]):
    """The feasible nodes of a window as a sequence, without building the list unless someone iterates."""

    __slots__ = ("_nodes", "_positions", "_spans")

    def __init__(self, nodes: Sequence[NodeInfo], positions: Sequence[int],
                 spans: Optional[tuple[tuple[int, int], ...]] = None) -> None:
        self._nodes = nodes
        self._positions = positions
        self._spans = spans  # when given: the positions are exactly these ranges of ``nodes``, in order

    def pick(self, seq: Sequence[Any]) -> list[Any]:
        """The items of ``seq`` (a list, or a bytearray, in ``base``'s order) at the window's positions, as a
        list. A window of one or two runs of consecutive nodes (``spans``) is sliced instead, a slice of
        ``seq``'s own type: no position is read (at 5,000 nodes the positions' ints are scattered in memory,
        and reading them cost as much as the picking)."""
        spans = self._spans
        if spans is not None and len(seq) == len(self._nodes):
            if len(spans) == 1:
                return seq[spans[0][0]:spans[0][1]]  # type: ignore[return-value]
            return seq[spans[0][0]:spans[0][1]] + seq[spans[1][0]:spans[1][1]]  # type: ignore[operator]
        positions = self._positions
        if len(positions) < 2:
            return [seq[i] for i in positions]
        return list(operator.itemgetter(*positions)(seq))

    @property
    def spans(self) -> Optional[tuple[tuple[int, int], ...]]:
        """The window as runs of consecutive positions of ``base`` (``classindex.runs_of``), when known."""
        return self._spans

    @property
    def base(self) -> Sequence[NodeInfo]:
        """The node list the window is cut from."""
        return self._nodes

    @property
    def positions(self) -> Sequence[int]:
        """The positions in ``base`` of the window's nodes, in window order."""
        return self._positions

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self._nodes[i] for i in self._positions[k]]
        return self._nodes[self._positions[k]]

    def __iter__(self) -> Any:
        nodes = self._nodes
        return iter([nodes[i] for i in self._positions])


def hybrid_window(index: FilterIndex, plain: Sequence[Any], state: CycleState, pod: Any,
                  nodes: Sequence[NodeInfo], start: int, to_find: int) -> tuple[list[int], int]:
    """The window when some filters are not node-local: walk only the nodes the node-local filters pass
    (from the index), running the others on them. A node is feasible when every filter passes, whatever
    the order, so the window and the examined count equal the plain walk's.

    Nodes go through in chunks of about as many as are still to find, each plugin filtering a whole chunk
    at once (its ``filter_nodes`` batch when it has one); a chunk where a plugin reports an Error is walked
    again node by node, so the Error raised is the one the plain walk meets first.
    """
    feasible = index.feasible
    n = len(nodes)
    before = feasible.bisect_left(start)
    order = itertools.chain(feasible.islice(before), feasible.islice(0, before))
    found: list[int] = []
    while True:
        chunk = list(itertools.islice(order, max(to_find - len(found), _MIN_CHUNK)))
        if not chunk:
            return found, n
        passing: Optional[list[int]] = chunk
        for plugin in plain:
            passing = _passing(plugin, state, pod, nodes, passing)
            if not passing:
                break
        if passing is None:
            passing = _walk(plain, state, pod, nodes, chunk, to_find - len(found))
        need = to_find - len(found)
        if len(passing) >= need:
            found += passing[:need]
            return found, (found[-1] - start) % n + 1
        found += passing


def _passing(plugin: Any, state: CycleState, pod: Any, nodes: Sequence[NodeInfo],
             positions: Optional[list[int]]) -> Optional[list[int]]:
    """The positions whose node ``plugin`` lets through; None when it reports an Error on one of them."""
    if positions is None:
        return None
    infos = Window(nodes, positions)
    batch = getattr(plugin, "filter_nodes", None)
    statuses = batch(state, pod, infos) if batch is not None else None
    if statuses is None:
        statuses = [plugin.filter(state, pod, ni) for ni in infos]
    returned = {id(status): status for status in statuses if status is not None}.values()
    if any(status.code == Code.ERROR for status in returned):
        return None
    if any(status.code == Code.SUCCESS for status in returned):
        return [i for i, status in zip(positions, statuses) if status is None or status.code == Code.SUCCESS]
    return [i for i, status in zip(positions, statuses) if status is None]


def _walk(plain: Sequence[Any], state: CycleState, pod: Any, nodes: Sequence[NodeInfo], positions: list[int],
          to_find: int) -> list[int]:
    """Node by node, every plugin in order (raises the first Error met, as the plain walk does)."""
    found = []
    for i in positions:
        ni = nodes[i]
        for plugin in plain:
            status = plugin.filter(state, pod, ni)
            if status is not None and status.code != Code.SUCCESS:
                if status.code == Code.ERROR:
                    raise PluginFailure(status.with_plugin(plugin.name))
                break
        else:
            found.append(i)
            if len(found) >= to_find:
                break
    return found


def select(totals: list[int], rng: random.Random) -> int:
    """``selectHost``: the position of the highest total; among equal highest, one uniformly at random
    (one draw, only when there is a tie), counting ties in search order."""
    best = max(totals)
    count = totals.count(best)
    at = totals.index(best)
    if count == 1:
        return at
    nth = rng.randrange(count)
    if nth > 8:  # the nth equal total, found at C speed (operator.eq: a third cheaper than best.__eq__)
        equal = map(operator.eq, totals, itertools.repeat(best))
        return next(itertools.islice(itertools.compress(itertools.count(), equal), nth, None))
    for _ in range(nth):
        at = totals.index(best, at + 1)
    return at


def select_tabled(codes: bytearray, values: Sequence[int], by_value: Sequence[int], keys: bytearray,
                  table: Mapping[int, int], weight: int, rng: random.Random) -> Optional[int]:
    """``select(add_weighted(sums, weight, TabledScores(keys, table)), rng)`` where ``sums[k]`` is
    ``values[codes[k]]`` (a score table's sums as byte codes, ``by_value`` their codes from the highest sum
    down; the keys a bytearray: PodTopologySpread's counts), without building the totals: the two byte
    strings joined into one code per node (the sum's code in the high bits, the key in the low bits, by
    integer arithmetic on the strings read as big numbers: no carry crosses a byte), the best total found
    per key by memchr, and the nodes holding it counted and found at C speed. The same position and the same
    draw; None when the codes do not fit a byte together (then the caller adds and selects)."""
    if not table or len(codes) != len(keys) or not _covers(table, keys):
        return None
    shift = max(table).bit_length()
    if len(values) > 256 >> shift:
        return None
    m = len(codes)
    joint = ((int.from_bytes(codes, "big") << shift) + int.from_bytes(keys, "big")).to_bytes(m, "big")
    best = -1
    winners: list[int] = []
    for key, score in table.items():
        weighted = score * weight
        for code in by_value:  # the first of this key's codes present: its highest total
            j = code << shift | key
            if j in joint:
                total = values[code] + weighted
                if total > best:
                    best, winners = total, [j]
                elif total == best:
                    winners.append(j)
                break
        else:
            return None  # a node whose code is not listed: not a table this was meant for
    marks = bytearray(256)
    for j in winners:
        marks[j] = 1
    mask = joint.translate(marks)
    count = mask.count(1)
    if count == 1:
        return mask.index(1)
    nth = rng.randrange(count)
    if nth > 8:
        if count * 2 > m:
            # The nth mark is at nth plus the unmarked positions before it: from nth, add the unmarked ones up
            # to where we are until that stops moving (it only grows, never past the answer; with most nodes
            # tied, a few memchr-speed counts instead of a walk to the nth mark).
            at = nth
            for _ in range(_FIXED_POINT_STEPS):
                ahead = nth + mask.count(0, 0, at + 1)
                if ahead == at:
                    return at
                at = ahead
        return next(itertools.islice(itertools.compress(itertools.count(), mask), nth, None))
    at = mask.index(1)
    for _ in range(nth):
        at = mask.index(1, at + 1)
    return at


def run_filters(cached: Sequence[tuple[int, Any]], state: CycleState, pod: Any, ni: NodeInfo) -> tuple:
    """The first failing node-local filter: (generation, Status or None, its position or NO_FAILURE)."""
    for pos, plugin in cached:
        status = plugin.filter(state, pod, ni)
        if status is not None and status.code != Code.SUCCESS:
            if status.plugin != plugin.name:
                status = status.with_plugin(plugin.name)
            return (ni.generation, status, pos)
    return (ni.generation, None, NO_FAILURE)


def bad_score(plugin: str, score: int, node: str) -> Status:
    return Status.error(f"plugin {plugin!r} returns an invalid score {score} for node {node!r}: it must be in "
                        f"0..100").with_plugin(plugin)


def normalized(fwk: Framework, sp: Any, state: CycleState, pod: Any, nodes: Sequence[NodeInfo],
                column: list[int]) -> list[int]:
    """One plugin's scores after NormalizeScore (a fast path for ``default_normalize_reverse`` plugins)."""
    reverse = getattr(sp.plugin, "default_normalize_reverse", None)
    if reverse is not None:
        top = max(column)
        if min(column) < 0:
            raise PluginFailure(bad_score(sp.name, min(column), nodes[column.index(min(column))].name))
        if top == 0:
            return [100] * len(column) if reverse else column
        if reverse:
            return [100 - 100 * s // top for s in column]
        return [100 * s // top for s in column]
    if not sp.normalizes:
        for s, ni in zip(column, nodes):
            if not 0 <= s <= 100:
                raise PluginFailure(bad_score(sp.name, s, ni.name))
        return column
    scores = [NodeScore(ni.name, s) for ni, s in zip(nodes, column)]
    fwk.normalize(sp, state, pod, scores)
    return [s.score for s in scores]


def plain_scores(fwk: Framework, sp: Any, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Sequence[int]:
    """A plugin that is not node-local: its scores over ``nodes`` after NormalizeScore — from its batch
    ``tabled_scores`` or ``normalized_scores`` when it offers one, else Score on each node then
    NormalizeScore."""
    tabled = getattr(sp.plugin, "tabled_scores", None)
    if tabled is not None:
        found = tabled(state, pod, nodes)
        if found is not None:
            if not all(0 <= v <= 100 for v in found.table.values()):  # every entry is some node's
                bad = next(i for i, v in enumerate(found) if not 0 <= v <= 100)
                raise PluginFailure(bad_score(sp.name, found[bad], nodes[bad].name))
            return found  # type: ignore[no-any-return]
    batch = getattr(sp.plugin, "normalized_scores", None)
    scores = batch(state, pod, nodes) if batch is not None else None
    if scores is None:
        return normalized(fwk, sp, state, pod, nodes, [sp.plugin.score(state, pod, ni) for ni in nodes])
    if scores and not 0 <= min(scores) <= max(scores) <= 100:
        bad = next(i for i, v in enumerate(scores) if not 0 <= v <= 100)
        raise PluginFailure(bad_score(sp.name, scores[bad], nodes[bad].name))
    return scores


def pre_score(fwk: Framework, state: CycleState, pod: Any, feasible: Sequence[NodeInfo]) -> list[Any]:
    """PreScore over the feasible nodes (a failure raises ``PluginFailure``), then the score plugins this pod
    runs: every one but those whose PreScore said Skip."""
    status = fwk.run_pre_score_plugins(state, pod, feasible)
    if status is not None and not status.is_success:
        raise PluginFailure(status)
    skip = state.skip_score_plugins
    return [sp for sp in fwk.score_plugins if not (skip and sp.name in skip)]


def add_weighted(totals: list[int], weight: int, scores: Sequence[int]) -> list[int]:
    """``totals`` plus ``weight`` times ``scores``, node by node (at C speed: it runs over the whole window
    once per plugin that is not node-local); ``TabledScores`` are weighted per table entry."""
    if type(scores) is TabledScores:
        table = scores.table if weight == 1 else {k: v * weight for k, v in scores.table.items()}
        keys = scores.keys
        if type(keys) is bytearray and _covers(table, keys):  # PodTopologySpread's counts of a window of runs
            lut = _byte_table(table)
            if lut is not None:  # every weighted score a byte too: all keys mapped at memcpy speed
                return list(map(operator.add, totals, keys.translate(lut)))
        # itemgetter looks every key up in one C call: half the cost of a map over __getitem__.
        picked = operator.itemgetter(*keys)(table) if len(keys) > 1 else [table[k] for k in keys]
        return list(map(operator.add, totals, picked))
    if weight == 1:
        return list(map(operator.add, totals, scores))
    return list(map(operator.add, totals, map(operator.mul, scores, itertools.repeat(weight))))


def _covers(table: Mapping[int, int], keys: bytearray) -> bool:
    """Whether every key is in ``table`` (counted at memchr speed per entry): else the general path, which
    raises on the missing key, as it always did."""
    return sum(keys.count(k) for k in table if type(k) is int and 0 <= k <= 255) == len(keys)


def _byte_table(table: Mapping[int, int]) -> Optional[bytes]:
    """``table`` (byte -> score) as a ``bytes.translate`` table, when every score is in 0..255; else None."""
    lut = bytearray(256)
    for key, score in table.items():
        if not 0 <= score <= 255:
            return None
        lut[key] = score
    return bytes(lut)
