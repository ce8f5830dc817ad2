"""StatefulSet controller, as kube-controller-manager's: pods with stable names ``<set>-<ordinal>``.

A sync claims the pods that match the selector and are named for the set, and its ControllerRevisions;
finds the update revision (the current template; an older revision of the same template is renumbered,
a rollback) and the current one (``status.currentRevision``); then walks the ordinals
``[start, start + replicas)``: a failed or succeeded pod is deleted and created again, a missing pod is
created from the current revision below the partition and from the update revision from it on. With
``OrderedReady`` (the default) it stops at the first pod it created or that is not Running and Ready (and
available for ``minReadySeconds``), so pods come up one at a time in ordinal order; ``Parallel`` goes on.
Pods beyond the replicas are deleted from the highest ordinal down (one at a time, after every kept pod is
healthy, with OrderedReady). RollingUpdate then deletes the highest-ordinal pod at or above the partition
that is not at the update revision, one at a time, waiting for the pods above it to be healthy again;
OnDelete leaves that to the user. The status (replicas, ready, available, current, updated, the two
revisions, observedGeneration, collisionCount) is written, and revisions beyond revisionHistoryLimit that
no pod uses are deleted.
"""
from __future__ import annotations

import re
from typing import Any

from objects import PodTemplateSpec

from .controllerref import index_by_controller
from .events import WARNING
from .history import (CONTROLLER_REVISION_HASH, claim_revisions, create_revision, find_equal, next_revision,
                      set_revision_number, sort_revisions, template_patch)
from .podowner import PodOwnerController
from .podstate import is_available, is_ready
from .table import register_controller

__all__ = ["StatefulSetController", "ordinal_of", "POD_NAME_LABEL", "POD_INDEX_LABEL"]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def ordinal_of(pod: Any) -> tuple[str, int]:
    """getParentNameAndOrdinal: ("", -1) for a name that is not ``<parent>-<ordinal>``."""
    match = _ORDINAL.match(pod.metadata.name or "")
    if match is None:
        return "", -1
    return match.group(1), int(match.group(2))


def _terminating(pod: Any) -> bool:
    return bool(pod.metadata.deletion_timestamp)


def _running_and_ready(pod: Any) -> bool:
    return pod.status.phase == "Running" and is_ready(pod)


def _healthy(pod: Any) -> bool:
    return _running_and_ready(pod) and not _terminating(pod)


def _ended(pod: Any) -> bool:
    return pod.status.phase in ("Failed", "Succeeded")


def _revision_of(pod: Any) -> str:
    return pod.metadata.labels.get(CONTROLLER_REVISION_HASH, "")  # type: ignore[no-any-return]


class _Planned:
    """A pod to create: its ordinal, name and revision (the real pods are model objects)."""

    __slots__ = ("ordinal", "name", "revision")

    def __init__(self, ordinal: int, name: str, revision: str) -> None:
        self.ordinal, self.name, self.revision = ordinal, name, revision


class StatefulSetController(PodOwnerController):
    """Keeps StatefulSets' ordered pods; see the module documentation."""

    name = "statefulset"
    KIND = "StatefulSet"

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.revisions = informers.informer("ControllerRevision")
        index_by_controller(self.revisions)
        self.revisions.add_handler(on_add=self.enqueue_controller_of,
                                   on_update=lambda old, cur: self.enqueue_controller_of(cur),
                                   on_delete=self.enqueue_controller_of)

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Reconcile one StatefulSet: revisions, its ordered pods, its status and history."""
        sts = self.owners.lister.get(key)
        if sts is None:
            return
        if self.selects_all(sts, "statefulset"):
            return
        selector = sts.spec.selector
        pods = [p for p in self.claim_pods(sts, selector, active_only=False)
                if ordinal_of(p)[0] == sts.metadata.name]
        revisions = claim_revisions(self.registry, self.revisions, sts, selector, lambda: self._still_there(sts))
        current, update, collisions, revisions = self._revisions(sts, revisions)
        error: Exception | None = None
        if self.expectations.satisfied(key):
            try:
                self._execute(sts, key, self._plan(sts, current, update, pods),
                              {current.metadata.name: current, update.metadata.name: update})
            except Exception as exc:  # noqa: BLE001 - the status is still written, then the sync retried
                error = exc
        status = self._status(sts, pods, current, update, collisions)
        if status != sts.status:
            self.registry.update_status(sts.replace(status=status))
        self._truncate_history(sts, pods, revisions, current, update)
        if error is not None:
            raise error
        min_ready = sts.spec.min_ready_seconds or 0
        if min_ready and status.available_replicas != self._replicas(sts):
            self.queue.add_after(key, min_ready)

    @staticmethod
    def _replicas(sts: Any) -> int:
        return sts.spec.replicas if sts.spec.replicas is not None else 1

    @staticmethod
    def _start(sts: Any) -> int:
        return (sts.spec.ordinals.start or 0) if sts.spec.ordinals is not None else 0

    @staticmethod
    def _strategy(sts: Any) -> tuple[str, int | None]:
        strategy = sts.spec.update_strategy
        kind = strategy.type if strategy is not None and strategy.type else "RollingUpdate"
        rolling = strategy.rolling_update if strategy is not None else None
        return kind, (rolling.partition or 0) if rolling is not None else None

    # ------------------------------------------------------------------ revisions
    def _revisions(self, sts: Any, revisions: list[Any]) -> tuple[Any, Any, int, list[Any]]:
        """getStatefulSetRevisions: (current, update, collisionCount, every revision)."""
        revisions = sort_revisions(revisions)
        collisions = sts.status.collision_count or 0
        data = template_patch(sts)
        number = next_revision(revisions)
        equal = find_equal(revisions, data)
        if equal and revisions and revisions[-1].metadata.uid == equal[-1].metadata.uid:
            update = revisions[-1]   # the template did not change
        elif equal:
            update = set_revision_number(self.registry, equal[-1], number)   # a rollback
            revisions = [update if r.metadata.uid == update.metadata.uid else r for r in revisions]
        else:
            update, collisions = create_revision(self.registry, sts, data, number, collisions)
            revisions.append(update)
        current = next((r for r in revisions if r.metadata.name == sts.status.current_revision), None) or update
        return current, update, collisions, revisions

    @staticmethod
    def _template_of(revision: Any) -> PodTemplateSpec:
        """ApplyRevision: the pod template a revision holds."""
        data = {k: v for k, v in revision.data["spec"]["template"].items() if k != "$patch"}
        return PodTemplateSpec.from_dict(data, "data.spec.template")

    def _truncate_history(self, sts: Any, pods: list[Any], revisions: list[Any], current: Any, update: Any) -> None:
        live = {_revision_of(p) for p in pods} | {current.metadata.name, update.metadata.name}
        history = [r for r in sort_revisions(revisions) if r.metadata.name not in live]
        limit = sts.spec.revision_history_limit if sts.spec.revision_history_limit is not None else 10
        for revision in history[:max(0, len(history) - limit)]:
            self.registry.delete("ControllerRevision", revision.metadata.name, revision.metadata.namespace,
                                 uid=revision.metadata.uid)

    # ------------------------------------------------------------------ pods
    def _planned(self, sts: Any, current: Any, update: Any, ordinal: int) -> _Planned:
        """newVersionedStatefulSetPod: below the partition (or, without one, below the current replicas)
        a new pod gets the current revision, else the update revision."""
        kind, partition = self._strategy(sts)
        start = self._start(sts)
        if kind == "RollingUpdate" and ((partition is None and ordinal < start + (sts.status.current_replicas or 0))
                                        or (partition is not None and ordinal < start + partition)):
            revision = current.metadata.name
        else:
            revision = update.metadata.name
        return _Planned(ordinal, f"{sts.metadata.name}-{ordinal}", revision)

    def _create(self, sts: Any, planned: _Planned, revisions: dict[str, Any]) -> None:
        data = self._template_of(revisions[planned.revision]).to_dict()
        spec = data.setdefault("spec", {})
        spec["hostname"] = planned.name               # the pod's stable network identity
        if sts.spec.service_name:
            spec["subdomain"] = sts.spec.service_name
        template = PodTemplateSpec.from_dict(data, "spec.template")
        self.pod_control.create_pod(sts, template, name=planned.name, labels={
            POD_NAME_LABEL: planned.name, POD_INDEX_LABEL: str(planned.ordinal),
            CONTROLLER_REVISION_HASH: planned.revision})

    def _execute(self, sts: Any, key: str, actions: list[tuple[str, Any]], revisions: dict[str, Any]) -> None:
        """Carry out a plan under expectations (so the next sync waits until the informer saw it)."""
        if not actions:
            return
        creates = sum(1 for verb, _ in actions if verb == "create")
        deletes = [obj for verb, obj in actions if verb == "delete"]
        self.expectations.expect(key, creates, [p.metadata.uid for p in deletes])
        for i, (verb, obj) in enumerate(actions):
            try:
                if verb == "create":
                    self._create(sts, obj, revisions)
                elif not self.pod_control.delete_pod(sts, obj):
                    self.expectations.deletion_observed(key, obj.metadata.uid)
            except Exception:
                for undone_verb, undone in actions[i:]:   # never coming: do not wait for them
                    if undone_verb == "create":
                        self.expectations.creation_observed(key)
                    else:
                        self.expectations.deletion_observed(key, undone.metadata.uid)
                raise

    def _plan(self, sts: Any, current: Any, update: Any, pods: list[Any]) -> list[tuple[str, Any]]:
        """updateStatefulSet: the creates and deletes of one pass over the ordinals, stopping where
        OrderedReady must wait."""
        actions: list[tuple[str, Any]] = []
        if sts.metadata.deletion_timestamp:
            return actions
        start, replicas = self._start(sts), self._replicas(sts)
        slots: list[Any] = [None] * replicas
        condemned: list[Any] = []
        for pod in pods:
            ordinal = ordinal_of(pod)[1]
            if start <= ordinal < start + replicas:
                slots[ordinal - start] = pod
            elif ordinal >= 0:
                condemned.append(pod)
        for i in range(replicas):
            if slots[i] is None:
                slots[i] = self._planned(sts, current, update, start + i)
        condemned.sort(key=lambda p: ordinal_of(p)[1], reverse=True)   # highest ordinal first
        first_unhealthy = next((p for p in slots if isinstance(p, _Planned) or not _healthy(p)), None)
        if first_unhealthy is None:
            first_unhealthy = next((p for p in reversed(condemned) if not _healthy(p)), None)
        monotonic = sts.spec.pod_management_policy != "Parallel"
        min_ready = sts.spec.min_ready_seconds or 0
        now = self.clock()
        for i, pod in enumerate(slots):
            if not isinstance(pod, _Planned) and _ended(pod) and not _terminating(pod):
                self.recorder.event(sts, WARNING, "RecreatingFailedPod" if pod.status.phase == "Failed"
                                    else "RecreatingTerminatedPod",
                                    f"StatefulSet {sts.key} is recreating {pod.status.phase.lower()} Pod "
                                    f"{pod.metadata.name}")
                actions.append(("delete", pod))
                slots[i] = pod = self._planned(sts, current, update, start + i)
            if isinstance(pod, _Planned):
                actions.append(("create", pod))
                if monotonic:
                    return actions
                continue
            if monotonic and (_terminating(pod) or not _running_and_ready(pod)
                              or not is_available(pod, min_ready, now)):
                return actions
            self._fix_identity(sts, pod)
        for pod in condemned:
            if _terminating(pod):
                if monotonic:
                    return actions
                continue
            if monotonic and pod is not first_unhealthy and (not _running_and_ready(pod)
                                                             or not is_available(pod, min_ready, now)):
                return actions
            actions.append(("delete", pod))
            if monotonic:
                return actions
        kind, partition = self._strategy(sts)
        if kind == "OnDelete":
            return actions
        for pod in reversed(slots[partition or 0:]):
            if isinstance(pod, _Planned):
                return actions   # created in this pass (Parallel): wait for it to be healthy
            if _revision_of(pod) != update.metadata.name and not _terminating(pod):
                actions.append(("delete", pod))
                return actions
            if not _healthy(pod):
                return actions
        return actions

    def _fix_identity(self, sts: Any, pod: Any) -> None:
        """identityMatches: a pod that lost its identity labels gets them back."""
        ordinal = ordinal_of(pod)[1]
        wanted = {POD_NAME_LABEL: pod.metadata.name, POD_INDEX_LABEL: str(ordinal)}
        if all(pod.metadata.labels.get(k) == v for k, v in wanted.items()):
            return
        self.registry.update(pod.replace(metadata=pod.metadata.replace(labels={**pod.metadata.labels, **wanted})))

    # ------------------------------------------------------------------ status
    def _status(self, sts: Any, pods: list[Any], current: Any, update: Any, collisions: int) -> Any:
        """computeReplicaStatus, and completeRollingUpdate once every replica runs the update revision."""
        now = self.clock()
        min_ready = sts.spec.min_ready_seconds or 0
        replicas = ready = available = current_count = updated = 0
        for pod in pods:
            replicas += 1
            if _running_and_ready(pod):
                ready += 1
                if is_available(pod, min_ready, now):
                    available += 1
            if not _terminating(pod):
                if _revision_of(pod) == current.metadata.name:
                    current_count += 1
                if _revision_of(pod) == update.metadata.name:
                    updated += 1
        current_name = current.metadata.name
        desired = self._replicas(sts)
        if self._strategy(sts)[0] == "RollingUpdate" and updated == desired and ready == desired and replicas == desired:
            current_count, current_name = updated, update.metadata.name
        return sts.status.replace(observed_generation=sts.metadata.generation, replicas=replicas,
                                  ready_replicas=ready, available_replicas=available,
                                  current_replicas=current_count, updated_replicas=updated,
                                  current_revision=current_name, update_revision=update.metadata.name,
                                  collision_count=collisions)


register_controller(StatefulSetController.name, StatefulSetController)
