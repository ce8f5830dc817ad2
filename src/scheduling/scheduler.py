"""The scheduling cycle and the public ``Scheduler``.

One cycle, for the pod at the head of the active queue, with kube-scheduler's rules:

1. PreFilter (may narrow the nodes or reject the pod outright).
2. Filter, starting at a round-robin index, until ``numFeasibleNodesToFind`` nodes fit (adaptive
   percentageOfNodesToScore: ``50 - nodes/125`` %, at least 5 %, at least 100 nodes; 100 % is exact mode).
3. No node fits: PostFilter (preemption), and kube-scheduler's "0/N nodes are available: ..." message.
4. One node fits: it is chosen without scoring. Several: PreScore, Score, NormalizeScore, weights; the
   highest total wins and ties are broken uniformly by the scheduler's seeded ``random.Random``.
5. Assume the pod on the node (the cache accounts it at once), Reserve, Permit, PreBind, Bind, PostBind;
   a failure after Reserve runs Unreserve, forgets the pod and retries it after its backoff.

Equivalence classes (Borg): a plugin whose Filter/Score are node-local gives an ``equivalence_key(pod)``;
pods with equal keys share one cache, per node, of that plugin's filter status and raw score, valid while
the node's ``NodeInfo.generation`` is unchanged. A bind changes one node's generation, so the next pod of
the class recomputes only that node; other nodes cost a dictionary lookup. Plugins without a key (the
cluster-wide ones) run plainly on every node examined. The cached values are exactly what the plain calls
return, in the same plugin order, so decisions equal the plain definitions.

Where the parts live: the filter walk and scoring in ``cycle/nodewalk.py`` (node by node) and ``cycle/classlookup.py``
(from a class index), the nomination rules in ``cycle/nominator.py``; this module strings the cycle together and
runs the binding cycle.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Mapping, Optional, Sequence

import objects

from .arguments import expect, expect_registry, node_name, pod_key
from .cache import Cache
from .cycle.classindex import IndexedStatuses
from .cycle.classlookup import indexed_pick, indexed_window
from .cycle.nominator import Nominations, NominationWriter, Nominator
from .cycle.nodewalk import filter_with_nominated, find_feasible, prioritize
from .cycle.selection import Profile, Window, fit_error_message, num_feasible_nodes_to_find
from .framework import (DEFAULT_SCHEDULER_NAME, ClusterEvent, Code, ConfigError, CycleState, Framework,
                        NodeInfo, PluginFailure, PodNotFound, Registry, Status, UnknownProfile,
                        load_config)
from .framework.waitingpods import WaitingPod, WaitingPods, waiting_pod_key
from .listers import ClusterObjects
from .metrics import Metrics
from .queue import QueuedPodInfo, SchedulingQueue

__all__ = ["Scheduler", "ScheduleResult", "fit_error_message", "num_feasible_nodes_to_find",
           "NO_NODES_AVAILABLE"]

NO_NODES_AVAILABLE = "no nodes available to schedule pods"


def failure_message(point: str, status: Status, node_name: str) -> str:
    """kube-scheduler's words for a failure after the node was chosen. A rejection at Reserve or Permit
    (a waiting pod's too) is a FitError over that one node: "0/1 nodes are available: 1 <reason>."; one at
    PreBind or Bind is its own message; an error names the extension point and the plugin
    ('running Bind plugin "DefaultBinder": ...')."""
    if status.is_rejected:
        return fit_error_message(1, {node_name: status}) if point in ("Reserve", "Permit") else status.message
    if status.message.startswith(f"running {point} plugin") or not status.plugin:
        return status.message
    return f'running {point} plugin "{status.plugin}": {status.message}'


@dataclass
class ScheduleResult:
    """The outcome of one scheduling attempt of one pod.

    ``node_name`` is the node it was bound to (None when it was not); ``message`` says why not, in
    kube-scheduler's words; ``nominated_node_name`` and ``victims`` are preemption's choice (the pod waits
    for the victims to leave and is retried). ``waiting_node_name``: Permit plugins made the pod wait,
    assumed on that node (its binding's result comes later, see ``Scheduler.schedule_pending``);
    ``error``: the attempt failed with an internal error rather than a fit failure.
    """

    pod: Any
    node_name: Optional[str]
    message: str = ""
    nominated_node_name: Optional[str] = None
    victims: list[Any] = field(default_factory=list)
    waiting_node_name: Optional[str] = None
    error: bool = False

    @property
    def scheduled(self) -> bool:
        """Whether the pod was bound in this attempt."""
        return self.node_name is not None


class _Handle:
    """What plugins get as ``handle`` (see ``framework.interfaces.Handle``)."""

    def __init__(self, scheduler: "Scheduler") -> None:
        self._scheduler = scheduler
        self.snapshot = scheduler._cache

    def clock(self) -> float:
        return self._scheduler._clock()

    def framework(self, pod: Any) -> Framework:
        return self._scheduler._profile_for(pod).framework

    def bind_pod(self, pod: Any, node_name: str) -> Optional[Status]:
        return self._scheduler._write_binding(pod, node_name)

    def delete_pod(self, pod: Any, preemptor: Any = None) -> None:
        self._scheduler._evict(pod, preemptor)

    def pod_disruption_budgets(self) -> Sequence[Any]:
        return list(self._scheduler._pdbs.values())

    def nominated_pods(self, node_name: str) -> Sequence[Any]:
        return self._scheduler._nominations.pods_on(node_name)

    def clear_nominated_node_name(self, pods: Sequence[Any]) -> None:
        self._scheduler._nominator.clear(pods)

    def get_waiting_pod(self, uid: str) -> Optional[WaitingPod]:
        return self._scheduler._waiting.get(uid)

    def iterate_over_waiting_pods(self, fn: Callable[[WaitingPod], None]) -> None:
        self._scheduler._waiting.iterate(fn)

    def reject_waiting_pod(self, uid: str) -> bool:
        return self._scheduler._waiting.reject(uid, "removed")

    def namespace_labels(self, name: str) -> Mapping[str, str]:
        return self._scheduler._objects.namespace_labels(name)

    def namespace_labels_version(self) -> int:
        return self._scheduler._objects.namespace_labels_version

    def selectors_for(self, pod: Any) -> Sequence[Any]:
        return self._scheduler._objects.selectors_for(pod)

    @property
    def percentage_of_nodes_to_score(self) -> int:
        return self._scheduler._config.percentage_of_nodes_to_score


class Scheduler:
    """A kube-scheduler-style scheduler to embed.

    ``config``: a KubeSchedulerConfiguration-shaped dict (None: the default profile); ``seed``: the seed of
    the tie-breaking random generator; ``registry``: a plugin ``Registry`` (default: every built-in
    plugin); ``clock``: seconds as a float for the queue's backoff (default ``time.monotonic``).

    Feed it directly (``add_node``, ``add_pod``, ... then ``schedule_pending()``) or connect it to an
    ``objects.Registry`` with ``run(registry)``.
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None, seed: int = 0, *,
                 registry: Optional[Registry] = None, clock: Optional[Callable[[], float]] = None) -> None:
        if registry is None:
            from .plugins import default_registry
            registry = default_registry()
        self._config = load_config(config)
        self._clock: Callable[[], float] = clock or time.monotonic
        self._rng = random.Random(seed)
        self._cache = Cache()
        self._pdbs: dict[str, Any] = {}
        self._objects = ClusterObjects()
        self._nominations = Nominations()
        self._binder: Optional[Callable[[Any, str], Optional[Status]]] = None
        self._evictor: Optional[Callable[[Any, Any], None]] = None
        self._handle = _Handle(self)
        # Permit's waiting pods (one map for every profile); verdicts given during a cycle are carried out
        # when it ends (_decided), and results of bindings finished outside schedule_one wait in _late_results.
        self._waiting = WaitingPods(self._clock)
        self._in_cycle = False
        self._decided: list[Callable[[], ScheduleResult]] = []
        # While run() loops, the thread that runs it; verdicts given on other threads wait for that loop.
        self._loop_thread: Optional[int] = None
        self._late_results: list[ScheduleResult] = []
        self._profiles: dict[str, Profile] = {}
        for profile in self._config.profiles:
            fwk = Framework(profile, registry, self._handle, self._config.percentage_of_nodes_to_score,
                            waiting_pods=self._waiting)
            self._profiles[profile.scheduler_name] = Profile(fwk)
        first = next(iter(self._profiles.values())).framework
        for prof in self._profiles.values():
            if type(prof.framework.queue_sort) is not type(first.queue_sort):
                raise ConfigError("profiles: every profile must use the same queueSort plugin, got "
                                  f"{first.queue_sort.name!r} and {prof.framework.queue_sort.name!r}")
        self._queue = SchedulingQueue(first.queue_sort, self._clock, self._pre_enqueue, self._events_of,
                                      initial_backoff=float(self._config.pod_initial_backoff_seconds),
                                      max_backoff=float(self._config.pod_max_backoff_seconds))
        self._nominator = Nominator(self._nominations, self._cache, self._queue)
        self._next_start_node_index = 0
        self.metrics = Metrics(gauges=self._gauges)
        self._current_victims: list[Any] = []
        self._bound_pods: dict[str, Any] = {}
        self._stopping = threading.Event()

    @property
    def nomination_writer(self) -> Optional[NominationWriter]:
        """Called as (pod, node name or None) when a nomination is set or cleared in a way kube-scheduler
        writes to the API server (its status patch); ``run(registry)`` points it at the registry."""
        return self._nominator.writer

    @nomination_writer.setter
    def nomination_writer(self, writer: Optional[NominationWriter]) -> None:
        self._nominator.writer = writer

    # -- introspection --------------------------------------------------------------------------------
    @property
    def cache(self) -> Cache:
        """The scheduler's cache (node infos; read-only for callers)."""
        return self._cache

    @property
    def queue(self) -> SchedulingQueue:
        """The scheduling queue (read-only for callers)."""
        return self._queue

    @property
    def rng(self) -> random.Random:
        """The seeded tie-breaking generator."""
        return self._rng

    def framework(self, scheduler_name: str = DEFAULT_SCHEDULER_NAME) -> Framework:
        """The runtime of one profile."""
        try:
            return self._profiles[scheduler_name].framework
        except KeyError:
            raise ConfigError(f"schedulerName: no profile named {scheduler_name!r} "
                              f"(profiles: {sorted(self._profiles)})") from None

    @property
    def profiles(self) -> list[str]:
        """The profiles' scheduler names, in configuration order."""
        return list(self._profiles)

    def _profile_for(self, pod: Any) -> Profile:
        prof = self._profiles.get(pod.spec.scheduler_name or DEFAULT_SCHEDULER_NAME)
        if prof is None:
            raise UnknownProfile(f"pod {pod.key!r}: spec.schedulerName {pod.spec.scheduler_name!r} names no "
                                 f"profile of this scheduler (profiles: {sorted(self._profiles)})")
        return prof

    def _responsible_for(self, pod: Any) -> bool:
        return (pod.spec.scheduler_name or DEFAULT_SCHEDULER_NAME) in self._profiles

    def _pre_enqueue(self, pod: Any) -> Optional[Status]:
        return self._profile_for(pod).framework.run_pre_enqueue_plugins(pod)

    def _events_of(self, plugin_name: str) -> Iterable[str]:
        events: set[str] = set()
        for prof in self._profiles.values():
            plugin = prof.framework.plugins.get(plugin_name)
            if plugin is None:
                continue
            register = getattr(plugin, "events_to_register", None)
            events.update(register() if register is not None else ClusterEvent.ALL)
        return events or ClusterEvent.ALL

    # -- feeding --------------------------------------------------------------------------------------
    def add_node(self, node: Any) -> None:
        """A node joined the cluster (an existing name is updated)."""
        expect(node, objects.Node, "add_node", "node")
        known = self._cache.find(node.metadata.name) is not None
        self._cache.add_node(node)
        self._queue.move_on_event(ClusterEvent.NODE_UPDATE if known else ClusterEvent.NODE_ADD)

    def update_node(self, node: Any) -> None:
        """A node changed (labels, taints, allocatable, unschedulable)."""
        expect(node, objects.Node, "update_node", "node")
        self._cache.update_node(node)
        self._queue.move_on_event(ClusterEvent.NODE_UPDATE)

    def remove_node(self, node: Any) -> None:
        """A node left (given by name or as the ``objects.Node``); ``NodeNotFound`` when unknown. Its pods stay
        accounted until removed."""
        self._cache.remove_node(node_name(node, "remove_node"))

    def add_pod(self, pod: Any) -> None:
        """A pod appeared: bound pods (``spec.nodeName``) are accounted on their node, others are queued.

        Pods naming a ``schedulerName`` no profile has are left alone (another scheduler's), as
        kube-scheduler does.
        """
        if type(pod) is not objects.Pod:
            expect(pod, objects.Pod, "add_pod", "pod")
        if pod.spec.node_name:
            self._queue.delete(pod)
            self._nominator.forget(pod)
            self._cache.add_pod(pod)
            self._bound_pods[pod.key] = pod
            self._queue.move_on_event(ClusterEvent.ASSIGNED_POD_ADD)
        elif self._responsible_for(pod):
            self._queue.add(pod)
            self._nominator.take_fed(pod)

    def update_pod(self, pod: Any) -> None:
        """A pod changed: bound pods are re-accounted, pending pods re-queued (gates re-checked)."""
        if type(pod) is not objects.Pod:
            expect(pod, objects.Pod, "update_pod", "pod")
        if pod.spec.node_name:
            self.add_pod(pod)
            self._queue.move_on_event(ClusterEvent.ASSIGNED_POD_UPDATE)
        elif self._responsible_for(pod):
            self._queue.update(pod)
            self._nominator.take_fed(pod)

    def remove_pod(self, pod: Any) -> None:
        """A pod was deleted: it leaves the queue or its node (which may let pending pods fit). ``pod`` is the
        ``objects.Pod``, its "namespace/name" key or its name (namespace "default"), as ``remove_node``
        takes a name or the node; ``PodNotFound`` when this scheduler holds no such pod."""
        if type(pod) is not objects.Pod:
            key = pod_key(pod, "remove_pod")
            info = self._queue.get(key)
            pod = info.pod if info is not None else self._cache.get_pod(key)
            if pod is None:
                raise PodNotFound(f"pod {key!r}: neither queued nor bound in this scheduler")
        if self._queue.delete(pod):
            self._nominator.forget(pod)
            self._handle.reject_waiting_pod(waiting_pod_key(pod))  # as kube-scheduler on a pending pod's delete
            return
        self._nominator.forget(pod)
        try:
            self._cache.remove_pod(pod)
        except PodNotFound:
            raise PodNotFound(f"pod {pod.key!r}: neither queued nor bound in this scheduler") from None
        self._bound_pods.pop(pod.key, None)
        self._queue.move_on_event(ClusterEvent.ASSIGNED_POD_DELETE)

    def add_pdb(self, pdb: Any) -> None:
        """A PodDisruptionBudget preemption must respect (by namespace/name)."""
        self._pdbs[f"{pdb.metadata.namespace or 'default'}/{pdb.metadata.name}"] = pdb

    def remove_pdb(self, pdb: Any) -> None:
        """A PodDisruptionBudget was deleted (unknown ones are ignored)."""
        self._pdbs.pop(f"{pdb.metadata.namespace or 'default'}/{pdb.metadata.name}", None)

    def add_object(self, obj: Any) -> None:
        """A Namespace, Service, ReplicationController, ReplicaSet, StatefulSet or PodDisruptionBudget appeared
        (by ``obj.kind``; ``UnknownKind`` for others). A namespace label change retries unschedulable pods."""
        if obj.kind == "PodDisruptionBudget":
            self.add_pdb(obj)
        elif self._objects.add(obj):
            self._queue.move_on_event(ClusterEvent.NAMESPACE_LABEL_CHANGE)

    def update_object(self, obj: Any) -> None:
        """One of ``add_object``'s kinds changed."""
        self.add_object(obj)

    def remove_object(self, obj: Any) -> None:
        """One of ``add_object``'s kinds was deleted (unknown objects are ignored)."""
        if obj.kind == "PodDisruptionBudget":
            self.remove_pdb(obj)
        elif self._objects.remove(obj):
            self._queue.move_on_event(ClusterEvent.NAMESPACE_LABEL_CHANGE)

    @property
    def cluster_objects(self) -> ClusterObjects:
        """Namespaces and selecting workload objects the plugins read (read-only for callers)."""
        return self._objects

    def bound_pod(self, key: str) -> Optional[Any]:
        """The pod as bound by this scheduler or added bound ("namespace/name"), or None."""
        return self._bound_pods.get(key)

    @property
    def pending(self) -> int:
        """How many pods wait in the queue (active, backoff, unschedulable and gated)."""
        return len(self._queue)

    def _gauges(self) -> dict[str, int]:
        queue = self._queue
        return {"active": queue.active_count, "backoff": queue.backoff_count,
                "unschedulable": queue.unschedulable_count, "gated": queue.gated_count,
                "waiting": len(self._waiting)}

    # -- scheduling -----------------------------------------------------------------------------------
    def schedule_pending(self, include_backoff: bool = False) -> list[ScheduleResult]:
        """Attempt every pod that is active now, in queue order, once each; returns one result per attempt.

        Pods whose backoff has ended (by the clock) are attempted too; ``include_backoff`` attempts the
        ones still backing off as well. Unschedulable pods wait for a cluster event, as in kube-scheduler.
        So right after a fix (adding the node a pod needed) a pod that failed a moment ago is still backing
        off (1 s, doubled per failure) and this returns ``[]``: call ``schedule_pending(include_backoff=True)``
        to attempt it at once, or call again once the backoff is over.

        Waiting pods (Permit said Wait) are resolved here too: those whose Permit timeout has passed (by
        the clock) are rejected at the start and after each cycle, those allowed or rejected during a cycle
        are bound or released when that cycle ends; their results join the list, after the attempt's own.
        """
        queue = self._queue
        queue.flush_unschedulable_leftover()
        queue.flush_backoff_completed(everything=include_backoff)
        self._resolve_decided()
        self._waiting.expire()
        results = self._take_late_results()
        budget = queue.active_count
        while budget > 0:
            info = queue.pop()
            if info is None:
                break
            budget -= 1
            results.append(self.schedule_one(info))
            self._waiting.expire()
            results.extend(self._take_late_results())
        return results

    def _take_late_results(self) -> list[ScheduleResult]:
        late, self._late_results = self._late_results, []
        return late

    def schedule_one(self, info: QueuedPodInfo) -> ScheduleResult:
        """Run one scheduling cycle (and the binding) for a popped queue entry.

        Waiting pods allowed or rejected during the cycle are bound or released when it ends; their results
        are kept for the next ``schedule_pending`` list (which includes them when it called this).
        """
        self._in_cycle = True
        try:
            result = self._schedule_one(info)
        finally:
            self._in_cycle = False
        self._resolve_decided()
        return result

    def _resolve_decided(self) -> None:
        """Bind or release the waiting pods whose verdict came during a cycle or from another thread."""
        while self._decided:
            self._late_results.append(self._decided.pop(0)())

    def _schedule_one(self, info: QueuedPodInfo) -> ScheduleResult:
        pod = info.pod
        prof = self._profile_for(pod)
        fwk = prof.framework
        metrics = self.metrics
        metrics.attempts += 1
        state = CycleState()
        try:
            node_name, failure = self._schedule_pod(prof, state, info)
        except PluginFailure as exc:
            return self._failed(info, fwk, exc.status, exc.status.message, state)
        if node_name is None:
            return failure  # type: ignore[return-value]
        return self._assume_and_bind(info, fwk, state, node_name)

    def _schedule_pod(self, prof: Profile, state: CycleState,
                      info: QueuedPodInfo) -> tuple[Optional[str], Optional[ScheduleResult]]:
        pod = info.pod
        fwk = prof.framework
        nodes = self._cache.list()
        num_all = len(nodes)
        add_time = self.metrics.add_time
        if num_all == 0:
            return None, self._failed(info, fwk, Status.unschedulable(NO_NODES_AVAILABLE), NO_NODES_AVAILABLE,
                                      state)
        t0 = time.perf_counter()
        pre_result, status = fwk.run_pre_filter_plugins(state, pod, nodes)
        t1 = time.perf_counter()
        add_time("PreFilter", t1 - t0)
        statuses: dict[str, Status] = {}
        if status is not None and not status.is_success:
            if status.code == Code.ERROR:
                raise PluginFailure(status)
            for ni in nodes:
                statuses[ni.name] = status
            return None, self._unschedulable(info, prof, state, statuses, num_all, status.message,
                                             {status.plugin}, pre_filter_failed=True)
        candidates = nodes
        if pre_result is not None and pre_result.node_names is not None:
            allowed = pre_result.node_names
            filtered_out = fwk.pre_filter_result_status(state)
            candidates = []
            for ni in nodes:
                if ni.name in allowed:
                    candidates.append(ni)
                else:
                    statuses[ni.name] = filtered_out
        keys = prof.keys_for(info)
        own_status: Optional[Status] = None
        if pod.status.nominated_node_name:
            # The node its preemption made room on is likely the only one that fits: try it first
            # (evaluateNominatedNode); the round-robin start does not move.
            own_status = self._evaluate_nominated_node(fwk, state, pod)
            if own_status is None:
                add_time("Filter", time.perf_counter() - t1)
                return pod.status.nominated_node_name, None
        if candidates is nodes:
            fast = self._schedule_indexed(prof, state, info, keys, nodes, t1, own_status)
            if fast is not None:
                return fast
        nominated = self._nominations.by_node(pod.priority_value, pod.key) if self._nominations else {}
        feasible, self._next_start_node_index = find_feasible(prof, state, pod, keys, candidates,
                                                              self._next_start_node_index, statuses, nominated,
                                                              self.metrics)
        t2 = time.perf_counter()
        add_time("Filter", t2 - t1)
        if not feasible:
            plugins = {s.plugin for s in statuses.values() if s.plugin}
            if candidates is not nodes:  # every plugin that narrowed the nodes may let the pod in later
                plugins.update(state.get("PreFilterResultPlugins") or ())
            return None, self._unschedulable(info, prof, state, statuses, num_all, "", plugins)
        if len(feasible) == 1:
            return feasible[0].name, None
        chosen = prioritize(prof, state, pod, keys, feasible, self._rng)
        add_time("Score", time.perf_counter() - t2)
        return chosen, None

    def _schedule_indexed(self, prof: Profile, state: CycleState, info: QueuedPodInfo,
                          keys: Mapping[str, Hashable], nodes: list[NodeInfo], t1: float,
                          own_status: Optional[Status] = None
                          ) -> Optional[tuple[Optional[str], Optional[ScheduleResult]]]:
        """The equivalence-class path (``cycle/classlookup.py``), taken when every active filter plugin is
        node-local: the same decisions as ``cycle/nodewalk.py``; None when the pod does not
        qualify."""
        n = len(nodes)
        start = self._next_start_node_index % n
        found = indexed_window(prof, state, info.pod, keys, nodes, start, own_status, self._cache,
                               self._nominations, self.metrics)
        if found is None:
            return None
        self._next_start_node_index = (start + found.processed) % n
        t2 = time.perf_counter()
        self.metrics.add_time("Filter", t2 - t1)
        positions = found.positions
        if not positions:
            statuses = IndexedStatuses(found.index, self._cache, found.overrides)
            return None, self._unschedulable(info, prof, state, statuses, n, "", statuses.rejecting_plugins())
        if len(positions) == 1:
            return nodes[positions[0]].name, None
        chosen = indexed_pick(prof, state, info.pod, keys, Window(nodes, positions, found.spans), self._cache,
                              self._rng)
        self.metrics.add_time("Score", time.perf_counter() - t2)
        return chosen, None

    def _evaluate_nominated_node(self, fwk: Framework, state: CycleState, pod: Any) -> Optional[Status]:
        """The filters on the pod's nominated node (with the other pods nominated there): None when it fits,
        else why not (a node that is gone: unresolvable)."""
        node_name = pod.status.nominated_node_name
        ni = self._cache.find(node_name)
        if ni is None:
            return Status.unresolvable(f"nominated node {node_name!r} not found")
        found = filter_with_nominated(fwk, state, pod, ni,
                                      self._nominations.relevant(node_name, pod.priority_value, pod.key))
        if found is not None and found.code == Code.ERROR:
            raise PluginFailure(found)
        return found

    # -- outcomes -------------------------------------------------------------------------------------
    def _unschedulable(self, info: QueuedPodInfo, prof: Profile, state: CycleState,
                       statuses: dict[str, Status], num_all: int, pre_filter_message: str,
                       plugins: set[str], pre_filter_failed: bool = False) -> ScheduleResult:
        fwk = prof.framework
        pod = info.pod
        post_message = ""
        nominated: Optional[str] = None
        victims: list[Any] = []
        if fwk.post_filter_plugins:
            t0 = time.perf_counter()
            self.metrics.preemption_attempts += 1
            self._current_victims = []
            result, post_status = fwk.run_post_filter_plugins(state, pod, statuses)
            self.metrics.add_time("PostFilter", time.perf_counter() - t0)
            post_message = post_status.message
            if result is not None and result.nominated_node_name:
                nominated = result.nominated_node_name
                victims = list(result.victims) or list(self._current_victims)
                self.metrics.preemptions += 1
                self.metrics.preemption_victims += len(victims)
                pod = info.pod = self._nominator.set(pod, nominated)
            elif result is not None and result.nominated_node_name == "":
                pod = info.pod = self._nominator.set(pod, None)  # no candidate: kube clears it
            self._current_victims = []
        else:
            pod = info.pod = self._nominator.set(pod, None)  # kube-scheduler's clearNominatedNode
        message = fit_error_message(num_all, {} if pre_filter_failed else statuses, pre_filter_message,
                                    post_message)
        self.metrics.unschedulable += 1
        self._queue.add_unschedulable(info, plugins)
        return ScheduleResult(pod, None, message, nominated, victims)

    def _failed(self, info: QueuedPodInfo, fwk: Framework, status: Status, message: str,
                state: CycleState) -> ScheduleResult:
        info.pod = self._nominator.set(info.pod, None)  # kube-scheduler's clearNominatedNode
        if status.code == Code.ERROR:
            self.metrics.errors += 1
            self._queue.add_backoff(info)
        else:
            self.metrics.unschedulable += 1
            self._queue.add_unschedulable(info, {status.plugin} if status.plugin else set())
        return ScheduleResult(info.pod, None, message, error=status.code == Code.ERROR)

    def _assume_and_bind(self, info: QueuedPodInfo, fwk: Framework, state: CycleState,
                         node_name: str) -> ScheduleResult:
        pod = info.pod
        add_time = self.metrics.add_time
        assumed = pod.with_node_name(node_name)
        self._cache.assume_pod(assumed)
        self._nominator.forget(pod)  # DeleteNominatedPodIfExists
        t0 = time.perf_counter()
        point = "Reserve"
        status = fwk.run_reserve_plugins(state, assumed, node_name)
        t1 = time.perf_counter()
        add_time("Reserve", t1 - t0)
        if status is None:
            point = "Permit"
            status = fwk.run_permit_plugins(state, assumed, node_name,
                                            lambda waiting: self._permit_verdict(waiting, info, fwk, state))
            add_time("Permit", time.perf_counter() - t1)
            if status is not None and status.code == Code.WAIT:
                return ScheduleResult(pod, None, status.message, waiting_node_name=node_name)
        if status is not None and not status.is_success:
            return self._release(info, fwk, state, assumed, status, failure_message(point, status, node_name))
        return self._bind(info, fwk, state, assumed)

    def _bind(self, info: QueuedPodInfo, fwk: Framework, state: CycleState, assumed: Any) -> ScheduleResult:
        """The binding cycle after Permit: PreBind, Bind, PostBind (``bindingCycle``)."""
        pod = info.pod
        node_name = assumed.spec.node_name
        add_time = self.metrics.add_time
        t2 = time.perf_counter()
        point = "PreBind"
        status = fwk.run_pre_bind_plugins(state, assumed, node_name)
        t3 = time.perf_counter()
        add_time("PreBind", t3 - t2)
        if status is None:
            point = "Bind"
            status = fwk.run_bind_plugins(state, assumed, node_name)
            add_time("Bind", time.perf_counter() - t3)
        if status is not None and not status.is_success:
            return self._release(info, fwk, state, assumed, status, failure_message(point, status, node_name))
        bound = self._bound_pods.get(pod.key, assumed)
        self._cache.finish_binding(bound)
        self._queue.done(info)
        self._nominator.forget(pod)
        t4 = time.perf_counter()
        fwk.run_post_bind_plugins(state, bound, node_name)
        add_time("PostBind", time.perf_counter() - t4)
        self.metrics.scheduled += 1
        self._queue.move_on_event(ClusterEvent.ASSIGNED_POD_ADD)
        return ScheduleResult(bound, node_name)

    def _release(self, info: QueuedPodInfo, fwk: Framework, state: CycleState, assumed: Any, status: Status,
                 message: str) -> ScheduleResult:
        """A failure after Reserve: Unreserve (reverse order), forget the assumed pod, requeue it."""
        fwk.run_unreserve_plugins(state, assumed, assumed.spec.node_name)
        if self._cache.is_assumed(assumed.key):  # not when its binding was observed meanwhile (a waiting pod)
            self._cache.forget_pod(assumed)
        result = self._failed(info, fwk, status, message, state)
        # The node has room again; the pod itself waits for its own reasons (handleBindingCycleError).
        self._queue.move_on_event(ClusterEvent.ASSIGNED_POD_DELETE, exclude=info.pod.key)
        return result

    def _permit_verdict(self, waiting: WaitingPod, info: QueuedPodInfo, fwk: Framework,
                        state: CycleState) -> None:
        """Every waiting plugin allowed ``waiting``, or one rejected it (or its time ran out): bind or release
        it now, or when the current cycle ends if one is running (a cycle must not bind other pods)."""
        def resolve() -> ScheduleResult:
            self._waiting.remove(waiting_pod_key(waiting.pod))
            verdict = waiting.verdict
            self.metrics.observe_permit_wait(str(verdict.code if verdict is not None else Code.UNSCHEDULABLE),
                                             self._clock() - waiting.since)
            if verdict is not None and verdict.is_success:
                return self._bind(info, fwk, state, waiting.pod)
            verdict = verdict or Status.unschedulable()
            message = failure_message("Permit", verdict, waiting.node_name)
            return self._release(info, fwk, state, waiting.pod, verdict, message)
        loop = self._loop_thread
        if self._in_cycle or (loop is not None and loop != threading.get_ident()):
            self._decided.append(resolve)
        else:
            self._late_results.append(resolve())

    def reject_waiting_pods(self, message: str) -> int:
        """Reject every pod waiting on Permit with ``message`` and put it back in the active queue at once;
        returns how many. Their results are dropped: nothing was decided about them.

        ``run()`` calls it when it returns: kube-scheduler's waiting pods die with the process, unbound, and
        the next scheduler finds them pending; here Unreserve runs, their assumed resources are freed, and
        the next ``run()`` or ``schedule_pending()`` attempts them first thing, so the cache never holds a pod
        the registry does not.
        """
        self._resolve_decided()  # verdicts already given take effect first
        keys = [waiting_pod_key(w.pod) for w in self._waiting]
        before = len(self._late_results)
        for key in keys:
            self._waiting.reject(key, message)
        released = self._late_results[before:]
        del self._late_results[before:]
        for result in released:
            self._queue.activate(result.pod.key)
        return len(keys)

    # -- the handle's side effects --------------------------------------------------------------------
    def _write_binding(self, pod: Any, node_name: str) -> Optional[Status]:
        """DefaultBinder's write: through the connected registry, else recorded in memory."""
        if self._binder is not None:
            return self._binder(pod, node_name)
        self._bound_pods[pod.key] = pod if pod.spec.node_name == node_name else pod.with_node_name(node_name)
        return None

    def _evict(self, pod: Any, preemptor: Any = None) -> None:
        """Preemption removes a victim: from the registry when connected (marked DisruptionTarget by
        ``preemptor`` first), and from the cache at once."""
        if self._waiting.reject(waiting_pod_key(pod), "preempted"):
            self._current_victims.append(pod)  # a waiting pod is rejected, not deleted (released after the cycle)
            return
        if self._evictor is not None:
            self._evictor(pod, preemptor)
        self._current_victims.append(pod)
        try:
            self._cache.remove_pod(pod)
        except PodNotFound:
            return
        self._bound_pods.pop(pod.key, None)
        self._queue.move_on_event(ClusterEvent.ASSIGNED_POD_DELETE)

    # -- explain --------------------------------------------------------------------------------------
    def explain(self, pod: Any) -> Any:
        """Every node's filter verdict and each score plugin's score per node for ``pod``; changes nothing.

        See ``scheduling.cycle.explain.Explanation``.
        """
        from .cycle.explain import explain
        return explain(self, pod)

    # -- registry mode --------------------------------------------------------------------------------
    def run(self, registry: Any, *, stop: Any = None, until_idle: bool = False,
            idle_seconds: float = 0.05, timeout: Optional[float] = None, leader_election: Any = None) -> int:
        """Connect to an ``objects.Registry``: rebuild from it, then watch nodes and pods and bind through it.

        Returns the number of pods bound. ``stop`` (a ``threading.Event``) ends the loop; ``until_idle``
        ends it once nothing is pending that can be attempted and no event arrived for ``idle_seconds``;
        ``timeout`` bounds the whole run. ``leader_election`` (an ``objects.LeaderElection``): schedule
        only while holding its lease, as kube-scheduler with ``--leader-elect``; a scheduler that loses the
        lease stops binding at once and campaigns again (see ``connect.run_elected``).
        """
        from .connect import RegistryConnection, run_elected
        expect_registry(registry, "run")
        self._stopping.clear()
        if leader_election is not None:
            return run_elected(self, registry, leader_election, stop=stop, until_idle=until_idle,
                               idle_seconds=idle_seconds, timeout=timeout, stopping=self._stopping)
        return RegistryConnection(self, registry).run(stop=stop, until_idle=until_idle, idle_seconds=idle_seconds,
                                                      timeout=timeout, stopping=self._stopping)

    def stop(self) -> None:
        """End a ``run()`` going on in another thread (it returns after its current loop turn)."""
        self._stopping.set()


