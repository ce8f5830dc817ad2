"""Pod (core/v1) and its parts, with the values the scheduler reads derived from them (never stale)."""
from __future__ import annotations

from typing import Any

from .affinity import Affinity, TopologySpreadConstraint
from .errors import FieldError
from .fieldtypes import Bool, Enum, Errors, Int, ListOf, Str, StrMap, join, report_duplicates
from .meta import Condition, KubeObject, attach_kind, spec_and_status
from .quantity import Quantity
from .resources import QuantityMap, ResourceRequirements, aggregate_requests, non_zero, to_units
from .schema import MUTATIONS, Field, Model, model
from .taints import Toleration
from .validation import (dns1123_label, dns1123_subdomain, ip_address, label_value, port_name, qualified_name,
                         timestamp)

__all__ = ["PROTOCOL", "ContainerPort", "Container", "PodSchedulingGate", "PodSpec", "PodStatus", "Pod"]

PROTOCOL = Enum("TCP", "UDP", "SCTP")


@model
class ContainerPort(Model):
    """A port a container exposes; ``host_port`` > 0 reserves the port on the node."""

    TRACKED = True  # derived values (pod.requests, host_ports) read these fields
    FIELDS = (
        Field("container_port", Int(1, 65535), required=True),
        Field("host_port", Int(0, 65535)),
        Field("protocol", PROTOCOL),
        Field("host_ip", Str(ip_address), "hostIP"),
        Field("name", Str(port_name)),
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

    TRACKED = True  # derived values (pod.requests, host_ports) read these fields
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

    def validate(self, path: str, errs: Errors) -> None:
        if len(self.ports) > 1:  # validateContainerPorts: port names are unique within a container
            ports_path = join(path, "ports")
            report_duplicates(self.ports, lambda p: p.name, lambda i: join(join(ports_path, i), "name"), errs)


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
        spread_path = join(path, "topologySpreadConstraints")
        report_duplicates(self.topology_spread_constraints, lambda t: (t.topology_key, t.when_unsatisfiable),
                          lambda i: join(spread_path, i), errs,
                          lambda t: f"{{{t.topology_key}, {t.when_unsatisfiable}}}")
        gates_path = join(path, "schedulingGates")
        report_duplicates(self.scheduling_gates, lambda g: g.name, lambda i: join(join(gates_path, i), "name"), errs)


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


# (mutation count, spec, its containers, init containers, overhead and hostNetwork, the lists and maps read,
#  their copies, (unused), requests, non-zero requests, host ports); a count no read has: computed on first
#  read.
_NOT_COMPUTED: Any = (-1, None, None, None, None, None, [], [], None, {}, (0, 0), ())


# The copy of an empty list or map: one shared object (an empty part is common; it is never changed).
_EMPTY: dict[type, Any] = {list: [], dict: {}}


def _watched(spec: PodSpec) -> list[Any]:
    """The lists and maps the derived values read, to be compared with copies of them (one C-level list
    comparison, identity first: an element replaced by an equal one compares by value, which is all the
    derived values depend on)."""
    watched: list[Any] = [spec.containers, spec.init_containers, spec.overhead]
    for group in (spec.containers, spec.init_containers):
        for c in group:
            r = c.resources
            watched += (c.ports, r.requests, r.limits)
    return watched


def _pod_resources(spec: PodSpec) -> tuple[dict[str, int], tuple[int, int], tuple[tuple[str, str, int], ...]]:
    """(requests, non-zero requests, host ports) of a pod spec."""
    containers = [c.resources.compute_effective() for c in spec.containers if c is not None]
    inits = [(c.resources.compute_effective(), c.restart_policy == "Always")
             for c in spec.init_containers if c is not None]
    overhead = to_units(spec.overhead) if spec.overhead else None
    if not inits and len(containers) == 1 and not overhead:
        requests = dict(containers[0])
        nz = non_zero(containers[0])
    else:
        requests = aggregate_requests(containers, inits, overhead)
        nz = aggregate_requests([non_zero(c) for c in containers], [(non_zero(c), r) for c, r in inits], overhead)
    return requests, (nz.get("cpu", 0), nz.get("memory", 0)), _host_ports(spec)


@model
class Pod(KubeObject):
    """A Pod.  Derived values, read-only and never stale: each read gives the value of the fields as they
    are now, also after in-place edits (``pod.spec.containers[0].resources.requests["cpu"] = ...``).

    They are computed on first read and remembered with what they were read from: a read checks that no
    field of a TRACKED part (container, port, resources) was assigned since (``objects.schema.MUTATIONS``),
    that the spec and the spec fields read are the same objects, and that the lists and maps read equal
    copies of them (a C-level comparison, identity first); otherwise it recomputes them. Building a pod or a
    spec costs nothing more.

    - ``requests``: dict[str, int] — what the pod asks of a node (kube-scheduler's computePodResourceRequest:
      the containers' sum, the peak of init containers and sidecars, plus overhead; a resource with only a
      limit requests its limit); "cpu" in millicores, others in units.
    - ``non_zero_requests``: (cpu millis, memory bytes) with 100m / 200Mi standing in for missing requests.
    - ``host_ports``: tuple of (hostIP, protocol, hostPort) for every hostPort > 0.
    - ``priority_value``: ``spec.priority`` or 0.
    - ``key``: "namespace/name" (namespace "default" when unset).
    """

    FIELDS = spec_and_status(PodSpec, PodStatus)
    DERIVED = ("_resources",)
    spec: PodSpec
    status: PodStatus

    def _derive(self) -> None:
        self._resources = _NOT_COMPUTED  # computed on first read: building a pod costs nothing more

    def _current(self) -> tuple[Any, ...]:
        c = self._resources
        spec = self.spec
        if (c[0] == MUTATIONS[0] and c[1] is spec and c[2] is spec.containers and c[3] is spec.init_containers
                and c[4] is spec.overhead and c[5] == spec.host_network and c[6] == c[7]):
            return c  # type: ignore[no-any-return]
        return self._refresh(c)

    def _refresh(self, cached: tuple[Any, ...]) -> tuple[Any, ...]:
        spec = self.spec
        count = MUTATIONS[0]
        # Recomputed rather than compared with a kept fingerprint: a pod keeps no more objects than it needs
        # (every object kept per pod is one more for the garbage collector to walk).
        values = _pod_resources(spec)
        watched = _watched(spec)
        copies = [part.copy() if part else _EMPTY[type(part)] for part in watched]  # empty parts share one copy
        fresh = (count, spec, spec.containers, spec.init_containers, spec.overhead, spec.host_network, watched,
                 copies, None, *values)
        self._resources = fresh
        return fresh

    @property
    def requests(self) -> dict[str, int]:
        """What the pod asks of a node (see the class doc); shared, so do not edit it."""
        return self._current()[9]  # type: ignore[no-any-return]

    @property
    def non_zero_requests(self) -> tuple[int, int]:
        """(cpu millis, memory bytes), with kube-scheduler's 100m / 200Mi for missing requests."""
        return self._current()[10]  # type: ignore[no-any-return]

    @property
    def host_ports(self) -> tuple[tuple[str, str, int], ...]:
        """(hostIP, protocol, hostPort) for every hostPort > 0 (hostNetwork: every container port)."""
        return self._current()[11]  # type: ignore[no-any-return]

    @property
    def priority_value(self) -> int:
        """``spec.priority`` or 0."""
        return self.spec.priority or 0

    @property
    def key(self) -> str:
        """``namespace/name`` (namespace "default" when unset)."""
        meta = self.metadata
        return f"{meta.namespace or 'default'}/{meta.name or ''}"

    def derives_like(self, other: Pod) -> bool:
        """Whether ``other``'s derived values (requests, non-zero requests, host ports) are read from the very
        objects this pod's are — the same spec, or specs sharing their containers, init containers and
        overhead, with the same hostNetwork (a binding's or a status write's next version) — so they are
        equal whatever was edited in place; found without computing them. False says nothing."""
        a, b = self.spec, other.spec
        return a is b or (a.containers is b.containers and a.init_containers is b.init_containers
                          and a.overhead is b.overhead and a.host_network == b.host_network)

    def with_node_name(self, node_name: str | None) -> Pod:
        """A copy bound to ``node_name`` (what a binding does); shares everything else, derived values too."""
        c = self._current()  # computed once, then shared by the copy
        spec = self.spec._copy(node_name=node_name)  # shares the containers, lists and maps the values read
        return self._copy(spec=spec, _resources=(c[0], spec, *c[2:]))

    def with_spec_of(self, other: Pod) -> Pod:
        """A copy with ``other``'s spec object and the values derived from it, computed once for both (they
        are read from the spec alone): pods created from one spec share it (objects.sharedspecs)."""
        c = other._current()
        return self._copy(spec=other.spec, _resources=c)

    def with_nominated_node_name(self, node_name: str | None) -> Pod:
        """A copy with ``status.nominatedNodeName`` set (what preemption records)."""
        return self._copy(status=self.status._copy(nominated_node_name=node_name))

    def with_metadata(self, **changes: Any) -> Pod:
        """A copy with metadata fields changed (``resource_version``, ``uid``, ...)."""
        return self._copy(metadata=self.metadata.replace(**changes))


attach_kind(Pod, "v1", "Pod", "pods")
