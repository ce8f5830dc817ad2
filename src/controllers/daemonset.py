"""DaemonSet controller, as kube-controller-manager's: one pod of the template on every eligible node.

A node is eligible when the pod (the template with the DaemonSet's default tolerations) fits its name,
its ``nodeSelector`` and required node affinity, and tolerates its NoSchedule / NoExecute taints; a pod
already there may stay while it tolerates the NoExecute ones (``NodeShouldRunDaemonPod``). Pods are created
unbound, with a required node affinity ``matchFields metadata.name In [<node>]`` (as the controller does
since Kubernetes 1.12), so the scheduler places them; they carry ``controller-revision-hash`` of the
current ControllerRevision. A sync claims the pods and revisions, then, while its expectations are
satisfied: creates the missing pods (slow-start batches), deletes pods on nodes where they should not
run, surplus pods (the oldest stays) and failed ones; then RollingUpdate replaces old pods within
maxUnavailable (or surges within maxSurge), OnDelete waits for the user; old revisions beyond
revisionHistoryLimit that no pod uses are deleted; the status is written.
"""
from __future__ import annotations

from typing import Any

from objects import Affinity, Toleration
from objects.affinity import NodeAffinity
from objects.nodeselector import NodeSelector, NodeSelectorTerm
from objects.taints import NO_EXECUTE, NO_SCHEDULE, find_untolerated_taint

from .controllerref import index_by_controller
from .history import (CONTROLLER_REVISION_HASH, claim_revisions, create_revision, find_equal, next_revision,
                      set_revision_number, sort_revisions, template_patch)
from .podowner import PodOwnerController
from .podstate import is_available, is_ready
from .rolloututil import scaled_value
from .table import register_controller

__all__ = ["DaemonSetController", "DEFAULT_TOLERATIONS", "daemon_tolerations", "should_run",
           "target_node", "pod_template_for_node"]

BURST_REPLICAS = 250   # the DaemonSet controller's burstReplicas
NODE_NAME_FIELD = "metadata.name"

# AddOrUpdateDaemonPodTolerations: daemons keep running on nodes that are not ready, unreachable or under
# pressure, and land on unschedulable (cordoned) nodes.
DEFAULT_TOLERATIONS = (
    Toleration("node.kubernetes.io/not-ready", "Exists", effect=NO_EXECUTE),
    Toleration("node.kubernetes.io/unreachable", "Exists", effect=NO_EXECUTE),
    Toleration("node.kubernetes.io/disk-pressure", "Exists", effect=NO_SCHEDULE),
    Toleration("node.kubernetes.io/memory-pressure", "Exists", effect=NO_SCHEDULE),
    Toleration("node.kubernetes.io/pid-pressure", "Exists", effect=NO_SCHEDULE),
    Toleration("node.kubernetes.io/unschedulable", "Exists", effect=NO_SCHEDULE),
)
HOST_NETWORK_TOLERATION = Toleration("node.kubernetes.io/network-unavailable", "Exists", effect=NO_SCHEDULE)


def daemon_tolerations(spec: Any) -> list[Toleration]:
    """The template's tolerations with the DaemonSet defaults added (an equal one is not doubled)."""
    defaults = list(DEFAULT_TOLERATIONS) + ([HOST_NETWORK_TOLERATION] if spec.host_network else [])
    same = {(t.key, t.operator, t.value, t.effect) for t in defaults}
    return [t for t in spec.tolerations if (t.key, t.operator, t.value, t.effect) not in same] + defaults


def should_run(ds: Any, node: Any) -> tuple[bool, bool]:
    """NodeShouldRunDaemonPod: (a daemon pod should be created there, one already there may stay)."""
    spec = ds.spec.template.spec
    name = node.metadata.name
    if spec.node_name and spec.node_name != name:
        return False, False
    labels = node.metadata.labels
    if spec.node_selector and any(labels.get(k) != v for k, v in spec.node_selector.items()):
        return False, False
    required = spec.affinity.node_affinity.required if (spec.affinity is not None and
                                                        spec.affinity.node_affinity is not None) else None
    if required is not None and not required.matches(labels, {NODE_NAME_FIELD: name}):
        return False, False
    tolerations = daemon_tolerations(spec)
    taints = node.spec.taints
    if find_untolerated_taint(taints, tolerations, lambda t: t.effect in (NO_SCHEDULE, NO_EXECUTE)) is None:
        return True, True
    return False, find_untolerated_taint(taints, tolerations, lambda t: t.effect == NO_EXECUTE) is None


def target_node(pod: Any) -> str | None:
    """GetTargetNodeName: the node a daemon pod is on, or is meant for by its matchFields affinity."""
    if pod.spec.node_name:
        return pod.spec.node_name  # type: ignore[no-any-return]
    affinity = pod.spec.affinity
    required = affinity.node_affinity.required if affinity is not None and affinity.node_affinity is not None else None
    if required is None:
        return None
    for term in required.node_selector_terms:
        for field in term.match_fields:
            if field.key == NODE_NAME_FIELD and field.operator == "In" and len(field.values) == 1:
                return field.values[0]  # type: ignore[no-any-return]
    return None


def pod_template_for_node(template: Any, node_name: str, tolerations: list[Toleration] | None = None) -> Any:
    """The template with the default tolerations (``tolerations``, computed once by a caller creating many)
    and the required node affinity replaced by ``matchFields metadata.name In [node_name]``
    (ReplaceDaemonSetPodNodeNameNodeAffinity; preferred terms kept)."""
    spec = template.spec
    term = NodeSelectorTerm(match_fields=[{"key": NODE_NAME_FIELD, "operator": "In", "values": [node_name]}])
    affinity = spec.affinity or Affinity()
    node_affinity = affinity.node_affinity or NodeAffinity()
    affinity = affinity.replace(node_affinity=node_affinity.replace(required=NodeSelector([term])))
    return template.replace(spec=spec.replace(
        affinity=affinity, tolerations=tolerations if tolerations is not None else daemon_tolerations(spec)))


def _by_age(pods: list[Any]) -> list[Any]:
    """podByCreationTimestampAndPhase: running before pending, then oldest first."""
    return sorted(pods, key=lambda p: (p.status.phase != "Running", p.metadata.creation_timestamp or "",
                                       p.metadata.name))


class DaemonSetController(PodOwnerController):
    """Keeps one daemon pod per eligible node; see the module documentation."""

    name = "daemonset"
    KIND = "DaemonSet"
    burst_replicas = BURST_REPLICAS

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.nodes = informers.informer("Node")
        self.revisions = informers.informer("ControllerRevision")
        index_by_controller(self.revisions)
        self.nodes.add_handler(on_add=self._node_changed, on_update=self._node_updated, on_delete=self._node_changed)
        self.revisions.add_handler(on_add=self.enqueue_controller_of,
                                   on_update=lambda old, cur: self.enqueue_controller_of(cur),
                                   on_delete=self.enqueue_controller_of)

    # ------------------------------------------------------------------ handlers
    def _node_changed(self, node: Any) -> None:
        for ds in self.owners.lister.list():
            self.enqueue(ds)

    def _node_updated(self, old: Any, cur: Any) -> None:
        if (old.metadata.labels != cur.metadata.labels or old.spec.taints != cur.spec.taints
                or old.spec.unschedulable != cur.spec.unschedulable):
            self._node_changed(cur)

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Reconcile one DaemonSet: its pods on the eligible nodes, the rolling update, the status."""
        ds = self.owners.lister.get(key)
        if ds is None:
            self.expectations.delete(key)
            return
        if self.selects_all(ds, "daemon set"):
            return
        selector = ds.spec.selector
        if ds.metadata.deletion_timestamp:
            return
        # (node name, should run, may keep running): each node judged once a sync
        nodes = [(n.metadata.name, *should_run(ds, n)) for n in sorted(self.nodes.lister.list(),
                                                                     key=lambda n: n.metadata.name)]
        cur, old, ds = self._construct_history(ds)
        hash_ = cur.metadata.labels[CONTROLLER_REVISION_HASH]
        # pods being deleted still hold their node (a daemon waits for its predecessor to terminate, as a
        # hostPort would require); ended pods being deleted are gone for good
        pods = [p for p in self.claim_pods(ds, selector, active_only=False)
                if not (p.metadata.deletion_timestamp and p.status.phase in ("Failed", "Succeeded"))]
        by_node: dict[str, list[Any]] = {}
        for pod in pods:
            by_node.setdefault(target_node(pod) or "", []).append(pod)
        error: Exception | None = None
        if self.expectations.satisfied(key):
            try:
                # a rolling update judges availability from the pods read above: only when manage
                # changed nothing (its writes, even observed at once, are not in that read)
                if not self._manage(ds, nodes, by_node, hash_, key) and self._strategy(ds) == "RollingUpdate":
                    self._rolling_update(ds, nodes, by_node, hash_, key)
                self._cleanup_history(ds, old, pods)
            except Exception as exc:  # noqa: BLE001 - the status is still written, then the sync retried
                error = exc
        self._update_status(ds, nodes, by_node, hash_)
        if error is not None:
            raise error

    @staticmethod
    def _strategy(ds: Any) -> str:
        strategy = ds.spec.update_strategy
        return strategy.type if strategy is not None and strategy.type else "RollingUpdate"

    # ------------------------------------------------------------------ history
    def _construct_history(self, ds: Any) -> tuple[Any, list[Any], Any]:
        """constructHistory: (the revision of the current template, the old ones), numbering the current
        one above the others (a rollback renumbers the old revision of that template); and the DaemonSet as
        written when its collisionCount went up."""
        revisions = claim_revisions(self.registry, self.revisions, ds, ds.spec.selector,
                                    lambda: self._still_there(ds))
        data = template_patch(ds)
        current = find_equal(revisions, data)
        old = [r for r in revisions if r.data != data]
        number = next_revision(old)
        if current:
            cur = current[-1]   # duplicates (a crash between writes) stay old and age out with the history
            old += current[:-1]
            if cur.revision < number:
                cur = set_revision_number(self.registry, cur, number)
            return cur, old, ds
        collisions = ds.status.collision_count or 0
        cur, used = create_revision(self.registry, ds, data, number, collisions)
        if used != collisions:
            ds = self.registry.update_status(ds.replace(status=ds.status.replace(collision_count=used)))
        return cur, old, ds

    def _cleanup_history(self, ds: Any, old: list[Any], pods: list[Any]) -> None:
        limit = ds.spec.revision_history_limit if ds.spec.revision_history_limit is not None else 10
        excess = len(old) - limit
        if excess <= 0:
            return
        live = {p.metadata.labels.get(CONTROLLER_REVISION_HASH) for p in pods}
        for revision in sort_revisions(old):
            if excess <= 0:
                break
            if revision.metadata.labels.get(CONTROLLER_REVISION_HASH) in live:
                continue
            self.registry.delete("ControllerRevision", revision.metadata.name, revision.metadata.namespace,
                                 uid=revision.metadata.uid)
            excess -= 1

    # ------------------------------------------------------------------ pods
    def _manage(self, ds: Any, nodes: list[tuple[str, bool, bool]], by_node: dict[str, list[Any]], hash_: str,
                key: str) -> bool:
        """manage: which nodes need a pod, which pods must go; True when it wrote."""
        surge = self._max_surge_configured(ds)
        needing: list[str] = []
        doomed: list[Any] = []
        names = set()
        for name, run, keep in nodes:
            names.add(name)
            here = by_node.get(name, [])
            if run and not here:
                needing.append(name)
            elif keep:
                running = []
                for pod in here:
                    if pod.metadata.deletion_timestamp:
                        continue             # terminating: neither kept nor deleted again
                    if pod.status.phase in ("Failed", "Succeeded"):
                        doomed.append(pod)   # a daemon that ended: replace it
                    else:
                        running.append(pod)
                running = _by_age(running)
                if not surge:
                    doomed.extend(running[1:])   # the oldest stays
                else:
                    newest = oldest = None
                    for pod in running:
                        if pod.metadata.labels.get(CONTROLLER_REVISION_HASH) == hash_:
                            if newest is None:
                                newest = pod
                                continue
                        elif oldest is None:
                            oldest = pod
                            continue
                        doomed.append(pod)
            else:
                doomed.extend(p for p in here if not p.metadata.deletion_timestamp)
        # pods meant for nodes that no longer exist and never got bound (getUnscheduledPodsWithoutNode)
        for name, pods in by_node.items():
            if name not in names:
                doomed.extend(p for p in pods if not p.spec.node_name and not p.metadata.deletion_timestamp)
        return self._sync_nodes(ds, doomed, needing, hash_, key)

    def _sync_nodes(self, ds: Any, doomed: list[Any], needing: list[str], hash_: str, key: str) -> bool:
        """syncNodes: create on ``needing`` and delete ``doomed``, at most burstReplicas each, under
        expectations."""
        creates, deletes = needing[:self.burst_replicas], doomed[:self.burst_replicas]
        if not creates and not deletes:
            return False
        self.expectations.expect(key, len(creates), [p.metadata.uid for p in deletes])
        pending = iter(creates)
        tolerations = daemon_tolerations(ds.spec.template.spec)

        def create() -> None:
            node = next(pending)
            self.pod_control.create_pod(ds, pod_template_for_node(ds.spec.template, node, tolerations),
                                        labels={CONTROLLER_REVISION_HASH: hash_})
        create_error = self.create_pods(key, len(creates), create)
        delete_error = self.delete_pods(key, ds, deletes)  # deleted even when a create failed
        error = create_error or delete_error
        if error is not None:
            raise error
        return True

    # ------------------------------------------------------------------ rolling update
    @staticmethod
    def _desired(nodes: list[tuple[str, bool, bool]]) -> int:
        return sum(1 for _, run, _ in nodes if run)

    @staticmethod
    def _max_surge_configured(ds: Any) -> bool:
        strategy = ds.spec.update_strategy
        rolling = strategy.rolling_update if strategy is not None else None
        return (strategy is None or strategy.type in (None, "RollingUpdate")) and rolling is not None and \
            rolling.max_surge not in (None, 0, "0%")

    def _counts(self, ds: Any, desired: int) -> tuple[int, int]:
        """updatedDesiredNodeCounts: (maxSurge, maxUnavailable), both rounded up; both 0 means 1 unavailable."""
        strategy = ds.spec.update_strategy
        rolling = strategy.rolling_update if strategy is not None else None
        surge = scaled_value(rolling.max_surge if rolling is not None else None, desired, True, 0)
        unavailable = scaled_value(rolling.max_unavailable if rolling is not None else None, desired, True, 1)
        if desired > 0 and surge == 0 and unavailable == 0:
            unavailable = 1
        return surge, unavailable

    def _rolling_update(self, ds: Any, nodes: list[tuple[str, bool, bool]], by_node: dict[str, list[Any]], hash_: str, key: str) -> None:
        surge, unavailable = self._counts(ds, self._desired(nodes))
        now = self.clock()
        min_ready = ds.spec.min_ready_seconds or 0
        if surge == 0:
            # an eligible node with no daemon at all is unavailable too (manage creates it next)
            count = sum(1 for name, run, _ in nodes if run and name not in by_node)
            replace: list[Any] = []
            candidates: list[Any] = []
            for name in sorted(by_node):
                found = self._updated_on_node(by_node[name], hash_)
                if found is None:
                    count += 1   # the manage loop sorts this node out: unavailable meanwhile
                    continue
                new, old = found
                if (new is None) == (old is None):
                    count += 1
                elif new is not None:
                    if not is_available(new, min_ready, now):
                        count += 1
                elif not is_available(old, min_ready, now):
                    replace.append(old)
                elif count < unavailable:
                    candidates.append(old)
            room = min(max(0, unavailable - count), len(candidates))
            self._sync_nodes(ds, replace + candidates[:room], [], hash_, key)
            return
        surged = 0
        allowed: list[str] = []
        candidate_nodes: list[str] = []
        doomed: list[Any] = []
        for name in sorted(by_node):
            found = self._updated_on_node(by_node[name], hash_)
            if found is None:
                continue
            new, old = found
            if old is None:
                continue
            if new is None:
                if not is_available(old, min_ready, now):
                    allowed.append(name)
                elif surged < surge:
                    candidate_nodes.append(name)
            elif not is_available(new, min_ready, now):
                surged += 1
            else:
                doomed.append(old)
        room = min(max(0, surge - surged), len(candidate_nodes))
        self._sync_nodes(ds, doomed, allowed + candidate_nodes[:room], hash_, key)

    @staticmethod
    def _updated_on_node(pods: list[Any], hash_: str) -> tuple[Any, Any] | None:
        """findUpdatedPodsOnNode: (the new pod, the old pod); None when there is more than one of either."""
        new = old = None
        for pod in pods:
            if pod.metadata.deletion_timestamp:
                continue
            if pod.metadata.labels.get(CONTROLLER_REVISION_HASH) == hash_:
                if new is not None:
                    return None
                new = pod
            else:
                if old is not None:
                    return None
                old = pod
        return new, old

    # ------------------------------------------------------------------ status
    def _update_status(self, ds: Any, nodes: list[tuple[str, bool, bool]], by_node: dict[str, list[Any]], hash_: str) -> None:
        now = self.clock()
        min_ready = ds.spec.min_ready_seconds or 0
        desired = current = misscheduled = ready = available = updated = 0
        for name, run, _ in nodes:
            pods = by_node.get(name, [])
            if run:
                desired += 1
                if not pods:
                    continue
                current += 1
                pod = sorted(pods, key=lambda p: (p.metadata.creation_timestamp or "", p.metadata.name))[0]
                if is_ready(pod):
                    ready += 1
                    if is_available(pod, min_ready, now):
                        available += 1
                if pod.metadata.labels.get(CONTROLLER_REVISION_HASH) == hash_:
                    updated += 1
            elif pods:
                misscheduled += 1
        status = ds.status.replace(observed_generation=ds.metadata.generation, desired_number_scheduled=desired,
                                   current_number_scheduled=current, number_misscheduled=misscheduled,
                                   number_ready=ready, number_available=available,
                                   updated_number_scheduled=updated, number_unavailable=desired - available)
        if status != ds.status:
            self.registry.update_status(ds.replace(status=status))
        if min_ready and ready != available:
            self.queue.add_after(ds.key, min_ready)


register_controller(DaemonSetController.name, DaemonSetController)
