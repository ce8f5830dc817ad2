"""ControllerRevision history of DaemonSets and StatefulSets (k8s.io/kubernetes/pkg/controller/history).

A revision stores the patch that restores the owner's pod template (``{"spec": {"template": {...,
"$patch": "replace"}}}``) and a revision number. It is named ``<owner>-<hash>`` with the hash of that
data and the owner's ``status.collisionCount``, and labelled with the template's labels and
``controller-revision-hash``. Revisions are claimed by ControllerRef like pods (adopting orphans that
match the owner's selector).
"""
from __future__ import annotations

from typing import Any, Callable

from objects import AlreadyExists, ControllerRevision, NotFound, Registry

from .controllerref import candidates, claim, owner_reference
from .informer import Informer
from .templatehash import revision_hash

__all__ = ["CONTROLLER_REVISION_HASH", "template_patch", "revision_name", "sort_revisions", "equal_revision",
           "find_equal", "next_revision", "new_revision", "create_revision", "claim_revisions",
           "set_revision_number"]

CONTROLLER_REVISION_HASH = "controller-revision-hash"   # ControllerRevisionHashLabelKey
MAX_PREFIX = 223


def template_patch(owner: Any) -> dict[str, Any]:
    """getPatch: the data of a revision of ``owner``'s current template."""
    return {"spec": {"template": {**owner.spec.template.to_dict(), "$patch": "replace"}}}


def revision_name(prefix: str, hash_: str) -> str:
    """ControllerRevisionName: ``<prefix>-<hash>``, the prefix cut so the name stays valid."""
    return f"{prefix[:MAX_PREFIX]}-{hash_}"


def sort_revisions(revisions: list[Any]) -> list[Any]:
    """SortControllerRevisions: by revision, then creation, then name."""
    return sorted(revisions, key=lambda r: (r.revision, r.metadata.creation_timestamp or "", r.metadata.name))


def equal_revision(a: Any, b: Any) -> bool:
    """Whether two ControllerRevisions hold the same data."""
    return a is not None and b is not None and a.data == b.data


def find_equal(revisions: list[Any], data: Any) -> list[Any]:
    """FindEqualRevisions: the revisions holding ``data`` (sorted)."""
    return sort_revisions([r for r in revisions if r.data == data])


def next_revision(revisions: list[Any]) -> int:
    """One more than the highest revision number among ``revisions`` (1 for none)."""
    return max((r.revision for r in revisions), default=0) + 1


def new_revision(owner: Any, data: Any, revision: int, collision_count: int) -> ControllerRevision:
    """NewControllerRevision: not yet stored."""
    hash_ = revision_hash(data, collision_count)
    labels = {**owner.spec.template.metadata.labels, CONTROLLER_REVISION_HASH: hash_}
    return ControllerRevision.from_dict({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": revision_name(owner.metadata.name, hash_), "namespace": owner.metadata.namespace,
                     "labels": labels, "ownerReferences": [owner_reference(owner).to_dict()]},
        "data": data, "revision": revision})


def create_revision(registry: Registry, owner: Any, data: Any, revision: int,
                    collision_count: int) -> tuple[Any, int]:
    """CreateControllerRevision: store a revision of ``data``; a name taken by other data raises the
    collision count and tries the next hash. Returns (the revision, the collision count used)."""
    while True:
        cr = new_revision(owner, data, revision, collision_count)
        try:
            return registry.create(cr), collision_count
        except AlreadyExists:
            try:
                existing = registry.get("ControllerRevision", str(cr.metadata.name), cr.metadata.namespace)
            except NotFound:
                continue
            if existing.data == data:
                return existing, collision_count
            collision_count += 1


def set_revision_number(registry: Registry, revision: Any, number: int) -> Any:
    """UpdateControllerRevision: a new revision number on an existing revision (a rollback)."""
    if revision.revision == number:
        return revision
    return registry.update(revision.replace(revision=number))


def claim_revisions(registry: Registry, informer: Informer, owner: Any, selector: Any,
                    can_adopt: Callable[[], bool]) -> list[Any]:
    """The ControllerRevisions ``owner`` controls (adopting orphans its selector matches)."""
    return claim(registry, owner, lambda r: selector.matches(r.metadata.labels), candidates(informer, owner),
                 can_adopt=can_adopt)
