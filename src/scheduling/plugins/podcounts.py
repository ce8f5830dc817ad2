"""Incremental pod counts per node and per topology domain, for InterPodAffinity and PodTopologySpread.

kube-scheduler recounts matching pods over every node in each PreFilter. Here a ``DomainCounter`` keeps, for
one question ("pods in namespace N matching selector S"), the count on every node and the sums per
topology value, and brings them up to date from the NodeInfos whose ``generation`` changed since it last
looked: a cycle costs one pass over the node generations (an int compare per node) plus a recount of the
few nodes that changed, never a pass over all pods.

``NodeTracker`` finds the changed nodes; a plugin owns one tracker and a small LRU of counters, and pushes
every change to every counter it holds.

Pivots: a counter whose predicate says which label a matching pod must carry (``predicate.pivots()``: the
(namespace, key, value) triples of one ``In`` requirement of its selector; such a predicate reads only the
pod's namespace, labels and deletionTimestamp) follows the scheduler cache's pod change log instead: a pod bound or removed moves the counts of the counters pivoted on one of its labels by
one, and the node is never recounted (with many Deployments, recounting every node changed since a counter's
last use was most of a cycle). Counters without pivots, and every counter when the log cannot be followed
(a node added or removed, the log trimmed, no cache), recount the changed nodes as before.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterable, Mapping, Optional, Sequence

from sortedcontainers import SortedList

from ..framework import CycleState, NodeInfo, PreFilterExtensions, Status

__all__ = ["NodeTracker", "DomainCounter", "CounterCache", "CountingExtensions", "selector_key",
           "merged_selector"]

PodPredicate = Callable[[Any], bool]
# (node name -> its domain for a counter's keys, key -> value -> how many nodes have it)
Skeleton = tuple[dict[str, Optional[tuple[Optional[str], ...]]], dict[str, dict[str, int]]]


def selector_key(selector: Any) -> Hashable:
    """A hashable identity of a LabelSelector (None for a missing one)."""
    if selector is None:
        return None
    return json.dumps(selector.to_dict(), sort_keys=True)


def merged_selector(selector: Any, pod: Any, match_keys: Iterable[str], mismatch_keys: Iterable[str] = ()) -> Any:
    """``matchLabelKeys`` / ``mismatchLabelKeys`` folded into ``selector`` with the pod's own label values
    (``key In (value)`` / ``key NotIn (value)``); keys the pod does not carry are ignored, as in Kubernetes."""
    labels = pod.metadata.labels or {}
    extra = [{"key": k, "operator": "In", "values": [labels[k]]} for k in match_keys if k in labels]
    extra += [{"key": k, "operator": "NotIn", "values": [labels[k]]} for k in mismatch_keys if k in labels]
    if selector is None or not extra:
        return selector
    d = selector.to_dict()
    d["matchExpressions"] = list(d.get("matchExpressions", [])) + extra
    return type(selector).from_dict(d)


class NodeTracker:
    """Remembers each node's last seen generation; ``changes`` returns what changed since the last call."""

    def __init__(self) -> None:
        self.generations: dict[str, int] = {}
        self.infos: dict[str, Any] = {}
        self._log: tuple[Any, int, int] | None = None  # (cache, topology_version, change cursor)
        # Whether the last ``changes`` replayed the cache's log: then nodes were neither added nor removed.
        self.logged = False

    def changes(self, nodes: Sequence[Any]) -> tuple[list[Any], list[str]]:
        """(NodeInfos added or changed, names of nodes removed) since the previous call."""
        gens = self.generations
        cache = getattr(nodes, "cache", None)  # the scheduler cache's node list: replay its change log
        if cache is not None:
            log, self._log = self._log, (cache, cache.topology_version, cache.change_cursor())
            if log is not None and log[0] is cache and log[1] == cache.topology_version:
                logged, _ = cache.changes_since(log[2])
                if logged is not None:
                    fresh = [ni for ni in logged if gens.get(ni.name) != ni.generation]
                    for ni in fresh:
                        gens[ni.name] = ni.generation
                        self.infos[ni.name] = ni
                    self.logged = True
                    return fresh, []
        self.logged = False
        changed = []
        for ni in nodes:
            if gens.get(ni.name) != ni.generation:
                gens[ni.name] = ni.generation
                self.infos[ni.name] = ni
                changed.append(ni)
        removed: list[str] = []
        if len(gens) != len(nodes):
            present = {ni.name for ni in nodes}
            removed = [name for name in gens if name not in present]
            for name in removed:
                del gens[name]
                del self.infos[name]
        return changed, removed


class DomainCounter:
    """Pods satisfying ``predicate``: the count per node, and per topology key the sums per value over the
    nodes that carry every key in ``keys`` (nodes missing one are counted per node but in no domain); with
    ``independent``, each key's sums are over the nodes that carry that key, as separate counters of one key
    each would keep them (one counter then serves several constraints of one selector).

    ``sums[key]`` holds a value for every domain that has at least one such node (0 when it has no matching
    pod), so ``len(sums[key])`` is the number of domains; ``ordered[key]`` keeps (sum, value) sorted for the
    global minimum; ``total`` is the sum of every node's count, in a domain or not.
    """

    def __init__(self, predicate: PodPredicate, keys: tuple[str, ...], ordered: bool = False,
                 independent: bool = False) -> None:
        self.predicate = predicate
        self.keys = keys
        self.independent = independent
        self.node_count: dict[str, int] = {}
        self.total = 0  # sum(node_count.values()), kept as the counts move
        self._node_domain: dict[str, Optional[tuple[Optional[str], ...]]] = {}
        self.sums: dict[str, dict[str, int]] = {k: {} for k in keys}
        self.totals: dict[str, int] = dict.fromkeys(keys, 0)
        self._members: dict[str, dict[str, int]] = {k: {} for k in keys}
        self.ordered: Optional[dict[str, SortedList]] = {k: SortedList() for k in keys} if ordered else None
        # The names whose node_count moved, in order, since ``epoch`` last changed (a rebuild, or the log grown
        # past the nodes' number): what a copy of the counts by node position (``LabelColumns.counts``)
        # replays instead of looking every node of a window up by name.
        self.touched: list[str] = []
        self.epoch = 0
        self.by_position: Any = None  # LabelColumns.counts' copy, kept here so it goes with the counter

    def rebuild(self, infos: Iterable[Any], counts: Optional[Mapping[str, int]] = None) -> "DomainCounter":
        """Count from scratch over ``infos`` (a new counter); ``counts``: the matching pods per node name when
        the caller counted them already (nodes missing from it have none)."""
        if self.node_count:
            for ni in infos:
                self.update(ni)
            return self
        self._new_epoch()
        predicate, keys = self.predicate, self.keys
        node_count, node_domain, sums, members, totals = (self.node_count, self._node_domain, self.sums,
                                                          self._members, self.totals)
        for ni in infos:
            name = ni.name
            if counts is None:
                count = 0
                for p in ni.pods.values():
                    if predicate(p):
                        count += 1
            else:
                count = counts.get(name, 0)
            node_count[name] = count
            domain = self._domain(ni.labels)
            if domain is not None:
                for key, value in zip(keys, domain):
                    if value is None:
                        continue
                    members[key][value] = members[key].get(value, 0) + 1
                    sums[key][value] = sums[key].get(value, 0) + count
                    totals[key] += count
            node_domain[name] = domain
        self.total = sum(node_count.values())
        if self.ordered is not None:  # sorted once, not kept sorted through one insertion per node
            for key in keys:
                self.ordered[key] = SortedList((total, value) for value, total in sums[key].items())
        return self

    def rebuild_counted(self, skeleton: "Skeleton", counts: Mapping[str, int]) -> "DomainCounter":
        """Count a new counter from ``skeleton`` (every tracked node's domain for these keys, and the nodes per
        value: what ``rebuild`` derives from the labels, the same for every counter of these keys) and
        ``counts``, the matching pods of the nodes that have any: the nodes are not walked one by one."""
        node_domain, members = skeleton
        keys = self.keys
        self._new_epoch()
        self._node_domain = dict(node_domain)
        self._members = {key: dict(members[key]) for key in keys}
        node_count = self.node_count = dict.fromkeys(node_domain, 0)
        node_count.update(counts)
        sums = self.sums = {key: dict.fromkeys(members[key], 0) for key in keys}
        for name, count in counts.items():
            domain = node_domain[name]
            if domain is not None:
                for key, value in zip(keys, domain):
                    if value is not None:
                        sums[key][value] += count
        self.totals = {key: sum(sums[key].values()) for key in keys}
        self.total = sum(counts.values())
        if self.ordered is not None:
            for key in keys:
                self.ordered[key] = SortedList((total, value) for value, total in sums[key].items())
        return self

    def skeleton(self, labels: Mapping[str, Mapping[str, str]]) -> "Skeleton":
        """What ``rebuild_counted`` starts from, for the nodes whose labels are ``labels`` (name -> labels)."""
        keys = self.keys
        node_domain = {name: self._domain(node_labels) for name, node_labels in labels.items()}
        members: dict[str, dict[str, int]] = {key: {} for key in keys}
        for domain in node_domain.values():
            if domain is not None:
                for key, value in zip(keys, domain):
                    if value is not None:
                        members[key][value] = members[key].get(value, 0) + 1
        return node_domain, members

    def _domain(self, labels: Mapping[str, str]) -> Optional[tuple[Optional[str], ...]]:
        """A node's values for ``keys``: None when it misses one (independent: when it misses all, and None
        for each key it misses)."""
        if self.independent:
            domain = tuple([labels.get(k) for k in self.keys])
            return None if domain.count(None) == len(domain) else domain
        if all(k in labels for k in self.keys):
            return tuple([labels[k] for k in self.keys])
        return None

    def _shift(self, key: str, value: str, members: int, amount: int) -> None:
        sums, count = self.sums[key], self._members[key]
        old = sums.get(value)
        left = count.get(value, 0) + members
        if self.ordered is not None and old is not None:
            self.ordered[key].remove((old, value))
        if left <= 0:
            count.pop(value, None)
            sums.pop(value, None)
            self.totals[key] -= old or 0
            return
        count[value] = left
        self.totals[key] += amount
        new = (old or 0) + amount
        sums[value] = new
        if self.ordered is not None:
            self.ordered[key].add((new, value))

    def _new_epoch(self) -> None:
        self.epoch += 1
        self.touched = []

    def _touch(self, name: str) -> None:
        touched = self.touched
        touched.append(name)
        if len(touched) > len(self.node_count) + 1024:
            self._new_epoch()  # a copy by position is recounted once instead of replaying a long log

    def _withdraw(self, name: str) -> None:
        domain = self._node_domain.pop(name, None)
        count = self.node_count.pop(name, 0)
        self._touch(name)
        self.total -= count
        if domain is not None:
            for key, value in zip(self.keys, domain):
                if value is not None:
                    self._shift(key, value, -1, -count)

    def update(self, ni: Any) -> None:
        """Recount one node (added or changed)."""
        name = ni.name
        self._withdraw(name)
        predicate = self.predicate
        count = 0
        for p in ni.pods.values():
            if predicate(p):
                count += 1
        self.node_count[name] = count
        self._touch(name)
        self.total += count
        domain = self._domain(ni.labels)
        if domain is not None:
            for key, value in zip(self.keys, domain):
                if value is not None:
                    self._shift(key, value, 1, count)
        self._node_domain[name] = domain

    def remove(self, name: str) -> None:
        """Forget a node that left the cluster."""
        self._withdraw(name)

    def move(self, name: str, amount: int) -> None:
        """One pod satisfying the predicate was added to (+1) or removed from (-1) node ``name``."""
        node_count = self.node_count
        node_count[name] = node_count.get(name, 0) + amount
        touched = self.touched
        touched.append(name)
        if len(touched) > len(node_count) + 1024:
            self._new_epoch()  # as _touch
        self.total += amount
        domain = self._node_domain.get(name)
        if domain is None:
            return
        unordered = self.ordered is None
        for key, value in zip(self.keys, domain):
            if value is None:
                continue
            if unordered and self._members[key].get(value, 0) > 0:
                # What _shift(key, value, 0, amount) does to a domain that keeps its nodes, without an order
                # to keep: the members stay, the sum and the total move.
                sums = self.sums[key]
                sums[value] = sums.get(value, 0) + amount
                self.totals[key] += amount
            else:
                self._shift(key, value, 0, amount)

    def domain_of(self, name: str) -> Optional[tuple[str, ...]]:
        """The node's values for ``keys`` (None when it misses one, or is unknown)."""
        domain = self._node_domain.get(name)
        return None if domain is None or None in domain else domain  # type: ignore[return-value]

    def minimum(self, key: str) -> int:
        """The smallest per-domain sum for ``key`` (0 when there is no domain)."""
        if self.ordered is not None:
            ordered = self.ordered[key]
            return ordered[0][0] if ordered else 0
        sums = self.sums[key]
        return min(sums.values()) if sums else 0


COUNTER_CACHE_SIZE = 64
COUNTER_NODE_BUDGET = COUNTER_CACHE_SIZE * 5000  # node entries all counters of a cache may hold together


class _NameLog:
    """Node names appended in order, read from a position (``since``); the older half is dropped once it
    holds ``limit`` names, after which a reader behind that point gets None (recount everything)."""

    __slots__ = ("names", "base", "limit")

    def __init__(self, limit: int = 8192) -> None:
        self.names: list[str] = []
        self.base = 0
        self.limit = limit

    def end(self) -> int:
        return self.base + len(self.names)

    def extend(self, names: Sequence[str]) -> None:
        if not names:
            return
        self.names += names
        if len(self.names) > self.limit:
            half = len(self.names) // 2
            del self.names[:half]
            self.base += half

    def since(self, cursor: int) -> Optional[list[str]]:
        if cursor < self.base:
            return None
        return self.names[cursor - self.base:]


class CounterCache:
    """A plugin's counters by question, least recently used dropped past ``size``, all fed by one tracker.

    A counter missing from the cache is rebuilt over every pod of every node, so the size must hold the
    selectors a cluster schedules in turn: clusterloader2's density test has one Deployment per 100 nodes
    (50 at 5,000 nodes); with 32, PodTopologySpread's default constraints rebuilt a counter for nearly every
    pod there. A counter costs about a megabyte at 5,000 nodes: without a ``size``, the cache holds as many
    counters as ``COUNTER_NODE_BUDGET`` node entries allow, and at least ``COUNTER_CACHE_SIZE`` (64 at 5,000
    nodes, 3,200 at 100, where the cluster simulation's 100 Deployments rebuilt a counter at every batch of
    pods of a ReplicaSet with 64)."""

    def __init__(self, size: Optional[int] = None, log_limit: int = 8192) -> None:
        self.size = size
        self.tracker = NodeTracker()
        self._counters: OrderedDict[Hashable, DomainCounter] = OrderedDict()
        # Nodes to recount, in two logs every counter reads from its own cursor when handed out (appending to a
        # log costs the changes, where a set per counter cost every held counter at every sync): ``_changed``
        # names every changed or removed node (what counters without pivots recount), ``_relabelled`` the
        # nodes whose labels changed, or every changed node when the pod log could not be followed (what
        # pivoted counters recount; the pod log moves their counts otherwise).
        self._changed = _NameLog(log_limit)
        self._relabelled = _NameLog(log_limit)
        self._cursor: dict[Hashable, tuple[_NameLog, int]] = {}  # per counter: its log, the position read up to
        self.listeners: list[Any] = []  # other indexes fed the same changes (update(ni) / remove(name))
        # Counters that follow pod changes: by (namespace, label key, value) a matching pod must carry (the
        # counters themselves, not their identities: a pod bound moves one without hashing its identity).
        self._pivoted: dict[tuple[str, str, str], list[DomainCounter]] = {}
        self._pivots: dict[Hashable, tuple[tuple[str, str, str], ...]] = {}
        self._pod_log: Optional[tuple[Any, int, int]] = None  # (cache, topology_version, pod change cursor)
        self._labels: dict[str, Mapping[str, str]] = {}  # node labels as last seen (a relabel recounts)
        self._labels_version = 0  # moves whenever ``_labels`` does (a node added, removed or relabelled)
        self._skeletons: dict[tuple[tuple[str, ...], bool], tuple[int, Skeleton]] = {}

    def _pod_deltas(self, nodes: Sequence[Any]) -> Optional[list[tuple[str, Any, int]]]:
        """The pod changes since the previous sync, when the node changes came from the same cache's log
        (no node added or removed) and the pod log still reaches back; else None."""
        cache = getattr(nodes, "cache", None)
        if cache is None:
            self._pod_log = None
            return None
        log, self._pod_log = self._pod_log, (cache, cache.topology_version, cache.pod_change_cursor())
        if not self.tracker.logged or log is None or log[0] is not cache or log[1] != cache.topology_version:
            return None
        deltas, _ = cache.pod_changes_since(log[2])
        return deltas

    def sync(self, nodes: Sequence[Any]) -> None:
        """Bring the listeners up to date with ``nodes`` (the scheduler's current NodeInfos), move the pivoted
        counters by the pods bound and removed since, and note the other changed nodes for every counter; a
        counter recounts them when :meth:`get` hands it out. A cycle asks for the counters of its own pod only
        (one selector of many, in a cluster of many Deployments), so recounting every counter on every change
        was most of a cycle's time there."""
        changed, removed = self.tracker.changes(nodes)
        deltas = self._pod_deltas(nodes)
        if not changed and not removed:
            return
        for listener in self.listeners:
            for ni in changed:
                listener.update(ni)
            for name in removed:
                listener.remove(name)
        if not self._counters:
            self._note_labels(changed, removed)
            return
        names = [ni.name for ni in changed]
        names += removed
        self._changed.extend(names)
        if deltas is None or not self._pivots:
            self._note_labels(changed, removed)
            self._relabelled.extend(names)
        else:
            self._relabelled.extend(self._note_labels(changed, removed))
            self._apply(deltas)

    def _note_labels(self, changed: Sequence[Any], removed: Sequence[str]) -> list[str]:
        """Remember the changed nodes' labels; the names of those whose labels differ from before."""
        seen = self._labels
        relabelled = []
        for ni in changed:
            before = seen.get(ni.name)
            if before is not ni.labels:
                if before is None or before != ni.labels:
                    relabelled.append(ni.name)
                seen[ni.name] = ni.labels
        for name in removed:
            seen.pop(name, None)
        if relabelled or removed:
            self._labels_version += 1
        return relabelled

    def _apply(self, deltas: Sequence[tuple[str, Any, int]]) -> None:
        """Move the pivoted counters by each pod change: only counters pivoted on one of the pod's labels
        can count it (their selector requires that label), and each such counter is reached once (its
        pivots share one key)."""
        pivoted = self._pivoted
        skip = False
        for i, (name, pod, amount) in enumerate(deltas):
            if skip:  # the second half of a replacement that moves no count
                skip = False
                continue
            meta = pod.metadata
            labels = meta.labels
            if amount < 0 and i + 1 < len(deltas):
                # The cache replaces a pod by its next version as a removal then an addition (a bind seen,
                # a status written): when what pivoted predicates read is unchanged, the two cancel out.
                after_name, after, after_amount = deltas[i + 1]
                if after_name == name and after_amount > 0 and after.metadata.labels == labels \
                        and after.metadata.namespace == meta.namespace \
                        and after.metadata.deletion_timestamp == meta.deletion_timestamp:
                    skip = True
                    continue
            if not labels:
                continue
            namespace = meta.namespace or "default"
            for key, value in labels.items():
                holders = pivoted.get((namespace, key, value))
                if holders:
                    for counter in holders:
                        if counter.predicate(pod):
                            counter.move(name, amount)

    def get(self, identity: Hashable, make: Callable[[], DomainCounter]) -> DomainCounter:
        """The counter for ``identity``, built over the tracked nodes on first use, brought up to date with
        the nodes changed since it was last handed out."""
        log = self._pod_log
        if log is not None and log[0].pod_change_cursor() != log[2]:
            # Pods changed since the last sync: a count taken now would meet those changes again when the
            # next sync replays them. Recount the changed nodes at the next sync instead.
            self._pod_log = None
        counter = self._counters.get(identity)
        if counter is None:
            counter = make()
            pivots = getattr(counter.predicate, "pivots", None)
            found = pivots() if pivots is not None else None
            infos = self.tracker.infos
            if found is not None and self._pod_log is not None:
                # The cache is as the last sync saw it: count the pods carrying a pivot label, not every pod,
                # onto the nodes' domains as the last sync saw them (kept per keys until a node is added,
                # removed or relabelled: 50 Deployments on 5,000 nodes walked 250,000 nodes' labels).
                shape = (counter.keys, counter.independent)
                kept = self._skeletons.get(shape)
                if kept is None or kept[0] != self._labels_version:
                    kept = self._skeletons[shape] = (self._labels_version, counter.skeleton(self._labels))
                counter.rebuild_counted(kept[1], self._pivot_counts(self._pod_log[0], counter.predicate, found))
            else:
                counter.rebuild(infos.values())
            self._counters[identity] = counter
            log = self._changed if found is None else self._relabelled
            self._cursor[identity] = (log, log.end())
            if found is not None:
                self._pivots[identity] = found
                for pivot in found:
                    self._pivoted.setdefault(pivot, []).append(counter)
            if len(self._counters) > self._limit():
                dropped, gone = self._counters.popitem(last=False)
                del self._cursor[dropped]
                for pivot in self._pivots.pop(dropped, ()):
                    holders = self._pivoted[pivot]
                    holders[:] = [c for c in holders if c is not gone]
                    if not holders:
                        del self._pivoted[pivot]
            return counter
        self._counters.move_to_end(identity)
        log, cursor = self._cursor[identity]
        if cursor != log.end():
            infos = self.tracker.infos
            dirty = log.since(cursor)
            if dirty is None:  # the log was trimmed past this counter's cursor: recount every node
                dirty = list(counter.node_count)
                dirty += infos
            for name in dict.fromkeys(dirty):
                ni = infos.get(name)
                if ni is None:
                    counter.remove(name)
                else:
                    counter.update(ni)
            self._cursor[identity] = (log, log.end())
        return counter

    def _limit(self) -> int:
        if self.size is not None:
            return self.size
        return max(COUNTER_CACHE_SIZE, COUNTER_NODE_BUDGET // max(1, len(self.tracker.infos)))

    def _pivot_counts(self, cache: Any, predicate: PodPredicate,
                      pivots: Iterable[tuple[str, str, str]]) -> dict[str, int]:
        """Pods satisfying ``predicate`` per tracked node, from the cache's label index: only the pods that
        carry one of the ``pivots`` can (each pod is reached once: the pivots share one label key)."""
        infos = self.tracker.infos
        counts: dict[str, int] = {}
        for namespace, key, value in pivots:
            for pod_key, node_name in cache.pods_labelled(namespace, key, value).items():
                ni = infos.get(node_name)
                pod = ni.pods.get(pod_key) if ni is not None else None
                if pod is not None and predicate(pod):
                    counts[node_name] = counts.get(node_name, 0) + 1
        return counts

    @property
    def infos(self) -> Mapping[str, Any]:
        """The latest NodeInfo of every tracked node."""
        return self.tracker.infos


class CountingExtensions(PreFilterExtensions):
    """PreFilter extensions that move a count: adding a pod counts it once more, removing it once less.

    Subclasses give ``_move(state, pod_to_schedule, other, node_info, amount)`` with amount +1 or -1.
    """

    def _move(self, state: CycleState, pod: Any, other: Any, node_info: NodeInfo, amount: int) -> None:
        raise NotImplementedError

    def add_pod(self, state: CycleState, pod_to_schedule: Any, pod_to_add: Any,
                node_info: NodeInfo) -> Optional[Status]:
        self._move(state, pod_to_schedule, pod_to_add, node_info, 1)
        return None

    def remove_pod(self, state: CycleState, pod_to_schedule: Any, pod_to_remove: Any,
                   node_info: NodeInfo) -> Optional[Status]:
        self._move(state, pod_to_schedule, pod_to_remove, node_info, -1)
        return None
