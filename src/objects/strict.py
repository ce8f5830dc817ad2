"""Strict reading (``objects.load(..., strict=True)``, like ``kubectl --validate=strict``): unknown fields refused.

Models keep the Kubernetes fields they do not model (a container's ``command``, a pod's ``volumes``) in
``unknown_fields``, so "not modelled" is not "unknown". This table lists, for each model it checks, the
Kubernetes fields of that type the model leaves unmodelled (Kubernetes 1.31's API); any other key of its
``unknown_fields`` is a typo (``spec.nodeSelectr``) and strict reading refuses it with its path. Models not
in the table (custom resources' GenericObject, Service status, ...) are not checked, nor are the insides of
unmodelled fields (a probe's body).
"""
from __future__ import annotations

from typing import Any

from .errors import FieldError
from .fieldtypes import join
from .schema import Model

_OBJECT_META = frozenset({"selfLink", "managedFields"})
_POD_SPEC = frozenset({
    "volumes", "activeDeadlineSeconds", "terminationGracePeriodSeconds", "dnsPolicy", "serviceAccount",
    "automountServiceAccountToken", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext",
    "imagePullSecrets", "hostname", "subdomain", "hostAliases", "dnsConfig", "readinessGates",
    "runtimeClassName", "enableServiceLinks", "setHostnameAsFQDN", "os", "hostUsers", "resourceClaims",
    "ephemeralContainers", "resources"})
_CONTAINER = frozenset({
    "command", "args", "workingDir", "envFrom", "env", "resizePolicy", "volumeMounts", "volumeDevices",
    "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
    "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"})
_POD_STATUS = frozenset({
    "observedGeneration", "hostIPs", "podIPs", "initContainerStatuses", "containerStatuses", "qosClass",
    "ephemeralContainerStatuses", "resize", "resourceClaimStatuses"})
_NODE_SPEC = frozenset({"configSource", "externalID"})
_NODE_STATUS = frozenset({"nodeInfo", "daemonEndpoints", "volumesInUse", "volumesAttached", "config",
                          "runtimeHandlers", "features"})
_NONE: frozenset[str] = frozenset()

# Kubernetes fields left unmodelled, by model class name (every other unknown key is refused).
UNMODELLED: dict[str, frozenset[str]] = {
    "ObjectMeta": _OBJECT_META, "OwnerReference": _NONE, "Condition": _NONE,
    "Pod": _NONE, "PodSpec": _POD_SPEC, "Container": _CONTAINER, "ContainerPort": _NONE,
    "ResourceRequirements": frozenset({"claims"}), "PodStatus": _POD_STATUS, "PodSchedulingGate": _NONE,
    "Affinity": _NONE, "NodeAffinity": _NONE, "PreferredSchedulingTerm": _NONE, "PodAffinity": _NONE,
    "PodAntiAffinity": _NONE, "PodAffinityTerm": _NONE, "WeightedPodAffinityTerm": _NONE,
    "TopologySpreadConstraint": _NONE,
    "Node": _NONE, "NodeSpec": _NODE_SPEC, "NodeStatus": _NODE_STATUS, "ContainerImage": _NONE,
    "NodeAddress": _NONE,
    "PodTemplateSpec": _NONE, "ReplicaSet": _NONE, "ReplicaSetSpec": _NONE, "Deployment": _NONE,
    "DeploymentSpec": _NONE, "DeploymentStrategy": _NONE, "RollingUpdateDeployment": _NONE,
    "DaemonSet": _NONE, "DaemonSetSpec": _NONE, "DaemonSetUpdateStrategy": _NONE, "RollingUpdateDaemonSet": _NONE,
    "StatefulSet": _NONE, "StatefulSetSpec": _NONE,
}


def unknown_fields(obj: Any, path: str = "") -> list[FieldError]:
    """Every key of ``obj`` (and of the models inside it) that its Kubernetes type does not have."""
    errs: list[FieldError] = []
    _walk(obj, path, errs)
    return errs


def _walk(obj: Model, path: str, errs: list[FieldError]) -> None:
    allowed = UNMODELLED.get(type(obj).__name__)
    if allowed is not None and obj.unknown_fields:
        for key in obj.unknown_fields:
            if key not in allowed:
                errs.append(FieldError(join(path, key), f'unknown field "{key}" in {type(obj).__name__}',
                                       type="Forbidden"))
    for f in obj.FIELDS:
        value = getattr(obj, f.attr)
        if isinstance(value, Model):
            _walk(value, join(path, f.key), errs)
        elif type(value) is list:
            for i, item in enumerate(value):
                if isinstance(item, Model):
                    _walk(item, join(join(path, f.key), i), errs)
