"""Node (core/v1) and its parts; ``Node.allocatable_resources`` is derived from the status (never stale)."""
from __future__ import annotations

from typing import Any

from .fieldtypes import INT64, Bool, Enum, Errors, Int, ListOf, Str, StrList, join
from .meta import Condition, KubeObject, attach_kind, spec_and_status
from .quantity import Quantity
from .resources import QuantityMap, to_units
from .schema import Field, Model, model
from .taints import Taint, duplicate_taint_errors

__all__ = ["NodeSpec", "ContainerImage", "NodeAddress", "NodeStatus", "Node"]


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

    def validate(self, path: str, errs: Errors) -> None:
        errs.extend(duplicate_taint_errors(self.taints, join(path, "taints")))


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


_NOT_COMPUTED: Any = (None, None, None, None, None, {})  # (status, maps, their copies, value): none yet


@model
class Node(KubeObject):
    """A Node.  Derived: ``allocatable_resources`` (dict[str, int]: "cpu" in millicores, others in units,
    "pods" a count) from ``status.allocatable``, or ``status.capacity`` when allocatable is unset (the
    API server defaults allocatable to capacity); read-only, recomputed when those maps changed (never
    stale)."""

    FIELDS = spec_and_status(NodeSpec, NodeStatus)
    DERIVED = ("_allocatable",)
    spec: NodeSpec
    status: NodeStatus

    def _derive(self) -> None:
        self._allocatable = _NOT_COMPUTED  # computed on first read

    @property
    def allocatable_resources(self) -> dict[str, int]:
        """What the node offers pods, in the scheduler's integers (see the class doc); recomputed when the
        status, either map or their contents changed since it was computed."""
        c = self._allocatable
        status = self.status
        allocatable, capacity = status.allocatable, status.capacity
        if not (c[0] is status and c[1] is allocatable and c[2] is capacity and c[3] == allocatable
                and c[4] == capacity):
            c = (status, allocatable, capacity, dict(allocatable), dict(capacity), to_units(allocatable or capacity))
            self._allocatable = c
        return c[5]  # type: ignore[no-any-return]

    def with_spec(self, **changes: Any) -> Node:
        """A copy with spec fields changed (``taints``, ``unschedulable``)."""
        return self._copy(spec=self.spec.replace(**changes))


attach_kind(Node, "v1", "Node", "nodes", namespaced=False)
