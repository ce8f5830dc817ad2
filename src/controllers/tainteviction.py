"""Taint eviction, as kube-controller-manager's taint-eviction-controller (the NoExecute taint manager).

A pod on a node with NoExecute taints is deleted at once when one of the taints is not tolerated, and
otherwise once the shortest ``tolerationSeconds`` among the tolerations used has passed since the
controller first saw the pod on the tainted node; a toleration without seconds tolerates forever. The
scheduled eviction is cancelled when the taints go or the pod no longer needs evicting. Before deleting,
the pod gets the ``DisruptionTarget`` condition (reason ``DeletionByTaintManager``), and the delete uses
the pod's grace period (``spec.terminationGracePeriodSeconds``, 30 s when unset) with its uid as
precondition, as the taint manager does: the pod's kubelet (or nobody, on an unreachable node) finishes
the deletion, and the pod, being deleted, no longer counts for its ReplicaSet, which replaces it.
Keys are pods ("namespace/name").
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from objects import Conflict, NotFound, to_dict

from .controller import Controller
from .podstate import TERMINAL_PHASES, format_time
from .table import register_controller

__all__ = ["TaintEvictionController", "DEFAULT_GRACE_PERIOD"]

log = logging.getLogger(__name__)

NODE_NAME_INDEX = "spec.nodeName"
DEFAULT_GRACE_PERIOD = 30  # terminationGracePeriodSeconds' default


def _node_name_of(pod: Any) -> list[str]:
    return [pod.spec.node_name] if pod.spec.node_name else []


def _same_node_name(old: Any, new: Any) -> bool:
    return old.spec.node_name == new.spec.node_name  # _node_name_of gives both the same


def _no_execute(node: Any) -> list[Any]:
    return [t for t in node.spec.taints or () if t.effect == "NoExecute"]


def min_toleration_seconds(pod: Any, taints: list[Any]) -> float | None:
    """getMatchingTolerations + getMinTolerationTime: 0 when a taint is not tolerated, None when every
    taint is tolerated forever, else the shortest tolerationSeconds among the tolerations used."""
    used = []
    for taint in taints:
        matching = [t for t in pod.spec.tolerations or () if t.effect in ("", "NoExecute") and t.tolerates(taint)]
        if not matching:
            return 0.0
        used.extend(matching)
    seconds = [t.toleration_seconds for t in used if t.toleration_seconds is not None]
    if not seconds:
        return None
    return float(max(0, min(seconds)))


class TaintEvictionController(Controller):
    """See the module documentation."""

    name = "tainteviction"

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        # tolerationSeconds are timed on the given clock, else on the monotonic one (kube's timed workers)
        self._tick: Callable[[], float] = clock or time.monotonic
        self.nodes = informers.informer("Node")
        self.pods = informers.informer("Pod")
        self.pods.ensure_index(NODE_NAME_INDEX, _node_name_of, _same_node_name)
        self.nodes.add_handler(on_add=self._node_changed, on_update=self._node_updated)
        self.pods.add_handler(on_add=self._pod_changed, on_update=self._pod_updated, on_delete=self._pod_deleted)
        self._lock = threading.Lock()
        self._scheduled: dict[str, float] = {}  # pod key -> when the controller first saw it on a tainted node
        self.evicted = 0

    # ------------------------------------------------------------------ handlers
    def _node_changed(self, node: Any) -> None:
        if _no_execute(node):
            self._enqueue_pods(node.metadata.name)

    def _node_updated(self, old: Any, new: Any) -> None:
        before = [(t.key, t.value, t.effect) for t in _no_execute(old)]
        after = [(t.key, t.value, t.effect) for t in _no_execute(new)]
        if before != after:
            self._enqueue_pods(new.metadata.name)

    def _enqueue_pods(self, node_name: str) -> None:
        for pod in self.pods.lister.by_index(NODE_NAME_INDEX, node_name):
            self.queue.add(pod.key)

    def _pod_changed(self, pod: Any) -> None:
        if pod.spec.node_name and self._may_act_on(pod):
            self.queue.add(pod.key)

    def _may_act_on(self, pod: Any) -> bool:
        """Whether a sync of the pod could do anything: its node has NoExecute taints (as cached) or an
        eviction is already timed for it. Otherwise the sync would find no taint and do nothing, as kube's
        handlePodUpdate returns at once for a node without taints (every pod bound in a healthy cluster:
        a sync each cost a queue add, a worker's wake-up and two cache reads). A taint arriving later
        queues every pod on the node (``_node_updated``): the pod index is written before this handler
        runs and the node cache before that one, so one of the two sees the other."""
        node = self.nodes.lister.get(pod.spec.node_name)
        if node is not None and _no_execute(node):
            return True
        with self._lock:
            return pod.key in self._scheduled

    def _pod_updated(self, old: Any, new: Any) -> None:
        """kube's PodUpdated: only a new node or new tolerations change what the pod's taints call for (a
        status write, most pod events, does not; a deletion is seen when its timer fires or it is gone)."""
        if old.spec is new.spec or (old.spec.node_name == new.spec.node_name
                                    and old.spec.tolerations == new.spec.tolerations):
            return
        self._pod_changed(new)

    def _pod_deleted(self, pod: Any) -> None:
        with self._lock:
            self._scheduled.pop(pod.key, None)

    def _cancel(self, key: str) -> None:
        with self._lock:
            self._scheduled.pop(key, None)

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Look at one pod: evict it now, later (requeued for its tolerationSeconds) or never."""
        pod = self.pods.lister.get(key)
        if pod is None or not pod.spec.node_name or pod.metadata.deletion_timestamp or \
                pod.status.phase in TERMINAL_PHASES:
            self._cancel(key)
            return
        node = self.nodes.lister.get(pod.spec.node_name)
        taints = _no_execute(node) if node is not None else []
        if not taints:
            self._cancel(key)
            return
        seconds = min_toleration_seconds(pod, taints)
        if seconds is None:
            self._cancel(key)
            return
        now = self._tick()
        with self._lock:
            since = self._scheduled.setdefault(key, now)
        due = since + seconds
        if now < due:
            self.queue.add_after(key, due - now)
            return
        self._evict(pod, taints)
        self._cancel(key)

    def _evict(self, pod: Any, taints: list[Any]) -> None:
        meta = pod.metadata
        conditions = [to_dict(c) for c in pod.status.conditions or () if c.type != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                           "message": "Taint manager: deleting due to NoExecute taint",
                           "lastTransitionTime": format_time(self.clock())})
        try:
            self.registry.patch_status("Pod", meta.name, {"metadata": {"resourceVersion": meta.resource_version},
                                                          "status": {"conditions": conditions}}, meta.namespace)
        except NotFound:
            return
        # a Conflict is raised: the key is retried on the pod as it is now
        grace = (pod.spec.unknown_fields or {}).get("terminationGracePeriodSeconds")
        grace = grace if type(grace) is int and grace >= 0 else DEFAULT_GRACE_PERIOD
        try:
            self.registry.delete("Pod", meta.name, meta.namespace, uid=meta.uid, grace_period_seconds=grace)
        except (NotFound, Conflict):
            return  # gone, or another pod of that name now
        with self._lock:   # several workers may evict at once
            self.evicted += 1
        self.recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {pod.key}")


register_controller(TaintEvictionController.name, TaintEvictionController)
