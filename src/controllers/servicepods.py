"""What the Endpoints and EndpointSlice controllers share: the Service and Pod informers, which services
select a pod, which pods back a service, and ports resolved by name (podutil.FindPort)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from objects import LabelSelector

from .controller import Controller
from .podstate import TERMINAL_PHASES, is_ready

__all__ = ["ServicePodsController", "service_selector", "resolve_port", "resolved_ports", "endpoint_relevant_change",
           "pod_reference", "SERVICE_NAMESPACE_INDEX"]

SERVICE_NAMESPACE_INDEX = "namespace"
LABEL_INDEX = "namespace-label"  # "<namespace>/<key>=<value>" for each label of a pod


def _label_values(pod: Any) -> list[str]:
    namespace = pod.metadata.namespace or "default"
    return [f"{namespace}/{k}={v}" for k, v in pod.metadata.labels.items()]


def _same_labels(old: Any, new: Any) -> bool:
    """Whether _label_values gives both versions the same values (the same labels map: a status write or a
    bind keeps it)."""
    old_meta, new_meta = old.metadata, new.metadata
    return old_meta.labels is new_meta.labels and old_meta.namespace == new_meta.namespace


@lru_cache(maxsize=4096)
def _selector(items: tuple[tuple[str, str], ...]) -> LabelSelector:
    return LabelSelector.from_set(dict(items))


def service_selector(service: Any) -> LabelSelector | None:
    """The Service's selector as a LabelSelector; None for a Service without one (its endpoints are
    managed by hand, not by the controllers)."""
    selector = service.spec.selector
    return _selector(tuple(sorted(selector.items()))) if selector else None


def resolve_port(pod: Any, service_port: Any) -> int | None:
    """FindPort: the pod's port a Service port sends to: a number as is (the port itself when unset), a
    name looked up among the pod's container ports of the same protocol; None when the pod has no such
    named port."""
    target = service_port.target_port
    if target is None or target == 0:
        return service_port.port  # type: ignore[no-any-return]
    if isinstance(target, int):
        return target
    protocol = service_port.protocol or "TCP"
    for container in pod.spec.containers:
        for port in container.ports:
            if port is not None and port.name == target and (port.protocol or "TCP") == protocol:
                return port.container_port  # type: ignore[no-any-return]
    return None


def resolved_ports(pod: Any, service: Any) -> list[tuple[str | None, int, str]]:
    """(name, number, protocol) of each of the Service's ports that resolves on ``pod`` (see
    :func:`resolve_port`), in the Service's order."""
    ports = []
    for sp in service.spec.ports:
        number = resolve_port(pod, sp)
        if number is not None:
            ports.append((sp.name, number, sp.protocol or "TCP"))
    return ports


def pod_reference(pod: Any) -> dict[str, Any]:
    """``targetRef`` of an endpoint: the pod."""
    meta = pod.metadata
    return {"kind": "Pod", "namespace": meta.namespace, "name": meta.name, "uid": meta.uid}


def endpoint_relevant_change(old: Any, new: Any) -> bool:
    """Whether a pod update can change any endpoint (podEndpointsChanged): IP, readiness, labels, node,
    phase, being deleted, container ports."""
    if old.status.pod_ip != new.status.pod_ip or is_ready(old) != is_ready(new):
        return True
    if old.metadata.labels != new.metadata.labels or old.spec.node_name != new.spec.node_name:
        return True
    if old.status.phase != new.status.phase:
        return True
    if bool(old.metadata.deletion_timestamp) != bool(new.metadata.deletion_timestamp):
        return True
    return [c.ports for c in old.spec.containers] != [c.ports for c in new.spec.containers]


def eligible(pod: Any) -> bool:
    """ShouldPodBeInEndpoints: has an IP and is not finished."""
    return bool(pod.status.pod_ip) and pod.status.phase not in TERMINAL_PHASES


class ServicePodsController(Controller):
    """A controller keyed by Service that reads the pods its selector picks."""

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.services = informers.informer("Service")
        self.pods = informers.informer("Pod")
        self.pods.ensure_index(LABEL_INDEX, _label_values, _same_labels)
        self.services.add_handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                                  on_delete=self.enqueue)
        self.pods.add_handler(on_add=self._pod_changed, on_update=self._pod_updated, on_delete=self._pod_changed)

    def services_for(self, pod: Any, labels: dict[str, str] | None = None) -> list[Any]:
        """The Services of the pod's namespace whose selector matches ``labels`` (default: the pod's)."""
        labels = pod.metadata.labels if labels is None else labels
        found = []
        for service in self.services.lister.list(namespace=pod.metadata.namespace or "default"):
            selector = service_selector(service)
            if selector is not None and selector.matches(labels):
                found.append(service)
        return found

    def pods_for(self, service: Any) -> list[Any]:
        """The pods of the Service's namespace its selector matches (sorted by name, for stable output)."""
        selector = service_selector(service)
        if selector is None:
            return []
        namespace = service.metadata.namespace or "default"
        # the pods carrying the selector's rarest label, then the whole selector: O(matching pods), not
        # O(pods in the namespace) for every sync
        candidates = min((self.pods.lister.by_index(LABEL_INDEX, f"{namespace}/{k}={v}")
                          for k, v in service.spec.selector.items()), key=len)
        pods = [p for p in candidates if selector.matches(p.metadata.labels)]
        return sorted(pods, key=lambda p: p.metadata.name or "")

    # The pod handlers run for every pod event of the cluster; a namespace without Services (every pod of a
    # density run) answers first, from a count of the Service informer's cache, before anything is compared.
    def _pod_changed(self, pod: Any) -> None:
        if not pod.status.pod_ip:
            return  # a pod without an IP is in no endpoint: its arrival or departure changes nothing
        if not self.services.lister.count(pod.metadata.namespace or "default"):
            return
        for service in self.services_for(pod):
            self.enqueue(service)

    def _pod_updated(self, old: Any, new: Any) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        if not self.services.lister.count(new.metadata.namespace or "default") or \
                not endpoint_relevant_change(old, new):
            return
        keys = {s.key for s in self.services_for(new)}
        if old.metadata.labels != new.metadata.labels:
            keys |= {s.key for s in self.services_for(old)}
        for key in keys:
            self.queue.add(key)
