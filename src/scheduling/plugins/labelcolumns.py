"""``LabelColumns``: every node's value of a label, in the scheduler's node order, kept current from the cache's
change log — so a plugin that decides per topology domain reads a window's domains at C speed
(``map(column.__getitem__, positions)``) instead of looking the label up on every node in every cycle.

A column is rebuilt when nodes are added or removed (``Cache.topology_version``: positions move) or when the
change log no longer reaches back to the last sync; otherwise only the nodes the log names are re-read (a
node update that changes labels is logged like any other NodeInfo change). Lists that do not come from the
scheduler cache (tests, what-if copies) are read directly, every time.
"""
from __future__ import annotations

import itertools
import operator
from typing import Any, Iterable, Optional, Sequence

__all__ = ["LabelColumns", "MIXED"]

Column = list[Optional[str]]
_MIXED = object()  # a column whose nodes do not all have one value
MIXED = _MIXED


class LabelColumns:
    """Per label key, the value on each node of the scheduler's node list (None where the node lacks it)."""

    def __init__(self) -> None:
        self._cache: Any = None
        self._version = -1
        self._cursor = 0
        self._columns: dict[str, Column] = {}
        self._names: Optional[list[str]] = None  # node names by position: they change with the topology only
        self._positions: Optional[dict[str, int]] = None  # the inverse of _names
        # Per key, the one value every node has (None included) while that holds, else _MIXED: a window of
        # such a column is that value repeated, with no lookup per position.
        self._uniform: dict[str, Any] = {}
        # Per key, how many nodes lack it: at 0 no window of the column holds None (no scan for it).
        self._missing: dict[str, int] = {}

    def values(self, key: str, nodes: Sequence[Any]) -> Column:
        """The value of ``key`` on each node of ``nodes``, in order: a full node list, a ``Window`` of it,
        or any sequence of NodeInfos."""
        base = getattr(nodes, "base", nodes)
        cache = getattr(base, "cache", None)
        if cache is None or base is not cache.list():
            return [ni.labels.get(key) for ni in nodes]
        self._sync(cache)
        column = self._column(key, base)
        if base is nodes:
            return list(column)
        uniform = self._uniform[key]
        if uniform is not _MIXED:
            return [uniform] * len(nodes)
        return _pick(nodes, column)

    def uniform(self, key: str, nodes: Sequence[Any]) -> Any:
        """The one value of ``key`` on every node of ``nodes`` (None when no node has it) when the scheduler
        cache's whole node list has only that value, else ``MIXED`` (also for lists not from the cache, and
        for an empty list); what :meth:`values` would repeat, without building the list."""
        base = getattr(nodes, "base", nodes)
        cache = getattr(base, "cache", None)
        if cache is None or base is not cache.list() or not nodes:
            return _MIXED
        self._sync(cache)
        self._column(key, base)
        return self._uniform[key]

    def complete(self, key: str, nodes: Sequence[Any]) -> bool:
        """True when every node of the scheduler cache's list carries ``key`` (so no window of ``nodes``
        lacks it); False when one does not, or ``nodes`` are not the cache's."""
        base = getattr(nodes, "base", nodes)
        cache = getattr(base, "cache", None)
        if cache is None or base is not cache.list():
            return False
        self._sync(cache)
        self._column(key, base)
        return self._missing[key] == 0

    def _column(self, key: str, base: Sequence[Any]) -> Column:
        column = self._columns.get(key)
        if column is None:
            column = self._columns[key] = [ni.labels.get(key) for ni in base]
            self._uniform[key] = column[0] if column and column.count(column[0]) == len(column) else _MIXED
            self._missing[key] = column.count(None)
        return column

    def names(self, nodes: Sequence[Any]) -> list[str]:
        """The node names of ``nodes``, in order (as :meth:`values`, from a column while the cache's node
        list does not change)."""
        return list(self.iter_names(nodes))

    def iter_names(self, nodes: Sequence[Any]) -> Iterable[str]:
        """:meth:`names` for a single pass: not built as a list (what a map over the names reads)."""
        base = getattr(nodes, "base", nodes)
        cache = getattr(base, "cache", None)
        if cache is None or base is not cache.list():
            return [ni.name for ni in nodes]
        self._sync(cache)
        if self._names is None:
            self._names = [ni.name for ni in base]
        if base is nodes:
            return self._names
        positions = nodes.positions  # type: ignore[attr-defined]
        if len(positions) > 1:
            # One C call picking every position (a tuple): half the cost of a map over __getitem__.
            return operator.itemgetter(*positions)(self._names)  # type: ignore[no-any-return]
        return [self._names[i] for i in positions]

    def counts(self, counter: Any, nodes: Sequence[Any]) -> Optional[Sequence[int]]:
        """``counter.node_count`` at each node of ``nodes`` (0 where it has none), read from a copy of the
        counts in node order that replays ``counter.touched``: a window's counts picked by position, not
        looked up by name (at 5,000 nodes the names and the dict entries a window touches are scattered in
        memory, and that costs more than the lookups). None when ``nodes`` are not the cache's.

        The copy is a bytearray while every count is in 0..255 (a node's matching pods: nearly always), and a
        ``Window`` of runs of nodes then gets a bytearray too (a slice at memcpy speed; its distinct values
        counted at memchr speed, its scores mapped through ``bytes.translate``); else a list."""
        base = getattr(nodes, "base", nodes)
        cache = getattr(base, "cache", None)
        if cache is None or base is not cache.list():
            return None
        self._sync(cache)
        if self._names is None:
            self._names = [ni.name for ni in base]
        node_count = counter.node_count
        touched = counter.touched
        held = counter.by_position
        array: Any
        if held is None or held[0] is not self or held[1] != self._version or held[2] != counter.epoch:
            array = list(map(node_count.get, self._names, itertools.repeat(0)))
            try:
                array = bytearray(array)
            except ValueError:
                pass  # a count outside 0..255: kept as a list
        else:
            array = held[4]
            if held[3] < len(touched):
                positions = self._positions
                if positions is None:
                    positions = self._positions = {name: i for i, name in enumerate(self._names)}
                for name in touched[held[3]:]:
                    i = positions.get(name)
                    if i is not None:  # a node the cache no longer lists is in no window
                        value = node_count.get(name, 0)
                        try:
                            array[i] = value
                        except ValueError:  # past a byte: a list from now on (until the next epoch)
                            array = list(array)
                            array[i] = value
        counter.by_position = (self, self._version, counter.epoch, len(touched), array)
        if base is nodes:
            return list(array)
        return _pick(nodes, array)

    def _sync(self, cache: Any) -> None:
        if cache is not self._cache or cache.topology_version != self._version:
            self._reset(cache)
            return
        if self._cursor == cache.change_cursor():
            return  # nothing logged since (three calls a cycle; the log moves at most once between cycles)
        changed, self._cursor = cache.changes_since(self._cursor)
        if changed is None:
            self._reset(cache)
            return
        missing = self._missing
        for key, column in self._columns.items():
            uniform = self._uniform[key]
            for ni in changed:
                i = ni.index
                before = column[i]
                value = column[i] = ni.labels.get(key)
                if value is None:
                    if before is not None:
                        missing[key] += 1
                elif before is None:
                    missing[key] -= 1
                if uniform is not _MIXED and value != uniform:
                    uniform = self._uniform[key] = _MIXED

    def _reset(self, cache: Any) -> None:
        self._cache = cache
        self._version = cache.topology_version
        self._cursor = cache.change_cursor()
        self._columns = {}
        self._names = None
        self._positions = None
        self._uniform = {}
        self._missing = {}


def _pick(window: Any, column: Sequence[Any]) -> Any:
    """``column``'s entries at a window's positions: through ``window.pick`` when it has one (``Window``:
    a slice when the window is runs of consecutive nodes, of ``column``'s type), else one C call picking every
    position (a list)."""
    pick = getattr(window, "pick", None)
    if pick is not None:
        return pick(column)  # type: ignore[no-any-return]
    positions = window.positions
    if len(positions) > 1:
        return list(operator.itemgetter(*positions)(column))
    return [column[i] for i in positions]
