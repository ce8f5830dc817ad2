"""ReplicaSet controller (and ReplicationController through the same code), as kube-controller-manager's
replicaset controller: keep ``spec.replicas`` active pods matching the selector.

A sync claims pods (adopting matching orphans, releasing its own that stopped matching), then, only while
its expectations are satisfied, creates the missing pods in slow-start batches or deletes the surplus in
Kubernetes' preference order (see :func:`deletion_order`), at most 500 a sync; then writes the status
(replicas, fullyLabeledReplicas, readyReplicas, availableReplicas with minReadySeconds,
observedGeneration, a ReplicaFailure condition while creates or deletes fail) through ``update_status``
with the resourceVersion read.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from objects import Condition, LabelSelector, NotFound

from .controller import Controller
from .controllerref import candidates, claim, controller_of, index_by_controller
from .events import WARNING
from .expectations import ControllerExpectations
from .podcontrol import BURST_REPLICAS, PodControl, slow_start_batch
from .podstate import format_time, is_active, is_available, is_ready, parse_time, ready_since, restart_count
from .table import register_controller

__all__ = ["ReplicaSetController", "ReplicationControllerController", "deletion_order", "POD_DELETION_COST"]

POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[Any], now: float) -> list[Any]:
    """Pods in the order a scale-down deletes them (ActivePodsWithRanks): unassigned before assigned,
    Pending before Unknown before Running, not ready before ready, lower pod-deletion-cost first, more
    pods of the set on the same node first, ready for less time first, more restarts first, newer first."""
    on_node: dict[str, int] = {}
    for p in pods:
        if p.spec.node_name:
            on_node[p.spec.node_name] = on_node.get(p.spec.node_name, 0) + 1

    def key(p: Any) -> tuple:
        since = ready_since(p)
        created = parse_time(p.metadata.creation_timestamp)
        try:
            cost = int(p.metadata.annotations.get(POD_DELETION_COST, "0"))
        except ValueError:
            cost = 0
        return (bool(p.spec.node_name), _PHASE_RANK.get(p.status.phase or "Pending", 0), is_ready(p), cost,
                -on_node.get(p.spec.node_name or "", 0), (since is not None, -(since or 0.0)), -restart_count(p),
                (created is not None, -(created or 0.0)))
    return sorted(pods, key=key)


class ReplicaSetController(Controller):
    """Keeps ReplicaSets' pods; see the module documentation."""

    name = "replicaset"
    KIND = "ReplicaSet"
    burst_replicas = BURST_REPLICAS

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.expectations = ControllerExpectations(clock=self.clock)
        self.pod_control = PodControl(registry, recorder)
        self.owners = informers.informer(self.KIND)
        self.pods = informers.informer("Pod")
        index_by_controller(self.pods)
        self.owners.add_handler(on_add=self.enqueue, on_update=self._owner_updated, on_delete=self._owner_deleted)
        self.pods.add_handler(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted)

    # ------------------------------------------------------------------ the kind's specifics
    def selector_of(self, owner: Any) -> LabelSelector | None:
        return owner.spec.selector  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ handlers
    def _owner_updated(self, old: Any, cur: Any) -> None:
        self.enqueue(cur)

    def _owner_deleted(self, owner: Any) -> None:
        self.expectations.delete(owner.key)
        self.enqueue(owner)

    def _resolve(self, namespace: str | None, ref: Any) -> Any:
        """The owner a controller reference names, if it is one of ours and still the same object."""
        if ref.kind != self.KIND:
            return None
        owner = self.owners.lister.get(ref.name, namespace or "default")
        if owner is None or owner.metadata.uid != ref.uid:
            return None
        return owner

    def _matching_owners(self, pod: Any) -> list[Any]:
        labels = pod.metadata.labels
        if not labels:
            return []
        found = []
        for owner in self.owners.lister.list(namespace=pod.metadata.namespace or "default"):
            selector = self.selector_of(owner)
            if selector is not None and not selector.empty and selector.matches(labels):
                found.append(owner)
        return found

    def _pod_added(self, pod: Any) -> None:
        if pod.metadata.deletion_timestamp:
            self._pod_deleted(pod)  # a restarted controller sees pods already being deleted
            return
        ref = controller_of(pod)
        if ref is not None:
            owner = self._resolve(pod.metadata.namespace, ref)
            if owner is not None:
                self.expectations.creation_observed(owner.key)
                self.queue.add(owner.key)
            return
        for owner in self._matching_owners(pod):  # an orphan: whoever matches may adopt it
            self.queue.add(owner.key)

    def _pod_updated(self, old: Any, cur: Any) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return  # a resync: nothing changed
        label_changed = old.metadata.labels != cur.metadata.labels
        if cur.metadata.deletion_timestamp:
            self._pod_deleted(cur)
            if label_changed:
                self._pod_deleted(old)
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        ref_changed = (cur_ref and cur_ref.uid) != (old_ref and old_ref.uid)
        if ref_changed and old_ref is not None:
            previous = self._resolve(old.metadata.namespace, old_ref)
            if previous is not None:
                self.queue.add(previous.key)
        if cur_ref is not None:
            owner = self._resolve(cur.metadata.namespace, cur_ref)
            if owner is None:
                return
            self.queue.add(owner.key)
            min_ready = owner.spec.min_ready_seconds or 0
            if min_ready and not is_ready(old) and is_ready(cur):
                self.queue.add_after(owner.key, min_ready + 1)  # look again once it may count as available
            return
        if label_changed or ref_changed:
            for owner in self._matching_owners(cur):
                self.queue.add(owner.key)

    def _pod_deleted(self, pod: Any) -> None:
        ref = controller_of(pod)
        if ref is None:
            return
        owner = self._resolve(pod.metadata.namespace, ref)
        if owner is not None:
            self.expectations.deletion_observed(owner.key, pod.metadata.uid)
            self.queue.add(owner.key)

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        owner = self.owners.lister.get(key)
        if owner is None:
            self.expectations.delete(key)
            return
        selector = self.selector_of(owner)
        if selector is None or selector.empty:
            self.recorder.event(owner, WARNING, "InvalidSelector", "the selector selects nothing or everything; "
                                "no pods are managed")
            return
        needs_sync = self.expectations.satisfied(key) and not owner.metadata.deletion_timestamp
        active = [p for p in candidates(self.pods, owner) if is_active(p)]
        pods = claim(self.registry, owner, lambda p: selector.matches(p.metadata.labels), active,
                     can_adopt=lambda: self._still_there(owner))
        error: Exception | None = None
        if needs_sync:
            try:
                self._manage(owner, pods, key)
            except Exception as exc:  # noqa: BLE001 - reported in status, then re-raised for the backoff
                error = exc
        status = self._status(owner, pods, error)
        if status != owner.status:
            self.registry.update_status(owner.replace(status=status))  # the resourceVersion read: Conflict if stale
        if error is not None:
            raise error
        min_ready = owner.spec.min_ready_seconds or 0
        if min_ready and status.ready_replicas == status.replicas and status.available_replicas != status.replicas:
            self.queue.add_after(key, min_ready)

    def _still_there(self, owner: Any) -> bool:
        """RecheckDeletionTimestamp: a fresh read (not the cache) before adopting anything."""
        try:
            fresh = self.registry.get(self.KIND, owner.metadata.name, owner.metadata.namespace)
        except NotFound:
            return False
        return fresh.metadata.uid == owner.metadata.uid and not fresh.metadata.deletion_timestamp

    def _manage(self, owner: Any, pods: list[Any], key: str) -> None:
        replicas = owner.spec.replicas if owner.spec.replicas is not None else 1
        diff = len(pods) - replicas
        if diff < 0:
            count = min(-diff, self.burst_replicas)
            self.expectations.expect_creations(key, count)
            template = owner.spec.template
            successes, error = slow_start_batch(count, lambda: self.pod_control.create_pod(owner, template))
            for _ in range(count - successes):
                self.expectations.creation_observed(key)  # never coming: do not wait for them
            if error is not None:
                raise error
        elif diff > 0:
            victims = deletion_order(pods, self.clock())[:min(diff, self.burst_replicas)]
            self.expectations.expect_deletions(key, [p.metadata.uid for p in victims])
            first: Exception | None = None
            for pod in victims:
                try:
                    if not self.pod_control.delete_pod(owner, pod):
                        self.expectations.deletion_observed(key, pod.metadata.uid)
                except Exception as exc:  # noqa: BLE001 - the others are still deleted
                    self.expectations.deletion_observed(key, pod.metadata.uid)
                    first = first or exc
            if first is not None:
                raise first

    def _status(self, owner: Any, pods: list[Any], error: Exception | None) -> Any:
        now = self.clock()
        template_labels = owner.spec.template.metadata.labels if owner.spec.template is not None else {}
        min_ready = owner.spec.min_ready_seconds or 0
        conditions = [c for c in owner.status.conditions if c is not None and c.type != "ReplicaFailure"]
        failure = next((c for c in owner.status.conditions if c is not None and c.type == "ReplicaFailure"), None)
        if error is not None:
            replicas = owner.spec.replicas if owner.spec.replicas is not None else 1
            reason = "FailedCreate" if len(pods) < replicas else "FailedDelete"
            if failure is None or failure.reason != reason or failure.message != str(error):
                failure = Condition(type="ReplicaFailure", status="True", reason=reason, message=str(error),
                                    last_transition_time=format_time(now))
            conditions.append(failure)
        return owner.status.replace(
            observed_generation=owner.metadata.generation,
            replicas=len(pods),
            fully_labeled_replicas=sum(1 for p in pods if all(p.metadata.labels.get(k) == v
                                                              for k, v in template_labels.items())),
            ready_replicas=sum(1 for p in pods if is_ready(p)),
            available_replicas=sum(1 for p in pods if is_available(p, min_ready, now)),
            conditions=conditions)


@lru_cache(maxsize=4096)
def _set_selector(items: tuple[tuple[str, str], ...]) -> LabelSelector:
    return LabelSelector.from_set(dict(items))


class ReplicationControllerController(ReplicaSetController):
    """The same controller for v1 ReplicationControllers, whose selector is a plain label map."""

    name = "replicationcontroller"
    KIND = "ReplicationController"

    def selector_of(self, owner: Any) -> LabelSelector | None:
        selector = owner.spec.selector
        return _set_selector(tuple(sorted(selector.items()))) if selector else None


register_controller(ReplicaSetController.name, ReplicaSetController)
register_controller(ReplicationControllerController.name, ReplicationControllerController)
