"""The API server's defaulting, for the fields the scheduler and controllers depend on.

Reading (``from_dict``) keeps an object as written, so a round trip gives the manifest back; defaulting is
a separate step that returns a new object, as the API server defaults an object before storing it:

- every namespaced object: ``metadata.namespace`` "default";
- Pod (and pod templates): ``schedulerName`` "default-scheduler", ``restartPolicy`` Always, container
  port ``protocol`` TCP (and ``hostPort`` = ``containerPort`` under ``hostNetwork``), each container's
  ``requests`` taking its ``limits`` for resources it does not request, toleration ``operator`` Equal
  (already so when read), and ``priority`` / ``preemptionPolicy`` from the PriorityClass (see below);
- Node: ``status.allocatable`` = ``status.capacity`` when unset;
- workloads and services: see :data:`objects.apps` / ``Service`` sections of docs/objects.md.

Priority (the Priority admission plugin): pass ``priority_classes``, either a mapping of name ->
PriorityClass or a callable ``name -> PriorityClass | None``.  A pod naming a class gets that class's
value and preemption policy; a pod naming a class that does not exist raises ValidationError
(``spec.priorityClassName: Not found``); a pod naming none gets the mapping's ``globalDefault`` class, or
priority 0.  The built-in ``system-cluster-critical`` (2000000000) and ``system-node-critical``
(2000001000) classes always resolve.  Without ``priority_classes`` priority is left as written.

DefaultTolerationSeconds (admission, with ``priority_classes`` too: the Registry's pod create): a pod gets
``node.kubernetes.io/not-ready`` and ``node.kubernetes.io/unreachable`` NoExecute tolerations (Exists, 300 s)
unless it already tolerates that taint with effect NoExecute (an empty key or effect counts).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Union

from .errors import FieldError, ValidationError

__all__ = ["apply_defaults", "DEFAULT_SCHEDULER_NAME", "SYSTEM_PRIORITY_CLASSES", "PriorityClassResolver"]

DEFAULT_SCHEDULER_NAME = "default-scheduler"
SYSTEM_PRIORITY_CLASSES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}

PriorityClassResolver = Union[Mapping[str, Any], Callable[[str], Any], None]

_DEFAULTERS: dict[str, Callable[[Any, PriorityClassResolver], Any]] = {}


def defaulter(kind: str) -> Callable[[Callable[[Any, PriorityClassResolver], Any]], Any]:
    """Register the defaulting function of one kind."""
    def register(fn: Callable[[Any, PriorityClassResolver], Any]) -> Any:
        _DEFAULTERS[kind] = fn
        return fn
    return register


def apply_defaults(obj: Any, *, priority_classes: PriorityClassResolver = None) -> Any:
    """A new object with the API server's defaults applied (``obj`` itself is not changed)."""
    obj = default_namespace(obj)
    fn = _DEFAULTERS.get(type(obj).KIND) if obj.NAMESPACED is not None else None
    return fn(obj, priority_classes) if fn is not None else obj


def default_namespace(obj: Any) -> Any:
    """A namespaced object without a namespace in namespace "default" (``obj`` itself is not changed)."""
    if obj.NAMESPACED and not obj.metadata.namespace:
        return obj.replace(metadata=obj.metadata.replace(namespace="default"))
    return obj


# ---------------------------------------------------------------------------------------------------------
# Pods


def default_container(c: Any, host_network: bool | None) -> Any:
    """requests <- limits for unrequested resources; port protocol TCP; hostPort under hostNetwork."""
    changes: dict[str, Any] = {}
    res = c.resources
    missing = {k: q for k, q in res.limits.items() if k not in res.requests}
    if missing:
        changes["resources"] = res.replace(requests={**res.requests, **missing})
    if c.ports and any(p.protocol is None or (host_network and not p.host_port) for p in c.ports):
        changes["ports"] = [p.replace(protocol=p.protocol or "TCP",
                                      host_port=p.container_port if host_network and not p.host_port
                                      else p.host_port)
                            for p in c.ports]
    return c.replace(**changes) if changes else c


def _lookup(priority_classes: PriorityClassResolver, name: str) -> Any:
    if name in SYSTEM_PRIORITY_CLASSES and not (isinstance(priority_classes, Mapping) and name in priority_classes):
        return SYSTEM_PRIORITY_CLASSES[name]
    if isinstance(priority_classes, Mapping):
        return priority_classes.get(name)
    return priority_classes(name) if priority_classes is not None else None


def _global_default(priority_classes: PriorityClassResolver) -> Any:
    if not isinstance(priority_classes, Mapping):
        return None
    defaults = [pc for pc in priority_classes.values() if getattr(pc, "global_default", False)]
    # Kubernetes picks the lowest value when several classes claim globalDefault
    return min(defaults, key=lambda pc: pc.value) if defaults else None


def default_pod_spec(spec: Any, priority_classes: PriorityClassResolver, path: str = "spec") -> Any:
    """Default a PodSpec (of a Pod or a pod template)."""
    changes: dict[str, Any] = {}
    if spec.scheduler_name is None:
        changes["scheduler_name"] = DEFAULT_SCHEDULER_NAME
    if spec.restart_policy is None:
        changes["restart_policy"] = "Always"
    for attr in ("containers", "init_containers"):
        items = getattr(spec, attr)
        defaulted = [default_container(c, spec.host_network) for c in items]
        if any(a is not b for a, b in zip(defaulted, items)):
            changes[attr] = defaulted
    if priority_classes is not None:
        changes.update(_priority(spec, priority_classes, path))
    return spec.replace(**changes) if changes else spec


def _priority(spec: Any, priority_classes: PriorityClassResolver, path: str) -> dict[str, Any]:
    name = spec.priority_class_name
    if name:
        pc = _lookup(priority_classes, name)
        if pc is None:
            raise ValidationError(FieldError(f"{path}.priorityClassName",
                                             f"no PriorityClass with name {name} was found", name, "Not found"))
    else:
        pc = _global_default(priority_classes)
    if pc is None:
        value, policy, name = 0, None, None
    elif isinstance(pc, int):
        value, policy = pc, None
    else:
        value, policy, name = pc.value, pc.preemption_policy, pc.metadata.name
    if spec.priority is not None and spec.priority != value:
        raise ValidationError(FieldError(
            f"{path}.priority", "the integer value of priority must not be provided in pod spec; priority "
            f"admission controller computed {value} from the given PriorityClass name", spec.priority,
            "Forbidden"))
    changes: dict[str, Any] = {"priority": value}
    if name and not spec.priority_class_name:
        changes["priority_class_name"] = name
    if spec.preemption_policy is None:
        changes["preemption_policy"] = policy or "PreemptLowerPriority"
    return changes


# The DefaultTolerationSeconds admission plugin's tolerations (--default-not-ready-toleration-seconds and
# --default-unreachable-toleration-seconds, 300 by default).
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300


_DEFAULT_TOLERATIONS: tuple[tuple[str, Any], ...] = ()


def _default_tolerations() -> tuple[tuple[str, Any], ...]:
    """The two admission tolerations, built (and checked) once: a Toleration is an immutable value, so
    every created pod can share them (building them was a tenth of a pod's create)."""
    global _DEFAULT_TOLERATIONS
    if not _DEFAULT_TOLERATIONS:
        from .taints import Toleration
        _DEFAULT_TOLERATIONS = tuple((key, Toleration(key, "Exists", "", "NoExecute", DEFAULT_TOLERATION_SECONDS))
                                     for key in (NOT_READY_TAINT, UNREACHABLE_TAINT))
    return _DEFAULT_TOLERATIONS


def default_toleration_seconds(spec: Any) -> Any:
    """DefaultTolerationSeconds admission: a pod without a NoExecute toleration for the not-ready /
    unreachable taints (a toleration of an empty key or effect counts) tolerates each for 300 s."""
    added = []
    for key, toleration in _default_tolerations():
        if not any(t.key in ("", key) and t.effect in ("", "NoExecute") for t in spec.tolerations or ()):
            added.append(toleration)
    return spec.replace(tolerations=list(spec.tolerations or ()) + added) if added else spec


@defaulter("Pod")
def default_pod(pod: Any, priority_classes: PriorityClassResolver) -> Any:
    """Default a Pod (see the module documentation); with ``priority_classes`` (the pod's admission, at
    create) also the DefaultTolerationSeconds admission plugin's tolerations. Only the spec changes, and
    only as a function of the spec and ``priority_classes``: the Registry's create shares the result
    between pods with the same spec (:mod:`objects.sharedspecs`)."""
    spec = default_pod_spec(pod.spec, priority_classes)
    if priority_classes is not None:
        spec = default_toleration_seconds(spec)
    return pod if spec is pod.spec else pod.replace(spec=spec)


def default_template(template: Any) -> Any:
    """Default a PodTemplateSpec (``spec.template`` of a workload); priority is admission's, for pods only."""
    spec = default_pod_spec(template.spec, None)
    return template if spec is template.spec else template.replace(spec=spec)


# ---------------------------------------------------------------------------------------------------------
# Nodes


@defaulter("Node")
def default_node(node: Any, priority_classes: PriorityClassResolver) -> Any:
    """status.allocatable defaults to status.capacity."""
    status = node.status
    if not status.allocatable and status.capacity:
        return node.replace(status=status.replace(allocatable=dict(status.capacity)))
    return node


# ---------------------------------------------------------------------------------------------------------
# Workloads, services, priority classes


def _default_workload_spec(spec: Any) -> dict[str, Any]:
    """The defaults every workload shares: replicas 1, revisionHistoryLimit 10 (for the kinds that have
    them) and the pod template defaulted like a pod."""
    changes: dict[str, Any] = {}
    if getattr(spec, "replicas", 0) is None:
        changes["replicas"] = 1
    if getattr(spec, "revision_history_limit", 0) is None:
        changes["revision_history_limit"] = 10
    if spec.template is not None:
        template = default_template(spec.template)
        if template is not spec.template:
            changes["template"] = template
    return changes


def _default_strategy(strategy: Any, strategy_cls: Any, rolling_cls: Any, knobs: dict[str, Any],
                      rolling_when_typed: bool = True) -> Any:
    """An update strategy with type RollingUpdate when unset, and the unset ``knobs`` of its rollingUpdate
    defaulted. StatefulSet (``rolling_when_typed=False``) creates the rollingUpdate only when it also
    defaulted the type: a strategy typed RollingUpdate without one keeps none, as its defaulter does."""
    strategy = strategy or strategy_cls()
    typed = strategy.type is not None
    if not typed:
        strategy = strategy.replace(type="RollingUpdate")
    if strategy.type == "RollingUpdate" and (rolling_when_typed or not typed or strategy.rolling_update):
        rolling = strategy.rolling_update or rolling_cls()
        unset = {k: v for k, v in knobs.items() if getattr(rolling, k) is None}
        strategy = strategy.replace(rolling_update=rolling.replace(**unset) if unset else rolling)
    return strategy


def _default_workload(obj: Any, **spec_changes: Any) -> Any:
    spec = obj.spec
    changes = _default_workload_spec(spec)
    changes.update((k, v) for k, v in spec_changes.items() if v != getattr(spec, k))
    return obj.replace(spec=spec.replace(**changes)) if changes else obj


@defaulter("ReplicaSet")
def default_replica_set(rs: Any, priority_classes: PriorityClassResolver) -> Any:
    """replicas 1; the pod template defaulted like a pod."""
    return _default_workload(rs)


@defaulter("ReplicationController")
def default_replication_controller(rc: Any, priority_classes: PriorityClassResolver) -> Any:
    """replicas 1; an empty selector and empty metadata.labels take the template's labels."""
    labels = rc.spec.template.metadata.labels if rc.spec.template is not None else {}
    if labels and not rc.metadata.labels:
        rc = rc.replace(metadata=rc.metadata.replace(labels=dict(labels)))
    return _default_workload(rc, selector=rc.spec.selector or dict(labels))


@defaulter("Deployment")
def default_deployment(deploy: Any, priority_classes: PriorityClassResolver) -> Any:
    """replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600."""
    from .apps import DeploymentStrategy, RollingUpdateDeployment
    spec = deploy.spec
    strategy = _default_strategy(spec.strategy, DeploymentStrategy, RollingUpdateDeployment,
                                 {"max_unavailable": "25%", "max_surge": "25%"})
    deadline = 600 if spec.progress_deadline_seconds is None else spec.progress_deadline_seconds
    return _default_workload(deploy, strategy=strategy, progress_deadline_seconds=deadline)


@defaulter("DaemonSet")
def default_daemon_set(ds: Any, priority_classes: PriorityClassResolver) -> Any:
    """RollingUpdate with maxUnavailable 1 and maxSurge 0; revisionHistoryLimit 10."""
    from .apps import DaemonSetUpdateStrategy, RollingUpdateDaemonSet
    strategy = _default_strategy(ds.spec.update_strategy, DaemonSetUpdateStrategy, RollingUpdateDaemonSet,
                                 {"max_unavailable": 1, "max_surge": 0})
    return _default_workload(ds, update_strategy=strategy)


@defaulter("StatefulSet")
def default_stateful_set(sts: Any, priority_classes: PriorityClassResolver) -> Any:
    """replicas 1, podManagementPolicy OrderedReady, RollingUpdate with partition 0, revisionHistoryLimit
    10, persistentVolumeClaimRetentionPolicy Retain / Retain."""
    from .statefulset import (RollingUpdateStatefulSetStrategy, StatefulSetPersistentVolumeClaimRetentionPolicy,
                              StatefulSetUpdateStrategy)
    spec = sts.spec
    strategy = _default_strategy(spec.update_strategy, StatefulSetUpdateStrategy, RollingUpdateStatefulSetStrategy,
                                 {"partition": 0}, rolling_when_typed=False)
    retention = spec.persistent_volume_claim_retention_policy or StatefulSetPersistentVolumeClaimRetentionPolicy()
    retention = retention.replace(when_deleted=retention.when_deleted or "Retain",
                                  when_scaled=retention.when_scaled or "Retain")
    return _default_workload(sts, update_strategy=strategy, persistent_volume_claim_retention_policy=retention,
                             pod_management_policy=spec.pod_management_policy or "OrderedReady")


@defaulter("Job")
def default_job(job: Any, priority_classes: PriorityClassResolver) -> Any:
    """SetDefaults_Job: completions and parallelism 1 when both unset (parallelism 1 when only it is),
    backoffLimit 6, completionMode NonIndexed, suspend false, podReplacementPolicy TerminatingOrFailed;
    and the job strategy's generated selector: unless ``manualSelector``, once the Job has a uid, the
    selector is its ``batch.kubernetes.io/controller-uid`` and the template carries the uid and job-name
    labels (with their legacy unprefixed twins)."""
    from .batch import CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL
    from .labels import LabelSelector
    spec = job.spec
    changes: dict[str, Any] = {}
    if spec.completions is None and spec.parallelism is None:
        changes["completions"] = 1
    if spec.parallelism is None:
        changes["parallelism"] = 1
    if spec.backoff_limit is None:
        changes["backoff_limit"] = 6
    if spec.completion_mode is None:
        changes["completion_mode"] = "NonIndexed"
    if spec.suspend is None:
        changes["suspend"] = False
    if spec.pod_replacement_policy is None and spec.pod_failure_policy is None:
        changes["pod_replacement_policy"] = "TerminatingOrFailed"
    template = spec.template
    uid, name = job.metadata.uid, job.metadata.name
    if not spec.manual_selector and spec.selector is None and uid and template is not None:
        labels = {**template.metadata.labels, CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name or "",
                  LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name or ""}
        template = template.replace(metadata=template.metadata.replace(labels=labels))
        changes["selector"] = LabelSelector({CONTROLLER_UID_LABEL: uid})
    if template is not None:
        template = default_template(template)
        if template is not spec.template:
            changes["template"] = template
    return job.replace(spec=spec.replace(**changes)) if changes else job


@defaulter("Service")
def default_service(svc: Any, priority_classes: PriorityClassResolver) -> Any:
    """type ClusterIP, sessionAffinity None, port protocol TCP, targetPort = port."""
    spec = svc.spec
    changes: dict[str, Any] = {}
    if spec.type is None:
        changes["type"] = "ClusterIP"
    if spec.session_affinity is None:
        changes["session_affinity"] = "None"
    if any(p.protocol is None or p.target_port is None for p in spec.ports):
        changes["ports"] = [p.replace(protocol=p.protocol or "TCP",
                                      target_port=p.port if p.target_port is None else p.target_port)
                            for p in spec.ports]
    return svc.replace(spec=spec.replace(**changes)) if changes else svc


@defaulter("PriorityClass")
def default_priority_class(pc: Any, priority_classes: PriorityClassResolver) -> Any:
    """preemptionPolicy PreemptLowerPriority."""
    return pc.replace(preemption_policy="PreemptLowerPriority") if pc.preemption_policy is None else pc
