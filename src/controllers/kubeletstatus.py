"""What a hollow kubelet writes: its Node, its node Lease, and the status of the pods it runs.

Pure functions from a few facts (names, addresses, times) to the dicts the API server stores, shaped as the
kubelet writes them (pkg/kubelet/nodestatus, pkg/kubelet/status/generate.go): the node conditions with
their kubelet reasons, the pod conditions in the kubelet's order, containerStatuses with their states.

Annotations a pod may carry to tell a hollow node how its containers behave (borgkit's, documented in
docs/controllers.md):

* ``borgkit.io/run-seconds``: the containers exit this many seconds after they start (default: they run
  until the pod is deleted);
* ``borgkit.io/exit-code``: the exit code when they do (default 0; alone, it means they exit at once);
* ``borgkit.io/startup-seconds``: the time from the kubelet seeing the pod to its containers running
  (default: the hollow nodes' ``pod_startup_seconds``);
* ``borgkit.io/termination-seconds``: the time the containers take to stop after the pod is deleted
  (at most the pod's grace period; default: the hollow nodes' ``termination_seconds``).
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import math
from typing import Any, Iterable, Mapping

__all__ = ["RUN_SECONDS", "EXIT_CODE", "STARTUP_SECONDS", "TERMINATION_SECONDS", "NODE_LEASE_NAMESPACE",
           "rfc3339", "parse_time", "node_addresses", "node_object", "node_conditions", "lease_object",
           "pod_seconds", "pod_exit_code", "running_status", "pending_status", "backoff_status",
           "terminated_status", "DEFAULT_CAPACITY"]

RUN_SECONDS = "borgkit.io/run-seconds"
EXIT_CODE = "borgkit.io/exit-code"
STARTUP_SECONDS = "borgkit.io/startup-seconds"
TERMINATION_SECONDS = "borgkit.io/termination-seconds"
NODE_LEASE_NAMESPACE = "kube-node-lease"
# kubemark's hollow node: 4 CPU, 32Gi, 110 pods (the kubelet's default maxPods).
DEFAULT_CAPACITY = {"cpu": "4", "memory": "32Gi", "pods": "110"}
KUBELET_VERSION = "v1.31.0-borgkit-hollow"


_last_stamp: tuple[int, str] = (-1, "")  # (whole second, its text): the clock asks for the same second in a row


def rfc3339(seconds: float) -> str:
    """metav1.Time as the API server writes it (whole seconds, UTC)."""
    global _last_stamp
    whole = math.floor(seconds)
    last = _last_stamp  # one read: another thread may replace it meanwhile (with a pair as consistent)
    if last[0] == whole:
        return last[1]
    text = datetime.datetime.fromtimestamp(whole, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _last_stamp = (whole, text)
    return text


def parse_time(text: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (None for None or a bad value)."""
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).timestamp()
    except ValueError:
        return None


def node_addresses(index: int) -> tuple[str, str]:
    """The node's InternalIP (172.16.0.0/12) and its pod CIDR (a /24 of 10.0.0.0/8), from its index."""
    n = index % (1 << 16)  # 65,536 nodes before addresses repeat
    m = n + 1  # 172.16.0.0 itself is the network's address
    internal = f"172.{16 + (m >> 16)}.{(m >> 8) & 255}.{m & 255}"
    pods = f"10.{(n >> 8) & 255}.{n & 255}.0/24"
    return internal, pods


def node_conditions(now: str, since: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The kubelet's healthy conditions; ``since`` keeps each condition's lastTransitionTime."""
    since = since or {}
    rows = (("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    return [{"type": kind, "status": status, "lastHeartbeatTime": now,
             "lastTransitionTime": since.get(kind, now), "reason": reason, "message": message}
            for kind, status, reason, message in rows]


def node_object(name: str, template: Mapping[str, Any], index: int, now: str) -> dict[str, Any]:
    """The Node a hollow kubelet registers: the template's labels, taints, capacity and allocatable
    (capacity defaults to kubemark's, allocatable to capacity), the kubelet's labels, Ready."""
    meta = dict(template.get("metadata") or {})
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "node.kubernetes.io/instance-type": "hollow", **(meta.get("labels") or {})}
    spec = dict(template.get("spec") or {})
    status = dict(template.get("status") or {})
    capacity = dict(status.get("capacity") or DEFAULT_CAPACITY)
    allocatable = dict(status.get("allocatable") or capacity)
    internal, pod_cidr = node_addresses(index)
    spec.setdefault("podCIDR", pod_cidr)
    spec.setdefault("podCIDRs", [spec["podCIDR"]])
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     **({"annotations": meta["annotations"]} if meta.get("annotations") else {})},
        "spec": spec,
        "status": {"capacity": capacity, "allocatable": allocatable, "conditions": node_conditions(now),
                   "addresses": [{"type": "InternalIP", "address": internal}, {"type": "Hostname", "address": name}],
                   "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                                "operatingSystem": "linux", "architecture": "amd64",
                                "containerRuntimeVersion": "hollow://1.0"}},
    }
    return body


def lease_object(node_name: str, node_uid: str | None, renew_time: str, duration: int,
                 resource_version: str | None = None) -> dict[str, Any]:
    """The node's Lease in kube-node-lease, owned by its Node (as the kubelet's node lease controller)."""
    meta: dict[str, Any] = {"name": node_name, "namespace": NODE_LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}]
    if resource_version:
        meta["resourceVersion"] = resource_version
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": duration, "renewTime": renew_time}}


# ---------------------------------------------------------------------------------------------- pods
def pod_seconds(pod: Any, annotation: str, default: float | None) -> float | None:
    """A non-negative number of seconds from a pod annotation, else ``default`` (a bad value too)."""
    text = (pod.metadata.annotations or {}).get(annotation)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        return default
    return value if value >= 0 and math.isfinite(value) else default


def pod_exit_code(pod: Any) -> int | None:
    """The exit code the pod's containers exit with, when they exit (see the module documentation)."""
    text = (pod.metadata.annotations or {}).get(EXIT_CODE)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _container_id(uid: str, name: str, restarts: int) -> str:
    return "containerd://" + hashlib.sha256(f"{uid}/{name}/{restarts}".encode()).hexdigest()


@functools.lru_cache(maxsize=256)  # a few images, each the same for every pod of a template
def _image_id(image: str | None) -> str:
    return "docker.io/library/" + (image or "none") + "@sha256:" + hashlib.sha256((image or "").encode()).hexdigest()


def _conditions(pod: Any, now: str, ready: bool, initialized: bool = True,
                not_ready_reason: str = "ContainersNotReady", names: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The kubelet's pod conditions; lastTransitionTime kept from the pod where the status did not change."""
    previous = {c.type: c for c in pod.status.conditions or ()}

    def row(kind: str, ok: bool, reason: str | None = None, message: str | None = None) -> dict[str, Any]:
        status = "True" if ok else "False"
        old = previous.get(kind)
        since = old.last_transition_time if old is not None and old.status == status and \
            old.last_transition_time else now
        entry: dict[str, Any] = {"type": kind, "status": status, "lastTransitionTime": since}
        if not ok and reason:
            entry["reason"] = reason
            entry["message"] = message or ""
        return entry
    waiting = ",".join(names)
    result = [row("PodReadyToStartContainers", True), row("Initialized", initialized),
              row("Ready", ready, not_ready_reason, f"containers with unready status: [{waiting}]"),
              row("ContainersReady", ready, not_ready_reason, f"containers with unready status: [{waiting}]")]
    scheduled = previous.get("PodScheduled")
    result.append({"type": "PodScheduled", "status": "True",
                   "lastTransitionTime": (scheduled.last_transition_time if scheduled is not None else None) or now})
    return result


def _base(pod: Any, host_ip: str, pod_ip: str, start_time: str) -> dict[str, Any]:
    return {"hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
            "startTime": start_time, "qosClass": _qos_class(pod)}


def _qos_class(pod: Any) -> str:
    """v1.PodQOSClass: Guaranteed (every container's requests = limits for cpu and memory), BestEffort
    (no requests or limits at all), else Burstable."""
    containers = list(pod.spec.containers or ()) + list(pod.spec.init_containers or ())
    any_set, guaranteed = False, True
    for c in containers:
        requests, limits = c.resources.requests or {}, c.resources.limits or {}
        if requests or limits:
            any_set = True
        for resource in ("cpu", "memory"):
            limit = limits.get(resource)
            if limit is None or (resource in requests and requests[resource] != limit):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _init_statuses(pod: Any, started: str) -> list[dict[str, Any]]:
    uid = pod.metadata.uid or ""
    return [{"name": c.name, "image": c.image, "imageID": _image_id(c.image),
             "containerID": _container_id(uid, c.name, 0), "ready": True, "restartCount": 0, "started": False,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                      "finishedAt": started, "containerID": _container_id(uid, c.name, 0)}}}
            for c in pod.spec.init_containers or ()]


def pending_status(pod: Any, now: str, host_ip: str, pod_ip: str) -> dict[str, Any]:
    """Containers being created: phase Pending, Ready False (reason ContainersNotReady)."""
    names = [c.name for c in pod.spec.containers]
    status = {"phase": "Pending", **_base(pod, host_ip, pod_ip, now),
              "conditions": _conditions(pod, now, ready=False, names=names),
              "containerStatuses": [{"name": c.name, "image": c.image, "imageID": "", "ready": False,
                                     "restartCount": 0, "started": False,
                                     "state": {"waiting": {"reason": "ContainerCreating"}}}
                                    for c in pod.spec.containers]}
    if pod.spec.init_containers:
        status["initContainerStatuses"] = _init_statuses(pod, now)
    return status


def running_status(pod: Any, now: str, host_ip: str, pod_ip: str, start_time: str, started_at: str,
                   restarts: int, last_exit: int | None = None, last_finished: str | None = None) -> dict[str, Any]:
    """Every container running and ready: phase Running, Ready True."""
    uid = pod.metadata.uid or ""
    statuses = []
    for c in pod.spec.containers:
        entry: dict[str, Any] = {"name": c.name, "image": c.image, "imageID": _image_id(c.image),
                                 "containerID": _container_id(uid, c.name, restarts), "ready": True,
                                 "restartCount": restarts, "started": True,
                                 "state": {"running": {"startedAt": started_at}}}
        if last_exit is not None:
            entry["lastState"] = {"terminated": {"exitCode": last_exit, "reason": "Error" if last_exit else "Completed",
                                                 "startedAt": start_time, "finishedAt": last_finished or started_at,
                                                 "containerID": _container_id(uid, c.name, restarts - 1)}}
        statuses.append(entry)
    status = {"phase": "Running", **_base(pod, host_ip, pod_ip, start_time),
              "conditions": _conditions(pod, now, ready=True), "containerStatuses": statuses}
    if pod.spec.init_containers:
        status["initContainerStatuses"] = _init_statuses(pod, start_time)
    return status


def backoff_status(pod: Any, now: str, host_ip: str, pod_ip: str, start_time: str, restarts: int,
                   exit_code: int, finished: str) -> dict[str, Any]:
    """The containers exited and wait to restart (CrashLoopBackOff): phase Running, Ready False; ``restarts``
    is the exited instance's restartCount (what the kubelet reports until the next instance starts)."""
    uid = pod.metadata.uid or ""
    names = [c.name for c in pod.spec.containers]
    statuses = [{"name": c.name, "image": c.image, "imageID": _image_id(c.image),
                 "containerID": _container_id(uid, c.name, restarts), "ready": False, "restartCount": restarts,
                 "started": False,
                 "state": {"waiting": {"reason": "CrashLoopBackOff",
                                       "message": f"back-off restarting failed container {c.name} in pod "
                                                  f"{pod.metadata.name}_{pod.metadata.namespace}({uid})"}},
                 "lastState": {"terminated": {"exitCode": exit_code, "reason": "Error" if exit_code else "Completed",
                                              "finishedAt": finished,
                                              "containerID": _container_id(uid, c.name, restarts)}}}
                for c in pod.spec.containers]
    status = {"phase": "Running", **_base(pod, host_ip, pod_ip, start_time),
              "conditions": _conditions(pod, now, ready=False, names=names), "containerStatuses": statuses}
    if pod.spec.init_containers:
        status["initContainerStatuses"] = _init_statuses(pod, start_time)
    return status


def terminated_status(pod: Any, now: str, host_ip: str, pod_ip: str | None, start_time: str, restarts: int,
                      exit_code: int, phase: str, started_at: str | None) -> dict[str, Any]:
    """Every container terminated with ``exit_code``; ``phase`` Succeeded or Failed, Ready False
    (reason PodCompleted, as the kubelet writes for a terminal pod)."""
    uid = pod.metadata.uid or ""
    names = [c.name for c in pod.spec.containers]
    statuses = [{"name": c.name, "image": c.image, "imageID": _image_id(c.image),
                 "containerID": _container_id(uid, c.name, restarts), "ready": False, "restartCount": restarts,
                 "started": False,
                 "state": {"terminated": {"exitCode": exit_code, "reason": "Error" if exit_code else "Completed",
                                          "startedAt": started_at or start_time, "finishedAt": now,
                                          "containerID": _container_id(uid, c.name, restarts)}}}
                for c in pod.spec.containers]
    status = {"phase": phase, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": start_time,
              "qosClass": _qos_class(pod),
              "conditions": _conditions(pod, now, ready=False, not_ready_reason="PodCompleted", names=names),
              "containerStatuses": statuses}
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if pod.spec.init_containers:
        status["initContainerStatuses"] = _init_statuses(pod, start_time)
    return status
