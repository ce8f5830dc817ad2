"""``Scheduler.run(registry)``: the scheduler connected to an ``objects.Registry``, as kube-scheduler to an
API server.

Start: list Nodes, Pods, PodDisruptionBudgets, Namespaces and the selecting workload objects (Services,
ReplicationControllers, ReplicaSets, StatefulSets — each kind only when the registry knows it) and reconcile
the scheduler with them (bound pods are accounted on their nodes, pending pods queued, what the registry no
longer has is dropped) — so a scheduler started again rebuilds its state from the registry — then watch
each from its list's resourceVersion.
Loop: apply the watch events, schedule what is active, bind through the ``pods/binding`` subresource with
the pod's resourceVersion as precondition (a pod changed meanwhile is a Conflict: the binding fails, the
assumed pod is forgotten and retried after its backoff); the binding also sets the PodScheduled=True
condition. Victims of preemption are deleted through the registry. Pods in phase Succeeded or Failed hold no
resources, as in kube-scheduler.

Status writes, as kube-scheduler's through the API server (``pods/status``): a pod that did not fit gets
``PodScheduled=False`` with reason ``Unschedulable`` (``SchedulerError`` after an internal error) and the
fit error as message — written only when it differs from what the pod already says, so retries do not
write; ``status.nominatedNodeName`` is written when preemption nominates the pod and removed when the
nomination is cleared (the Scheduler's ``nomination_writer``). As kube-scheduler's ``updatePod``, a failed
cycle's nomination and condition go in one status patch: nominations are held until the cycle's failures
are written (or the pod is bound), and the patch takes the pod's resourceVersion as the scheduler holds it as
precondition, re-reading the pod only on Conflict.

Pods waiting on Permit keep an ``until_idle`` run going until they are allowed, rejected or time out (on the
scheduler's clock). When the run ends otherwise (``stop``, ``timeout``), the pods still waiting are released
(Unreserve, their resources freed) and queued as active for the next run, as a restarted kube-scheduler finds
them: pending, never bound. The scheduler's state never holds a binding the registry does not have.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Optional

from objects import ObjectsError

from .framework import NodeNotFound, PodNotFound, Status
from .listers import LISTED_KINDS

__all__ = ["RegistryConnection", "run_elected"]

_TERMINAL = ("Succeeded", "Failed")
_UNCHANGED: Any = object()  # write_unschedulable: no nomination to write
# Listed and watched besides nodes and pods, when the registry knows the kind.
_OBJECT_KINDS = ("PodDisruptionBudget",) + LISTED_KINDS


def _identity(obj: Any) -> tuple[str, str]:
    return (obj.metadata.namespace or "", obj.metadata.name)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pod_scheduled(pod: Any) -> Any:
    """The pod's PodScheduled condition, or None."""
    for condition in pod.status.conditions or ():
        if condition.type == "PodScheduled":
            return condition
    return None


def _says(pod: Any, reason: str, message: str) -> bool:
    condition = _pod_scheduled(pod)
    return condition is not None and (condition.status, condition.reason or "", condition.message or "") == (
        "False", reason, message)


def disruption_conditions(victim: Any, preemptor: Any, now: str) -> Optional[list[dict[str, Any]]]:
    """The victim's status.conditions with ``DisruptionTarget=True`` (reason PreemptionByScheduler, the
    message kube-scheduler writes) in place of any earlier one; None when it already says so
    (``UpdatePodCondition`` reports no change)."""
    from .plugins.defaultpreemption import DISRUPTION_TARGET, PREEMPTION_BY_SCHEDULER
    scheduler_name = preemptor.spec.scheduler_name or "default-scheduler"
    wanted = {"type": DISRUPTION_TARGET, "status": "True", "reason": PREEMPTION_BY_SCHEDULER,
              "message": f"{scheduler_name}: preempting to accommodate a higher priority pod"}
    conditions = [c.to_dict() for c in victim.status.conditions]
    for i, condition in enumerate(conditions):
        if condition.get("type") == DISRUPTION_TARGET:
            if all(condition.get(k) == v for k, v in wanted.items()):
                return None
            conditions[i] = {**wanted, "lastTransitionTime": now if condition.get("status") != "True"
                             else condition.get("lastTransitionTime", now)}
            return conditions
    conditions.append({**wanted, "lastTransitionTime": now})
    return conditions


class RegistryConnection:
    """One run of a Scheduler against a Registry (see the module docstring)."""

    def __init__(self, scheduler: Any, registry: Any, leader_election: Any = None) -> None:
        self.scheduler = scheduler
        self.registry = registry
        # With leader election, every write first checks that this candidate still leads: a scheduler
        # that lost the lease stops binding, evicting and writing statuses at once.
        self.leader_election = leader_election
        self.streams: list[tuple[str, Any]] = []
        self.bound = 0
        self.status_writes = 0
        self.lost_leadership = False
        self.relists = 0
        # Nominations set or cleared this round, by pod key: written with the pod's condition (one patch).
        self._nominations: dict[str, tuple[Any, Optional[str]]] = {}

    # -- start --------------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Reconcile the scheduler with the registry and open the watches (closing any still open)."""
        s = self.scheduler
        for _, stream in self.streams:
            stream.stop()
        self.streams = []
        nodes = self.registry.list("Node")
        pods = self.registry.list("Pod", all_namespaces=True)
        names = {n.metadata.name for n in nodes.items}
        for info in list(s.cache.list()):
            if info.name not in names:
                s.remove_node(info.name)
        for node in nodes.items:
            s.add_node(node)
        live = {p.key for p in pods.items if p.status.phase not in _TERMINAL}
        for pod in [*s.cache.pods(), *s.queue.pending_pods()]:
            if pod.key not in live:
                self._remove(pod)
        self.streams = [("Node", self.registry.watch("Node", resource_version=nodes.resource_version)),
                        ("Pod", self.registry.watch("Pod", resource_version=pods.resource_version,
                                                    all_namespaces=True))]
        # Objects before pods: a pending pod's first attempt should see its namespace's labels.
        for kind in _OBJECT_KINDS:
            listed = self._list_if_known(kind)
            if listed is not None:
                self._reconcile_objects(kind, listed.items)
                self.streams.append((kind, self.registry.watch(kind, resource_version=listed.resource_version,
                                                               all_namespaces=True)))
        for pod in pods.items:
            self._pod_event("ADDED", pod)

    def _list_if_known(self, kind: str) -> Any:
        """The registry's list of ``kind``, or None when the registry does not know the kind."""
        from objects import UnknownResourceType
        try:
            return self.registry.list(kind, all_namespaces=True)
        except UnknownResourceType:
            return None

    def _reconcile_objects(self, kind: str, items: list[Any]) -> None:
        s = self.scheduler
        held = list(s._pdbs.values()) if kind == "PodDisruptionBudget" else s.cluster_objects.objects(kind)
        listed = {_identity(obj) for obj in items}
        for obj in held:
            if _identity(obj) not in listed:
                s.remove_object(obj)
        for obj in items:
            s.add_object(obj)

    # -- events -------------------------------------------------------------------------------------
    def _remove(self, pod: Any) -> None:
        try:
            self.scheduler.remove_pod(pod)
        except PodNotFound:
            pass

    def _pod_event(self, kind: str, pod: Any) -> None:
        s = self.scheduler
        if kind == "DELETED" or pod.status.phase in _TERMINAL:
            self._remove(pod)
        elif pod.spec.node_name:
            s.add_pod(pod)
        elif kind == "ADDED":
            s.add_pod(pod)
        else:
            s.update_pod(pod)

    def _apply(self, kind: str, event: Any) -> None:
        s = self.scheduler
        obj = event.object
        if event.type == "BOOKMARK" or obj is None:
            return
        if kind == "Pod":
            self._pod_event(event.type, obj)
        elif kind == "Node":
            if event.type == "DELETED":
                try:
                    s.remove_node(obj.metadata.name)
                except NodeNotFound:
                    pass
            else:
                s.add_node(obj)
        elif event.type == "DELETED":
            s.remove_object(obj)
        else:
            s.update_object(obj)

    def drain(self, wait: float = 0.0) -> int:
        """Apply every event that is ready (waiting up to ``wait`` seconds for the first); returns how many.

        A watch that fell behind a compaction (``objects.Expired``, the API server's 410 Gone) makes the
        connection list everything again and reopen its watches, as kube-scheduler's informers relist
        (``relists`` counts them); the relist counts as one event."""
        from objects import Expired
        try:
            return self._drain(wait)
        except Expired:
            self.relists += 1
            self.rebuild_when_served()
            return 1

    def rebuild_when_served(self, ended: Callable[[], bool] = lambda: False) -> bool:
        """``rebuild()``, tried again while the store cannot answer (``objects.ServerTimeout`` /
        ``Unavailable``: a Raft or etcd cluster between leaders, a slow disk), as an informer's reflector
        retries its list with backoff (50 ms doubling to 1 s). False when ``ended()`` said stop first."""
        from objects import ServerTimeout, Unavailable
        delay = 0.05
        while True:
            try:
                self.rebuild()
                return True
            except (ServerTimeout, Unavailable):
                if ended():
                    return False
                time.sleep(delay)
                delay = min(2 * delay, 1.0)

    def _drain(self, wait: float) -> int:
        count = 0
        for kind, stream in self.streams:
            timeout = wait if count == 0 and kind == "Pod" else 0.0
            while True:
                events = stream.take(timeout)  # every event queued: one wake-up for those of a burst
                if not events:
                    break
                timeout = 0.0
                for event in events:
                    self._apply(kind, event)
                count += len(events)
        return count

    # -- the handle's writes ------------------------------------------------------------------------
    def leading(self) -> bool:
        """True without leader election, else while this scheduler holds the lease."""
        return self.leader_election is None or bool(self.leader_election.is_leader)

    def bind(self, pod: Any, node_name: str) -> Optional[Status]:
        if not self.leading():
            return Status.error(f"binding pod {pod.key!r} to node {node_name!r}: not the leader")
        held = self._nominations.pop(pod.key, None)
        if held is not None:  # this pod's own nomination first, as kube-scheduler wrote it before
            self.write_nomination(*held)
        meta = pod.metadata
        try:
            bound = self.registry.bind(meta.name, node_name, meta.namespace,
                                       resource_version=meta.resource_version)
        except ObjectsError as exc:
            return Status.error(f"binding pod {pod.key!r} to node {node_name!r}: {exc}")
        self.scheduler._bound_pods[pod.key] = bound
        self.bound += 1
        return None

    def write_failures(self, results: Iterable[Any]) -> None:
        """Write PodScheduled=False for every attempt that left its pod unplaced (not the waiting ones), with
        the pod's nomination when it changed; then the other nominations held."""
        held = self._nominations
        for result in results:
            if result.node_name is None and result.waiting_node_name is None:
                nomination = held.pop(result.pod.key, None)
                self.write_unschedulable(result.pod, "SchedulerError" if result.error else "Unschedulable",
                                         result.message,
                                         _UNCHANGED if nomination is None else nomination[1])
        self.flush_nominations()

    def flush_nominations(self) -> None:
        """Write every nomination held (each alone)."""
        while self._nominations:
            self.write_nomination(*self._nominations.pop(next(iter(self._nominations))))

    def write_unschedulable(self, pod: Any, reason: str, message: str,
                            nominated_node_name: Optional[str] = _UNCHANGED) -> bool:
        """Patch the pod's PodScheduled condition unless it already says this, and its
        ``status.nominatedNodeName`` when given (None removes it); True when written."""
        from objects import Conflict, ObjectsError, to_dict
        nominate = nominated_node_name is not _UNCHANGED
        if (_says(pod, reason, message) and not nominate) or not self.leading():
            return False
        meta = pod.metadata
        current = pod  # first try the pod as held; its resourceVersion is the precondition
        for attempt in range(4):  # a concurrent write makes the precondition fail: re-read
            if attempt:
                try:
                    current = self.registry.get("Pod", meta.name, meta.namespace)
                except ObjectsError:
                    return False  # deleted meanwhile
            if current.spec.node_name:
                return False
            status: dict[str, Any] = {"nominatedNodeName": nominated_node_name} if nominate else {}
            if not _says(current, reason, message):
                previous = _pod_scheduled(current)
                since = previous.last_transition_time if previous is not None and previous.status == "False" \
                    else None
                conditions = [c for c in (to_dict(current).get("status") or {}).get("conditions") or []
                              if c.get("type") != "PodScheduled"]
                conditions.append({"type": "PodScheduled", "status": "False", "reason": reason,
                                   "message": message, "lastTransitionTime": since or _now()})
                status["conditions"] = conditions
            patch = {"metadata": {"resourceVersion": current.metadata.resource_version}, "status": status}
            try:
                self.registry.patch_status("Pod", meta.name, patch, meta.namespace)
            except Conflict:
                continue
            except ObjectsError:
                return False
            self.status_writes += 1
            return True
        return False  # busy pod: the next attempt writes it

    def hold_nomination(self, pod: Any, node_name: Optional[str]) -> None:
        """The Scheduler's ``nomination_writer`` during a run: held for the round's status writes."""
        self._nominations[pod.key] = (pod, node_name)

    def write_nomination(self, pod: Any, node_name: Optional[str]) -> None:
        """Set (or, with None, remove) the pod's ``status.nominatedNodeName``."""
        from objects import ObjectsError
        if not self.leading():
            return
        try:
            self.registry.patch_status("Pod", pod.metadata.name, {"status": {"nominatedNodeName": node_name}},
                                       pod.metadata.namespace)
        except ObjectsError:
            return  # the pod is gone
        self.status_writes += 1

    def evict(self, pod: Any, preemptor: Any = None) -> None:
        """Delete a victim; a victim of ``preemptor`` is first marked ``DisruptionTarget=True`` (reason
        PreemptionByScheduler) in its status, as kube-scheduler's prepareCandidate patches it: that
        condition is what lets the preemptor wait for it (``podTerminatingByPreemption``)."""
        from objects import ObjectsError
        if not self.leading():
            return
        if preemptor is not None:
            conditions = disruption_conditions(pod, preemptor, _now())
            if conditions is not None:
                try:
                    self.registry.patch_status("Pod", pod.metadata.name, {"status": {"conditions": conditions}},
                                               pod.metadata.namespace)
                    self.status_writes += 1
                except ObjectsError:
                    pass  # gone meanwhile: the delete below says so
        try:
            self.registry.delete("Pod", pod.metadata.name, pod.metadata.namespace)
        except ObjectsError:
            pass  # gone already, or the store could not answer: the preemptor's next attempt sees the victim

    # -- the loop -----------------------------------------------------------------------------------
    def run(self, stop: Any = None, until_idle: bool = False, idle_seconds: float = 0.05,
            timeout: Optional[float] = None, stopping: Any = None) -> int:
        """See ``Scheduler.run``; ``stopping`` is the scheduler's own stop event (``Scheduler.stop``)."""
        s = self.scheduler
        s._binder, s._evictor, s.nomination_writer = self.bind, self.evict, self.hold_nomination
        s._loop_thread = threading.get_ident()  # allow/reject from other threads is carried out by this loop
        deadline = None if timeout is None else time.monotonic() + timeout

        def ended() -> bool:
            return bool((stop is not None and stop.is_set()) or (stopping is not None and stopping.is_set())
                        or (deadline is not None and time.monotonic() >= deadline))
        try:
            if not self.rebuild_when_served(ended):
                return self.bound
            idle_since: Optional[float] = None
            while not ended():
                if not self.leading():
                    self.lost_leadership = True
                    break
                events = self.drain()
                results = s.schedule_pending()
                if not results and not events:
                    # kube-scheduler (SchedulerPopFromBackoffQ, default since 1.33) does not sit idle while
                    # pods rejected by plugins back off: with nothing active it takes the first of them.
                    info = s.queue.pop_backoff()
                    if info is not None:
                        results = [s.schedule_one(info)]
                self.write_failures(results)
                if events or results:
                    idle_since = None
                    continue
                now = time.monotonic()
                if idle_since is None:
                    idle_since = now
                # Pods waiting on Permit keep an until_idle run up: their verdict or timeout binds or
                # releases them through the registry.
                if until_idle and now - idle_since >= idle_seconds and not len(s._waiting):
                    break
                if self.drain(wait=min(idle_seconds, 0.05)):
                    idle_since = None
        finally:
            # Waiting pods must not be bound later in memory only: released, they wait for the next run.
            s.reject_waiting_pods("scheduler stopped")
            self.flush_nominations()
            s._binder = s._evictor = s.nomination_writer = None
            s._loop_thread = None
            for _, stream in self.streams:
                stream.stop()
        return self.bound


def run_elected(scheduler: Any, registry: Any, leader_election: Any, *, stop: Any, until_idle: bool,
                idle_seconds: float, timeout: Optional[float], stopping: Any) -> int:
    """``Scheduler.run`` with leader election: campaign in a thread; while this scheduler leads, run a
    connection (rebuilt from the registry each time the lease is taken); when the lease is lost the
    connection ends at once and the scheduler campaigns again. Returns the pods bound over all terms.
    The lease is released when the run ends (``release_on_cancel``), so another scheduler takes over at once.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    elector_stop = threading.Event()
    leading = threading.Event()
    thread = threading.Thread(target=leader_election.run, name=f"leader-election-{leader_election.identity}",
                              args=(registry, leading.set, leading.clear, elector_stop), daemon=True)
    thread.start()

    def ended() -> bool:
        return bool((stop is not None and stop.is_set()) or (stopping is not None and stopping.is_set())
                    or (deadline is not None and time.monotonic() >= deadline))
    bound = 0
    try:
        while not ended():
            if not leader_election.is_leader:
                leading.wait(0.05)
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            connection = RegistryConnection(scheduler, registry, leader_election)
            bound += connection.run(stop=stop, until_idle=until_idle, idle_seconds=idle_seconds, timeout=left,
                                    stopping=stopping)
            if until_idle and not connection.lost_leadership:
                break
    finally:
        elector_stop.set()
        thread.join()
    return bound
