"""Where the registry keeps each kind: the API server's etcd key layout.

``/registry/pods/<namespace>/<name>``, ``/registry/minions/<name>`` for nodes,
``/registry/services/specs/...`` for services, and ``/registry/<group>/<plural>/...`` for kinds the
table does not know (custom resources), as the API server lays them out.
"""
from __future__ import annotations

from dataclasses import dataclass

REGISTRY_PREFIX = "/registry"


@dataclass(frozen=True)
class KindInfo:
    """How one kind is stored: its Kind name, resource (plural), key segment, scope, status subresource."""

    kind: str
    resource: str
    segment: str          # the key path under the registry prefix
    namespaced: bool
    has_status: bool      # status is a subresource: update() keeps it, update_status() changes only it

    def prefix(self, namespace: str | None, root: str = REGISTRY_PREFIX) -> str:
        """The key prefix of every object of this kind (in one namespace when given), with a final "/"."""
        base = f"{root}/{self.segment}/"
        if self.namespaced and namespace:
            return f"{base}{namespace}/"
        return base

    def key(self, name: str, namespace: str | None, root: str = REGISTRY_PREFIX) -> str:
        """The key of one object."""
        if self.namespaced:
            return f"{root}/{self.segment}/{namespace or 'default'}/{name}"
        return f"{root}/{self.segment}/{name}"


BUILTIN_KINDS = (
    KindInfo("Pod", "pods", "pods", True, True),
    KindInfo("Node", "nodes", "minions", False, True),
    KindInfo("Namespace", "namespaces", "namespaces", False, True),
    KindInfo("ReplicationController", "replicationcontrollers", "controllers", True, True),
    KindInfo("ReplicaSet", "replicasets", "replicasets", True, True),
    KindInfo("Deployment", "deployments", "deployments", True, True),
    KindInfo("DaemonSet", "daemonsets", "daemonsets", True, True),
    KindInfo("StatefulSet", "statefulsets", "statefulsets", True, True),
    KindInfo("ControllerRevision", "controllerrevisions", "controllerrevisions", True, False),
    KindInfo("Job", "jobs", "jobs", True, True),
    KindInfo("Service", "services", "services/specs", True, True),
    KindInfo("Endpoints", "endpoints", "services/endpoints", True, False),
    KindInfo("EndpointSlice", "endpointslices", "endpointslices", True, False),
    KindInfo("ConfigMap", "configmaps", "configmaps", True, False),
    KindInfo("Secret", "secrets", "secrets", True, False),
    KindInfo("PriorityClass", "priorityclasses", "priorityclasses", False, False),
    KindInfo("PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudgets", True, True),
    KindInfo("Lease", "leases", "leases", True, False),
    KindInfo("Event", "events", "events", True, False),
)


def guess_kind(kind: str, api_version: str = "", namespaced: bool = True, resource: str = "") -> KindInfo:
    """KindInfo for a kind the table does not know: plural by lowercasing and adding "s"."""
    plural = resource or (kind.lower() + ("es" if kind.lower().endswith("s") else "s"))
    group = api_version.split("/")[0] if "/" in api_version else ""
    segment = f"{group}/{plural}" if group else plural
    return KindInfo(kind, plural, segment, namespaced, False)
