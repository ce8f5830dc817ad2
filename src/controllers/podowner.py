"""The base of controllers that own pods (ReplicaSet, ReplicationController, Job; StatefulSet and
DaemonSet can reuse it): the pod informer with the ControllerRef indexes, expectations observed in the pod
handlers, owners found by ControllerRef or, for orphans, by selector, and claiming pods (adopt / release)
as kube-controller-manager's controllers do."""
from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, Callable

from objects import LabelSelector, NotFound

from .controller import Controller
from .controllerref import CONTROLLER_UID_INDEX, ORPHAN_INDEX, claim, controller_of, index_by_controller
from .expectations import ControllerExpectations
from .podcontrol import PodControl, slow_start_batch
from .podstate import TERMINAL_PHASES, is_active, is_ready

__all__ = ["PodOwnerController"]

STALE_RETRY = 0.02

log = logging.getLogger(__name__)


def _only_status_changed(old: Any, cur: Any) -> bool:
    """Whether an update changed nothing but the status (the spec bumps generation; the metadata a
    controller reads is compared)."""
    o, c = old.metadata, cur.metadata
    return (o.resource_version != c.resource_version and o.generation == c.generation
            and o.labels == c.labels and o.annotations == c.annotations
            and o.owner_references == c.owner_references and o.deletion_timestamp == c.deletion_timestamp
            and o.finalizers == c.finalizers)


class _PodEvents:
    """The pod handlers of every PodOwnerController on one Pod informer, registered as one handler.

    A PodOwnerController acts on a pod event only when the pod's ControllerRef (before or after) names its
    ``KIND``, or for a pod without one (an orphan any of them may adopt). The default table has five
    (ReplicaSet, ReplicationController, Job, DaemonSet, StatefulSet): called one by one, four of them read
    the references of every pod event to find it is not theirs. This reads them once and calls only the
    controllers of the kinds named, or all of them for an orphan; each runs its own handler unchanged, in
    the order they joined, one failing not keeping the others from it."""

    def __init__(self) -> None:
        self.members: tuple[PodOwnerController, ...] = ()
        self.by_kind: dict[str, tuple[PodOwnerController, ...]] = {}

    def join(self, controller: "PodOwnerController", informer: Any) -> None:
        """Add ``controller``; registered after the cache filled, it first gets ``_pod_added`` for every
        cached pod, before any later event (as ``Informer.add_handler``)."""
        with informer.paused():
            if self.members:
                for pod in informer.lister.list():
                    self._call(controller._pod_added, pod)
            self.members += (controller,)
            self.by_kind[controller.KIND] = self.by_kind.get(controller.KIND, ()) + (controller,)
            if len(self.members) == 1:
                informer.add_handler(on_add=self.added, on_update=self.updated, on_delete=self.deleted)

    def _of(self, kind_a: str, kind_b: str) -> tuple["PodOwnerController", ...]:
        if kind_a == kind_b:
            return self.by_kind.get(kind_a, ())
        return tuple(c for c in self.members if c.KIND == kind_a or c.KIND == kind_b)

    def added(self, pod: Any) -> None:
        ref = controller_of(pod)
        if ref is not None:
            targets = self.by_kind.get(ref.kind, ())
        else:  # an orphan may be adopted, unless it is being deleted (then no owner has anything to observe)
            targets = () if pod.metadata.deletion_timestamp else self.members
        for controller in targets:
            self._call(controller._pod_added, pod)

    def updated(self, old: Any, cur: Any) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return  # a resync: every controller returns at once
        cur_ref = controller_of(cur)
        if cur_ref is None and not cur.metadata.deletion_timestamp:
            targets = self.members  # an orphan (now): any of them may adopt it
        else:
            old_ref = controller_of(old)
            targets = self._of(cur_ref.kind if cur_ref is not None else "",
                               old_ref.kind if old_ref is not None else "")
        for controller in targets:
            self._call(controller._pod_updated, old, cur)

    def deleted(self, pod: Any) -> None:
        ref = controller_of(pod)
        if ref is not None:
            for controller in self.by_kind.get(ref.kind, ()):
                self._call(controller._pod_deleted, pod)

    @staticmethod
    def _call(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - one controller's failure must not starve the others
            log.exception("pod handler %r failed", fn)


_POD_EVENTS: "weakref.WeakKeyDictionary[Any, _PodEvents]" = weakref.WeakKeyDictionary()
_POD_EVENTS_LOCK = threading.Lock()


def _pod_events(informer: Any) -> _PodEvents:
    with _POD_EVENTS_LOCK:
        events = _POD_EVENTS.get(informer)
        if events is None:
            events = _POD_EVENTS[informer] = _PodEvents()
        return events


class PodOwnerController(Controller):
    """A controller of ``KIND`` objects that own pods. Subclasses set ``name`` and ``KIND``, may override
    ``selector_of`` and ``min_ready_seconds_of``, and write ``sync``.

    The pod handlers (``_pod_added``, ``_pod_updated``, ``_pod_deleted``) act only on pods whose
    ControllerRef names ``KIND`` and on orphans: the controllers sharing a Pod informer get each pod event
    through one handler that calls only those it may concern (see ``_PodEvents``)."""

    KIND = ""
    # True: an owner update that changed only the status is not queued (a subclass doing so writes its
    # status with write_status and begins its sync with owner_is_stale, so a sync never judges the status
    # from a cached owner older than its own last write)
    SKIP_OWN_STATUS_UPDATES = False

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self._status_lock = threading.Lock()
        self._status_written: dict[str, int] = {}   # key -> resourceVersion of our last status write
        self.expectations = ControllerExpectations(clock=clock)  # None: monotonic, as kube measures the TTL
        self.pod_control = PodControl(registry, recorder)
        self.owners = informers.informer(self.KIND)
        self.pods = informers.informer("Pod")
        index_by_controller(self.pods)
        self.owners.add_handler(on_add=self.enqueue, on_update=self._owner_updated, on_delete=self._owner_deleted)
        _pod_events(self.pods).join(self, self.pods)

    # ------------------------------------------------------------------ the kind's specifics
    def selector_of(self, owner: Any) -> LabelSelector | None:
        """The owner's pod selector (None or empty: it manages no pods)."""
        return owner.spec.selector  # type: ignore[no-any-return]

    def min_ready_seconds_of(self, owner: Any) -> int:
        """The owner's minReadySeconds (0 when unset): how long a pod must be Ready to count as available."""
        return getattr(owner.spec, "min_ready_seconds", None) or 0

    # ------------------------------------------------------------------ handlers
    def _owner_updated(self, old: Any, cur: Any) -> None:
        if self.SKIP_OWN_STATUS_UPDATES and _only_status_changed(old, cur):
            return  # its own status write (only this controller writes it): nothing to reconcile
        self.enqueue(cur)

    def _owner_deleted(self, owner: Any) -> None:
        self.expectations.delete(owner.key)
        with self._status_lock:
            self._status_written.pop(owner.key, None)
        self.enqueue(owner)

    # ------------------------------------------------------------------ status writes
    def write_status(self, owner: Any, status: Any) -> Any:
        """``update_status`` with the resourceVersion read, remembering the version written."""
        written = self.registry.update_status(owner.replace(status=status))
        with self._status_lock:
            self._status_written[owner.key] = int(written.metadata.resource_version)
        return written

    def owner_is_stale(self, key: str, owner: Any) -> bool:
        """True (and the key queued again shortly) when the cached owner is older than our last status
        write: its status would be compared with a value we already replaced."""
        with self._status_lock:
            written = self._status_written.get(key, 0)
        if int(owner.metadata.resource_version or 0) >= written:
            return False
        self.queue.add_after(key, STALE_RETRY)
        return True

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
                # no longer ours: its deletion (maybe one we sent) will come without our ControllerRef, so
                # stop waiting for it now (kube waits for the 5-minute expectations timeout instead)
                self.expectations.deletion_observed(previous.key, old.metadata.uid)
                self.queue.add(previous.key)
        if cur_ref is not None:
            owner = self._resolve(cur.metadata.namespace, cur_ref)
            if owner is None:
                return
            self.queue.add(owner.key)
            min_ready = self.min_ready_seconds_of(owner)
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

    # ------------------------------------------------------------------ claiming
    def claim_pods(self, owner: Any, selector: LabelSelector, active_only: bool = True) -> list[Any]:
        """The pods ``owner`` controls after adopting matching orphans and releasing its own that stopped
        matching (only active pods with ``active_only``, as ReplicaSets claim; Jobs claim finished ones too)."""
        # Exactly controllerref.claim over candidates(), but the pods the owner already controls and that
        # still match (nearly all, at thousands per owner) are kept in one inlined loop: the controller-uid
        # index already says they are ours, so claim's per-pod calls would only confirm it. The rest (ours
        # no longer matching, orphans) go through claim in the same order, so its writes are the same.
        lister = self.pods.lister
        matches = selector.matches
        kept: list[Any] = []
        rest: list[Any] = []
        for p in lister.by_index(CONTROLLER_UID_INDEX, owner.metadata.uid):
            if active_only and (p.status.phase in TERMINAL_PHASES or p.metadata.deletion_timestamp):
                continue
            (kept if matches(p.metadata.labels) else rest).append(p)
        orphans = lister.by_index(ORPHAN_INDEX, owner.metadata.namespace or "")
        rest.extend([p for p in orphans if is_active(p)] if active_only else orphans)
        if not rest:
            return kept
        return kept + claim(self.registry, owner, lambda p: matches(p.metadata.labels), rest,
                            can_adopt=lambda: self._still_there(owner))

    # ------------------------------------------------------------------ writing pods under expectations
    def create_pods(self, key: str, count: int, create: Callable[[], Any]) -> Exception | None:
        """Call ``create`` ``count`` times in slow-start batches, the expectations of ``key`` already set;
        each create that failed or was never sent is observed at once (its pod will never come). Returns
        the first error, or None."""
        successes, error = slow_start_batch(count, create)
        for _ in range(count - successes):
            self.expectations.creation_observed(key)
        return error

    def delete_pods(self, key: str, owner: Any, pods: list[Any]) -> Exception | None:
        """Delete ``pods`` of ``owner``, the expectations of ``key`` already set, each one even when another
        failed; a pod already gone or a failed delete is observed at once. Returns the first error, or None."""
        first: Exception | None = None
        for pod in pods:
            try:
                if not self.pod_control.delete_pod(owner, pod):
                    self.expectations.deletion_observed(key, pod.metadata.uid)
            except Exception as exc:  # noqa: BLE001 - the others are still deleted
                self.expectations.deletion_observed(key, pod.metadata.uid)
                first = first or exc
        return first

    def enqueue_controller_of(self, obj: Any) -> None:
        """Queue the owner of ours that controls ``obj`` (a ControllerRevision, say), if there is one."""
        ref = controller_of(obj)
        if ref is not None:
            owner = self._resolve(obj.metadata.namespace, ref)
            if owner is not None:
                self.enqueue(owner)

    def _still_there(self, owner: Any) -> bool:
        """RecheckDeletionTimestamp: a fresh read (not the cache) before adopting anything."""
        try:
            fresh = self.registry.get(self.KIND, owner.metadata.name, owner.metadata.namespace)
        except NotFound:
            return False
        return fresh.metadata.uid == owner.metadata.uid and not fresh.metadata.deletion_timestamp
