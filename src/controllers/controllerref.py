"""ControllerRef: which controller owns an object, adopting orphans and releasing pods that no longer
match (kube-controller-manager's ControllerRefManager / ClaimPods).

Ownership is the ownerReference with ``controller: true``. A controller claims, among the objects it
might own: its own that still match its selector (kept), its own that do not (released: the reference is
removed), and orphans that match (adopted: a controller reference is added), unless it is itself being
deleted. Objects owned by another controller are never touched. Every write carries the resourceVersion
read, so a concurrent change makes the claim fail (the caller's sync is retried) instead of overwriting.
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Callable, Iterable

from objects import Conflict, NotFound, OwnerReference, Registry

from .informer import Informer

__all__ = ["controller_of", "owner_reference", "is_controlled_by", "claim", "CONTROLLER_UID_INDEX",
           "ORPHAN_INDEX", "index_by_controller", "ClaimError"]

log = logging.getLogger(__name__)

CONTROLLER_UID_INDEX = "controller-uid"   # value: the controller's uid
ORPHAN_INDEX = "orphans"                  # value: the namespace of objects with no controller


class ClaimError(Exception):
    """Adopting or releasing an object failed (a conflict or a refused write); the sync is retried."""


def controller_of(obj: Any) -> OwnerReference | None:
    """GetControllerOf: the ownerReference with ``controller: true``."""
    for ref in obj.metadata.owner_references:
        if ref is not None and ref.controller:
            return ref
    return None


def is_controlled_by(obj: Any, owner: Any) -> bool:
    """Whether ``obj``'s controller reference names ``owner`` (by uid)."""
    ref = controller_of(obj)
    return ref is not None and ref.uid == owner.metadata.uid


def owner_reference(owner: Any) -> OwnerReference:
    """A controller reference to ``owner`` (controller and blockOwnerDeletion true, as NewControllerRef)."""
    return OwnerReference(api_version=owner.api_version or type(owner).API_VERSION, kind=owner.kind or owner.KIND,
                          name=owner.metadata.name, uid=owner.metadata.uid, controller=True,
                          block_owner_deletion=True)


def _by_controller(obj: Any) -> list[str]:
    ref = controller_of(obj)
    return [ref.uid] if ref is not None else []


def _orphan_namespace(obj: Any) -> list[str]:
    if controller_of(obj) is not None:
        return []
    return [obj.metadata.namespace or ""]


def _same_owners(old: Any, new: Any) -> bool:
    """Whether _by_controller and _orphan_namespace give both versions the same values: they read the
    ownerReferences (the same list: a status write or a bind keeps it) and the namespace."""
    old_meta, new_meta = old.metadata, new.metadata
    return old_meta.owner_references is new_meta.owner_references and old_meta.namespace == new_meta.namespace


def index_by_controller(informer: Informer) -> None:
    """Give ``informer`` the indexes claims use: by controller uid, and orphans by namespace."""
    informer.ensure_index(CONTROLLER_UID_INDEX, _by_controller, _same_owners)
    informer.ensure_index(ORPHAN_INDEX, _orphan_namespace, _same_owners)


def candidates(informer: Informer, owner: Any) -> list[Any]:
    """What ``owner`` might own: the objects it controls and the orphans of its namespace."""
    lister = informer.lister
    return lister.by_index(CONTROLLER_UID_INDEX, owner.metadata.uid) + \
        lister.by_index(ORPHAN_INDEX, owner.metadata.namespace or "")


def claim(registry: Registry, owner: Any, matches: Callable[[Any], bool], objs: Iterable[Any],
          can_adopt: Callable[[], bool] | None = None) -> list[Any]:
    """The objects ``owner`` controls after adopting matching orphans and releasing its own that stopped
    matching. ``can_adopt`` is asked once before the first adoption (RecheckDeletionTimestamp: a fresh read
    of the owner showing it still exists with the same uid and is not being deleted). Raises ClaimError
    when a write fails for another reason than the object being gone."""
    owner_uid = owner.metadata.uid
    deleting = bool(owner.metadata.deletion_timestamp)
    claimed: list[Any] = []
    adopt_ok: bool | None = None
    errors: list[str] = []
    for obj in objs:
        ref = controller_of(obj)
        if ref is not None:
            if ref.uid != owner_uid:
                continue
            if matches(obj):
                claimed.append(obj)
            elif not deleting:
                try:
                    _release(registry, obj, owner_uid)
                except ClaimError as exc:
                    errors.append(str(exc))
            continue
        if deleting or obj.metadata.deletion_timestamp or not matches(obj):
            continue
        if adopt_ok is None:
            adopt_ok = can_adopt() if can_adopt is not None else True
        if not adopt_ok:
            continue
        try:
            adopted = _adopt(registry, obj, owner)
        except ClaimError as exc:
            errors.append(str(exc))
            continue
        if adopted is not None:
            claimed.append(adopted)
    if errors:
        raise ClaimError("; ".join(errors))
    return claimed


def _adopt(registry: Registry, obj: Any, owner: Any) -> Any:
    mine = copy.deepcopy(obj)
    mine.metadata.owner_references = [r for r in mine.metadata.owner_references
                                      if r is not None and r.uid != owner.metadata.uid] + [owner_reference(owner)]
    return _write(registry, mine, "adopt")


def _release(registry: Registry, obj: Any, owner_uid: str) -> Any:
    mine = copy.deepcopy(obj)
    mine.metadata.owner_references = [r for r in mine.metadata.owner_references if r is not None and r.uid != owner_uid]
    return _write(registry, mine, "release")


def _write(registry: Registry, obj: Any, what: str) -> Any:
    try:
        return registry.update(obj)   # preconditioned on the resourceVersion read
    except NotFound:
        return None                   # gone meanwhile: nothing to claim
    except Conflict as exc:
        raise ClaimError(f"{what} {obj.key}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a refused write is reported, the sync retried
        raise ClaimError(f"{what} {obj.key}: {exc}") from exc
