"""The core/v1 kinds: Pod, Node, Namespace, Service, Endpoints, ConfigMap, and their parts.

Pods and Nodes carry the values the scheduler reads on its hot path, computed once when built:
``Pod.requests``, ``Pod.non_zero_requests``, ``Pod.host_ports``, ``Pod.priority_value``, ``Pod.key`` and
``Node.allocatable_resources``.
"""
from __future__ import annotations

from typing import Any

from .affinity import Affinity, TopologySpreadConstraint
from .errors import FieldError
from .meta import METADATA, TYPE_META, Condition, KubeObject, attach_kind
from .quantity import Quantity
from .resources import QuantityMap, ResourceRequirements, aggregate_requests, non_zero, to_units
from .schema import (INT64, Bool, Enum, Errors, Field, Int, IntOrString, ListOf, Model, Raw, Str, StrList,
                     StrMap, join, model)
from .taints import Taint, Toleration
from .validation import (config_map_key, dns1035_label, dns1123_label, dns1123_subdomain, ip_address,
                         label_value, qualified_name, timestamp)

__all__ = [
    "ContainerPort", "Container", "PodSchedulingGate", "PodSpec", "PodStatus", "Pod",
    "NodeSpec", "ContainerImage", "NodeAddress", "NodeStatus", "Node",
    "NamespaceSpec", "NamespaceStatus", "Namespace",
    "ServicePort", "ServiceSpec", "Service",
    "EndpointAddress", "EndpointPort", "EndpointSubset", "Endpoints", "ConfigMap",
]

PROTOCOL = Enum("TCP", "UDP", "SCTP")


# ---------------------------------------------------------------------------------------------------------
# Pod


@model
class ContainerPort(Model):
    """A port a container exposes; ``host_port`` > 0 reserves the port on the node."""

    FIELDS = (
        Field("container_port", Int(1, 65535), required=True),
        Field("host_port", Int(0, 65535)),
        Field("protocol", PROTOCOL),
        Field("host_ip", Str(ip_address), "hostIP"),
        Field("name", Str()),
    )
    name: str | None
    host_port: int | None
    container_port: int
    protocol: str | None
    host_ip: str | None


@model
class Container(Model):
    """A container of a pod (``spec.containers[]`` / ``spec.initContainers[]``).

    Fields the scheduler does not read (command, env, volumeMounts, probes, ...) are kept in
    ``unknown_fields`` and written back unchanged.  ``restart_policy: Always`` on an init container makes it
    a sidecar.
    """

    FIELDS = (
        Field("name", Str(dns1123_label), required=True),
        Field("image", Str(), required=True),
        Field("resources", ResourceRequirements, always=True),
        Field("ports", ListOf(ContainerPort)),
        Field("restart_policy", Enum("Always")),
    )
    name: str
    image: str | None
    ports: list[ContainerPort]
    resources: ResourceRequirements
    restart_policy: str | None


@model
class PodSchedulingGate(Model):
    """``spec.schedulingGates[]``: while any gate remains the pod is not scheduled."""

    FIELDS = (Field("name", Str(qualified_name), required=True),)
    name: str


@model
class PodSpec(Model):
    """``spec`` of a Pod (and of every pod template)."""

    FIELDS = (
        Field("containers", ListOf(Container)),  # required: checked in validate, also when empty
        Field("init_containers", ListOf(Container)),
        Field("node_name", Str(dns1123_subdomain)),
        Field("node_selector", StrMap(qualified_name, label_value)),
        Field("affinity", Affinity),
        Field("tolerations", ListOf(Toleration)),
        Field("priority", Int()),
        Field("priority_class_name", Str(dns1123_subdomain)),
        Field("preemption_policy", Enum("PreemptLowerPriority", "Never")),
        Field("topology_spread_constraints", ListOf(TopologySpreadConstraint)),
        Field("scheduler_name", Str(dns1123_subdomain)),
        Field("overhead", QuantityMap()),
        Field("scheduling_gates", ListOf(PodSchedulingGate)),
        Field("restart_policy", Enum("Always", "OnFailure", "Never")),
        Field("service_account_name", Str(dns1123_subdomain)),
        Field("host_network", Bool()),
    )
    init_containers: list[Container]
    containers: list[Container]
    restart_policy: str | None
    node_selector: dict[str, str]
    service_account_name: str | None
    node_name: str | None
    host_network: bool | None
    affinity: Affinity | None
    scheduler_name: str | None
    tolerations: list[Toleration]
    priority_class_name: str | None
    priority: int | None
    preemption_policy: str | None
    overhead: dict[str, Quantity]
    topology_spread_constraints: list[TopologySpreadConstraint]
    scheduling_gates: list[PodSchedulingGate]

    def validate(self, path: str, errs: Errors) -> None:
        containers_path = join(path, "containers")
        if not self.containers and not any(e.path == containers_path for e in errs):
            errs.append(FieldError(containers_path, "", None, "Required value"))
        seen: set[str] = set()
        for list_key, containers in (("initContainers", self.init_containers), ("containers", self.containers)):
            for i, c in enumerate(containers):
                if c is None or c.name is None:
                    continue
                if c.name in seen:
                    errs.append(FieldError(join(join(join(path, list_key), i), "name"), "", c.name,
                                           "Duplicate value"))
                seen.add(c.name)
                if list_key == "containers" and c.restart_policy is not None:
                    errs.append(FieldError(join(join(join(path, list_key), i), "restartPolicy"),
                                           "may not be set for non-init containers", None, "Forbidden"))
        for list_key, containers in (("initContainers", self.init_containers), ("containers", self.containers)):
            _check_unique_host_ports(containers, join(path, list_key), errs)
        pairs: set[tuple[str, str]] = set()
        for i, tsc in enumerate(self.topology_spread_constraints):
            if tsc is None:
                continue
            pair = (tsc.topology_key, tsc.when_unsatisfiable)
            if pair in pairs:
                errs.append(FieldError(join(join(path, "topologySpreadConstraints"), i), "",
                                       f"{{{pair[0]}, {pair[1]}}}", "Duplicate value"))
            pairs.add(pair)
        gates: set[str] = set()
        for i, gate in enumerate(self.scheduling_gates):
            if gate is not None and gate.name in gates:
                errs.append(FieldError(join(join(join(path, "schedulingGates"), i), "name"), "", gate.name,
                                       "Duplicate value"))
            if gate is not None:
                gates.add(gate.name)


def _check_unique_host_ports(containers: list[Container], path: str, errs: Errors) -> None:
    """AccumulateUniqueHostPorts: no two ports of the list claim the same hostIP/protocol/hostPort."""
    seen: set[str] = set()
    for i, c in enumerate(containers):
        if c is None:
            continue
        for j, p in enumerate(c.ports):
            if p is None or not p.host_port:
                continue
            claim = f"{p.host_ip or ''}/{p.protocol or 'TCP'}/{p.host_port}"
            if claim in seen:
                errs.append(FieldError(join(join(join(join(path, i), "ports"), j), "hostPort"), "", claim,
                                       "Duplicate value"))
            seen.add(claim)


@model
class PodStatus(Model):
    """``status`` of a Pod: its phase, conditions and the node preemption nominated it to."""

    FIELDS = (
        Field("phase", Enum("Pending", "Running", "Succeeded", "Failed", "Unknown")),
        Field("nominated_node_name", Str()),
        Field("conditions", ListOf(Condition)),
        Field("message", Str()),
        Field("reason", Str()),
        Field("host_ip", Str(ip_address), "hostIP"),
        Field("pod_ip", Str(ip_address), "podIP"),
        Field("start_time", Str(timestamp)),
    )
    phase: str | None
    conditions: list[Condition]
    message: str | None
    reason: str | None
    nominated_node_name: str | None
    host_ip: str | None
    pod_ip: str | None
    start_time: str | None


def _host_ports(spec: PodSpec) -> tuple[tuple[str, str, int], ...]:
    """(hostIP, protocol, hostPort) the pod reserves on its node, defaulted as Kubernetes defaults them."""
    ports = []
    host_network = spec.host_network
    for c in spec.containers:
        for p in c.ports:
            host_port = p.host_port
            if not host_port and host_network:
                host_port = p.container_port  # hostNetwork pods bind the container port on the host
            if host_port and host_port > 0:
                ports.append((p.host_ip or "0.0.0.0", p.protocol or "TCP", host_port))
    return tuple(ports)


@model
class Pod(KubeObject):
    """A Pod.  Derived values, computed once when built (objects are values, so they never go stale):

    - ``requests``: dict[str, int] — what the pod asks of a node (kube-scheduler's computePodResourceRequest:
      the containers' sum, the peak of init containers and sidecars, plus overhead; a resource with only a
      limit requests its limit); "cpu" in millicores, others in units.
    - ``non_zero_requests``: (cpu millis, memory bytes) with 100m / 200Mi standing in for missing requests.
    - ``host_ports``: tuple of (hostIP, protocol, hostPort) for every hostPort > 0.
    - ``priority_value``: ``spec.priority`` or 0.
    - ``key``: "namespace/name" (namespace "default" when unset).
    """

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", PodSpec, always=True),
        Field("status", PodStatus, always=True),
    )
    DERIVED = ("requests", "non_zero_requests", "host_ports", "priority_value", "key")
    spec: PodSpec
    status: PodStatus
    requests: dict[str, int]
    non_zero_requests: tuple[int, int]
    host_ports: tuple[tuple[str, str, int], ...]
    priority_value: int
    key: str  # type: ignore[assignment]

    def _derive(self) -> None:
        spec = self.spec
        meta = self.metadata
        containers = [c.resources.effective_requests for c in spec.containers if c is not None]
        inits = [(c.resources.effective_requests, c.restart_policy == "Always")
                 for c in spec.init_containers if c is not None]
        overhead = to_units(spec.overhead) if spec.overhead else None
        if not inits and len(containers) == 1 and not overhead:
            self.requests = dict(containers[0])
            nz = non_zero(containers[0])
        else:
            self.requests = aggregate_requests(containers, inits, overhead)
            nz = aggregate_requests([non_zero(c) for c in containers],
                                    [(non_zero(c), r) for c, r in inits], overhead)
        self.non_zero_requests = (nz.get("cpu", 0), nz.get("memory", 0))
        self.host_ports = _host_ports(spec)
        self.priority_value = spec.priority or 0
        self.key = f"{meta.namespace or 'default'}/{meta.name or ''}"

    def with_node_name(self, node_name: str | None) -> Pod:
        """A copy bound to ``node_name`` (what a binding does); shares everything else, derived values too."""
        return self._copy(spec=self.spec._copy(node_name=node_name))

    def with_nominated_node_name(self, node_name: str | None) -> Pod:
        """A copy with ``status.nominatedNodeName`` set (what preemption records)."""
        return self._copy(status=self.status._copy(nominated_node_name=node_name))

    def with_metadata(self, **changes: Any) -> Pod:
        """A copy with metadata fields changed (``resource_version``, ``uid``, ...); ``key`` follows name."""
        pod = self._copy(metadata=self.metadata.replace(**changes))
        meta = pod.metadata
        pod.key = f"{meta.namespace or 'default'}/{meta.name or ''}"
        return pod


attach_kind(Pod, "v1", "Pod", "pods")


# ---------------------------------------------------------------------------------------------------------
# Node


@model
class NodeSpec(Model):
    """``spec`` of a Node: its taints and whether new pods may be scheduled on it."""

    FIELDS = (
        Field("taints", ListOf(Taint)),
        Field("unschedulable", Bool()),
        Field("pod_cidr", Str(), "podCIDR"),
        Field("pod_cidrs", StrList(), "podCIDRs"),
        Field("provider_id", Str(), "providerID"),
    )
    pod_cidr: str | None
    pod_cidrs: list[str]
    provider_id: str | None
    unschedulable: bool | None
    taints: list[Taint]


@model
class ContainerImage(Model):
    """An image present on a node (``status.images[]``), for ImageLocality."""

    FIELDS = (
        Field("names", StrList()),
        Field("size_bytes", Int(0, INT64[1])),
    )
    names: list[str]
    size_bytes: int | None


@model
class NodeAddress(Model):
    """``status.addresses[]``."""

    FIELDS = (
        Field("type", Str(), required=True),  # Hostname, InternalIP, ExternalIP, ...; not checked, as upstream
        Field("address", Str(), required=True),
    )
    type: str
    address: str


@model
class NodeStatus(Model):
    """``status`` of a Node: capacity, allocatable, conditions and images."""

    FIELDS = (
        Field("capacity", QuantityMap()),
        Field("allocatable", QuantityMap()),
        Field("conditions", ListOf(Condition)),
        Field("images", ListOf(ContainerImage)),
        Field("phase", Enum("Pending", "Running", "Terminated")),
        Field("addresses", ListOf(NodeAddress)),
    )
    capacity: dict[str, Quantity]
    allocatable: dict[str, Quantity]
    phase: str | None
    conditions: list[Condition]
    addresses: list[NodeAddress]
    images: list[ContainerImage]


@model
class Node(KubeObject):
    """A Node.  Derived: ``allocatable_resources`` (dict[str, int]: "cpu" in millicores, others in units,
    "pods" a count) from ``status.allocatable``, or ``status.capacity`` when allocatable is unset (the
    API server defaults allocatable to capacity)."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", NodeSpec, always=True),
        Field("status", NodeStatus, always=True),
    )
    DERIVED = ("allocatable_resources",)
    spec: NodeSpec
    status: NodeStatus
    allocatable_resources: dict[str, int]

    def _derive(self) -> None:
        status = self.status
        self.allocatable_resources = to_units(status.allocatable or status.capacity)

    def with_spec(self, **changes: Any) -> Node:
        """A copy with spec fields changed (``taints``, ``unschedulable``)."""
        return self._copy(spec=self.spec.replace(**changes))


attach_kind(Node, "v1", "Node", "nodes", namespaced=False)


# ---------------------------------------------------------------------------------------------------------
# Namespace


@model
class NamespaceSpec(Model):
    """``spec`` of a Namespace: the finalizers that must run before it is removed."""

    FIELDS = (Field("finalizers", StrList()),)
    finalizers: list[str]


@model
class NamespaceStatus(Model):
    """``status`` of a Namespace."""

    FIELDS = (
        Field("phase", Enum("Active", "Terminating")),
        Field("conditions", ListOf(Condition)),
    )
    phase: str | None
    conditions: list[Condition]


@model
class Namespace(KubeObject):
    """A Namespace (cluster-scoped; its name is an RFC 1123 label)."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", NamespaceSpec, always=True),
        Field("status", NamespaceStatus, always=True),
    )
    spec: NamespaceSpec
    status: NamespaceStatus


attach_kind(Namespace, "v1", "Namespace", "namespaces", namespaced=False, name_rule=dns1123_label)


# ---------------------------------------------------------------------------------------------------------
# Service and Endpoints


@model
class ServicePort(Model):
    """``spec.ports[]`` of a Service."""

    FIELDS = (
        Field("name", Str(dns1123_label)),
        Field("protocol", PROTOCOL),
        Field("app_protocol", Str()),
        Field("port", Int(1, 65535), required=True),
        Field("target_port", IntOrString()),
        Field("node_port", Int(0, 65535)),
    )
    name: str | None
    protocol: str | None
    app_protocol: str | None
    port: int
    target_port: int | str | None
    node_port: int | None


@model
class ServiceSpec(Model):
    """``spec`` of a Service: its selector, ports and type."""

    FIELDS = (
        Field("ports", ListOf(ServicePort)),
        Field("selector", StrMap(qualified_name, label_value)),
        Field("cluster_ip", Str(), "clusterIP"),
        Field("cluster_ips", StrList(), "clusterIPs"),
        Field("type", Enum("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
        Field("external_name", Str()),
        Field("session_affinity", Enum("ClientIP", "None")),
        Field("external_traffic_policy", Enum("Cluster", "Local")),
        Field("internal_traffic_policy", Enum("Cluster", "Local")),
    )
    ports: list[ServicePort]
    selector: dict[str, str]
    cluster_ip: str | None
    cluster_ips: list[str]
    type: str | None
    external_name: str | None
    session_affinity: str | None
    external_traffic_policy: str | None
    internal_traffic_policy: str | None

    def validate(self, path: str, errs: Errors) -> None:
        if self.type == "ExternalName" and not self.external_name:
            errs.append(FieldError(join(path, "externalName"), "", None, "Required value"))
        if len(self.ports) > 1:
            for i, port in enumerate(self.ports):
                if port is not None and not port.name:
                    errs.append(FieldError(join(join(join(path, "ports"), i), "name"), "", None, "Required value"))


@model
class Service(KubeObject):
    """A Service (its name is a DNS-1035 label, as the API server requires).  ``status`` is kept as JSON."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("spec", ServiceSpec, always=True),
        Field("status", Raw()),
    )
    spec: ServiceSpec
    status: Any


attach_kind(Service, "v1", "Service", "services", name_rule=dns1035_label)


@model
class EndpointAddress(Model):
    """One address of an Endpoints subset."""

    FIELDS = (
        Field("ip", Str(ip_address), required=True),
        Field("hostname", Str(dns1123_label)),
        Field("node_name", Str(dns1123_subdomain)),
        Field("target_ref", Raw()),
    )
    ip: str
    hostname: str | None
    node_name: str | None
    target_ref: Any


@model
class EndpointPort(Model):
    """One port of an Endpoints subset."""

    FIELDS = (
        Field("name", Str(dns1123_label)),
        Field("port", Int(1, 65535), required=True),
        Field("protocol", PROTOCOL),
        Field("app_protocol", Str()),
    )
    name: str | None
    port: int
    protocol: str | None
    app_protocol: str | None


@model
class EndpointSubset(Model):
    """``subsets[]`` of Endpoints: ready and not-ready addresses sharing a set of ports."""

    FIELDS = (
        Field("addresses", ListOf(EndpointAddress)),
        Field("not_ready_addresses", ListOf(EndpointAddress)),
        Field("ports", ListOf(EndpointPort)),
    )
    addresses: list[EndpointAddress]
    not_ready_addresses: list[EndpointAddress]
    ports: list[EndpointPort]


@model
class Endpoints(KubeObject):
    """Endpoints (the kind is plural, as in Kubernetes): the addresses behind a Service of the same name."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("subsets", ListOf(EndpointSubset)),
    )
    subsets: list[EndpointSubset]


attach_kind(Endpoints, "v1", "Endpoints", "endpoints")


# ---------------------------------------------------------------------------------------------------------
# ConfigMap

CONFIG_MAP_SIZE_LIMIT = 1024 * 1024  # bytes of data + binaryData, as the API server's MaxSecretSize


@model
class ConfigMap(KubeObject):
    """A ConfigMap: string ``data`` and base64 ``binary_data`` under config keys, at most 1 MiB in total."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("immutable", Bool()),
        Field("data", StrMap(config_map_key)),
        Field("binary_data", StrMap(config_map_key)),
    )
    immutable: bool | None
    data: dict[str, str]
    binary_data: dict[str, str]

    def validate(self, path: str, errs: Errors) -> None:
        KubeObject.validate(self, path, errs)  # no super(): @model rebuilds the class
        size = 0
        for key in self.data.keys() & self.binary_data.keys():
            errs.append(FieldError(join("data", key), "duplicate of key present in binaryData", key))
        for values in (self.data, self.binary_data):
            size += sum(len(v) for v in values.values() if type(v) is str)
        if size > CONFIG_MAP_SIZE_LIMIT:
            errs.append(FieldError("", f"must have at most {CONFIG_MAP_SIZE_LIMIT} bytes", size, "Too long"))


attach_kind(ConfigMap, "v1", "ConfigMap", "configmaps")
