"""Short builders of Nodes and Pods for the reference, plugin and exact-vs-reference tests, and a clock
the tests move by hand."""
from __future__ import annotations

from typing import Any

import objects


def node(name: str, cpu: str = "4", memory: str = "32Gi", pods: int = 110, labels: dict | None = None,
         taints: list[dict] | None = None, unschedulable: bool = False, images: list[dict] | None = None) -> Any:
    """A Ready node with allocatable cpu/memory/pods; ``kubernetes.io/hostname`` set to its name."""
    lab = {"kubernetes.io/hostname": name}
    lab.update(labels or {})
    alloc = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    return objects.from_dict({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": lab},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"capacity": alloc, "allocatable": alloc, "images": images or [],
                   "conditions": [{"type": "Ready", "status": "True"}]}})


def pod(name: str, namespace: str = "default", cpu: str | None = "100m", memory: str | None = "100Mi",
        labels: dict | None = None, node_name: str | None = None, priority: int | None = None,
        **spec: Any) -> Any:
    """A one-container pod; ``spec`` adds camelCase PodSpec fields (affinity, tolerations, ...)."""
    extra_meta = spec.pop("metadata", {})
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    body: dict[str, Any] = {"containers": [{"name": "c", "image": spec.pop("image", "pause:3.10"),
                                            "resources": {"requests": requests},
                                            "ports": spec.pop("ports", [])}]}
    if node_name:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    body.update(spec)
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    meta.update(extra_meta)
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body})


def term(selector: dict, key: str, **extra: Any) -> dict:
    """A PodAffinityTerm manifest."""
    return {"labelSelector": selector, "topologyKey": key, **extra}


def pod_affinity(required: list | None = None, preferred: list | None = None, anti: bool = False) -> dict:
    """``{"affinity": {"podAffinity" | "podAntiAffinity": {...}}}`` as keyword arguments for :func:`pod`."""
    part: dict[str, Any] = {}
    if required:
        part["requiredDuringSchedulingIgnoredDuringExecution"] = required
    if preferred:
        part["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": w, "podAffinityTerm": t} for w, t in preferred]
    return {"affinity": {"podAntiAffinity" if anti else "podAffinity": part}}


def spread(max_skew: int, key: str, selector: dict, when: str = "DoNotSchedule", **extra: Any) -> dict:
    """A TopologySpreadConstraint manifest."""
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when, "labelSelector": selector,
            **extra}


class Clock:
    """A clock for the scheduler's ``clock`` argument that moves only when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
