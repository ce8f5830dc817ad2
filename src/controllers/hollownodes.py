"""Hollow nodes, like kubemark's hollow kubelets and kwok: Nodes that register, heartbeat and "run" the pods
bound to them, with no containers behind them, thousands to a process.

Each hollow node registers its Node (Ready, capacity and allocatable from its template; kubemark's 4 CPU,
32Gi, 110 pods by default), renews its Lease in ``kube-node-lease`` every ``heartbeat_interval`` (the
kubelet's node lease, owned by the Node), posts its node status when it changed (a controller marked it
Unknown, say) and every ``status_report_interval`` otherwise (the kubelet's nodeStatusReportFrequency), and
takes every pod bound to it through the kubelet's phases: Pending (containers being created, when a
startup time is set) -> Running with PodReadyToStartContainers / Initialized / ContainersReady / Ready,
startTime, hostIP / podIP and containerStatuses -> Succeeded or Failed when its containers exit (see the
``borgkit.io/*`` annotations in :mod:`controllers.kubeletstatus`), restarting them with the kubelet's
back-off when the restart policy says so. A pod being deleted (``deletionTimestamp``) is terminated after
its termination time (at most its grace period), its terminated status written, then deleted for good
(grace period 0) with its uid as precondition. Every status goes through the status subresource with the
pod's resourceVersion as precondition; a Conflict re-reads.

One informer watches all pods (indexed by ``spec.nodeName``) and one all nodes; a pod's watch event is
synced on the pod informer's thread, and one :class:`TimerWheel` thread runs every node's heartbeats and
timed pod transitions (a lock per node keeps the syncs of its pods one at a time). ``node(name)`` gives a handle to stop a node for
good or pause it (no heartbeats, no pod progress: a frozen kubelet) and resume it.
"""
from __future__ import annotations

import logging
import math
import random
import threading
import time
from typing import Any, Callable, Sequence

from objects import AlreadyExists, Conflict, Lease, NotFound, ObjectsError, ServerTimeout, Unavailable, from_dict, to_dict
from objects.leaderelection import micro_time

from .informer import Informer
from .podstate import restart_count
from .kubeletstatus import (NODE_LEASE_NAMESPACE, RUN_SECONDS, STARTUP_SECONDS, TERMINATION_SECONDS,
                            backoff_status, lease_object, node_addresses, node_conditions, node_object,
                            parse_time, pending_status, pod_exit_code, pod_seconds, rfc3339, running_status,
                            terminated_status)
from .timerwheel import Timer, TimerWheel

__all__ = ["HollowNodes", "HollowNode", "NODE_NAME_INDEX"]

log = logging.getLogger(__name__)

NODE_NAME_INDEX = "spec.nodeName"
_TERMINAL = ("Succeeded", "Failed")
_CONFLICT_RETRY = 0.05  # seconds before a sync that met a Conflict looks again
# seconds before a sync or report the store could not answer (504 / 503) is tried again: the kubelet's status
# manager resyncs the statuses it could not write every 10 s
_TRANSIENT_RETRY = 10.0
# Heartbeats are due on a grid of heartbeat_interval / 200 (50 ms at the kubelet's 10 s): the renewals of one
# slot run in one wake-up of the timer thread, and their watch events reach a Lease informer in one batch.
# At 5,000 nodes that is 20 wake-ups a second instead of 500, each of which cost the timer thread and every
# Lease watcher more CPU than the renewal's write. A renewal comes at most one slot early: the kubelet's own
# jitter on the renew interval is 4 % (wait.JitterUntil(..., 0.04, ...)), eight slots. Status reports are
# on a grid of status_report_interval / 200 (1.5 s at 5 min) for the same reason: each one alone woke the
# timer thread to run ~30 us of work on cold caches, ~350 us of CPU; the kubelet itself looks at its report
# frequency only every nodeStatusUpdateFrequency (10 s).
_TIMER_SLOTS = 200


def _slotted(due: float, interval: float) -> float:
    """``due`` moved back to its slot of ``interval / _TIMER_SLOTS`` (timers of one slot fire together)."""
    slot = interval / _TIMER_SLOTS
    return min(due, math.floor(due / slot) * slot)  # never later, whatever the rounding of the product


def _node_name_of(pod: Any) -> list[str]:
    return [pod.spec.node_name] if pod.spec.node_name else []


def _same_node_name(old: Any, new: Any) -> bool:
    return old.spec.node_name == new.spec.node_name  # _node_name_of gives both the same


class HollowNode:
    """One hollow node: ``stop()`` (for good, as a killed kubelet), ``pause()`` / ``resume()`` (a frozen
    kubelet: no lease renewals, no status, no pod progress, until resumed)."""

    def __init__(self, owner: "HollowNodes", name: str, index: int, body: dict[str, Any]) -> None:
        self._owner = owner
        self.name = name
        self.index = index
        self.body = body
        self.uid: str | None = None
        self.state = "running"   # running | paused | stopped
        self.epoch = 0           # bumped by pause / resume / stop: timers of an older epoch do nothing
        self.lease_version: str | None = None
        self.lease: Any = None   # the Lease this node last wrote (None after a re-read) ...
        self.lease_uid: str | None = None  # ... for this Node uid
        self.ip, cidr = node_addresses(index)
        self._pod_prefix = cidr.rsplit(".", 1)[0] + "."
        self._free_ips: list[int] = []
        self._next_ip = 2
        self.heartbeats = 0
        # held by every sync of one of its pods: a pod's watch event syncs it on the informer's thread, its
        # timers on the wheel's
        self.pod_lock = threading.Lock()

    @property
    def live(self) -> bool:
        """Whether the node runs (neither paused nor stopped)."""
        return self.state == "running"

    @property
    def paused(self) -> bool:
        """Whether the node is paused (frozen until resumed)."""
        return self.state == "paused"

    @property
    def stopped(self) -> bool:
        """Whether the node was stopped for good."""
        return self.state == "stopped"

    def stop(self) -> None:
        """Stop this node for good: no more heartbeats or pod transitions (the Node object stays)."""
        self._owner._set_state(self, "stopped")

    def pause(self) -> None:
        """Freeze this node until :meth:`resume`."""
        if self.state == "running":
            self._owner._set_state(self, "paused")

    def resume(self) -> None:
        """Heartbeat again at once and carry on with its pods."""
        if self.state == "paused":
            self._owner._set_state(self, "running")

    def allocate_ip(self) -> str:
        """A pod IP from the node's CIDR (a released one first)."""
        if self._free_ips:
            return self._pod_prefix + str(self._free_ips.pop())
        if self._next_ip > 254:  # more pods than a /24: addresses are shared (hollow pods need none)
            self._next_ip = 2
        n = self._next_ip
        self._next_ip += 1
        return self._pod_prefix + str(n)

    def release_ip(self, ip: str | None) -> None:
        """Give a pod's IP back to the node (addresses of other CIDRs are ignored)."""
        if ip and ip.startswith(self._pod_prefix):
            last = int(ip.rsplit(".", 1)[1])
            if last not in self._free_ips:
                self._free_ips.append(last)

    def __repr__(self) -> str:
        return f"HollowNode({self.name!r}, {self.state})"


class _PodRun:
    """What a hollow kubelet remembers about one pod it runs."""

    __slots__ = ("uid", "ip", "start_at", "start_time", "started_at", "started_stamp", "restarts", "backoff_until",
                 "last_exit", "finished", "terminate_at", "timer", "done", "written", "latest", "seen",
                 "seen_version")

    def __init__(self, uid: str | None) -> None:
        self.uid = uid
        self.ip: str | None = None
        self.start_at: float | None = None      # when its containers will be running (the timers' clock)
        self.start_time: str | None = None      # status.startTime
        self.started_at: float | None = None    # when its containers last started (the timers' clock)
        self.started_stamp: str | None = None   # the same moment as written into the status (epoch)
        self.restarts = 0
        self.backoff_until: float | None = None
        self.last_exit: int | None = None
        self.finished: str | None = None
        self.terminate_at: float | None = None
        self.timer: Timer | None = None
        self.done = False                       # terminal status written
        self.written = 0                        # resourceVersion of this kubelet's last write of the pod
        self.latest: Any = None                 # the pod that write returned, until the informer has it
        self.seen: str | None = None            # resourceVersion the last finished sync acted on
        self.seen_version = 0                   # the same as a number (0: none)


class HollowNodes:
    """Many hollow nodes on one Registry (see the module documentation).

    ``count_or_templates``: a number of nodes built from the default template, or a sequence of Node
    templates (objects or dicts; labels, annotations, spec — taints, say — and status capacity / allocatable
    are used), one node each, named by the template or ``name_prefix`` + its position.
    ``clock``: seconds since the epoch for what is written (default ``time.time``) and, when given, for
    timers and durations too, so a test may move it; without one, timers and durations (heartbeats, start,
    run, termination and back-off times) run on ``time.monotonic``, so a step of the wall clock neither
    fires every timer at once nor holds them back (the kubelet's timers run on Go's monotonic time).
    """

    def __init__(self, registry: Any, count_or_templates: int | Sequence[Any], *,
                 name_prefix: str = "hollow-node-", clock: Callable[[], float] | None = None,
                 heartbeat_interval: float = 10.0, lease_duration_seconds: int = 40,
                 status_report_interval: float = 300.0, pod_startup_seconds: float = 0.0,
                 termination_seconds: float = 1.0, restart_backoff: tuple[float, float] = (10.0, 300.0),
                 workers: int = 1, start_index: int = 0) -> None:
        if isinstance(count_or_templates, bool) or not isinstance(count_or_templates, (int, Sequence)):
            raise TypeError("count_or_templates: must be a number of nodes or a sequence of Node templates")
        if isinstance(count_or_templates, int):
            if count_or_templates < 0:
                raise ValueError(f"count_or_templates: Invalid value: {count_or_templates}: must be at least 0")
            templates: list[dict[str, Any]] = [{} for _ in range(count_or_templates)]
        else:
            templates = [t if isinstance(t, dict) else to_dict(t) for t in count_or_templates]
        for field, value in (("heartbeat_interval", heartbeat_interval),
                             ("status_report_interval", status_report_interval)):
            if not value > 0:
                raise ValueError(f"{field}: Invalid value: {value}: must be greater than 0")
        if not (isinstance(lease_duration_seconds, int) and lease_duration_seconds >= 1):
            raise ValueError(f"lease_duration_seconds: Invalid value: {lease_duration_seconds}: must be at least 1")
        self.registry = registry
        self.clock: Callable[[], float] = clock or time.time
        self._tick: Callable[[], float] = clock or time.monotonic   # timers and durations
        self.heartbeat_interval = float(heartbeat_interval)
        self.lease_duration_seconds = lease_duration_seconds
        self.status_report_interval = float(status_report_interval)
        self.pod_startup_seconds = float(pod_startup_seconds)
        self.termination_seconds = float(termination_seconds)
        self.restart_backoff = restart_backoff
        self._nodes: dict[str, HollowNode] = {}
        now = rfc3339(self.clock())
        for position, template in enumerate(templates):
            index = start_index + position
            name = ((template.get("metadata") or {}).get("name")) or f"{name_prefix}{index}"
            if name in self._nodes:
                raise ValueError(f"count_or_templates[{position}].metadata.name: Duplicate value: {name!r}")
            body = node_object(name, template, index, now)
            from_dict(body)  # a bad template is refused here, before anything is written
            self._nodes[name] = HollowNode(self, name, index, body)
        self._pods: dict[str, _PodRun] = {}
        self._queued: set[str] = set()
        self._event_syncs = 0  # watch events being synced now (on the pod informer's thread, the only writer)
        self._lock = threading.Lock()
        self.wheel = TimerWheel(self._tick, workers=workers, name="hollow-nodes")
        self.pods = Informer(registry, "Pod", clock=self._tick)
        self.pods.add_index(NODE_NAME_INDEX, _node_name_of, _same_node_name)
        self.node_informer = Informer(registry, "Node", clock=self._tick)
        self.started = False
        # counters: what the hollow kubelets wrote
        self.writes = {"lease": 0, "node_status": 0, "pod_status": 0, "pod_delete": 0, "register": 0}

    # ------------------------------------------------------------------ handles
    def node(self, name: str) -> HollowNode:
        """The handle of one node (KeyError naming it when it is not one of these)."""
        try:
            return self._nodes[name]
        except KeyError:
            raise KeyError(f"no hollow node named {name!r}") from None

    def pods_on(self, name: str) -> list[Any]:
        """The pods bound to one of these nodes, as the shared pod informer has them."""
        return self.pods.lister.by_index(NODE_NAME_INDEX, name)

    @property
    def names(self) -> list[str]:
        """The names of every hollow node, in creation order."""
        return list(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Any:
        return iter(self._nodes.values())

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 60.0) -> None:
        """Register every node and its Lease (here, before returning), then run."""
        if self.started:
            return
        self._ensure_namespace()
        for node in self._nodes.values():
            self._register(node)
            self._renew_lease(node)
        self.pods.add_handler(on_add=self._pod_event, on_update=self._pod_updated, on_delete=self._pod_event)
        self.node_informer.add_handler(on_add=self._node_event, on_update=lambda old, new: self._node_event(new),
                                       on_delete=self._node_deleted)
        self.wheel.start()
        self.pods.start()
        self.node_informer.start()
        if not (self.pods.wait_synced(timeout) and self.node_informer.wait_synced(timeout)):
            raise TimeoutError(f"hollow nodes: pods and nodes not listed within {timeout} s")
        now = self._tick()
        for node in self._nodes.values():
            self._schedule_heartbeat(node, now + random.uniform(0, self.heartbeat_interval))
            self._schedule_report(node, now + random.uniform(0, self.status_report_interval))
        self.started = True

    def stop(self) -> None:
        """Stop every node's work and the threads (the Node objects stay, as after killing the kubelets)."""
        self.pods.stop()
        self.node_informer.stop()
        self.wheel.stop()
        self.started = False

    def __enter__(self) -> "HollowNodes":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def idle(self) -> bool:
        """True when no pod transition is due now and none is running (heartbeats aside)."""
        return not self._queued and not self._event_syncs and self.wheel.idle()

    def _count(self, kind: str) -> None:
        with self._lock:  # workers > 1 write from several threads
            self.writes[kind] += 1

    def _set_state(self, node: HollowNode, state: str) -> None:
        with self._lock:
            if node.state == "stopped":
                return
            node.state = state
            node.epoch += 1
        if state == "running" and self.started:
            now = self._tick()
            self._schedule_heartbeat(node, now)
            self._schedule_report(node, now + self.status_report_interval)
            self.wheel.call_at(now, lambda: self._post_node_status(node), node.index)
            for pod in self.pods.lister.by_index(NODE_NAME_INDEX, node.name):
                self._enqueue(pod.key, node)

    # ------------------------------------------------------------------ node: registration and heartbeats
    def _ensure_namespace(self) -> None:
        try:
            self.registry.create(from_dict({"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": NODE_LEASE_NAMESPACE}}))
        except AlreadyExists:
            pass

    def _register(self, node: HollowNode) -> None:
        body = dict(node.body)
        body["status"] = dict(body["status"], conditions=node_conditions(rfc3339(self.clock())))
        try:
            created = self.registry.create(from_dict(body))
            node.uid = created.metadata.uid
            self._count("register")
        except AlreadyExists:
            existing = self.registry.get("Node", node.name)
            node.uid = existing.metadata.uid
            self._post_node_status(node, existing, force=True)

    def _schedule_heartbeat(self, node: HollowNode, due: float) -> None:
        epoch = node.epoch
        due = _slotted(due, self.heartbeat_interval)

        def beat() -> None:
            if node.epoch != epoch or not node.live:
                return
            try:
                self._renew_lease(node)
            except ObjectsError:
                log.exception("hollow node %s: lease renewal failed", node.name)
            if node.epoch == epoch:
                self._schedule_heartbeat(node, self._tick() + self.heartbeat_interval)
        self.wheel.call_at(due, beat, node.index)

    def _schedule_report(self, node: HollowNode, due: float) -> None:
        epoch = node.epoch
        due = _slotted(due, self.status_report_interval)

        def report() -> None:
            if node.epoch != epoch or not node.live:
                return
            try:
                self._post_node_status(node, force=True)
            except ObjectsError as exc:  # the next report is still due: a kubelet keeps reporting
                log.warning("hollow node %s: node status report failed: %s", node.name, exc)
            if node.epoch == epoch:
                self._schedule_report(node, self._tick() + self.status_report_interval)
        self.wheel.call_at(due, report, node.index)

    def _renew_lease(self, node: HollowNode) -> None:
        """Renew (or create) the node's Lease: a CAS on the version last written, re-read on Conflict.

        The Lease this node last wrote itself, for the Node uid it still has, is renewed as that object with
        the new renewTime (``replace``): its content is ``lease_object``'s for the same facts, so the update
        is the one the dict would make, and the Registry reads again only its spec (objects.specwrite)."""
        renew = micro_time(self.clock())
        for _ in range(3):
            own = node.lease
            try:
                if own is not None and node.lease_uid == node.uid:
                    lease = self.registry.update(own.replace(spec=own.spec.replace(renew_time=renew)))
                elif node.lease_version is None:
                    lease = self.registry.create(from_dict(lease_object(
                        node.name, node.uid, renew, self.lease_duration_seconds)))
                else:
                    lease = self.registry.update(from_dict(lease_object(
                        node.name, node.uid, renew, self.lease_duration_seconds, node.lease_version)))
            except AlreadyExists:
                node.lease = None
                node.lease_version = self.registry.get("Lease", node.name, NODE_LEASE_NAMESPACE).metadata.resource_version
                continue
            except (Conflict, NotFound):
                node.lease = None
                try:
                    node.lease_version = self.registry.get("Lease", node.name,
                                                           NODE_LEASE_NAMESPACE).metadata.resource_version
                except NotFound:
                    node.lease_version = None
                continue
            node.lease, node.lease_uid = (lease if isinstance(lease, Lease) else None), node.uid
            node.lease_version = lease.metadata.resource_version
            node.heartbeats += 1
            self._count("lease")
            return

    def _post_node_status(self, node: HollowNode, current: Any = None, force: bool = False) -> None:
        """Write the healthy conditions when the stored ones say otherwise (or ``force``: a heartbeat)."""
        if not node.live:
            return
        if current is None:
            current = self.node_informer.lister.get(node.name)
            if current is None:
                current = self._get("Node", node.name)
            if current is None:
                self._register(node)
                return
        if not force and _ready(current):
            return
        since = {c.type: c.last_transition_time for c in current.status.conditions or ()
                 if c.last_transition_time and c.status == ("True" if c.type == "Ready" else "False")}
        patch = {"metadata": {"resourceVersion": current.metadata.resource_version},
                 "status": {"conditions": node_conditions(rfc3339(self.clock()), since)}}
        try:
            self.registry.patch_status("Node", node.name, patch)
            self._count("node_status")
        except Conflict:
            self.wheel.call_later(_CONFLICT_RETRY, lambda: self._post_node_status(node, force=force), node.index)
        except NotFound:
            self._register(node)

    def _node_event(self, obj: Any) -> None:
        node = self._nodes.get(obj.metadata.name)
        if node is not None and node.live and self.started and not _ready(obj):
            self.wheel.call_at(self._tick(), lambda: self._post_node_status(node), node.index)

    def _node_deleted(self, obj: Any) -> None:
        node = self._nodes.get(obj.metadata.name)
        if node is not None and node.live and self.started:  # the kubelet registers again
            self.wheel.call_at(self._tick(), lambda: self._register(node) if node.live else None, node.index)

    def _get(self, kind: str, name: str, namespace: str | None = None) -> Any:
        try:
            return self.registry.get(kind, name, namespace)
        except NotFound:
            return None

    # ------------------------------------------------------------------ pods
    def _pod_event(self, pod: Any) -> None:
        node = self._nodes.get(pod.spec.node_name) if pod.spec.node_name else None
        if node is not None:
            self._sync_event(pod.key, node)

    def _pod_updated(self, old: Any, pod: Any) -> None:
        """A new version of a pod: synced unless its node already acted on that version (or a later one):
        the echo of the node's own status write, which it settled as it wrote it (see ``_settle``)."""
        name = pod.spec.node_name
        node = self._nodes.get(name) if name else None
        if node is None:
            return
        key = pod.key
        run = self._pods.get(key)
        if run is not None and run.seen_version and int(pod.metadata.resource_version) <= run.seen_version \
                and run.uid == pod.metadata.uid:
            return
        self._sync_event(key, node)

    def _sync_event(self, key: str, node: HollowNode) -> None:
        """A watch event's sync, on the informer's thread: handing it to the wheel's thread cost a wake-up
        of that thread per event."""
        self._event_syncs += 1
        try:
            with node.pod_lock:
                self._sync_guarded(key, node)
        finally:
            self._event_syncs -= 1

    def _enqueue(self, key: str, node: HollowNode, due: float | None = None) -> None:
        if due is None:
            if key in self._queued:
                return
            self._queued.add(key)
            self.wheel.call_at(self._tick(), lambda: self._sync_now(key, node), node.index)
            return
        run = self._pods.get(key)
        timer = self.wheel.call_at(due, lambda: self._sync_now(key, node), node.index)
        if run is not None:
            if run.timer is not None:
                run.timer.cancel()
            run.timer = timer

    def _sync_now(self, key: str, node: HollowNode) -> None:
        self._queued.discard(key)
        with node.pod_lock:
            self._sync_guarded(key, node)

    def _sync_guarded(self, key: str, node: HollowNode) -> None:
        """``sync_pod``, retried on a timer when it met a Conflict or the store could not answer; the caller
        holds the node's pod lock."""
        try:
            self.sync_pod(key, node)
        except Conflict:
            self.wheel.call_later(_CONFLICT_RETRY, lambda: self._sync_again(key, node), node.index)
        except NotFound:
            pass  # deleted meanwhile: the informer's DELETED event forgets it
        except (ServerTimeout, Unavailable) as exc:  # no event may come to sync it again: retry on a timer
            log.warning("hollow node %s: sync of pod %s failed, retrying in %.0f s: %s", node.name, key,
                        _TRANSIENT_RETRY, exc)
            self.wheel.call_later(_TRANSIENT_RETRY, lambda: self._sync_again(key, node), node.index)

    def _sync_again(self, key: str, node: HollowNode) -> None:
        self._enqueue(key, node)

    def observed(self, key: str) -> str | None:
        """The resourceVersion of pod ``key`` ("namespace/name") its node last acted on (None: never). The
        version of the node's own Running status write counts as acted on once written (the timers for what
        comes next set): its watch event, which would find nothing to do, is not synced again."""
        run = self._pods.get(key)
        return run.seen if run is not None else None

    def sync_pod(self, key: str, node: HollowNode) -> None:
        """Move one pod along (the kubelet's syncPod): read it from the informer, act on what is due, set
        a timer for what comes next."""
        pod = self.pods.lister.get(key)
        run = self._pods.get(key)
        if run is not None and run.latest is not None and pod is not None:
            if int(pod.metadata.resource_version or 0) < run.written and run.uid == pod.metadata.uid:
                pod = run.latest  # the informer has not caught up with our own write: act on what it wrote
            else:
                run.latest = None
        self._sync_pod(key, node, pod)
        run = self._pods.get(key)
        if run is not None and pod is not None and run.uid == pod.metadata.uid and node.live:
            self._seen(run, pod)

    @staticmethod
    def _seen(run: _PodRun, pod: Any) -> None:
        version = int(pod.metadata.resource_version or 0)
        if version >= run.seen_version:
            run.seen, run.seen_version = pod.metadata.resource_version, version

    def _settle(self, run: _PodRun, written: Any) -> None:
        """The node's own write left the pod where a sync of it would do nothing (timers for what comes
        next set): count that version as acted on, so its watch event is not synced again."""
        if run.written == int(written.metadata.resource_version) and _pod_ready(written) \
                and not written.metadata.deletion_timestamp:
            self._seen(run, written)

    def _sync_pod(self, key: str, node: HollowNode, pod: Any) -> None:
        run = self._pods.get(key)
        if pod is None or pod.spec.node_name != node.name:
            if run is not None and pod is None:
                self._forget(key, run, node)
            return
        if run is None or run.uid != pod.metadata.uid:
            if run is not None:
                self._forget(key, run, node)
            run = self._pods[key] = self._adopt(pod, node)
        if not node.live:
            return  # resume() syncs every pod of the node again
        if int(pod.metadata.resource_version or 0) < run.written:
            return  # the informer has not caught up with our own write yet: its event syncs again
        now = self._tick()
        if pod.metadata.deletion_timestamp:
            self._terminate(pod, run, node, now)
        elif pod.status.phase in _TERMINAL:
            run.done = True
        elif run.backoff_until is not None:
            if now >= run.backoff_until:
                self._start(pod, run, node, now, restart=True)
            else:
                self._enqueue(key, node, run.backoff_until)
        elif run.started_at is None:
            if run.start_at is None:
                run.start_at = now + pod_seconds(pod, STARTUP_SECONDS, self.pod_startup_seconds)  # type: ignore[operator]
                if run.start_at > now:
                    stamp = rfc3339(self.clock())
                    self._write_status(pod, pending_status(pod, stamp, node.ip, self._ip(run, node)))
                    run.start_time = stamp
            if now >= run.start_at:
                self._start(pod, run, node, now, restart=False)
            else:
                self._enqueue(key, node, run.start_at)
        else:
            self._maybe_exit(pod, run, node, now)

    def _adopt(self, pod: Any, node: HollowNode) -> _PodRun:
        """State for a pod seen for the first time; a pod already running (this process restarted) keeps
        running from its recorded start."""
        run = _PodRun(pod.metadata.uid)
        if pod.status.phase == "Running":
            run.ip = pod.status.pod_ip
            run.start_time = pod.status.start_time
            started = parse_time(pod.status.start_time)
            epoch, tick = self.clock(), self._tick()
            run.started_at = tick - max(0.0, epoch - started) if started is not None else tick
            run.started_stamp = rfc3339(started if started is not None else epoch)
            run.start_at = run.started_at
            run.restarts = restart_count(pod)
        return run

    def _ip(self, run: _PodRun, node: HollowNode) -> str:
        if run.ip is None:
            run.ip = node.allocate_ip()
        return run.ip

    def _forget(self, key: str, run: _PodRun, node: HollowNode) -> None:
        if run.timer is not None:
            run.timer.cancel()
        node.release_ip(run.ip)
        self._pods.pop(key, None)

    def _write_status(self, pod: Any, status: dict[str, Any]) -> Any:
        patch = {"metadata": {"resourceVersion": pod.metadata.resource_version}, "status": status}
        written = self.registry.patch_status("Pod", pod.metadata.name, patch, pod.metadata.namespace)
        self._count("pod_status")
        run = self._pods.get(pod.key)
        if run is not None:
            run.written = int(written.metadata.resource_version)
            run.latest = written
        return written

    def _start(self, pod: Any, run: _PodRun, node: HollowNode, now: float, restart: bool) -> None:
        stamp = rfc3339(self.clock())
        run.start_time = run.start_time or stamp
        if restart:
            run.restarts += 1   # a new container instance: the kubelet numbers it one more than the last
            status = running_status(pod, stamp, node.ip, self._ip(run, node), run.start_time, stamp, run.restarts,
                                    run.last_exit, run.finished)
        else:
            status = running_status(pod, stamp, node.ip, self._ip(run, node), run.start_time, stamp, run.restarts)
        written = self._write_status(pod, status)
        run.started_at = now
        run.started_stamp = stamp
        run.backoff_until = None
        self._schedule_exit(pod, run, node, now)
        self._settle(run, written)

    def _run_seconds(self, pod: Any) -> float | None:
        seconds = pod_seconds(pod, RUN_SECONDS, None)
        if seconds is None and pod_exit_code(pod) is not None:
            seconds = 0.0
        return seconds

    def _schedule_exit(self, pod: Any, run: _PodRun, node: HollowNode, now: float) -> None:
        seconds = self._run_seconds(pod)
        if seconds is not None and run.started_at is not None:
            self._enqueue(pod.key, node, run.started_at + seconds)

    def _maybe_exit(self, pod: Any, run: _PodRun, node: HollowNode, now: float) -> None:
        """Running: the containers exit once their run time is over; else the status is kept right (a
        controller may have marked the pod not ready while the node was unreachable)."""
        seconds = self._run_seconds(pod)
        if seconds is None or run.started_at is None or now < run.started_at + seconds:
            if not _pod_ready(pod):
                wall = rfc3339(self.clock())
                stamp = run.started_stamp or wall
                self._write_status(pod, running_status(pod, wall, node.ip, self._ip(run, node),
                                                       run.start_time or stamp, stamp, run.restarts))
            if seconds is not None and run.started_at is not None:
                self._enqueue(pod.key, node, run.started_at + seconds)
            return
        code = pod_exit_code(pod) or 0
        policy = pod.spec.restart_policy or "Always"
        stamp = rfc3339(self.clock())
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            phase = "Succeeded" if code == 0 else "Failed"
            self._write_status(pod, terminated_status(pod, stamp, node.ip, run.ip, run.start_time or stamp,
                                                      run.restarts, code, phase, run.started_stamp or stamp))
            run.done = True
            node.release_ip(run.ip)
            return
        # The kubelet's container restart back-off: 10 s doubling to 5 min. While it waits, the status shows
        # the exited container's restartCount (the kubelet reports the latest instance's); the restart counts one
        base, cap = self.restart_backoff
        delay = min(base * (2 ** run.restarts), cap)
        run.last_exit, run.finished = code, stamp
        self._write_status(pod, backoff_status(pod, stamp, node.ip, self._ip(run, node), run.start_time or stamp,
                                               run.restarts, code, stamp))
        run.started_at = run.started_stamp = None
        run.backoff_until = now + delay
        self._enqueue(pod.key, node, run.backoff_until)

    def _terminate(self, pod: Any, run: _PodRun, node: HollowNode, now: float) -> None:
        """Graceful deletion: the containers stop within the grace period (after the pod's termination time,
        capped by it), the terminated status is written, then the pod is deleted for good."""
        if run.terminate_at is None:
            grace = float(pod.metadata.deletion_grace_period_seconds or 0)
            takes = pod_seconds(pod, TERMINATION_SECONDS, self.termination_seconds) or 0.0
            running = run.started_at is not None or run.backoff_until is not None
            run.terminate_at = now + (min(grace, takes) if running and not run.done else 0.0)
        if now < run.terminate_at:
            self._enqueue(pod.key, node, run.terminate_at)
            return
        if not run.done and pod.status.phase not in _TERMINAL and (run.started_at is not None
                                                                    or run.backoff_until is not None):
            stamp = rfc3339(self.clock())
            # Stopped by the kubelet on deletion: exit code 137 after SIGKILL is what a grace period
            # of 0 gives; a container honouring SIGTERM exits 0. The pod is Failed unless every exit was 0,
            # except that restartPolicy Always never ends Succeeded (the kubelet's terminal phase rule).
            code = 0 if pod.metadata.deletion_grace_period_seconds else 137
            phase = "Succeeded" if code == 0 and (pod.spec.restart_policy or "Always") != "Always" else "Failed"
            pod = self._write_status(pod, terminated_status(pod, stamp, node.ip, run.ip, run.start_time or stamp,
                                                            run.restarts, code, phase,
                                                            run.started_stamp or stamp))
            run.done = True
        self._delete(pod)
        node.release_ip(run.ip)

    def _delete(self, pod: Any) -> None:
        meta = pod.metadata
        try:
            self.registry.delete("Pod", meta.name, meta.namespace, uid=meta.uid, **_FINAL_DELETE)
            self._count("pod_delete")
        except NotFound:
            pass


# The final delete once the containers are gone (the kubelet's status manager deletes with grace period 0).
_FINAL_DELETE: dict[str, Any] = {"grace_period_seconds": 0}


def _ready(node: Any) -> bool:
    for condition in node.status.conditions or ():
        if condition.type == "Ready":
            return condition.status == "True"
    return False


def _pod_ready(pod: Any) -> bool:
    for condition in pod.status.conditions or ():
        if condition.type == "Ready":
            return condition.status == "True"
    return False
