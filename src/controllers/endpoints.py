"""Endpoints controller, as kube-controller-manager's endpoint controller: for every Service with a
selector, an Endpoints object of the same name listing the matching pods' IPs, ready ones under
``addresses``, the others under ``notReadyAddresses`` (all ready with ``publishNotReadyAddresses``), in
subsets grouped by the ports each pod resolves (a named targetPort is looked up in the pod's container
ports). Pods without an IP, finished, or being deleted are left out. The Endpoints carry the Service's
labels and ``endpointslice.kubernetes.io/skip-mirror: "true"``; they go when the Service goes.
"""
from __future__ import annotations

from typing import Any

from objects import (AlreadyExists, EndpointAddress, EndpointPort, Endpoints, EndpointSubset, NotFound,
                     ObjectMeta)

from .podstate import is_ready
from .servicepods import ServicePodsController, eligible, pod_reference, resolved_ports, service_selector
from .table import register_controller

__all__ = ["EndpointsController", "SKIP_MIRROR_LABEL"]

SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"


def _publish_not_ready(service: Any) -> bool:
    return bool((service.spec.unknown_fields or {}).get("publishNotReadyAddresses"))


def desired_subsets(service: Any, pods: list[Any]) -> list[EndpointSubset]:
    """The subsets for ``service`` over ``pods`` (sorted, so an unchanged set compares equal)."""
    publish = _publish_not_ready(service)
    groups: dict[tuple, tuple[list, list]] = {}
    for pod in pods:
        if not eligible(pod) or (pod.metadata.deletion_timestamp and not publish):
            continue
        ports = resolved_ports(pod, service)
        if service.spec.ports and not ports:
            continue  # no port of the service resolves on this pod
        address = EndpointAddress(ip=pod.status.pod_ip, node_name=pod.spec.node_name, target_ref=pod_reference(pod))
        ready, not_ready = groups.setdefault(tuple(sorted(ports, key=lambda p: (p[0] or "", p[1], p[2]))), ([], []))
        (ready if publish or is_ready(pod) else not_ready).append(address)
    subsets = []
    for ports, (ready, not_ready) in sorted(groups.items()):
        subsets.append(EndpointSubset(
            addresses=sorted(ready, key=lambda a: a.ip), not_ready_addresses=sorted(not_ready, key=lambda a: a.ip),
            ports=[EndpointPort(name=name, port=number, protocol=protocol) for name, number, protocol in ports]))
    return subsets


class EndpointsController(ServicePodsController):
    """Keeps one Endpoints object per selecting Service; see the module documentation."""

    name = "endpoint"

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.endpoints = informers.informer("Endpoints")

    def sync(self, key: str) -> None:
        """Write the Endpoints of one Service from its selected pods (or delete them with the Service)."""
        service = self.services.lister.get(key)
        current = self.endpoints.lister.get(key)
        if service is None:
            if current is not None:
                try:
                    self.registry.delete("Endpoints", current.metadata.name, current.metadata.namespace,
                                         uid=current.metadata.uid)
                except NotFound:
                    pass
            return
        if service_selector(service) is None:
            return  # a Service without a selector: its Endpoints are someone else's
        subsets = desired_subsets(service, self.pods_for(service))
        labels = {**service.metadata.labels, SKIP_MIRROR_LABEL: "true"}
        if current is None:
            try:
                self.registry.create(Endpoints(
                    api_version="v1", kind="Endpoints", subsets=subsets,
                    metadata=ObjectMeta(name=service.metadata.name, namespace=service.metadata.namespace,
                                        labels=labels)))
            except AlreadyExists:
                raise  # the cache is behind: retried once it has the object
            return
        if current.subsets == subsets and current.metadata.labels == labels:
            return
        self.registry.update(current.replace(subsets=subsets, metadata=current.metadata.replace(labels=labels)))


register_controller(EndpointsController.name, EndpointsController)
