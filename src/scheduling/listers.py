"""``ClusterObjects``: the cluster objects plugins read besides pods and nodes (kube-scheduler's listers).

* Namespaces, for their labels: InterPodAffinity's ``namespaceSelector`` is matched against them
  (``namespace_labels(name)``; an unknown namespace has no labels, as kube-scheduler assumes).
* The "selecting" workload objects — Services, ReplicationControllers, ReplicaSets, StatefulSets — for the
  selector kube-scheduler's default spreading (``helper.DefaultSelector``) derives for a pod:
  ``selectors_for(pod)`` gives the selector of every Service in the pod's namespace whose
  ``spec.selector`` matches the pod's labels (a Service without a selector selects nothing), then the
  ``spec.selector`` of the pod's controller (the ``ownerReferences`` entry with ``controller: true``) when
  it is a ReplicationController, ReplicaSet or StatefulSet this lister holds in the pod's namespace. As in
  kube-scheduler, a workload object that is not the pod's controller does not count even when its
  selector matches: the controller reference is what says which ReplicaSet a pod belongs to.

Objects are kept as the scheduler received them (models or ``GenericObject`` for kinds ``objects`` does
not model yet: their ``spec`` is plain JSON and is read the same way).
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Optional

from objects import LabelSelector, ObjectsError

from .framework import UnknownKind

__all__ = ["ClusterObjects", "SELECTING_KINDS", "LISTED_KINDS"]

# The kinds whose selector picks pods (the order DefaultSelector merges them in: Services first).
SELECTING_KINDS = ("Service", "ReplicationController", "ReplicaSet", "StatefulSet")
LISTED_KINDS = ("Namespace",) + SELECTING_KINDS
# Kinds whose spec.selector is a plain label map (v1 core) rather than a metav1.LabelSelector.
_MAP_SELECTOR_KINDS = frozenset({"Service", "ReplicationController"})
_NO_LABELS: Mapping[str, str] = MappingProxyType({})
# The controller kinds DefaultSelector recognizes, by (apiVersion, kind) as it compares group/version/kind.
_CONTROLLER_KINDS = frozenset({("v1", "ReplicationController"), ("apps/v1", "ReplicaSet"),
                               ("apps/v1", "StatefulSet")})


def _checked(kind: Any) -> str:
    if kind not in LISTED_KINDS:
        raise UnknownKind(f"kind: {kind!r} is not one the scheduler lists (one of {list(LISTED_KINDS)}; "
                          "PodDisruptionBudgets go to add_pdb)")
    return str(kind)


def _kind_of(obj: Any) -> str:
    return _checked(getattr(obj, "kind", None))


def _selector_of(kind: str, obj: Any) -> Optional[LabelSelector]:
    """``spec.selector`` as a LabelSelector; None when the object has none (it then selects nothing)."""
    spec = obj.spec
    raw = spec.get("selector") if isinstance(spec, dict) else getattr(spec, "selector", None)
    if raw is None or isinstance(raw, LabelSelector):
        return raw
    try:
        if kind in _MAP_SELECTOR_KINDS:
            # An empty map selects nothing: the API server drops an empty selector map, which Go sees as nil.
            return LabelSelector(match_labels=raw) if raw else None
        return LabelSelector.from_dict(raw, path=f"{kind}.spec.selector")
    except ObjectsError:
        return None  # as DefaultSelector, which skips a selector LabelSelectorAsSelector cannot parse


class ClusterObjects:
    """Namespaces by name and selecting workload objects by kind and namespace (see the module docstring).

    ``add(obj)`` / ``update(obj)`` / ``remove(obj)`` keep it current; ``add`` and ``update`` return True
    when a namespace's labels changed (the scheduler then retries unschedulable pods).
    """

    def __init__(self) -> None:
        self._namespaces: dict[str, Any] = {}
        # Bumped whenever namespace labels change, so plugins can drop what they derived from them.
        self.namespace_labels_version = 0
        self._namespace_labels: dict[str, Mapping[str, str]] = {}
        # kind -> namespace -> name -> selector (None: the object selects nothing)
        self._selectors: dict[str, dict[str, dict[str, Optional[LabelSelector]]]] = {
            kind: {} for kind in SELECTING_KINDS}
        self._objects: dict[str, dict[str, Any]] = {kind: {} for kind in SELECTING_KINDS}

    # -- feeding ---------------------------------------------------------------------------------------
    def add(self, obj: Any) -> bool:
        """Record an object (an existing one of the same kind, namespace and name is replaced)."""
        kind = _kind_of(obj)
        meta = obj.metadata
        if kind == "Namespace":
            labels = MappingProxyType(dict(meta.labels or {}))
            changed = self._namespace_labels.get(meta.name) != labels
            self._namespace_labels[meta.name] = labels
            self._namespaces[meta.name] = obj
            self.namespace_labels_version += changed
            return changed
        namespace = meta.namespace or "default"
        selector = _selector_of(kind, obj)
        self._selectors[kind].setdefault(namespace, {})[meta.name] = selector
        self._objects[kind][f"{namespace}/{meta.name}"] = obj
        return False

    def update(self, obj: Any) -> bool:
        """An object changed (the same as ``add``)."""
        return self.add(obj)

    def remove(self, obj: Any) -> bool:
        """Forget an object (unknown ones are ignored); True when a namespace with labels went away."""
        kind = _kind_of(obj)
        meta = obj.metadata
        if kind == "Namespace":
            self._namespaces.pop(meta.name, None)
            changed = bool(self._namespace_labels.pop(meta.name, None))
            self.namespace_labels_version += changed
            return changed
        namespace = meta.namespace or "default"
        self._objects[kind].pop(f"{namespace}/{meta.name}", None)
        by_name = self._selectors[kind].get(namespace)
        if by_name is not None:
            by_name.pop(meta.name, None)
            if not by_name:
                del self._selectors[kind][namespace]
        return False

    # -- reading ---------------------------------------------------------------------------------------
    def namespace_labels(self, name: str) -> Mapping[str, str]:
        """A namespace's labels (read-only); none for a namespace this lister does not know."""
        return self._namespace_labels.get(name, _NO_LABELS)

    def objects(self, kind: str) -> list[Any]:
        """Every held object of one kind (``UnknownKind`` for a kind not listed here)."""
        if _checked(kind) == "Namespace":
            return list(self._namespaces.values())
        return list(self._objects[kind].values())

    def selectors_for(self, pod: Any) -> list[LabelSelector]:
        """The selectors of the Services selecting ``pod`` and of its controller (see the module docstring).

        Every returned selector matches the pod's labels except, possibly, the controller's (kube-scheduler
        takes it from the owner reference without checking). An empty list: nothing selects the pod, and
        default spreading has no selector for it.
        """
        namespace = pod.metadata.namespace or "default"
        labels = pod.metadata.labels or _NO_LABELS
        out = [s for s in self._selectors["Service"].get(namespace, {}).values()
               if s is not None and s.matches(labels)]
        owner = _controller_of(pod)
        if owner is not None and (owner.api_version, owner.kind) in _CONTROLLER_KINDS:
            selector = self._selectors[owner.kind].get(namespace, {}).get(owner.name)
            if selector is not None:
                out.append(selector)
        return out


def _controller_of(pod: Any) -> Any:
    """``metav1.GetControllerOf``: the owner reference marked ``controller: true``, or None."""
    for ref in pod.metadata.owner_references or ():
        if ref.controller:
            return ref
    return None
