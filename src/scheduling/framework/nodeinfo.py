"""``NodeInfo``: what the scheduler knows about one node — the node object, its pods, the resources they
request, the host ports they use, the images present — kept up to date incrementally by the cache.

Plugins read a NodeInfo and never change it (preemption works on ``clone()``). ``generation`` changes on
every change to the NodeInfo, from one process-wide counter (as kube-scheduler's ``nextGeneration``), so a
(node name, generation) pair identifies one state of one node: the scheduler keys its per-equivalence-class
caches of node-local filter results and scores on it.

Resource dictionaries use the names of ``objects.Pod.requests``: ``"cpu"`` in millicores, everything else
in units (``"memory"`` bytes, ``"ephemeral-storage"`` bytes, extended resources counts); ``allocatable``
additionally holds ``"pods"``, the number of pods the node allows.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable

__all__ = ["NodeInfo", "HostPortInfo", "ImageStateSummary", "next_generation", "pod_has_affinity",
           "pod_has_required_anti_affinity", "normalized_image_name"]

_generations = itertools.count(1)
DEFAULT_BIND_ALL_HOST_IP = "0.0.0.0"


def next_generation() -> int:
    """A process-wide increasing number; every NodeInfo change takes a fresh one."""
    return next(_generations)


def normalized_image_name(name: str) -> str:
    """``normalizedImageName``: an image named without a tag means ``:latest``."""
    if name.rfind(":") <= name.rfind("/"):
        return name + ":latest"
    return name


def pod_has_affinity(pod: Any) -> bool:
    """The pod has pod affinity or anti-affinity terms (required or preferred)."""
    affinity = pod.spec.affinity
    if affinity is None:
        return False
    return affinity.pod_affinity is not None or affinity.pod_anti_affinity is not None


def pod_has_required_anti_affinity(pod: Any) -> bool:
    """The pod has required pod anti-affinity terms."""
    affinity = pod.spec.affinity
    return bool(affinity is not None and affinity.pod_anti_affinity is not None
                and affinity.pod_anti_affinity.required)


class ImageStateSummary:
    """An image present on a node: its ``size`` in bytes and on how many nodes (``num_nodes``) it is."""

    __slots__ = ("size", "num_nodes")

    def __init__(self, size: int, num_nodes: int) -> None:
        self.size = size
        self.num_nodes = num_nodes

    def __repr__(self) -> str:
        return f"ImageStateSummary(size={self.size}, num_nodes={self.num_nodes})"


class HostPortInfo:
    """Host ports in use on a node, with kube-scheduler's wildcard rule (``HostPortInfo.CheckConflict``):
    ``0.0.0.0`` conflicts with the same protocol/port on any IP, and any IP conflicts with ``0.0.0.0``."""

    __slots__ = ("_by_ip", "_any_ip")

    def __init__(self) -> None:
        self._by_ip: dict[tuple[str, str, int], int] = {}
        self._any_ip: dict[tuple[str, int], int] = {}

    @staticmethod
    def _sanitize(ip: str, protocol: str) -> tuple[str, str]:
        return ip or DEFAULT_BIND_ALL_HOST_IP, protocol or "TCP"

    def add(self, ip: str, protocol: str, port: int) -> None:
        if port <= 0:
            return
        ip, protocol = self._sanitize(ip, protocol)
        key = (ip, protocol, port)
        self._by_ip[key] = self._by_ip.get(key, 0) + 1
        self._any_ip[(protocol, port)] = self._any_ip.get((protocol, port), 0) + 1

    def remove(self, ip: str, protocol: str, port: int) -> None:
        if port <= 0:
            return
        ip, protocol = self._sanitize(ip, protocol)
        for table, key in ((self._by_ip, (ip, protocol, port)), (self._any_ip, (protocol, port))):
            count = table.get(key, 0) - 1
            if count > 0:
                table[key] = count
            else:
                table.pop(key, None)

    def conflicts(self, ip: str, protocol: str, port: int) -> bool:
        """Whether a pod asking for ``ip:port/protocol`` on this node would clash with a pod already here."""
        if port <= 0:
            return False
        ip, protocol = self._sanitize(ip, protocol)
        if ip == DEFAULT_BIND_ALL_HOST_IP:
            return (protocol, port) in self._any_ip
        return (DEFAULT_BIND_ALL_HOST_IP, protocol, port) in self._by_ip or (ip, protocol, port) in self._by_ip

    def __len__(self) -> int:
        return sum(self._by_ip.values())

    def items(self) -> Iterable[tuple[tuple[str, str, int], int]]:
        return self._by_ip.items()

    def copy(self) -> "HostPortInfo":
        other = HostPortInfo()
        other._by_ip = dict(self._by_ip)
        other._any_ip = dict(self._any_ip)
        return other


class NodeInfo:
    """One node's aggregated state. Read-only for plugins; the cache and preemption's clones change it."""

    __slots__ = ("node", "name", "pods", "requested", "non_zero_requested", "allocatable", "used_ports",
                 "image_states", "pods_with_affinity", "pods_with_required_anti_affinity", "generation",
                 "labels", "taints", "index")

    def __init__(self, node: Any = None, name: str | None = None) -> None:
        self.node: Any = None
        self.name: str = name or ""
        self.pods: dict[str, Any] = {}
        self.requested: dict[str, int] = {}
        self.non_zero_requested: list[int] = [0, 0]
        self.allocatable: dict[str, int] = {}
        self.used_ports = HostPortInfo()
        self.image_states: dict[str, ImageStateSummary] = {}
        self.pods_with_affinity: list[Any] = []
        self.pods_with_required_anti_affinity: list[Any] = []
        self.labels: dict[str, str] = {}
        self.taints: tuple[Any, ...] = ()
        self.index: int = -1  # position in the cache's node list (the order nodes are examined in)
        self.generation: int = next_generation()
        if node is not None:
            self.set_node(node)

    def set_node(self, node: Any) -> None:
        """Take a new version of the node object (labels, taints, allocatable may all have changed)."""
        self.node = node
        self.name = node.metadata.name
        self.labels = dict(node.metadata.labels or {})
        self.taints = tuple(node.spec.taints or ())
        self.allocatable = dict(node.allocatable_resources)
        self.generation = next_generation()

    @property
    def allowed_pod_number(self) -> int:
        """The node's allocatable ``pods`` (0 when it declares none)."""
        return self.allocatable.get("pods", 0)

    def add_pod(self, pod: Any) -> None:
        """Account ``pod`` on this node (its requests, non-zero requests, host ports, affinity lists)."""
        key = pod.key
        if key in self.pods:
            self.remove_pod(self.pods[key])
        self.pods[key] = pod
        requested = self.requested
        for name, value in pod.requests.items():
            requested[name] = requested.get(name, 0) + value
        cpu, memory = pod.non_zero_requests
        self.non_zero_requested[0] += cpu
        self.non_zero_requested[1] += memory
        for ip, protocol, port in pod.host_ports:
            self.used_ports.add(ip, protocol, port)
        if pod_has_affinity(pod):
            self.pods_with_affinity.append(pod)
        if pod_has_required_anti_affinity(pod):
            self.pods_with_required_anti_affinity.append(pod)
        self.generation = next_generation()

    def replace_pod(self, pod: Any) -> bool:
        """``remove_pod`` then ``add_pod`` of a new version of a pod on this node whose requests, host ports
        and (anti-)affinity presence are those of the version here (a binding observed, a status written):
        the aggregates stay as they are, the pod moves to the end of ``pods`` and of its affinity lists as it
        would. False, and nothing done, when the pod is not here or one of those differs."""
        key = pod.key
        old = self.pods.get(key)
        if old is None:
            return False
        affinity = pod_has_affinity(old)
        anti = pod_has_required_anti_affinity(old)
        # A binding or status write shares the parts the values are read from: equal without reading them.
        if old is not pod and not (old.spec.affinity is pod.spec.affinity and old.derives_like(pod)) and (
                old.requests != pod.requests or old.non_zero_requests != pod.non_zero_requests
                or old.host_ports != pod.host_ports or affinity != pod_has_affinity(pod)
                or anti != pod_has_required_anti_affinity(pod)):
            return False
        del self.pods[key]
        self.pods[key] = pod
        if affinity:
            self.pods_with_affinity = [p for p in self.pods_with_affinity if p.key != key]
            self.pods_with_affinity.append(pod)
        if anti:
            self.pods_with_required_anti_affinity = [p for p in self.pods_with_required_anti_affinity
                                                     if p.key != key]
            self.pods_with_required_anti_affinity.append(pod)
        self.generation = next_generation()
        return True

    def remove_pod(self, pod: Any) -> bool:
        """Undo ``add_pod`` for the pod with ``pod.key``; False when it is not on this node."""
        stored = self.pods.pop(pod.key, None)
        if stored is None:
            return False
        requested = self.requested
        for name, value in stored.requests.items():
            left = requested.get(name, 0) - value
            if left:
                requested[name] = left
            else:
                requested.pop(name, None)
        cpu, memory = stored.non_zero_requests
        self.non_zero_requested[0] -= cpu
        self.non_zero_requested[1] -= memory
        for ip, protocol, port in stored.host_ports:
            self.used_ports.remove(ip, protocol, port)
        key = stored.key
        self.pods_with_affinity = [p for p in self.pods_with_affinity if p.key != key]
        self.pods_with_required_anti_affinity = [p for p in self.pods_with_required_anti_affinity if p.key != key]
        self.generation = next_generation()
        return True

    def clone(self) -> "NodeInfo":
        """An independent copy (shared node object and pods, copied aggregates), for simulations."""
        other = NodeInfo.__new__(NodeInfo)
        other.node = self.node
        other.name = self.name
        other.pods = dict(self.pods)
        other.requested = dict(self.requested)
        other.non_zero_requested = list(self.non_zero_requested)
        other.allocatable = self.allocatable
        other.used_ports = self.used_ports.copy()
        other.image_states = self.image_states
        other.pods_with_affinity = list(self.pods_with_affinity)
        other.pods_with_required_anti_affinity = list(self.pods_with_required_anti_affinity)
        other.labels = self.labels
        other.taints = self.taints
        other.index = self.index
        other.generation = self.generation
        return other

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, pods={len(self.pods)}, requested={self.requested!r})"

    def free(self, resource: str) -> int:
        """Allocatable minus requested for ``resource`` (``"pods"``: allowed minus present)."""
        if resource == "pods":
            return self.allowed_pod_number - len(self.pods)
        return self.allocatable.get(resource, 0) - self.requested.get(resource, 0)


def node_fields(node_info: NodeInfo) -> dict[str, str]:
    """The node fields node affinity's matchFields see."""
    return {"metadata.name": node_info.name}

