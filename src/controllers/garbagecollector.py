"""Garbage collector: ownerReferences honoured, as kube-controller-manager's garbagecollector.

It watches every kind the Registry stores (Events excepted, as Kubernetes ignores them) and keeps a graph
uid -> object and owner uid -> dependents. A work item is a uid:

* an object being deleted with the ``orphan`` finalizer: its dependents lose their ownerReference to it,
  then the finalizer is removed (and the object goes);
* an object being deleted with the ``foregroundDeletion`` finalizer: its dependents are deleted (those with
  dependents of their own in the foreground too); once no dependent whose reference has
  ``blockOwnerDeletion`` is left, the finalizer is removed;
* any other object with ownerReferences: owners are looked up by uid (in the graph, else with a fresh read,
  so an owner the informers have not seen yet is not taken for gone). No owner left -> the object is
  deleted (Background); some owner left -> the references to gone owners are removed; owners all gone or
  being deleted in the foreground -> deleted in the foreground.

Every write carries the resourceVersion (or, for deletes, the uid) read, so a concurrent change makes the
item retry instead of acting on a stale view.
"""
from __future__ import annotations

import copy
import logging
import threading
from typing import Any

from objects import Conflict, NotFound, UnknownResourceType
from objects.registry import FOREGROUND_FINALIZER, ORPHAN_FINALIZER
from objects.storagekeys import BUILTIN_KINDS

from .controller import Controller
from .table import register_controller

__all__ = ["GarbageCollector", "IGNORED_KINDS"]

log = logging.getLogger(__name__)

IGNORED_KINDS = frozenset({"Event"})  # kube's GC ignores events too
CATCH_UP_RETRY = 0.02


class _Node:
    # refs: the ownerReferences list ``owners`` was read from (objects are shared, never mutated, and
    # successive versions share an unchanged list: the same list means the same owners)
    __slots__ = ("kind", "key", "owners", "deleting", "refs")

    def __init__(self, kind: str, key: str, owners: tuple, deleting: bool, refs: Any = None) -> None:
        self.kind, self.key, self.owners, self.deleting, self.refs = kind, key, owners, deleting, refs


def _finalizing(obj: Any) -> bool:
    f = obj.metadata.finalizers
    return bool(obj.metadata.deletion_timestamp) and (ORPHAN_FINALIZER in f or FOREGROUND_FINALIZER in f)


class GarbageCollector(Controller):
    """Deletes dependents whose owners are gone; runs the orphan and foreground finalizers."""

    name = "garbagecollector"

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self._lock = threading.Lock()
        self._nodes: dict[str, _Node] = {}
        self._dependents: dict[str, set[str]] = {}
        self.kinds = [info.kind for info in BUILTIN_KINDS if info.kind not in IGNORED_KINDS]
        self._informers = {}
        for kind in self.kinds:
            informer = informers.informer(kind)
            self._informers[kind] = informer
            informer.add_handler(on_add=self._observe, on_update=self._observe_update, on_delete=self._forget)

    # ------------------------------------------------------------------ the graph
    def _observe_update(self, old: Any, new: Any) -> None:
        self._observe(new, old)

    def _observe(self, obj: Any, old: Any = None) -> None:
        meta = obj.metadata
        uid = meta.uid
        if not uid:
            return
        if old is not None and old.metadata.resource_version == meta.resource_version:
            return  # a resync
        refs = meta.owner_references
        deleting = bool(meta.deletion_timestamp)
        with self._lock:
            nodes = self._nodes
            previous = nodes.get(uid)
            if previous is not None and not deleting and not previous.deleting:
                # nothing the graph holds changed and nothing to look at (a status write, a Lease renewal: most
                # events) -> return; rebuilding the entry for each was a twelfth of the GIL in a 1,000-node
                # failure, and this test runs for every event of every kind
                if refs is previous.refs:
                    owners = previous.owners
                else:
                    owners = tuple((r.uid, r.kind, r.name, bool(r.block_owner_deletion)) for r in refs
                                   if r is not None)
                    if owners == previous.owners:
                        previous.refs = refs
                if owners == previous.owners:
                    for owner in owners:
                        node = nodes.get(owner[0])
                        if node is None or node.deleting:
                            break
                    else:
                        return
            else:
                owners = tuple((r.uid, r.kind, r.name, bool(r.block_owner_deletion)) for r in refs if r is not None)
            if previous is not None:
                for owner_uid, *_ in previous.owners:
                    deps = self._dependents.get(owner_uid)
                    if deps is not None:
                        deps.discard(uid)
                        if not deps:
                            del self._dependents[owner_uid]
            self._nodes[uid] = _Node(obj.kind or obj.KIND, obj.key, owners, deleting, refs)
            for owner_uid, *_ in owners:
                self._dependents.setdefault(owner_uid, set()).add(uid)
            unknown_owner = any(o[0] not in self._nodes or self._nodes[o[0]].deleting for o in owners)
            dropped = [o[0] for o in previous.owners if o not in owners] if previous is not None else []
            waiting = [o for o in dropped if o in self._nodes and self._nodes[o].deleting]
        if _finalizing(obj) or unknown_owner:
            self.queue.add(uid)
        for owner_uid in waiting:  # an owner waiting in the foreground may be free now
            self.queue.add(owner_uid)

    def _forget(self, obj: Any) -> None:
        uid = obj.metadata.uid
        with self._lock:
            node = self._nodes.pop(uid, None)
            owners = node.owners if node is not None else ()
            for owner_uid, *_ in owners:
                deps = self._dependents.get(owner_uid)
                if deps is not None:
                    deps.discard(uid)
                    if not deps:
                        del self._dependents[owner_uid]
            orphaned = list(self._dependents.get(uid, ()))
        for dep in orphaned:           # their owner is gone
            self.queue.add(dep)
        for owner_uid, *_ in owners:   # an owner waiting in the foreground may be free now
            self.queue.add(owner_uid)

    def dependents(self, uid: str) -> list[Any]:
        """The cached objects that name ``uid`` as an owner."""
        with self._lock:
            nodes = [self._nodes[d] for d in self._dependents.get(uid, ()) if d in self._nodes]
        found = []
        for node in nodes:
            obj = self._informers[node.kind].lister.get(node.key)
            if obj is not None and any(r.uid == uid for r in obj.metadata.owner_references if r is not None):
                found.append(obj)
        return found

    def _cached(self, uid: str) -> Any:
        with self._lock:
            node = self._nodes.get(uid)
        if node is None:
            return None
        obj = self._informers[node.kind].lister.get(node.key)
        return obj if obj is not None and obj.metadata.uid == uid else None

    def _caught_up(self, revision: int) -> bool:
        """Whether every watched kind's informer has seen the store up to ``revision`` (the orphan and
        foreground finalizers act on the dependents the graph knows: it must know those made before)."""
        behind = [i for i in self._informers.values() if i.resource_version < revision]
        for informer in behind:
            informer.request_progress()
        return not behind

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Act on one object (by uid): delete it or unlink it when its owners are gone, finish a foreground or
        orphan deletion."""
        obj = self._cached(key)
        if obj is None:
            return
        finalizers = obj.metadata.finalizers
        if obj.metadata.deletion_timestamp:
            if _finalizing(obj) and not self._caught_up(int(obj.metadata.resource_version or 0)):
                self.queue.add_after(key, CATCH_UP_RETRY)  # a dependent made before now may not be seen yet
                return
            if ORPHAN_FINALIZER in finalizers:
                self._orphan_dependents(obj)
            elif FOREGROUND_FINALIZER in finalizers:
                self._delete_dependents_first(obj)
            return
        if obj.metadata.owner_references:
            self._check_owners(obj)

    def _orphan_dependents(self, owner: Any) -> None:
        uid = owner.metadata.uid
        for dep in self.dependents(uid):
            mine = copy.deepcopy(dep)
            mine.metadata.owner_references = [r for r in mine.metadata.owner_references if r is not None and r.uid != uid]
            self._update(mine)
        self._remove_finalizer(owner, ORPHAN_FINALIZER)

    def _delete_dependents_first(self, owner: Any) -> None:
        uid = owner.metadata.uid
        blocking = 0
        for dep in self.dependents(uid):
            ref = next(r for r in dep.metadata.owner_references if r is not None and r.uid == uid)
            if ref.block_owner_deletion:
                blocking += 1
            if not dep.metadata.deletion_timestamp:
                self.queue.add(dep.metadata.uid)  # deleted, or only unlinked when another owner stays
        if blocking == 0:
            self._remove_finalizer(owner, FOREGROUND_FINALIZER)
        # else: each blocking dependent's deletion or unlinking queues the owner again

    def _check_owners(self, obj: Any, fresh: bool = False) -> None:
        solid, dangling, waiting = [], [], []
        for ref in obj.metadata.owner_references:
            if ref is None:
                continue
            state = self._owner_state(obj, ref)
            (solid if state == "solid" else dangling if state == "dangling" else waiting).append(ref)
        if not solid or dangling or waiting:
            if not fresh:
                # act on a fresh read, as kube's attemptToDeleteItem does: the cached object may still name an
                # owner whose orphan finalizer already removed the reference (the delete's uid precondition
                # would not stop it), so the references are judged again on the stored object
                latest = self._latest(obj)
                if latest is not None and latest.metadata.owner_references:
                    self._check_owners(latest, fresh=True)
                return
        if solid:
            if dangling or waiting:  # keep the object: drop only the references to owners that are going
                gone = {r.uid for r in dangling + waiting}
                mine = copy.deepcopy(obj)
                mine.metadata.owner_references = [r for r in mine.metadata.owner_references
                                                  if r is not None and r.uid not in gone]
                self._update(mine)
            return
        with self._lock:
            has_own = bool(self._dependents.get(obj.metadata.uid))
        self._delete(obj, "Foreground" if waiting and has_own else "Background")

    def _latest(self, obj: Any) -> Any:
        """The stored object, if it is still the same one (None when gone or replaced)."""
        try:
            latest = self.registry.get(obj.kind or obj.KIND, obj.metadata.name, obj.metadata.namespace)
        except NotFound:
            return None
        return latest if latest.metadata.uid == obj.metadata.uid else None

    def _owner_state(self, obj: Any, ref: Any) -> str:
        """"solid" (exists), "waiting" (being deleted in the foreground) or "dangling" (gone)."""
        owner = self._cached(ref.uid)
        if owner is None:
            try:  # the informers may not have seen it yet: ask the store itself
                info = self.registry.kind_info(ref.kind)
                namespace = obj.metadata.namespace if info.namespaced else None
                owner = self.registry.get(ref.kind, ref.name, namespace)
            except NotFound:
                return "dangling"
            except UnknownResourceType:
                return "solid"  # a kind this registry does not store: never collect on a guess
            if owner.metadata.uid != ref.uid:
                return "dangling"  # a new object of the same name is not the owner
        if owner.metadata.deletion_timestamp and FOREGROUND_FINALIZER in owner.metadata.finalizers:
            return "waiting"
        return "solid"

    # ------------------------------------------------------------------ writes
    def _update(self, obj: Any) -> None:
        try:
            self.registry.update(obj)  # carries the resourceVersion read: Conflict if it moved
        except NotFound:
            pass

    def _delete(self, obj: Any, policy: str) -> None:
        meta = obj.metadata
        try:
            self.registry.delete(obj.kind or obj.KIND, meta.name, meta.namespace, uid=meta.uid,
                                 propagation_policy=policy)
        except NotFound:
            pass
        except Conflict:
            if self._cached(meta.uid) is not None:
                raise  # still the same object: retry

    def _remove_finalizer(self, obj: Any, finalizer: str) -> None:
        mine = copy.deepcopy(obj)
        mine.metadata.finalizers = [f for f in mine.metadata.finalizers if f != finalizer]
        self._update(mine)


register_controller(GarbageCollector.name, GarbageCollector)
