"""EndpointSlice controller, as kube-controller-manager's endpointslice controller.

For every Service with a selector, slices labelled ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io``, owned by the Service
(controller reference), named ``<service>-<5 random>``, at most ``max_endpoints_per_slice`` (100) endpoints
each. Endpoints are grouped by address type and by the ports they resolve (a named targetPort can differ
per pod). An endpoint keeps its slice while it stays desired; new endpoints fill slices with room before
new slices are made; emptied slices are deleted; a Service with no endpoints keeps one placeholder slice
(no ports, no endpoints), as Kubernetes does. Conditions: ready (Ready and not terminating), serving
(Ready), terminating (being deleted). Slices this controller wrote but the informer has not shown yet make
the sync wait (the EndpointSliceTracker), so no slice is ever created twice from a stale cache.
"""
from __future__ import annotations

import ipaddress
import threading
from typing import Any

from objects import (Endpoint, EndpointConditions, EndpointSlice, EndpointSlicePort, NotFound, ObjectMeta)
from objects.discovery import MANAGED_BY_LABEL, SERVICE_NAME_LABEL

from .controllerref import owner_reference
from .podstate import is_ready
from .servicepods import ServicePodsController, eligible, pod_reference, resolved_ports, service_selector
from .table import register_controller

__all__ = ["EndpointSliceController", "CONTROLLER_NAME", "MAX_ENDPOINTS_PER_SLICE"]

CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100
STALE_RETRY = 0.05


def _address_type(ip: str) -> str:
    return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"


class EndpointSliceController(ServicePodsController):
    """Keeps the EndpointSlices of selecting Services; see the module documentation."""

    name = "endpointslice"
    max_endpoints_per_slice = MAX_ENDPOINTS_PER_SLICE

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.slices = informers.informer("EndpointSlice")
        self.slices.ensure_index(SERVICE_NAME_LABEL, lambda s: [f"{s.metadata.namespace}/{s.metadata.labels[SERVICE_NAME_LABEL]}"]
                                 if SERVICE_NAME_LABEL in s.metadata.labels else [])
        self.slices.add_handler(on_update=lambda old, new: self._slice_changed(new), on_delete=self._slice_changed)
        self._lock = threading.Lock()
        self._written: dict[str, dict[str, int | None]] = {}  # service key -> slice name -> rv (None: deleted)

    def _slice_changed(self, slice_: Any) -> None:
        service = slice_.metadata.labels.get(SERVICE_NAME_LABEL)
        if service and slice_.metadata.labels.get(MANAGED_BY_LABEL) == CONTROLLER_NAME:
            self.queue.add(f"{slice_.metadata.namespace}/{service}")

    # ------------------------------------------------------------------ tracker
    def _cache_is_behind(self, key: str, slices: list[Any]) -> bool:
        with self._lock:
            written = dict(self._written.get(key, {}))
        seen = {s.metadata.name: int(s.metadata.resource_version or 0) for s in slices}
        behind = False
        for name, rv in written.items():
            if (rv is None and name in seen) or (rv is not None and seen.get(name, -1) < rv):
                behind = True
            else:
                with self._lock:
                    self._written.get(key, {}).pop(name, None)
        return behind

    def _wrote(self, key: str, name: str, rv: int | None) -> None:
        with self._lock:
            self._written.setdefault(key, {})[name] = rv

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Write the EndpointSlices of one Service from its selected pods."""
        service = self.services.lister.get(key)
        slices = [s for s in self.slices.lister.by_index(SERVICE_NAME_LABEL, key)
                  if s.metadata.labels.get(MANAGED_BY_LABEL) == CONTROLLER_NAME]
        if self._cache_is_behind(key, slices):
            self.queue.add_after(key, STALE_RETRY)
            return
        if service is None or service_selector(service) is None:
            for s in slices:  # the Service went (the collector would too: it owns them) or lost its selector
                self._delete(key, s)
            if service is None:
                with self._lock:
                    self._written.pop(key, None)
            return
        owned = []
        for s in slices:
            if any(r.uid == service.metadata.uid for r in s.metadata.owner_references):
                owned.append(s)
            else:
                self._delete(key, s)  # a slice of an earlier Service of the same name
        slices = owned
        groups = self._desired(service)
        self._reconcile(key, service, slices, groups)

    def _desired(self, service: Any) -> dict[tuple, dict[str, Endpoint]]:
        """(addressType, ports) -> ip -> Endpoint."""
        groups: dict[tuple, dict[str, Endpoint]] = {}
        for pod in self.pods_for(service):
            if not eligible(pod):
                continue
            ports = resolved_ports(pod, service)
            if service.spec.ports and not ports:
                continue
            terminating = bool(pod.metadata.deletion_timestamp)
            ready = is_ready(pod)
            endpoint = Endpoint(addresses=[pod.status.pod_ip], node_name=pod.spec.node_name,
                                target_ref=pod_reference(pod),
                                conditions=EndpointConditions(ready=ready and not terminating, serving=ready,
                                                              terminating=terminating))
            group = (_address_type(pod.status.pod_ip), tuple(sorted(ports, key=lambda p: (p[0] or "", p[1], p[2]))))
            groups.setdefault(group, {})[pod.status.pod_ip] = endpoint
        return groups

    def _reconcile(self, key: str, service: Any, slices: list[Any], groups: dict[tuple, dict[str, Endpoint]]) -> None:
        def group_of(s: Any) -> tuple:
            return (s.address_type, tuple(sorted(((p.name, p.port, p.protocol or "TCP") for p in s.ports),
                                                  key=lambda p: (p[0] or "", p[1], p[2]))))
        labels = {**service.metadata.labels, SERVICE_NAME_LABEL: service.metadata.name,
                  MANAGED_BY_LABEL: CONTROLLER_NAME}
        keep: list[tuple[Any, list[Endpoint]]] = []
        for group, desired in groups.items():
            placed: set[str] = set()
            mine = sorted((s for s in slices if group_of(s) == group), key=lambda s: s.metadata.name)
            planned = []
            for s in mine:
                endpoints = [desired[e.addresses[0]] for e in s.endpoints
                             if e.addresses and e.addresses[0] in desired and e.addresses[0] not in placed]
                placed.update(e.addresses[0] for e in endpoints)
                planned.append((s, endpoints))
            fresh = [e for ip, e in sorted(desired.items()) if ip not in placed]
            for s, endpoints in planned:  # fill slices with room first
                room = self.max_endpoints_per_slice - len(endpoints)
                if room > 0 and fresh:
                    endpoints.extend(fresh[:room])
                    fresh = fresh[room:]
            while fresh:
                planned.append((None, fresh[:self.max_endpoints_per_slice]))
                fresh = fresh[self.max_endpoints_per_slice:]
            keep.extend((s, endpoints) for s, endpoints in planned if endpoints)
            for s, endpoints in planned:
                if s is not None and not endpoints:
                    self._delete(key, s)
            slices = [s for s in slices if group_of(s) != group]
        # slices of groups no longer desired go, except one placeholder when nothing is desired at all
        placeholder = None
        if not keep:
            placeholder = next((s for s in slices if not s.endpoints and not s.ports), None)
            if placeholder is None:
                keep.append((None, []))
        for s in slices:
            if s is not placeholder:
                self._delete(key, s)
        for s, endpoints in keep:
            self._write(key, service, s, endpoints, labels, group_ports=endpoints and self._ports_of(groups, endpoints))

    @staticmethod
    def _ports_of(groups: dict[tuple, dict[str, Endpoint]], endpoints: list[Endpoint]) -> tuple:
        ip = endpoints[0].addresses[0]
        for (address_type, ports), desired in groups.items():
            if ip in desired:
                return address_type, ports
        return "IPv4", ()

    def _write(self, key: str, service: Any, current: Any, endpoints: list[Endpoint], labels: dict[str, str],
               group_ports: Any) -> None:
        address_type, ports = group_ports if group_ports else ("IPv4", ())
        slice_ports = [EndpointSlicePort(name=name, port=number, protocol=protocol) for name, number, protocol in ports]
        if current is None:
            created = self.registry.create(EndpointSlice(
                api_version="discovery.k8s.io/v1", kind="EndpointSlice", address_type=address_type,
                endpoints=endpoints, ports=slice_ports,
                metadata=ObjectMeta(generate_name=f"{service.metadata.name}-", namespace=service.metadata.namespace,
                                    labels=labels, owner_references=[owner_reference(service)])))
            self._wrote(key, created.metadata.name, int(created.metadata.resource_version))
            return
        if current.endpoints == endpoints and current.ports == slice_ports and current.metadata.labels == labels:
            return
        updated = self.registry.update(current.replace(endpoints=endpoints, ports=slice_ports,
                                                       metadata=current.metadata.replace(labels=labels)))
        self._wrote(key, updated.metadata.name, int(updated.metadata.resource_version))

    def _delete(self, key: str, s: Any) -> None:
        try:
            self.registry.delete("EndpointSlice", s.metadata.name, s.metadata.namespace, uid=s.metadata.uid)
        except NotFound:
            pass
        self._wrote(key, s.metadata.name, None)


register_controller(EndpointSliceController.name, EndpointSliceController)
