"""discovery.k8s.io/v1 EndpointSlice: a slice of the endpoints behind a Service, at most 1000 per slice."""
from __future__ import annotations

from typing import Any

from .errors import FieldError
from .fieldtypes import Bool, Enum, Errors, Int, ListOf, Raw, Str, StrList, join
from .meta import METADATA, TYPE_META, KubeObject, attach_kind
from .pod import PROTOCOL
from .schema import Field, Model, model
from .validation import dns1123_label, dns1123_subdomain

__all__ = ["EndpointConditions", "Endpoint", "EndpointSlicePort", "EndpointSlice", "SERVICE_NAME_LABEL",
           "MANAGED_BY_LABEL", "MAX_ENDPOINTS_PER_SLICE"]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MAX_ENDPOINTS_PER_SLICE = 1000   # the API server's limit (the controller's default is 100 per slice)
MAX_ADDRESSES = 100


@model
class EndpointConditions(Model):
    """``endpoints[].conditions``: ready, serving, terminating (unset means unknown)."""

    FIELDS = (Field("ready", Bool()), Field("serving", Bool()), Field("terminating", Bool()))
    ready: bool | None
    serving: bool | None
    terminating: bool | None


@model
class Endpoint(Model):
    """One endpoint: its addresses (1 to 100, all of the slice's addressType) and where it runs."""

    FIELDS = (
        Field("addresses", StrList(), required=True),
        Field("conditions", EndpointConditions),
        Field("hostname", Str(dns1123_label)),
        Field("target_ref", Raw()),
        Field("node_name", Str(dns1123_subdomain)),
        Field("zone", Str()),
        Field("hints", Raw()),
    )
    addresses: list[str]
    conditions: EndpointConditions | None
    hostname: str | None
    target_ref: Any
    node_name: str | None
    zone: str | None
    hints: Any

    def validate(self, path: str, errs: Errors) -> None:
        if not self.addresses:
            errs.append(FieldError(join(path, "addresses"), "must contain at least 1 address", 0, "Required value"))
        elif len(self.addresses) > MAX_ADDRESSES:
            errs.append(FieldError(join(path, "addresses"), f"must have at most {MAX_ADDRESSES} items",
                                   len(self.addresses), "Too many"))


@model
class EndpointSlicePort(Model):
    """``ports[]`` of an EndpointSlice (a port with no number means "all ports")."""

    FIELDS = (
        Field("name", Str()),
        Field("protocol", PROTOCOL),
        Field("port", Int(0, 65535)),
        Field("app_protocol", Str()),
    )
    name: str | None
    protocol: str | None
    port: int | None
    app_protocol: str | None


@model
class EndpointSlice(KubeObject):
    """An EndpointSlice (discovery.k8s.io/v1)."""

    FIELDS = TYPE_META + (
        METADATA,
        Field("address_type", Enum("IPv4", "IPv6", "FQDN"), required=True),
        Field("endpoints", ListOf(Endpoint)),
        Field("ports", ListOf(EndpointSlicePort)),
    )
    address_type: str
    endpoints: list[Endpoint]
    ports: list[EndpointSlicePort]

    def validate(self, path: str, errs: Errors) -> None:
        KubeObject.validate(self, path, errs)  # no super(): @model rebuilds the class
        if len(self.endpoints) > MAX_ENDPOINTS_PER_SLICE:
            errs.append(FieldError("endpoints", f"must have at most {MAX_ENDPOINTS_PER_SLICE} items",
                                   len(self.endpoints), "Too many"))


attach_kind(EndpointSlice, "discovery.k8s.io/v1", "EndpointSlice", "endpointslices")
