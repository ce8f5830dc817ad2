"""The resources the server serves: group, version, plural, kind, scope, short names, subresources.

Built from the kinds the Registry stores (scope and status subresource come from its storage layout),
with what kube-apiserver's discovery adds (groups, short names, categories, scale subresources).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import objects

from .errors import not_found_path

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class APIResource:
    """One served resource, as discovery describes it (``metav1.APIResource``)."""

    group: str
    version: str
    resource: str            # the plural in paths: "pods"
    kind: str
    namespaced: bool
    has_status: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    scale: bool = False      # the /scale subresource (autoscaling/v1 Scale)

    @property
    def group_version(self) -> str:
        """"v1" for the core group, else "group/version"."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        """The singular name kubectl accepts ("pod")."""
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        """The kind of a list response ("PodList")."""
        return self.kind + "List"

    def subresources(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(name, kind, verbs) of each subresource."""
        found: list[tuple[str, str, tuple[str, ...]]] = []
        if self.has_status:
            found.append(("status", self.kind, ("get", "patch", "update")))
        if self.scale:
            found.append(("scale", "Scale", ("get", "patch", "update")))
        if self.kind == "Pod":
            found.append(("binding", "Binding", ("create",)))
        return found


# (group, version, resource, kind, short names, categories, scale): kube-apiserver's names for each kind.
_KNOWN: tuple[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...], bool], ...] = (
    ("", "v1", "pods", "Pod", ("po",), ("all",), False),
    ("", "v1", "nodes", "Node", ("no",), (), False),
    ("", "v1", "namespaces", "Namespace", ("ns",), (), False),
    ("", "v1", "replicationcontrollers", "ReplicationController", ("rc",), ("all",), True),
    ("", "v1", "services", "Service", ("svc",), ("all",), False),
    ("", "v1", "endpoints", "Endpoints", ("ep",), (), False),
    ("", "v1", "configmaps", "ConfigMap", ("cm",), (), False),
    ("", "v1", "secrets", "Secret", (), (), False),
    ("", "v1", "events", "Event", ("ev",), (), False),
    ("apps", "v1", "deployments", "Deployment", ("deploy",), ("all",), True),
    ("apps", "v1", "replicasets", "ReplicaSet", ("rs",), ("all",), True),
    ("apps", "v1", "daemonsets", "DaemonSet", ("ds",), ("all",), False),
    ("apps", "v1", "statefulsets", "StatefulSet", ("sts",), ("all",), True),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", (), (), False),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", (), (), False),
    ("batch", "v1", "jobs", "Job", (), ("all",), False),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", ("pdb",), (), False),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", ("pc",), (), False),
    ("coordination.k8s.io", "v1", "leases", "Lease", (), (), False),
)


class Catalog:
    """Every served resource, looked up by (group, version, plural)."""

    def __init__(self, registry: Any) -> None:
        self.resources: list[APIResource] = []
        for group, version, plural, kind, short, categories, scale in _KNOWN:
            try:
                info = registry.kind_info(kind)
            except (objects.UnknownResourceType, objects.NotFound):
                continue  # a registry that does not store this kind: not served
            self.resources.append(APIResource(group, version, plural, kind, info.namespaced, info.has_status,
                                              short, categories, scale))
        self._by_path = {(r.group, r.version, r.resource): r for r in self.resources}

    def lookup(self, group: str, version: str, resource: str) -> APIResource:
        """The resource at ``/api[s]/<group>/<version>/<resource>``; 404 when not served."""
        found = self._by_path.get((group, version, resource))
        if found is None:
            raise not_found_path()
        return found

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions) in the order discovery lists them (core group first)."""
        seen: dict[str, list[str]] = {}
        for r in self.resources:
            versions = seen.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        return list(seen.items())

    def in_group_version(self, group: str, version: str) -> list[APIResource]:
        """The resources of one group version (discovery's APIResourceList)."""
        return [r for r in self.resources if r.group == group and r.version == version]
