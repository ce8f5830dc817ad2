"""Deployment controller, as kube-controller-manager's: a Deployment owns ReplicaSets named
``<deployment>-<pod-template-hash>`` and moves pods from the old ones to the one of its current template.

A sync claims the ReplicaSets its selector matches (adopting orphans, releasing those that stopped
matching), then: a paused Deployment or a scaling event (a ReplicaSet whose desired-replicas annotation
differs from ``spec.replicas``) only scales, proportionally across the active ReplicaSets; otherwise the
strategy rolls out. RollingUpdate scales the new ReplicaSet up within ``replicas + maxSurge`` pods and the
old ones down while at least ``replicas - maxUnavailable`` pods are available; Recreate scales the old
ones to zero, waits until none of their pods run, then scales the new one up. The status (replicas,
updated, ready, available, unavailable, observedGeneration, the Available and Progressing conditions with
progressDeadlineSeconds) is written through ``update_status`` with the resourceVersion read.

Differences from Kubernetes (docs/controllers.md): the pod-template-hash is FNV-1a of the template's
canonical JSON (not of a go-spew dump, so values differ); the pods a rolling update counts are read
conservatively (an old ReplicaSet's pods count until its status shows them gone, its available pods
count at most up to its ``spec.replicas``), so the maxSurge / maxUnavailable bounds hold at every instant
even while ReplicaSet statuses lag; the deprecated ``rollbackTo`` (extensions/v1beta1) is not supported:
roll back by applying the old template, which reuses its ReplicaSet with a new revision.
"""
from __future__ import annotations

import copy
from typing import Any

from objects import AlreadyExists, NotFound, ReplicaSet

from .controller import Controller
from .controllerref import CONTROLLER_UID_INDEX, candidates, claim, controller_of, index_by_controller, owner_reference
from .events import NORMAL, WARNING
from .podstate import parse_time
from .rolloututil import (DESIRED_REPLICAS, MAX_REPLICAS, REVISION, REVISION_HISTORY, by_creation,
                          get_condition, new_condition, remove_condition, resolve_fenceposts, revision_of,
                          round_half_away, set_condition)
from .table import register_controller
from .templatehash import POD_TEMPLATE_HASH, compute_hash

__all__ = ["DeploymentController", "max_surge", "max_unavailable", "equal_ignore_hash", "MAX_INT32"]

MAX_INT32 = 2**31 - 1
DEFAULT_SURGE = DEFAULT_UNAVAILABLE = "25%"
# Progressing / Available condition reasons (deployment/util)
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED, RESUMED = "DeploymentPaused", "DeploymentResumed"
# annotations a Deployment does not copy onto its ReplicaSets (skipCopyAnnotation)
_NOT_COPIED = {"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
               DESIRED_REPLICAS, MAX_REPLICAS}
MAX_HISTORY_CHARS = 2000   # --deployment-controller revision-history annotation bound


# ---------------------------------------------------------------------------------------------------------
# what a Deployment asks for


def replicas_of(d: Any) -> int:
    """``spec.replicas`` of a Deployment (1 when unset, as the API server defaults it)."""
    return d.spec.replicas if d.spec.replicas is not None else 1


def is_rolling(d: Any) -> bool:
    """Whether the Deployment's strategy is RollingUpdate (the default) rather than Recreate."""
    strategy = d.spec.strategy
    return strategy is None or strategy.type in (None, "RollingUpdate")


def _knobs(d: Any) -> tuple[int, int]:
    rolling = d.spec.strategy.rolling_update if d.spec.strategy is not None else None
    surge = rolling.max_surge if rolling is not None and rolling.max_surge is not None else DEFAULT_SURGE
    unavailable = (rolling.max_unavailable if rolling is not None and rolling.max_unavailable is not None
                   else DEFAULT_UNAVAILABLE)
    return resolve_fenceposts(surge, unavailable, replicas_of(d))


def max_surge(d: Any) -> int:
    """MaxSurge: the pods a rolling update may run above ``replicas`` (0 for Recreate)."""
    return _knobs(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Any) -> int:
    """MaxUnavailable: the pods a rolling update may have unavailable (at most ``replicas``)."""
    replicas = replicas_of(d)
    if not is_rolling(d) or replicas == 0:
        return 0
    return min(_knobs(d)[1], replicas)


def has_progress_deadline(d: Any) -> bool:
    """Whether progressDeadlineSeconds is set and not the "never" value (MaxInt32)."""
    deadline = d.spec.progress_deadline_seconds
    return deadline is not None and deadline != MAX_INT32


def _template_without_hash(template: Any) -> dict[str, Any]:
    data = template.to_dict() if template is not None else {}
    labels = data.get("metadata", {}).get("labels")
    if labels and POD_TEMPLATE_HASH in labels:
        labels = {k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH}
        data["metadata"] = {**data["metadata"], "labels": labels}
        if not labels:
            del data["metadata"]["labels"]
    return data


def equal_ignore_hash(a: Any, b: Any) -> bool:
    """EqualIgnoreHash: two pod templates equal but for the pod-template-hash label."""
    return _template_without_hash(a) == _template_without_hash(b)


# ---------------------------------------------------------------------------------------------------------
# counting a set of ReplicaSets


def spec_replicas(rs: Any) -> int:
    """``spec.replicas`` of a ReplicaSet (1 when unset)."""
    return rs.spec.replicas if rs.spec.replicas is not None else 1


def pods_counted(rs: Any) -> int:
    """The pods of ``rs`` a surge counts: its desired pods, or more while its status still shows pods it
    is about to delete (conservative: see the module documentation)."""
    return max(spec_replicas(rs), rs.status.replicas or 0)


def available_counted(rs: Any) -> int:
    """The available pods of ``rs`` a scale-down counts: never more than it is about to keep."""
    return min(rs.status.available_replicas or 0, spec_replicas(rs))


def _active(rss: list[Any]) -> list[Any]:
    return [rs for rs in rss if rs is not None and spec_replicas(rs) > 0]


def _int_annotation(rs: Any, name: str) -> int | None:
    try:
        return int(rs.metadata.annotations[name])
    except (KeyError, TypeError, ValueError):
        return None


class DeploymentController(Controller):
    """Rolls Deployments out over their ReplicaSets; see the module documentation."""

    name = "deployment"

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.deployments = informers.informer("Deployment")
        self.replica_sets = informers.informer("ReplicaSet")
        self.pods = informers.informer("Pod")
        index_by_controller(self.replica_sets)
        index_by_controller(self.pods)
        self.deployments.add_handler(on_add=self.enqueue, on_update=lambda old, cur: self.enqueue(cur),
                                     on_delete=self.enqueue)
        self.replica_sets.add_handler(on_add=self._rs_added, on_update=self._rs_updated, on_delete=self._rs_deleted)
        self.pods.add_handler(on_delete=self._pod_deleted)

    # ------------------------------------------------------------------ handlers
    def _resolve(self, namespace: str | None, ref: Any) -> Any:
        if ref is None or ref.kind != "Deployment":
            return None
        d = self.deployments.lister.get(ref.name, namespace or "default")
        return d if d is not None and d.metadata.uid == ref.uid else None

    def _matching(self, rs: Any) -> list[Any]:
        labels = rs.metadata.labels
        if not labels:
            return []
        return [d for d in self.deployments.lister.list(namespace=rs.metadata.namespace or "default")
                if d.spec.selector is not None and not d.spec.selector.empty and d.spec.selector.matches(labels)]

    def _rs_added(self, rs: Any) -> None:
        if rs.metadata.deletion_timestamp:
            self._rs_deleted(rs)
            return
        ref = controller_of(rs)
        if ref is not None:
            d = self._resolve(rs.metadata.namespace, ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self._matching(rs):
            self.enqueue(d)

    def _rs_updated(self, old: Any, cur: Any) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        ref_changed = (cur_ref and cur_ref.uid) != (old_ref and old_ref.uid)
        if ref_changed and old_ref is not None:
            d = self._resolve(old.metadata.namespace, old_ref)
            if d is not None:
                self.enqueue(d)
        if cur_ref is not None:
            d = self._resolve(cur.metadata.namespace, cur_ref)
            if d is not None:
                self.enqueue(d)
            return
        if ref_changed or old.metadata.labels != cur.metadata.labels:
            for d in self._matching(cur):
                self.enqueue(d)

    def _rs_deleted(self, rs: Any) -> None:
        d = self._resolve(rs.metadata.namespace, controller_of(rs))
        if d is not None:
            self.enqueue(d)

    def _pod_deleted(self, pod: Any) -> None:
        """A Recreate rollout waits for the old pods to go: look again when one does."""
        ref = controller_of(pod)
        if ref is None or ref.kind != "ReplicaSet":
            return
        rs = self.replica_sets.lister.get(ref.name, pod.metadata.namespace or "default")
        if rs is None or rs.metadata.uid != ref.uid:
            return
        d = self._resolve(rs.metadata.namespace, controller_of(rs))
        if d is not None and not is_rolling(d):
            self.enqueue(d)

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Reconcile one Deployment: claim its ReplicaSets, then scale or roll out, then write its status."""
        d = self.deployments.lister.get(key)
        if d is None:
            return
        if self.selects_all(d, "deployment"):
            if d.status.observed_generation != d.metadata.generation:
                self.registry.update_status(d.replace(status=d.status.replace(
                    observed_generation=d.metadata.generation)))
            return
        selector = d.spec.selector
        rs_list = claim(self.registry, d, lambda rs: selector.matches(rs.metadata.labels),
                        candidates(self.replica_sets, d), can_adopt=lambda: self._still_there(d))
        if d.metadata.deletion_timestamp:
            new_rs, old, d = self._get_all(d, rs_list, create=False)
            self._sync_status(d, new_rs, old)
            return
        d = self._check_paused_conditions(d)
        new_rs, old, d = self._get_all(d, rs_list, create=False)
        if d.spec.paused or self._is_scaling_event(d, new_rs, old):
            self._sync_scale(d, new_rs, old)
        elif is_rolling(d):
            self._rollout_rolling(d, new_rs, old)
        else:
            self._rollout_recreate(d, new_rs, old)

    def _still_there(self, d: Any) -> bool:
        try:
            fresh = self.registry.get("Deployment", d.metadata.name, d.metadata.namespace)
        except NotFound:
            return False
        return fresh.metadata.uid == d.metadata.uid and not fresh.metadata.deletion_timestamp

    # ------------------------------------------------------------------ the ReplicaSets of a Deployment
    def _get_all(self, d: Any, rs_list: list[Any], create: bool) -> tuple[Any, list[Any], Any]:
        """getAllReplicaSetsAndSyncRevision: (the new ReplicaSet or None, the old ones, the Deployment as
        written when its revision annotation or Progressing condition changed)."""
        existing = next((rs for rs in by_creation(rs_list) if equal_ignore_hash(rs.spec.template, d.spec.template)),
                        None)
        old = [rs for rs in rs_list if existing is None or rs.metadata.uid != existing.metadata.uid]
        new_rs, d = self._get_new(d, existing, old, create)
        return new_rs, old, d

    def _new_rs_annotations(self, d: Any, rs: Any, new_revision: str, exists: bool) -> dict[str, str] | None:
        """SetNewReplicaSetAnnotations: the annotations ``rs`` should carry, or None when unchanged."""
        annotations = dict(rs.metadata.annotations)
        for k, v in d.metadata.annotations.items():
            if k not in _NOT_COPIED:
                annotations[k] = v
        old_revision = annotations.get(REVISION, "")
        try:
            old_number = int(old_revision) if old_revision else 0
        except ValueError:
            return None
        if old_number < int(new_revision):
            annotations[REVISION] = new_revision
            if old_revision:
                history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h] + [old_revision]
                while len(",".join(history)) > MAX_HISTORY_CHARS and len(history) > 1:
                    history.pop(0)
                annotations[REVISION_HISTORY] = ",".join(history)
        if not exists:
            annotations[DESIRED_REPLICAS] = str(replicas_of(d))
            annotations[MAX_REPLICAS] = str(replicas_of(d) + max_surge(d))
        return None if annotations == rs.metadata.annotations else annotations

    def _get_new(self, d: Any, existing: Any, old: list[Any], create: bool) -> tuple[Any, Any]:
        new_revision = _next_revision(old)
        if existing is not None:
            annotations = self._new_rs_annotations(d, existing, new_revision, exists=True)
            if annotations is not None or existing.spec.min_ready_seconds != d.spec.min_ready_seconds:
                return self.registry.update(existing.replace(
                    metadata=existing.metadata.replace(annotations=annotations or dict(existing.metadata.annotations)),
                    spec=existing.spec.replace(min_ready_seconds=d.spec.min_ready_seconds))), d
            d = self._set_deployment_revision(d, existing.metadata.annotations.get(REVISION, ""),
                                          None if get_condition(d.status.conditions, "Progressing") is not None
                                          else ("True", "FoundNewReplicaSet", f'Found new replica set "{existing.metadata.name}"'))
            return existing, d
        if not create:
            return None, d
        return self._create_new(d, old, new_revision)

    def _create_new(self, d: Any, old: list[Any], new_revision: str) -> tuple[Any, Any]:
        pod_hash = compute_hash(d.spec.template, d.status.collision_count)
        template = copy.deepcopy(d.spec.template)
        template = template.replace(metadata=template.metadata.replace(
            labels={**template.metadata.labels, POD_TEMPLATE_HASH: pod_hash}))
        selector_dict = d.spec.selector.to_dict()
        selector_dict["matchLabels"] = {**selector_dict.get("matchLabels", {}), POD_TEMPLATE_HASH: pod_hash}
        name = f"{d.metadata.name}-{pod_hash}"
        rs = ReplicaSet.from_dict({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                   "metadata": {"name": name, "namespace": d.metadata.namespace,
                                                "labels": dict(template.metadata.labels),
                                                "ownerReferences": [owner_reference(d).to_dict()]},
                                   "spec": {"replicas": 0, "selector": selector_dict,
                                            "template": template.to_dict(),
                                            **({"minReadySeconds": d.spec.min_ready_seconds}
                                               if d.spec.min_ready_seconds else {})}})
        replicas = self._new_rs_new_replicas(d, old + [rs], rs)
        rs = rs.replace(spec=rs.spec.replace(replicas=replicas))
        annotations = self._new_rs_annotations(d, rs, new_revision, exists=False)
        rs = rs.replace(metadata=rs.metadata.replace(annotations=annotations or {}))
        already = False
        try:
            created = self.registry.create(rs)
        except AlreadyExists:
            try:
                found = self.registry.get("ReplicaSet", name, d.metadata.namespace)
            except NotFound:
                raise  # gone again: retry the sync
            ref = controller_of(found)
            if ref is not None and ref.uid == d.metadata.uid and equal_ignore_hash(found.spec.template, d.spec.template):
                created, already = found, True
            else:
                # a hash collision: another template (or owner) has the name; try the next hash
                self.registry.update_status(d.replace(status=d.status.replace(
                    collision_count=(d.status.collision_count or 0) + 1)))
                raise AlreadyExists(f"replicaset {name} exists for another template; collisionCount raised")
        except Exception as exc:
            if has_progress_deadline(d):
                conditions = set_condition(list(d.status.conditions), new_condition(
                    "Progressing", "False", "ReplicaSetCreateError", f'Failed to create new replica set "{name}": {exc}',
                    self.clock()))
                self.registry.update_status(d.replace(status=d.status.replace(conditions=conditions)))
            self.recorder.event(d, WARNING, "FailedCreate", f'Failed to create new replica set "{name}": {exc}')
            raise
        if not already and replicas > 0:
            self.recorder.event(d, NORMAL, "ScalingReplicaSet", f"Scaled up replica set {name} to {replicas}")
        d = self._set_deployment_revision(d, new_revision, None if already or not has_progress_deadline(d)
                                          else ("True", "NewReplicaSetCreated", f'Created new replica set "{name}"'))
        return created, d

    def _set_deployment_revision(self, d: Any, revision: str, progressing: tuple[str, str, str] | None) -> Any:
        """SetDeploymentRevision (an annotation: an update) and a Progressing condition (a status update)."""
        if revision and d.metadata.annotations.get(REVISION) != revision:
            d = self.registry.update(d.replace(metadata=d.metadata.replace(
                annotations={**d.metadata.annotations, REVISION: revision})))
        if progressing is not None and has_progress_deadline(d):
            status, reason, message = progressing
            conditions = set_condition(list(d.status.conditions),
                                       new_condition("Progressing", status, reason, message, self.clock()))
            d = self.registry.update_status(d.replace(status=d.status.replace(conditions=conditions)))
        return d

    def _new_rs_new_replicas(self, d: Any, all_rss: list[Any], new_rs: Any) -> int:
        """NewRSNewReplicas: how far the new ReplicaSet may grow now."""
        replicas = replicas_of(d)
        if not is_rolling(d):
            return replicas
        current = sum(pods_counted(rs) for rs in all_rss)
        max_total = replicas + max_surge(d)
        if current >= max_total:
            return spec_replicas(new_rs)
        return spec_replicas(new_rs) + min(max_total - current, replicas - spec_replicas(new_rs))

    def _scale_rs(self, d: Any, rs: Any, new_scale: int) -> tuple[bool, Any]:
        """scaleReplicaSetAndRecordEvent / scaleReplicaSet: the size and the replicas annotations."""
        desired, most = str(replicas_of(d)), str(replicas_of(d) + max_surge(d))
        size_changed = spec_replicas(rs) != new_scale
        annotations = rs.metadata.annotations
        if not size_changed and annotations.get(DESIRED_REPLICAS) == desired and annotations.get(MAX_REPLICAS) == most:
            return False, rs
        updated = self.registry.update(rs.replace(
            metadata=rs.metadata.replace(annotations={**annotations, DESIRED_REPLICAS: desired, MAX_REPLICAS: most}),
            spec=rs.spec.replace(replicas=new_scale)))
        if size_changed:
            direction = "up" if new_scale > spec_replicas(rs) else "down"
            self.recorder.event(d, NORMAL, "ScalingReplicaSet", f"Scaled {direction} replica set {rs.metadata.name} "
                                f"to {new_scale} from {spec_replicas(rs)}")
        return size_changed, updated

    # ------------------------------------------------------------------ scaling (paused, or replicas changed)
    @staticmethod
    def _is_scaling_event(d: Any, new_rs: Any, old: list[Any]) -> bool:
        for rs in _active(old + [new_rs]):
            desired = _int_annotation(rs, DESIRED_REPLICAS)
            if desired is not None and desired != replicas_of(d):
                return True
        return False

    def _sync_scale(self, d: Any, new_rs: Any, old: list[Any]) -> None:
        new_rs, old = self._scale(d, new_rs, old)
        if d.spec.paused:
            self._cleanup(d, old)
        self._sync_status(d, new_rs, old)

    def _scale(self, d: Any, new_rs: Any, old: list[Any]) -> tuple[Any, list[Any]]:
        """scale: the whole change on the one active ReplicaSet, else proportionally across the active ones."""
        replicas = replicas_of(d)
        everyone = ([new_rs] if new_rs is not None else []) + old
        active = _active(everyone)
        only = None
        if len(active) == 1:
            only = active[0]
        elif not active:
            only = new_rs if new_rs is not None else (
                sorted(old, key=lambda rs: (rs.metadata.creation_timestamp or "", rs.metadata.name), reverse=True)
                or [None])[0]
        updated: dict[str, Any] = {}
        if only is not None or len(active) < 2:
            if only is None or spec_replicas(only) == replicas:
                return new_rs, old
            _, updated[only.metadata.uid] = self._scale_rs(d, only, replicas)
        elif (new_rs is not None and spec_replicas(new_rs) == replicas
              and _int_annotation(new_rs, DESIRED_REPLICAS) == replicas
              and (new_rs.status.available_replicas or 0) == replicas):
            for rs in _active(old):  # IsSaturated: the old ones go
                _, updated[rs.metadata.uid] = self._scale_rs(d, rs, 0)
        elif is_rolling(d):
            total = sum(spec_replicas(rs) for rs in active)
            allowed = replicas + max_surge(d) if replicas > 0 else 0
            to_add = allowed - total
            if to_add > 0:  # ReplicaSetsBySizeNewer / BySizeOlder
                ordered = sorted(active, key=lambda rs: (-spec_replicas(rs), _neg_time(rs)))
            else:
                ordered = sorted(active, key=lambda rs: (-spec_replicas(rs), rs.metadata.creation_timestamp or "",
                                                         rs.metadata.name))
            added, sizes = 0, {}
            for rs in ordered:
                proportion = self._proportion(rs, d, to_add, added) if to_add else 0
                sizes[rs.metadata.uid] = spec_replicas(rs) + proportion
                added += proportion
            for i, rs in enumerate(ordered):
                if i == 0 and to_add:
                    sizes[rs.metadata.uid] = max(0, sizes[rs.metadata.uid] + to_add - added)
                _, updated[rs.metadata.uid] = self._scale_rs(d, rs, sizes[rs.metadata.uid])
        fresh = lambda rs: updated.get(rs.metadata.uid, rs)  # noqa: E731
        return (fresh(new_rs) if new_rs is not None else None), [fresh(rs) for rs in old]

    def _proportion(self, rs: Any, d: Any, to_add: int, added: int) -> int:
        """getReplicaSetProportion / getReplicaSetFraction."""
        if spec_replicas(rs) == 0 or to_add == added:
            return 0
        replicas = replicas_of(d)
        if replicas == 0:
            fraction = -spec_replicas(rs)
        else:
            annotated = _int_annotation(rs, MAX_REPLICAS)
            if annotated is None:
                annotated = d.status.replicas or 0
            if annotated == 0:
                fraction = 0
            else:
                fraction = round_half_away(spec_replicas(rs) * (replicas + max_surge(d)) / annotated) - spec_replicas(rs)
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    # ------------------------------------------------------------------ strategies
    def _rollout_rolling(self, d: Any, new_rs: Any, old: list[Any]) -> None:
        if new_rs is None:
            new_rs, d = self._create_new(d, old, _next_revision(old))
        replicas = replicas_of(d)
        # reconcileNewReplicaSet
        scaled = False
        if spec_replicas(new_rs) > replicas:
            scaled, new_rs = self._scale_rs(d, new_rs, replicas)
        elif spec_replicas(new_rs) < replicas:
            scaled, new_rs = self._scale_rs(d, new_rs, self._new_rs_new_replicas(d, old + [new_rs], new_rs))
        if scaled:
            self._sync_rollout_status(d, new_rs, old)
            return
        scaled, old = self._reconcile_old(d, new_rs, old)
        if scaled:
            self._sync_rollout_status(d, new_rs, old)
            return
        if self._complete(d, self._status(d, new_rs, old)):
            old = self._cleanup(d, old)
        self._sync_rollout_status(d, new_rs, old)

    def _reconcile_old(self, d: Any, new_rs: Any, old: list[Any]) -> tuple[bool, list[Any]]:
        """reconcileOldReplicaSets: first the old pods that are not available, then available ones while
        ``replicas - maxUnavailable`` stay available."""
        if sum(pods_counted(rs) for rs in old) == 0:
            return False, old
        all_rss = old + [new_rs]
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = spec_replicas(new_rs) - available_counted(new_rs)
        max_scaled_down = sum(spec_replicas(rs) for rs in all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False, old
        current = {rs.metadata.uid: rs for rs in old}
        cleaned = 0
        for rs in by_creation(old):  # cleanupUnhealthyReplicas
            if cleaned >= max_scaled_down:
                break
            unhealthy = spec_replicas(rs) - available_counted(rs)
            if spec_replicas(rs) == 0 or unhealthy == 0:
                continue
            step = min(max_scaled_down - cleaned, unhealthy)
            _, current[rs.metadata.uid] = self._scale_rs(d, rs, spec_replicas(rs) - step)
            cleaned += step
        old = [current[rs.metadata.uid] for rs in old]
        # scaleDownOldReplicaSetsForRollingUpdate
        available = sum(available_counted(rs) for rs in old + [new_rs])
        scaled_down = 0
        if available > min_available:
            total = available - min_available
            for rs in by_creation(old):
                if scaled_down >= total:
                    break
                if spec_replicas(rs) == 0:
                    continue
                step = min(spec_replicas(rs), total - scaled_down)
                _, current[rs.metadata.uid] = self._scale_rs(d, rs, spec_replicas(rs) - step)
                scaled_down += step
        return cleaned + scaled_down > 0, [current[rs.metadata.uid] for rs in old]

    def _rollout_recreate(self, d: Any, new_rs: Any, old: list[Any]) -> None:
        scaled = False
        fresh = []
        for rs in old:  # scaleDownOldReplicaSetsForRecreate
            if spec_replicas(rs) != 0:
                changed, rs = self._scale_rs(d, rs, 0)
                scaled = scaled or changed
            fresh.append(rs)
        old = fresh
        if scaled or self._old_pods_running(new_rs, old):
            self._sync_rollout_status(d, new_rs, old)
            return
        if new_rs is None:
            new_rs, d = self._create_new(d, old, _next_revision(old))
        if spec_replicas(new_rs) != replicas_of(d):
            _, new_rs = self._scale_rs(d, new_rs, replicas_of(d))
        if self._complete(d, self._status(d, new_rs, old)):
            old = self._cleanup(d, old)
        self._sync_rollout_status(d, new_rs, old)

    def _old_pods_running(self, new_rs: Any, old: list[Any]) -> bool:
        if any((rs.status.replicas or 0) > 0 for rs in old):
            return True
        for rs in old:
            for pod in self.pods.lister.by_index(CONTROLLER_UID_INDEX, rs.metadata.uid):
                if pod.status.phase not in ("Succeeded", "Failed"):
                    return True
        return False

    def _cleanup(self, d: Any, old: list[Any]) -> list[Any]:
        """cleanupDeployment: delete the oldest old ReplicaSets beyond revisionHistoryLimit, only those
        with no pods and a status that caught up with their spec."""
        limit = d.spec.revision_history_limit
        if limit is None or limit == MAX_INT32:
            return old
        cleanable = [rs for rs in old if not rs.metadata.deletion_timestamp]
        excess = len(cleanable) - limit
        if excess <= 0:
            return old
        gone: set[str] = set()
        for rs in sorted(cleanable, key=lambda rs: (revision_of(rs), rs.metadata.creation_timestamp or "",
                                                    rs.metadata.name))[:excess]:
            if (rs.status.replicas or 0) != 0 or spec_replicas(rs) != 0 or \
                    (rs.metadata.generation or 0) > (rs.status.observed_generation or 0):
                continue
            try:
                self.registry.delete("ReplicaSet", rs.metadata.name, rs.metadata.namespace, uid=rs.metadata.uid)
            except NotFound:
                pass
            gone.add(rs.metadata.uid)
        return [rs for rs in old if rs.metadata.uid not in gone]

    # ------------------------------------------------------------------ status
    def _status(self, d: Any, new_rs: Any, old: list[Any]) -> Any:
        """calculateStatus: counters from the ReplicaSets' statuses and the Available condition."""
        all_rss = [rs for rs in old + [new_rs] if rs is not None]
        available = sum(rs.status.available_replicas or 0 for rs in all_rss)
        replicas = replicas_of(d)
        conditions = list(d.status.conditions)
        if available >= replicas - max_unavailable(d):
            cond = new_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                                 self.clock())
        else:
            cond = new_condition("Available", "False", "MinimumReplicasUnavailable",
                                 "Deployment does not have minimum availability.", self.clock())
        return d.status.replace(
            observed_generation=d.metadata.generation,
            replicas=sum(rs.status.replicas or 0 for rs in all_rss),
            updated_replicas=(new_rs.status.replicas or 0) if new_rs is not None else 0,
            ready_replicas=sum(rs.status.ready_replicas or 0 for rs in all_rss),
            available_replicas=available,
            unavailable_replicas=max(0, replicas - available),
            conditions=set_condition(conditions, cond))

    @staticmethod
    def _complete(d: Any, status: Any) -> bool:
        """DeploymentComplete."""
        replicas = replicas_of(d)
        return (status.updated_replicas == replicas and status.replicas == replicas
                and status.available_replicas == replicas
                and (status.observed_generation or 0) >= (d.metadata.generation or 0))

    def _sync_status(self, d: Any, new_rs: Any, old: list[Any]) -> None:
        status = self._status(d, new_rs, old)
        if status != d.status:
            self.registry.update_status(d.replace(status=status))

    def _sync_rollout_status(self, d: Any, new_rs: Any, old: list[Any]) -> None:
        """syncRolloutStatus: the counters and the Progressing condition (complete, progressing, or timed
        out past progressDeadlineSeconds)."""
        status = self._status(d, new_rs, old)
        now = self.clock()
        conditions = list(status.conditions)
        if not has_progress_deadline(d):
            conditions = remove_condition(conditions, "Progressing")
        current = get_condition(conditions, "Progressing")
        complete_before = (status.replicas == status.updated_replicas and current is not None
                           and current.reason == NEW_RS_AVAILABLE)
        name = new_rs.metadata.name if new_rs is not None else ""
        if has_progress_deadline(d) and not complete_before:
            if self._complete(d, status):
                conditions = set_condition(conditions, new_condition(
                    "Progressing", "True", NEW_RS_AVAILABLE, f'ReplicaSet "{name}" has successfully progressed.', now))
            elif self._progressing(d, status):
                cond = new_condition("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.', now)
                if current is not None and current.status == "True":
                    cond = cond.replace(last_transition_time=current.last_transition_time)
                conditions = remove_condition(conditions, "Progressing") + [cond]
            elif self._timed_out(d, current, now):
                conditions = set_condition(conditions, new_condition(
                    "Progressing", "False", TIMED_OUT, f'ReplicaSet "{name}" has timed out progressing.', now))
        failure = next((c for rs in [new_rs] + old if rs is not None for c in rs.status.conditions
                        if c is not None and c.type == "ReplicaFailure" and c.status == "True"), None)
        if failure is not None:
            conditions = set_condition(conditions, new_condition("ReplicaFailure", "True", failure.reason or "",
                                                                 failure.message or "", now))
        else:
            conditions = remove_condition(conditions, "ReplicaFailure")
        status = status.replace(conditions=conditions)
        if status == d.status:
            self._requeue_stuck(d, status, now)
            return
        self.registry.update_status(d.replace(status=status))

    @staticmethod
    def _progressing(d: Any, status: Any) -> bool:
        """DeploymentProgressing: more updated, fewer old, more ready or more available pods than before."""
        old = d.status
        old_old = (old.replicas or 0) - (old.updated_replicas or 0)
        new_old = (status.replicas or 0) - (status.updated_replicas or 0)
        return ((status.updated_replicas or 0) > (old.updated_replicas or 0) or new_old < old_old
                or (status.ready_replicas or 0) > (old.ready_replicas or 0)
                or (status.available_replicas or 0) > (old.available_replicas or 0))

    @staticmethod
    def _timed_out(d: Any, current: Any, now: float) -> bool:
        if not has_progress_deadline(d) or current is None or current.reason == NEW_RS_AVAILABLE:
            return False
        if current.reason == TIMED_OUT:
            return True
        since = parse_time(current.last_update_time)
        return since is not None and since + (d.spec.progress_deadline_seconds or 0) < now

    def _requeue_stuck(self, d: Any, status: Any, now: float) -> None:
        """requeueStuckDeployment: look again when the progress deadline passes."""
        current = get_condition(status.conditions, "Progressing")
        if not has_progress_deadline(d) or current is None or current.reason == TIMED_OUT or self._complete(d, status):
            return
        since = parse_time(current.last_update_time)
        if since is None:
            return
        after = since + (d.spec.progress_deadline_seconds or 0) - now
        if after < 1:
            self.queue.add_rate_limited(d.key)
        else:
            self.queue.add_after(d.key, after + 1)

    def _check_paused_conditions(self, d: Any) -> Any:
        """checkPausedConditions: Progressing Unknown while paused (DeploymentPaused / DeploymentResumed)."""
        if not has_progress_deadline(d):
            return d
        current = get_condition(d.status.conditions, "Progressing")
        if current is not None and current.reason == TIMED_OUT:
            return d
        paused_shown = current is not None and current.reason == PAUSED
        if d.spec.paused and not paused_shown:
            cond = new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused", self.clock())
        elif not d.spec.paused and paused_shown:
            cond = new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed", self.clock())
        else:
            return d
        return self.registry.update_status(d.replace(status=d.status.replace(
            conditions=set_condition(list(d.status.conditions), cond))))


def _next_revision(old: list[Any]) -> str:
    """One more than the highest revision of the old ReplicaSets."""
    return str(max((revision_of(rs) for rs in old), default=0) + 1)


def _neg_time(rs: Any) -> tuple:
    """A sort key putting newer ReplicaSets first (ties: name)."""
    stamp = parse_time(rs.metadata.creation_timestamp) or 0.0
    return (-stamp, rs.metadata.name or "")


register_controller(DeploymentController.name, DeploymentController)
