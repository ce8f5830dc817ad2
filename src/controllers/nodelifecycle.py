"""Node lifecycle controller, as kube-controller-manager's nodelifecycle (monitorNodeHealth + the taints).

Node health: the controller remembers, per node, when it last saw the node's heartbeat move — the Ready
condition's ``lastHeartbeatTime`` or the node Lease's ``renewTime`` in ``kube-node-lease`` — on its own
clock (the probe time, as Kubernetes' nodeHealthData). A node whose heartbeat has not moved for
``node_monitor_grace_period`` (40 s) gets its Ready, MemoryPressure, DiskPressure and PIDPressure
conditions set to Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node status."); a node that
never posted a Ready condition gets them after ``node_startup_grace_period`` (60 s, NodeStatusNeverUpdated).
Its pods are then marked not ready (MarkPodsNotReady). A node is looked at whenever it changes and when its
grace period would lapse; each ``node_monitor_period`` (5 s) the zone states are computed and the nodes
whose health or taints call for action are looked at. A Lease renewal only moves the node's probe time
(noted by the Lease handler, as monitorNodeHealth notes it): syncing the node on every renewal (500 a
second at 1,000 nodes with 2 s renewals) and every node each period was CPU spent finding nothing to do.

Taints: Ready Unknown -> ``node.kubernetes.io/unreachable`` NoExecute (and NoSchedule); Ready False ->
``node.kubernetes.io/not-ready``; Ready True -> both removed. NoSchedule taints follow at once
(TaintNodesByCondition); NoExecute taints are added through a token bucket per zone
(``topology.kubernetes.io/zone``): ``node_eviction_rate`` nodes per second (0.1), ``secondary_node_eviction_rate``
(0.01) for a zone in partial disruption (more than 2 nodes and ``unhealthy_zone_threshold`` (55 %) not ready)
larger than ``large_cluster_size_threshold`` (50 nodes), none for a smaller one; when every node of every
zone is not ready, the controller assumes the problem is its own (master disruption), adds no NoExecute
taint and removes those it added. Removing taints is never rate limited. Pods are evicted from tainted
nodes by :mod:`controllers.tainteviction`.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from objects import Conflict, NotFound, Taint
from objects.defaulting import NOT_READY_TAINT, UNREACHABLE_TAINT

from .controller import Controller
from .kubeletstatus import NODE_LEASE_NAMESPACE
from .podstate import condition, format_time, parse_time
from .table import register_controller

__all__ = ["NodeLifecycleController", "ZONE_LABEL", "NODE_NAME_INDEX"]

log = logging.getLogger(__name__)

ZONE_LABEL = "topology.kubernetes.io/zone"
NODE_NAME_INDEX = "spec.nodeName"
_NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
_OURS = (UNREACHABLE_TAINT, NOT_READY_TAINT)
_WANTED_TAINT = {"Unknown": UNREACHABLE_TAINT, "False": NOT_READY_TAINT}  # by Ready status


def _node_name_of(pod: Any) -> list[str]:
    return [pod.spec.node_name] if pod.spec.node_name else []


def _same_node_name(old: Any, new: Any) -> bool:
    return old.spec.node_name == new.spec.node_name  # _node_name_of gives both the same


def _zone(node: Any) -> str:
    return (node.metadata.labels or {}).get(ZONE_LABEL, "")


def _ready_status(node: Any) -> str | None:
    ready = condition(node, "Ready")
    return ready.status if ready is not None else None


class _TokenBucket:
    """flowcontrol's token bucket with burst 1: one token every 1/qps seconds (qps 0: never)."""

    def __init__(self, qps: float, now: float) -> None:
        self.qps = qps
        self.tokens = 1.0
        self.stamp = now

    def swap(self, qps: float, now: float) -> None:
        self._refill(now)
        self.qps = qps

    def _refill(self, now: float) -> None:
        if self.qps > 0:
            self.tokens = min(1.0, self.tokens + (now - self.stamp) * self.qps)
        self.stamp = now

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until the next one (inf: none will come)."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        if self.qps <= 0:
            return float("inf")
        return (1.0 - self.tokens) / self.qps


class NodeLifecycleController(Controller):
    """See the module documentation; keys are node names."""

    name = "nodelifecycle"

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None,
                 node_monitor_period: float = 5.0, node_monitor_grace_period: float = 40.0,
                 node_startup_grace_period: float = 60.0, node_eviction_rate: float = 0.1,
                 secondary_node_eviction_rate: float = 0.01, unhealthy_zone_threshold: float = 0.55,
                 large_cluster_size_threshold: int = 50) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        # durations (probe times, grace periods, eviction rates) on the given clock, else on the monotonic
        # one, as kube's; self.clock (epoch) only stamps what is written
        self._tick: Callable[[], float] = clock or time.monotonic
        for field, value in (("node_monitor_period", node_monitor_period),
                             ("node_monitor_grace_period", node_monitor_grace_period),
                             ("node_startup_grace_period", node_startup_grace_period)):
            if not value > 0:
                raise ValueError(f"{field}: Invalid value: {value}: must be greater than 0")
        self.node_monitor_period = node_monitor_period
        self.grace_period = node_monitor_grace_period
        self.startup_grace_period = node_startup_grace_period
        self.eviction_rate = node_eviction_rate
        self.secondary_eviction_rate = secondary_node_eviction_rate
        self.unhealthy_zone_threshold = unhealthy_zone_threshold
        self.large_cluster_size_threshold = large_cluster_size_threshold
        self.nodes = informers.informer("Node")
        self.leases = informers.informer("Lease")
        self.pods = informers.informer("Pod")
        self.pods.ensure_index(NODE_NAME_INDEX, _node_name_of, _same_node_name)
        self.nodes.add_handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                               on_delete=self._node_deleted)
        self.leases.add_handler(on_add=self._lease_changed, on_update=lambda old, new: self._lease_changed(new))
        self._lock = threading.Lock()
        # name -> (probe time on our clock, Ready lastHeartbeatTime seen, Lease renewTime seen)
        self._health: dict[str, tuple[float, str | None, str | None]] = {}
        self._zones: dict[str, _TokenBucket] = {}
        self._zone_states: dict[str, str] = {}
        self._master_disruption = False

    # ------------------------------------------------------------------ handlers
    def _lease_changed(self, lease: Any) -> None:
        if lease.metadata.namespace != NODE_LEASE_NAMESPACE:
            return
        name, renew = lease.metadata.name, lease.spec.renew_time
        with self._lock:
            seen = self._health.get(name)
            if seen is not None:
                if seen[2] != renew:  # the heartbeat moved: the probe time with it (the lapse timer finds it)
                    self._health[name] = (self._tick(), seen[1], renew)
                return
        self.queue.add(name)   # a node not probed yet: its first look

    def _node_deleted(self, node: Any) -> None:
        with self._lock:
            self._health.pop(node.metadata.name, None)

    # ------------------------------------------------------------------ the periodic pass
    def background(self, stop: threading.Event) -> None:
        """Every node_monitor_period (on the controller's clock): zone states, then every node queued."""
        due = self._tick()
        while not stop.is_set():
            now = self._tick()
            if now >= due:
                self._handle_disruption(now)
                for node in self.nodes.lister.list():
                    if self._needs_look(node, now):
                        self.queue.add(node.metadata.name)
                due = now + self.node_monitor_period
            stop.wait(min(0.1, max(0.0, due - now)))

    def _needs_look(self, node: Any, tick: float) -> bool:
        """Whether the periodic pass should sync ``node``: never probed, past its grace period and not yet
        Unknown, or taints that do not match its Ready condition (a taint still waiting for a token, say)."""
        ready = condition(node, "Ready")
        status = ready.status if ready is not None else None
        with self._lock:
            seen = self._health.get(node.metadata.name)
            master = self._master_disruption
        if seen is None:
            return True
        grace = self.grace_period if ready is not None else self.startup_grace_period
        if tick >= seen[0] + grace and status != "Unknown":
            return True
        taints = node.spec.taints
        if status == "True" and not taints:
            return False  # a Ready node wants none of our taints and has none: the common case, 1,000 a second
        wanted = _WANTED_TAINT.get(status or "")
        ours = {(t.key, t.effect) for t in taints or () if t.key in _OURS}
        expected = set() if wanted is None else {(wanted, "NoSchedule")} if master else \
            {(wanted, "NoSchedule"), (wanted, "NoExecute")}
        return ours != expected

    def _handle_disruption(self, now: float) -> None:
        """ComputeZoneState for every zone and the eviction rate that goes with it (handleDisruption)."""
        zones: dict[str, list[str | None]] = {}
        for node in self.nodes.lister.list():
            zones.setdefault(_zone(node), []).append(_ready_status(node))
        states = {}
        for zone, statuses in zones.items():
            ready = sum(1 for s in statuses if s == "True")
            not_ready = len(statuses) - ready
            if ready == 0 and not_ready > 0:
                states[zone] = "FullDisruption"
            elif not_ready > 2 and not_ready / len(statuses) >= self.unhealthy_zone_threshold:
                states[zone] = "PartialDisruption"
            else:
                states[zone] = "Normal"
        master = bool(states) and all(s == "FullDisruption" for s in states.values())
        with self._lock:
            was_master = self._master_disruption
            self._master_disruption = master
            for zone, state in states.items():
                if state == "PartialDisruption":
                    qps = self.secondary_eviction_rate if len(zones[zone]) > self.large_cluster_size_threshold \
                        else 0.0
                else:  # Normal, and FullDisruption of one zone only: the usual rate
                    qps = self.eviction_rate
                bucket = self._zones.get(zone)
                if bucket is None:
                    self._zones[zone] = _TokenBucket(qps, now)
                elif bucket.qps != qps:
                    bucket.swap(qps, now)
            self._zone_states = states
        if master and not was_master:
            log.warning("nodelifecycle: every node is not ready: entering master disruption mode")
        if master != was_master:
            for node in self.nodes.lister.list():
                self.queue.add(node.metadata.name)

    # ------------------------------------------------------------------ one node
    def sync(self, key: str) -> None:
        """Look at one node: its health (Unknown past the grace period, its pods not ready), then its taints."""
        node = self.nodes.lister.get(key)
        if node is None:
            return
        now, tick = self.clock(), self._tick()
        node = self._update_health(node, now, tick)
        if node is not None:
            self._update_taints(node, now, tick)

    def _update_health(self, node: Any, now: float, tick: float) -> Any:
        """tryUpdateNodeHealth: the probe time moves with the heartbeat; past the grace period the node's
        conditions become Unknown. Returns the node as stored after (None when it is gone)."""
        name = node.metadata.name
        ready = condition(node, "Ready")
        lease = self.leases.lister.get(name, NODE_LEASE_NAMESPACE)
        heartbeat = ready.last_heartbeat_time if ready is not None else None
        renew = lease.spec.renew_time if lease is not None else None
        with self._lock:
            seen = self._health.get(name)
            if seen is None or seen[1] != heartbeat or seen[2] != renew:
                probe = tick
                if seen is None and ready is None:  # never posted: count from its creation
                    created = parse_time(node.metadata.creation_timestamp)
                    probe = tick - max(0.0, now - created) if created is not None else tick
                self._health[name] = seen = (probe, heartbeat, renew)
        probe = seen[0]
        grace = self.grace_period if ready is not None else self.startup_grace_period
        if tick < probe + grace:
            self.queue.add_after(name, probe + grace - tick)  # look again when it would lapse
            return node
        if ready is not None and ready.status == "Unknown":
            return node
        reason, message = ("NodeStatusUnknown", "Kubelet stopped posting node status.") if ready is not None \
            else ("NodeStatusNeverUpdated", "Kubelet never posted node status.")
        stamp = format_time(now)
        conditions = []
        by_type = {c.type: c for c in node.status.conditions or ()}
        for kind in _NODE_CONDITIONS:
            old = by_type.get(kind)
            entry = {"type": kind, "status": "Unknown", "reason": reason, "message": message,
                     "lastTransitionTime": stamp}
            if old is not None and old.last_heartbeat_time:
                entry["lastHeartbeatTime"] = old.last_heartbeat_time
            conditions.append(entry)
        from objects import to_dict
        others = [to_dict(c) for c in node.status.conditions or () if c.type not in _NODE_CONDITIONS]
        patch = {"metadata": {"resourceVersion": node.metadata.resource_version},
                 "status": {"conditions": conditions + others}}
        try:
            updated = self.registry.patch_status("Node", name, patch)
        except NotFound:
            return None
        self.recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        self._mark_pods_not_ready(name, now)
        return updated

    def _mark_pods_not_ready(self, node_name: str, now: float) -> None:
        """MarkPodsNotReady: the Ready condition of every pod on the node becomes False."""
        from objects import to_dict
        stamp = format_time(now)
        for pod in self.pods.lister.by_index(NODE_NAME_INDEX, node_name):
            ready = condition(pod, "Ready")
            if ready is None or ready.status != "True" or pod.status.phase in ("Succeeded", "Failed"):
                continue
            conditions = []
            for c in pod.status.conditions or ():
                d = to_dict(c)
                if c.type == "Ready":
                    d.update(status="False", lastTransitionTime=stamp)
                    d.pop("reason", None)
                    d.pop("message", None)
                conditions.append(d)
            try:
                self.registry.patch_status("Pod", pod.metadata.name, {
                    "metadata": {"resourceVersion": pod.metadata.resource_version},
                    "status": {"conditions": conditions}}, pod.metadata.namespace)
            except (Conflict, NotFound):
                continue  # changed or gone meanwhile: its kubelet or the next pass sees to it

    def _update_taints(self, node: Any, now: float, tick: float) -> None:
        """The taints the node's Ready condition calls for (see the module documentation)."""
        status = _ready_status(node)
        wanted = {"Unknown": UNREACHABLE_TAINT, "False": NOT_READY_TAINT}.get(status or "")
        with self._lock:
            master = self._master_disruption
        taints = list(node.spec.taints or ())
        keep = [t for t in taints if t.key not in _OURS or (t.key == wanted and t.effect in ("NoSchedule",
                                                                                               "NoExecute"))]
        if master:
            keep = [t for t in keep if not (t.key in _OURS and t.effect == "NoExecute")]
        added = []
        if wanted is not None:
            have = {(t.key, t.effect) for t in keep}
            if (wanted, "NoSchedule") not in have:
                added.append(Taint(wanted, "", "NoSchedule"))
            if (wanted, "NoExecute") not in have and not master:
                wait = self._take_token(node, tick)
                if wait == 0.0:
                    added.append(Taint(wanted, "", "NoExecute", time_added=format_time(now)))
                elif wait != float("inf"):
                    self.queue.add_after(node.metadata.name, wait)
        if not added and len(keep) == len(taints):
            return
        # The node as read carries its resourceVersion: a Conflict is raised and the key retried on a fresh read.
        self.registry.update(node.with_spec(taints=keep + added))

    def _take_token(self, node: Any, now: float) -> float:
        zone = _zone(node)
        with self._lock:
            bucket = self._zones.get(zone)
            if bucket is None:
                bucket = self._zones[zone] = _TokenBucket(self.eviction_rate, now)
            return bucket.take(now)


register_controller(NodeLifecycleController.name, NodeLifecycleController)
