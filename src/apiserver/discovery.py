"""Discovery documents as kube-apiserver serves them: /version, /api, /apis, /api/v1, /apis/<g>/<v>.

kubectl first asks for aggregated discovery (``apidiscovery.k8s.io/v2``); answered with plain JSON it
falls back to these legacy documents, so only those are served.
"""
from __future__ import annotations

import platform
from typing import Any

from .errors import not_found_path
from .resources import VERBS, Catalog

KUBERNETES_VERSION = ("1", "32", "v1.32.0")  # the API level the served semantics follow


def version() -> dict[str, Any]:
    """``/version`` (``version.Info``)."""
    major, minor, git = KUBERNETES_VERSION
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {"major": major, "minor": minor, "gitVersion": f"{git}+borgkit", "gitCommit": "", "gitTreeState": "",
            "buildDate": "", "goVersion": "", "compiler": "borgkit",
            "platform": f"{platform.system().lower()}/{machine}"}


def core_versions(server_address: str) -> dict[str, Any]:
    """``/api`` (``APIVersions``)."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def group_list(catalog: Catalog) -> dict[str, Any]:
    """``/apis`` (``APIGroupList``): every named group."""
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(name, versions) for name, versions in catalog.groups() if name]}


def group(catalog: Catalog, name: str) -> dict[str, Any]:
    """``/apis/<group>`` (``APIGroup``)."""
    for group_name, versions in catalog.groups():
        if group_name == name and name:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}
    raise not_found_path()


def resource_list(catalog: Catalog, group_name: str, version_name: str) -> dict[str, Any]:
    """``/api/v1`` or ``/apis/<group>/<version>`` (``APIResourceList``)."""
    served = catalog.in_group_version(group_name, version_name)
    if not served:
        raise not_found_path()
    resources: list[dict[str, Any]] = []
    for r in served:
        entry: dict[str, Any] = {"name": r.resource, "singularName": r.singular, "namespaced": r.namespaced,
                                 "kind": r.kind, "verbs": list(VERBS)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        for sub, kind, verbs in r.subresources():
            sub_entry: dict[str, Any] = {"name": f"{r.resource}/{sub}", "singularName": "",
                                         "namespaced": r.namespaced, "kind": kind, "verbs": list(verbs)}
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1")
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group_name}/{version_name}" if group_name else version_name,
            "resources": resources}
