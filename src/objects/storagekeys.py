"""Where the registry keeps each kind: the API server's etcd key layout.

``/registry/pods/<namespace>/<name>``, ``/registry/minions/<name>`` for nodes,
``/registry/services/specs/...`` for services, and ``/registry/<group>/<plural>/...`` for kinds the
table does not know (custom resources), as the API server lays them out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

REGISTRY_PREFIX = "/registry"


@dataclass(frozen=True)
class KindInfo:
    """How one kind is stored: its Kind name, resource (plural), key segment, scope, status subresource,
    and the other names kubectl accepts for it (the API server's discovery ``singularName``, ``shortNames``)."""

    kind: str
    resource: str
    segment: str          # the key path under the registry prefix
    namespaced: bool
    has_status: bool      # status is a subresource: update() keeps it, update_status() changes only it
    singular: str = ""    # discovery's singularName ("pod"); "" means the lowercase Kind
    short_names: tuple[str, ...] = field(default=())  # discovery's shortNames ("po")

    @property
    def singular_name(self) -> str:
        """The singular resource name (discovery's ``singularName``): the lowercase Kind unless set."""
        return self.singular or self.kind.lower()

    def names(self) -> tuple[str, ...]:
        """Every name a client may use for this kind: Kind, resource, singular and short names."""
        return (self.kind, self.resource, self.singular_name) + self.short_names

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


# Short names as the API server's discovery lists them (kubectl api-resources).
BUILTIN_KINDS = (
    KindInfo("Pod", "pods", "pods", True, True, short_names=("po",)),
    KindInfo("Node", "nodes", "minions", False, True, short_names=("no",)),
    KindInfo("Namespace", "namespaces", "namespaces", False, True, short_names=("ns",)),
    KindInfo("ReplicationController", "replicationcontrollers", "controllers", True, True, short_names=("rc",)),
    KindInfo("ReplicaSet", "replicasets", "replicasets", True, True, short_names=("rs",)),
    KindInfo("Deployment", "deployments", "deployments", True, True, short_names=("deploy",)),
    KindInfo("DaemonSet", "daemonsets", "daemonsets", True, True, short_names=("ds",)),
    KindInfo("StatefulSet", "statefulsets", "statefulsets", True, True, short_names=("sts",)),
    KindInfo("ControllerRevision", "controllerrevisions", "controllerrevisions", True, False),
    KindInfo("Job", "jobs", "jobs", True, True),
    KindInfo("Service", "services", "services/specs", True, True, short_names=("svc",)),
    KindInfo("Endpoints", "endpoints", "services/endpoints", True, False, singular="endpoints",
             short_names=("ep",)),
    KindInfo("EndpointSlice", "endpointslices", "endpointslices", True, False),
    KindInfo("ConfigMap", "configmaps", "configmaps", True, False, short_names=("cm",)),
    KindInfo("Secret", "secrets", "secrets", True, False),
    KindInfo("PriorityClass", "priorityclasses", "priorityclasses", False, False, short_names=("pc",)),
    KindInfo("PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudgets", True, True,
             short_names=("pdb",)),
    KindInfo("Lease", "leases", "leases", True, False),
    KindInfo("Event", "events", "events", True, False, short_names=("ev",)),
)


def guess_kind(kind: str, api_version: str = "", namespaced: bool = True, resource: str = "") -> KindInfo:
    """KindInfo for a kind the table does not know: plural by lowercasing and adding "s"."""
    plural = resource or (kind.lower() + ("es" if kind.lower().endswith("s") else "s"))
    group = api_version.split("/")[0] if "/" in api_version else ""
    segment = f"{group}/{plural}" if group else plural
    return KindInfo(kind, plural, segment, namespaced, False)
