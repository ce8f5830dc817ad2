"""The core/v1 kinds: Pod and Node (from :mod:`objects.pod` and :mod:`objects.node`), Namespace, Service,
Endpoints and ConfigMap with their parts."""
from __future__ import annotations

from typing import Any

from .errors import FieldError
from .fieldtypes import (Bool, Enum, Errors, Int, IntOrString, ListOf, Raw, Str, StrList, StrMap, join,
                         report_duplicates)
from .meta import METADATA, TYPE_META, Condition, KubeObject, attach_kind, spec_and_status
from .node import ContainerImage, Node, NodeAddress, NodeSpec, NodeStatus
from .pod import PROTOCOL, Container, ContainerPort, Pod, PodSchedulingGate, PodSpec, PodStatus
from .schema import Field, Model, model
from .validation import (config_map_key, dns1035_label, dns1123_label, dns1123_subdomain, ip_address,
                         label_value, qualified_name, target_port)

__all__ = [
    "ContainerPort", "Container", "PodSchedulingGate", "PodSpec", "PodStatus", "Pod",
    "NodeSpec", "ContainerImage", "NodeAddress", "NodeStatus", "Node",
    "NamespaceSpec", "NamespaceStatus", "Namespace",
    "ServicePort", "ServiceSpec", "Service",
    "EndpointAddress", "EndpointPort", "EndpointSubset", "Endpoints", "ConfigMap",
]


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

    FIELDS = spec_and_status(NamespaceSpec, NamespaceStatus)
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
        Field("target_port", IntOrString(target_port)),
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
        ports_path = join(path, "ports")
        if len(self.ports) > 1:
            for i, port in enumerate(self.ports):
                if port is not None and not port.name:
                    errs.append(FieldError(join(join(ports_path, i), "name"), "", None, "Required value"))
        # ValidateService: names, (protocol, port) and (protocol, nodePort) are each unique; protocol
        # defaults to TCP before the API server compares them
        report_duplicates(self.ports, lambda p: p.name or None, lambda i: join(join(ports_path, i), "name"), errs)
        report_duplicates(self.ports, lambda p: (p.protocol or "TCP", p.port), lambda i: join(ports_path, i), errs,
                          lambda p: f"{{Protocol:{p.protocol or 'TCP'}, Port:{p.port}}}")
        report_duplicates(self.ports, lambda p: (p.protocol or "TCP", p.node_port) if p.node_port else None,
                          lambda i: join(join(ports_path, i), "nodePort"), errs, lambda p: p.node_port)


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
