"""The scheduler cache: every node's ``NodeInfo``, kept current incrementally, and the pods assumed on nodes.

Pods enter the cache three ways: bound pods the user adds (or the registry reports), pods the scheduler
*assumes* on a node at Reserve — accounted at once so the next cycle sees the node's resources taken — and
which are then confirmed when the binding is observed (``finish_binding`` / a bound ``add_pod``) or
forgotten when binding fails (``forget_pod``). As kube-scheduler's cache, a pod bound to a node the cache
does not know yet is kept on a placeholder NodeInfo that becomes real when the node arrives.

The cache is also the ``SnapshotLister`` plugins read: the scheduler runs cycles one at a time on this
thread, so the live cache is a consistent snapshot during a cycle (no copy is made). Node order is
insertion order; a removed node leaves the order, and ``NodeInfo.index`` follows.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from .framework import NodeInfo, NodeNotFound, PodNotFound
from .framework.nodeinfo import ImageStateSummary

__all__ = ["Cache", "NodeInfo", "NodeList"]


class _PodState:
    __slots__ = ("pod", "node_name", "assumed")

    def __init__(self, pod: Any, node_name: str, assumed: bool) -> None:
        self.pod = pod
        self.node_name = node_name
        self.assumed = assumed


class NodeList(list):  # type: ignore[type-arg]
    """The cache's node order; ``cache`` lets an index that was handed only the list reach
    ``changes_since`` (O(changes)) instead of comparing every node's generation."""

    __slots__ = ("cache",)

    def __init__(self, cache: "Cache") -> None:
        super().__init__()
        self.cache = cache


class Cache:
    """Node infos by name, their examination order, pods by key, image spread, affinity indexes."""

    pod_log_limit = 8192  # pod changes kept before the older half is dropped

    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._order: list[NodeInfo] = NodeList(self)
        self._pods: dict[str, _PodState] = {}
        self._images: dict[str, tuple[ImageStateSummary, set[str]]] = {}
        self._with_affinity: dict[str, NodeInfo] = {}
        self._with_anti_affinity: dict[str, NodeInfo] = {}
        self.image_generation = 0
        # Change log for the scheduler's equivalence-class indexes: every NodeInfo change is appended;
        # an index replays what it has not seen. Adding or removing a node bumps topology_version instead
        # (positions move), which makes indexes rebuild.
        self.changes: list[NodeInfo] = []
        self.change_base = 0
        self.topology_version = 0
        # Pod change log: (node name, pod, +1 added / -1 removed) for every pod entering or leaving a real
        # node's NodeInfo, so a count of matching pods can follow a bind by one delta instead of recounting
        # the node's pods (``pod_changes_since``). Same trimming and topology rule as ``changes``.
        self.pod_changes: list[tuple[str, Any, int]] = []
        self.pod_change_base = 0
        # (namespace, label key, value) -> {pod key: node name} of the pods in NodeInfos: a count of the pods
        # matching a selector starts from the pods carrying one of its labels, not from every pod.
        self._labelled: dict[tuple[str, str, str], dict[str, str]] = {}

    # -- SnapshotLister -----------------------------------------------------------------------------------
    def list(self) -> list[NodeInfo]:
        """Every real node's NodeInfo in examination order (do not modify the list)."""
        return self._order

    def get(self, node_name: str) -> NodeInfo:
        """The NodeInfo of ``node_name``; ``NodeNotFound`` when the cache has no such node."""
        info = self._nodes.get(node_name)
        if info is None or info.node is None:
            raise NodeNotFound(f"node {node_name!r} not found in the scheduler cache")
        return info

    def find(self, node_name: str) -> Optional[NodeInfo]:
        """The NodeInfo of a real node, or None."""
        info = self._nodes.get(node_name)
        return info if info is not None and info.node is not None else None

    def num_nodes(self) -> int:
        """How many nodes the cache holds."""
        return len(self._order)

    def have_pods_with_affinity_list(self) -> list[NodeInfo]:
        """The nodes running at least one pod with pod affinity or anti-affinity terms."""
        return [n for n in self._with_affinity.values() if n.node is not None]

    def have_pods_with_required_anti_affinity_list(self) -> list[NodeInfo]:
        """The nodes running at least one pod with required anti-affinity terms."""
        return [n for n in self._with_anti_affinity.values() if n.node is not None]

    # -- nodes --------------------------------------------------------------------------------------------
    def add_node(self, node: Any) -> NodeInfo:
        """Add a node, or update it when a node with this name is present."""
        name = node.metadata.name
        info = self._nodes.get(name)
        if info is None:
            info = NodeInfo()
            info.name = name
            self._nodes[name] = info
        was_real = info.node is not None
        if was_real:
            self._remove_images(info)
        info.set_node(node)
        self._add_images(info, node)
        if not was_real:
            info.index = len(self._order)
            self._order.append(info)
            self.topology_version += 1
        else:
            self._changed(info)
        return info

    def change_cursor(self) -> int:
        """A position in the change log: pass it to ``changes_since`` later."""
        return self.change_base + len(self.changes)

    def changes_since(self, cursor: int) -> tuple[Optional[list[NodeInfo]], int]:
        """The real nodes whose NodeInfo changed since ``cursor`` (each once, in order) and the new cursor.

        None instead of the list when the log no longer reaches back that far: recompute everything.
        Node additions and removals are not in the log; watch ``topology_version`` for those.
        """
        base = self.change_base
        end = base + len(self.changes)
        if cursor < base:
            return None, end
        changed = self.changes[cursor - base:]
        if len(changed) > 1:
            changed = list(dict.fromkeys(changed))
        return changed, end

    def pod_change_cursor(self) -> int:
        """A position in the pod change log: pass it to ``pod_changes_since`` later."""
        return self.pod_change_base + len(self.pod_changes)

    def pod_changes_since(self, cursor: int) -> tuple[Optional[list[tuple[str, Any, int]]], int]:
        """Every (node name, pod, +1 or -1) since ``cursor``, in order, and the new cursor: a pod added to or
        removed from a real node's NodeInfo (an update is a removal then an addition). Replayed in order over
        the node's pods at ``cursor`` they give its pods now. None instead of the list when the log no longer
        reaches back that far; node additions and removals are not in it (watch ``topology_version``)."""
        base = self.pod_change_base
        end = base + len(self.pod_changes)
        if cursor < base:
            return None, end
        return self.pod_changes[cursor - base:], end

    def pods_labelled(self, namespace: str, key: str, value: str) -> dict[str, str]:
        """The pods of ``namespace`` ("default" for none) accounted on any node whose label ``key`` is ``value``:
        pod key -> node name (do not modify)."""
        return self._labelled.get((namespace, key, value)) or {}

    def _index_labels(self, pod: Any, node_name: Optional[str]) -> None:
        """Enter ``pod``'s labels in the label index on ``node_name``, or remove them (None)."""
        meta = pod.metadata
        labels = meta.labels
        if not labels:
            return
        namespace = meta.namespace or "default"
        key = pod.key
        index = self._labelled
        for label, value in labels.items():
            at = (namespace, label, value)
            if node_name is None:
                holders = index.get(at)
                if holders is not None:
                    holders.pop(key, None)
                    if not holders:
                        del index[at]
            else:
                holders = index.get(at)
                if holders is None:
                    holders = index[at] = {}
                holders[key] = node_name

    def _pod_changed(self, info: NodeInfo, pod: Any, amount: int, reindex: bool = True) -> None:
        if reindex:
            self._index_labels(pod, info.name if amount > 0 else None)
        if info.index < 0:
            return
        log = self.pod_changes
        log.append((info.name, pod, amount))
        if len(log) > self.pod_log_limit:
            half = len(log) // 2
            del log[:half]
            self.pod_change_base += half

    def mark_changed(self, node_name: str) -> None:
        """Log ``node_name`` as changed without changing its NodeInfo: something the indexes read beside it
        changed (the pods nominated to it). Unknown names are ignored."""
        info = self._nodes.get(node_name)
        if info is not None:
            self._changed(info)

    def _changed(self, info: NodeInfo) -> None:
        if info.index < 0:
            return
        changes = self.changes
        changes.append(info)
        if len(changes) > 4096 and len(changes) > 2 * len(self._order):
            half = len(changes) // 2
            del changes[:half]
            self.change_base += half

    def update_node(self, node: Any) -> NodeInfo:
        """Replace a node's object; unknown nodes are added (as an informer's update would)."""
        return self.add_node(node)

    def remove_node(self, name: str) -> NodeInfo:
        """Remove a node; its pods stay accounted on a placeholder until they are removed too."""
        info = self._nodes.get(name)
        if info is None or info.node is None:
            raise NodeNotFound(f"node {name!r} not found in the scheduler cache")
        self._remove_images(info)
        del self._order[info.index]
        for i in range(info.index, len(self._order)):
            self._order[i].index = i
        info.index = -1
        info.node = None
        self.topology_version += 1
        if not info.pods:
            del self._nodes[name]
            self._with_affinity.pop(name, None)
            self._with_anti_affinity.pop(name, None)
        return info

    def _add_images(self, info: NodeInfo, node: Any) -> None:
        states: dict[str, ImageStateSummary] = {}
        for image in node.status.images or ():
            for image_name in image.names or ():
                entry = self._images.get(image_name)
                if entry is None:
                    entry = (ImageStateSummary(image.size_bytes or 0, 0), set())
                    self._images[image_name] = entry
                if info.name not in entry[1]:
                    entry[1].add(info.name)
                    entry[0].num_nodes = len(entry[1])
                states[image_name] = entry[0]
        if states:
            self.image_generation += 1
        info.image_states = states

    def _remove_images(self, info: NodeInfo) -> None:
        if not info.image_states:
            return
        for image_name in info.image_states:
            entry = self._images.get(image_name)
            if entry is None:
                continue
            entry[1].discard(info.name)
            entry[0].num_nodes = len(entry[1])
            if not entry[1]:
                del self._images[image_name]
        info.image_states = {}
        self.image_generation += 1

    # -- pods ---------------------------------------------------------------------------------------------
    def _node_for_pod(self, node_name: str) -> NodeInfo:
        info = self._nodes.get(node_name)
        if info is None:
            info = NodeInfo(name=node_name)
            self._nodes[node_name] = info
        return info

    def _account(self, pod: Any, node_name: str, reindex: bool = True) -> None:
        info = self._node_for_pod(node_name)
        replaced = info.pods.get(pod.key)
        info.add_pod(pod)
        if replaced is not None:
            self._pod_changed(info, replaced, -1)
        self._pod_changed(info, pod, 1, reindex)
        self._changed(info)
        if info.pods_with_affinity:
            self._with_affinity[node_name] = info
        if info.pods_with_required_anti_affinity:
            self._with_anti_affinity[node_name] = info

    def _unaccount(self, pod: Any, node_name: str, reindex: bool = True) -> None:
        info = self._nodes.get(node_name)
        if info is None:
            return
        stored = info.pods.get(pod.key)
        if info.remove_pod(pod):
            self._pod_changed(info, stored, -1, reindex)
        self._changed(info)
        if not info.pods_with_affinity:
            self._with_affinity.pop(node_name, None)
        if not info.pods_with_required_anti_affinity:
            self._with_anti_affinity.pop(node_name, None)
        if info.node is None and not info.pods:
            del self._nodes[node_name]

    def add_pod(self, pod: Any) -> None:
        """A bound pod (``spec.nodeName`` set) was observed: account it, confirming an assumed copy."""
        node_name = pod.spec.node_name
        if not node_name:
            raise PodNotFound(f"pod {pod.key!r}: spec.nodeName is empty; only bound pods go into the cache")
        state = self._pods.get(pod.key)
        # The label index maps the pod's key to its node by its labels: a new version on the same node with
        # the same labels (a binding observed, a status written) leaves it as it is.
        reindex = True
        if state is not None:
            reindex = state.node_name != node_name or state.pod.metadata.labels != pod.metadata.labels
            if state.node_name == node_name:
                info = self._nodes.get(node_name)
                # Same node, same requests, ports and affinity: the NodeInfo swaps the pod in place of a
                # removal and an addition that would cancel out; the logs record both halves as before.
                if info is not None and info.pods.get(pod.key) is state.pod and info.replace_pod(pod):
                    self._pod_changed(info, state.pod, -1, reindex)
                    self._pod_changed(info, pod, 1, reindex)
                    self._changed(info)
                    state.pod = pod
                    state.assumed = False
                    return
            self._unaccount(state.pod, state.node_name, reindex)
        self._account(pod, node_name, reindex)
        self._pods[pod.key] = _PodState(pod, node_name, False)

    def update_pod(self, pod: Any) -> None:
        """A bound pod changed (labels, ...): same as ``add_pod``."""
        self.add_pod(pod)

    def remove_pod(self, pod: Any) -> Any:
        """Forget a bound or assumed pod by key; returns the stored pod. ``PodNotFound`` when absent."""
        state = self._pods.pop(pod.key, None)
        if state is None:
            raise PodNotFound(f"pod {pod.key!r} not found in the scheduler cache")
        self._unaccount(state.pod, state.node_name)
        return state.pod

    def assume_pod(self, pod: Any) -> None:
        """Account ``pod`` (with ``spec.nodeName`` set to the chosen node) before it is bound."""
        key = pod.key
        if key in self._pods:
            raise PodNotFound(f"pod {key!r} is already in the scheduler cache; it cannot be assumed")
        node_name = pod.spec.node_name
        self._account(pod, node_name)
        self._pods[key] = _PodState(pod, node_name, True)

    def forget_pod(self, pod: Any) -> None:
        """Undo ``assume_pod`` (binding failed)."""
        state = self._pods.get(pod.key)
        if state is None or not state.assumed:
            raise PodNotFound(f"pod {pod.key!r} is not assumed in the scheduler cache")
        del self._pods[pod.key]
        self._unaccount(state.pod, state.node_name)

    def finish_binding(self, pod: Any) -> None:
        """The binding of an assumed pod succeeded: it is now an ordinary bound pod."""
        state = self._pods.get(pod.key)
        if state is not None:
            state.assumed = False

    def is_assumed(self, key: str) -> bool:
        """Whether the pod ``key`` ("namespace/name") is assumed and its binding not yet seen."""
        state = self._pods.get(key)
        return state is not None and state.assumed

    def get_pod(self, key: str) -> Optional[Any]:
        """The pod ``key`` ("namespace/name") as the cache accounts it (bound or assumed), or None."""
        state = self._pods.get(key)
        return None if state is None else state.pod

    def pods(self) -> Iterable[Any]:
        """Every pod in the cache (bound and assumed)."""
        return (s.pod for s in self._pods.values())

    def __len__(self) -> int:
        return len(self._order)
