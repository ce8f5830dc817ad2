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

from objects import Condition, LabelSelector

from .events import WARNING
from .podcontrol import BURST_REPLICAS
from .podowner import PodOwnerController
from .podstate import POD_DELETION_COST, deletion_order, format_time, parse_time
from .table import register_controller

__all__ = ["ReplicaSetController", "ReplicationControllerController", "deletion_order", "POD_DELETION_COST"]


class ReplicaSetController(PodOwnerController):
    """Keeps ReplicaSets' pods; see the module documentation."""

    name = "replicaset"
    KIND = "ReplicaSet"
    burst_replicas = BURST_REPLICAS
    SKIP_OWN_STATUS_UPDATES = True

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Reconcile one ReplicaSet: claim its pods, create or delete the difference (while expectations are met),
        write its status."""
        owner = self.owners.lister.get(key)
        if owner is None:
            self.expectations.delete(key)
            return
        if self.owner_is_stale(key, owner):
            return
        selector = self.selector_of(owner)
        if selector is None or selector.empty:
            self.recorder.event(owner, WARNING, "InvalidSelector", "the selector selects nothing or everything; "
                                "no pods are managed")
            return
        needs_sync = self.expectations.satisfied(key) and not owner.metadata.deletion_timestamp
        pods = self.claim_pods(owner, selector)
        error: Exception | None = None
        if needs_sync:
            try:
                self._manage(owner, pods, key)
            except Exception as exc:  # noqa: BLE001 - reported in status, then re-raised for the backoff
                error = exc
        status = self._status(owner, pods, error)
        if status != owner.status:
            self.write_status(owner, status)  # the resourceVersion read: Conflict if stale
        if error is not None:
            raise error
        min_ready = owner.spec.min_ready_seconds or 0
        if min_ready and status.ready_replicas == status.replicas and status.available_replicas != status.replicas:
            self.queue.add_after(key, min_ready)

    def _manage(self, owner: Any, pods: list[Any], key: str) -> None:
        replicas = owner.spec.replicas if owner.spec.replicas is not None else 1
        diff = len(pods) - replicas
        if diff < 0:
            count = min(-diff, self.burst_replicas)
            self.expectations.expect_creations(key, count)
            template = owner.spec.template
            error = self.create_pods(key, count, lambda: self.pod_control.create_pod(owner, template))
            if error is not None:
                raise error
        elif diff > 0:
            victims = deletion_order(pods, self.clock())[:min(diff, self.burst_replicas)]
            self.expectations.expect_deletions(key, [p.metadata.uid for p in victims])
            error = self.delete_pods(key, owner, victims)
            if error is not None:
                raise error

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
        fully_labeled, ready, available = self._count(pods, template_labels, min_ready, now)
        return owner.status.replace(
            observed_generation=owner.metadata.generation,
            replicas=len(pods),
            fully_labeled_replicas=fully_labeled,
            ready_replicas=ready,
            available_replicas=available,
            conditions=conditions)

    @staticmethod
    def _count(pods: list[Any], template_labels: dict[str, str], min_ready: int, now: float) -> tuple[int, int, int]:
        """(fully labeled, ready, available) pods: podstate's is_ready / is_available and the template-label
        check in one inlined pass, since a sync walks thousands of pods (tests compare it with them)."""
        wanted = tuple(template_labels.items())
        fully_labeled = ready = available = 0
        for p in pods:
            if wanted:
                get = p.metadata.labels.get
                for k, v in wanted:
                    if get(k) != v:
                        break
                else:
                    fully_labeled += 1
            else:
                fully_labeled += 1
            for c in p.status.conditions:
                if c is not None and c.type == "Ready":  # the first one, as podstate.condition
                    if c.status == "True":
                        ready += 1
                        if not min_ready:
                            available += 1
                        else:
                            since = _parse_time(c.last_transition_time)
                            if since is not None and since + min_ready < now:
                                available += 1
                    break
        return fully_labeled, ready, available


# a pure function of the string; the pods of a set share few distinct seconds, and strptime is slow
_parse_time = lru_cache(maxsize=65536)(parse_time)


@lru_cache(maxsize=4096)
def _set_selector(items: tuple[tuple[str, str], ...]) -> LabelSelector:
    return LabelSelector.from_set(dict(items))


class ReplicationControllerController(ReplicaSetController):
    """The same controller for v1 ReplicationControllers, whose selector is a plain label map."""

    name = "replicationcontroller"
    KIND = "ReplicationController"

    def selector_of(self, owner: Any) -> LabelSelector | None:
        """The RC's map selector as a set-based selector (cached: it is asked for every pod event)."""
        selector = owner.spec.selector
        return _set_selector(tuple(sorted(selector.items()))) if selector else None


register_controller(ReplicaSetController.name, ReplicaSetController)
register_controller(ReplicationControllerController.name, ReplicationControllerController)
