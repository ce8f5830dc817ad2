"""The columns kubectl shows for each kind (kube-apiserver's table printers), computed from JSON objects.

Pods: NAME READY STATUS RESTARTS AGE (wide: IP NODE NOMINATED NODE READINESS GATES); nodes, deployments,
services and namespaces likewise; any other kind NAME AGE. AGE is ``duration.HumanDuration``.
"""
from __future__ import annotations

import datetime
from typing import Any, Callable

Column = tuple[str, str, str, int]  # (name, type, format, priority: 1 = wide only)
Printer = Callable[[dict[str, Any], float], list[Any]]

_NAME: Column = ("Name", "string", "name", 0)
_AGE: Column = ("Age", "string", "", 0)


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration``: "45s", "3m20s", "5h", "12d", "2y30d"."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{hours // 24 // 365}y"


def age(obj: dict[str, Any], now: float) -> str:
    """Time since creationTimestamp, "<unknown>" without one."""
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    try:
        created = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<unknown>"
    return human_duration(now - created.timestamp())


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def pod_status_reason(pod: dict[str, Any]) -> str:
    """printPod's STATUS: phase, status.reason, a waiting / terminated container's reason, Terminating."""
    status = _status(pod)
    reason = str(status.get("reason") or status.get("phase") or "")
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod(pod: dict[str, Any], now: float) -> list[Any]:
    status, spec = _status(pod), _spec(pod)
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    gates = spec.get("readinessGates") or []
    return [_name(pod), f"{ready}/{len(spec.get('containers') or [])}", pod_status_reason(pod), restarts,
            age(pod, now), status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", f"{0}/{len(gates)}" if gates else "<none>"]


def _node(node: dict[str, Any], now: float) -> list[Any]:
    status, spec = _status(node), _spec(node)
    state = "Unknown"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            state = "Ready" if cond.get("status") == "True" else "NotReady"
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [_name(node), state, ",".join(r for r in roles if r) or "<none>", age(node, now),
            info.get("kubeletVersion") or "", addresses.get("InternalIP") or "<none>",
            addresses.get("ExternalIP") or "<none>", info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


def _containers(obj: dict[str, Any]) -> tuple[str, str]:
    containers = ((_spec(obj).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(selector: Any) -> str:
    if not isinstance(selector, dict):
        return "<none>"
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), ",".join(expr.get("values") or [])
        terms.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key,
                      "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(terms) or "<none>"


def _deployment(d: dict[str, Any], now: float) -> list[Any]:
    spec, status = _spec(d), _status(d)
    names, images = _containers(d)
    return [_name(d), f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas') or 0)}",
            int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0), age(d, now),
            names, images, _selector(spec.get("selector"))]


def _replicaset(rs: dict[str, Any], now: float) -> list[Any]:
    spec, status = _spec(rs), _status(rs)
    names, images = _containers(rs)
    return [_name(rs), int(spec.get("replicas") or 0), int(status.get("replicas") or 0),
            int(status.get("readyReplicas") or 0), age(rs, now), names, images, _selector(spec.get("selector"))]


def _service(svc: dict[str, Any], now: float) -> list[Any]:
    spec, status = _spec(svc), _status(svc)
    kind = spec.get("type") or "ClusterIP"
    external = [i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
    external += spec.get("externalIPs") or []
    if kind == "ExternalName":
        external_ip = spec.get("externalName") or "<none>"
    elif external:
        external_ip = ",".join(str(e) for e in external if e)
    else:
        external_ip = "<pending>" if kind == "LoadBalancer" else "<none>"
    ports = []
    for p in spec.get("ports") or []:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        ports.append(f"{text}/{p.get('protocol') or 'TCP'}")
    selector = spec.get("selector") or {}
    return [_name(svc), kind, spec.get("clusterIP") or "<none>", external_ip, ",".join(ports) or "<none>",
            age(svc, now), ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"]


def _namespace(ns: dict[str, Any], now: float) -> list[Any]:
    return [_name(ns), _status(ns).get("phase") or "", age(ns, now)]


def _default(obj: dict[str, Any], now: float) -> list[Any]:
    return [_name(obj), age(obj, now)]


PRINTERS: dict[str, tuple[tuple[Column, ...], Printer]] = {
    "Pod": ((_NAME, ("Ready", "string", "", 0), ("Status", "string", "", 0), ("Restarts", "string", "", 0),
             _AGE, ("IP", "string", "", 1), ("Node", "string", "", 1), ("Nominated Node", "string", "", 1),
             ("Readiness Gates", "string", "", 1)), _pod),
    "Node": ((_NAME, ("Status", "string", "", 0), ("Roles", "string", "", 0), _AGE, ("Version", "string", "", 0),
              ("Internal-IP", "string", "", 1), ("External-IP", "string", "", 1), ("OS-Image", "string", "", 1),
              ("Kernel-Version", "string", "", 1), ("Container-Runtime", "string", "", 1)), _node),
    "Deployment": ((_NAME, ("Ready", "string", "", 0), ("Up-to-date", "integer", "", 0),
                    ("Available", "integer", "", 0), _AGE, ("Containers", "string", "", 1),
                    ("Images", "string", "", 1), ("Selector", "string", "", 1)), _deployment),
    "ReplicaSet": ((_NAME, ("Desired", "integer", "", 0), ("Current", "integer", "", 0),
                    ("Ready", "integer", "", 0), _AGE, ("Containers", "string", "", 1), ("Images", "string", "", 1),
                    ("Selector", "string", "", 1)), _replicaset),
    "Service": ((_NAME, ("Type", "string", "", 0), ("Cluster-IP", "string", "", 0),
                 ("External-IP", "string", "", 0), ("Port(s)", "string", "", 0), _AGE,
                 ("Selector", "string", "", 1)), _service),
    "Namespace": ((_NAME, ("Status", "string", "", 0), _AGE), _namespace),
}
DEFAULT: tuple[tuple[Column, ...], Printer] = ((_NAME, _AGE), _default)


def printer_for(kind: str) -> tuple[tuple[Column, ...], Printer]:
    """The columns and row function for ``kind``."""
    return PRINTERS.get(kind, DEFAULT)
