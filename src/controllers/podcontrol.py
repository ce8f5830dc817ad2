"""Creating and deleting a controller's pods (kube-controller-manager's PodControl and slowStartBatch).

Pods are stamped from the owner's template: its labels, annotations and finalizers, its spec, a controller
ownerReference to the owner, and ``generateName`` "<owner>-" (the API server appends 5 random
characters). Each create and delete records a SuccessfulCreate / FailedCreate / SuccessfulDelete /
FailedDelete Event on the owner, as the real PodControl does.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

from objects import NotFound, ObjectMeta, Pod, Registry

from .controllerref import owner_reference
from .events import NORMAL, WARNING, EventRecorder

__all__ = ["PodControl", "pod_from_template", "slow_start_batch", "termination_grace", "SLOW_START_INITIAL_BATCH",
           "BURST_REPLICAS"]

SLOW_START_INITIAL_BATCH = 1   # SlowStartInitialBatchSize
BURST_REPLICAS = 500           # at most this many creates or deletes per sync (burstReplicas)


def pod_from_template(template: Any, owner: Any, *, name: str | None = None, generate_name: str | None = None,
                      labels: dict[str, str] | None = None) -> Pod:
    """GetPodFromTemplate: a new Pod for ``owner`` from its pod template (``labels`` are added to the
    template's)."""
    return _stamped(template, owner, copy.deepcopy(template.spec), name, generate_name, labels)


def _stamped(template: Any, owner: Any, spec: Any, name: str | None, generate_name: str | None,
             labels: dict[str, str] | None) -> Pod:
    meta = template.metadata
    return Pod(api_version="v1", kind="Pod",
               metadata=ObjectMeta(name=name, generate_name=None if name else (generate_name or f"{owner.metadata.name}-"),
                                   namespace=owner.metadata.namespace, labels={**meta.labels, **(labels or {})},
                                   annotations=dict(meta.annotations), finalizers=list(meta.finalizers),
                                   owner_references=[owner_reference(owner)]),
               spec=spec)


def slow_start_batch(count: int, fn: Callable[[], None], initial: int = SLOW_START_INITIAL_BATCH) -> tuple[int, Exception | None]:
    """Call ``fn`` ``count`` times in batches of 1, 2, 4, ... (doubling while every call succeeds); stop
    after the first batch with a failure. Returns (successes, the first error or None). A controller
    meeting a failing create (a quota, a bad template) so tries once instead of ``count`` times."""
    remaining, batch, successes = count, min(count, initial), 0
    while batch > 0:
        error: Exception | None = None
        for _ in range(batch):
            try:
                fn()
                successes += 1
            except Exception as exc:  # noqa: BLE001 - counted and returned to the caller
                error = error or exc
        if error is not None:
            return successes, error
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


DEFAULT_TERMINATION_GRACE = 30  # seconds, the pod's terminationGracePeriodSeconds default


def termination_grace(pod: Any) -> int:
    """The pod's ``terminationGracePeriodSeconds`` (kept as JSON in the spec), 30 when unset."""
    value = (pod.spec.unknown_fields or {}).get("terminationGracePeriodSeconds")
    return value if type(value) is int and value >= 0 else DEFAULT_TERMINATION_GRACE


class PodControl:
    """Writes a controller's pods through the Registry and records the Events.

    ``graceful`` (class-wide default False): delete pods with their ``terminationGracePeriodSeconds``, as
    kube-controller-manager's deletes get from the API server, so a kubelet (controllers.HollowNodes)
    stops them; False deletes at once (the Registry's default, right when no kubelet runs)."""

    graceful = False

    def __init__(self, registry: Registry, recorder: EventRecorder) -> None:
        self.registry, self.recorder = registry, recorder

    def create_pod(self, owner: Any, template: Any, *, name: str | None = None, generate_name: str | None = None,
                   labels: dict[str, str] | None = None) -> Any:
        """Create one pod from ``template`` for ``owner`` (options as :func:`pod_from_template`)."""
        # The pod goes only to Registry.create, which reads it into a fresh dict (to_dict) and never changes
        # or keeps it: sharing the template's spec instead of a deep copy per pod (at saturation the copy
        # was a quarter of a ReplicaSet worker's time) changes nothing the owner's informer cache holds.
        pod = _stamped(template, owner, template.spec, name, generate_name, labels)
        if not pod.metadata.labels:
            raise ValueError(f"{owner.kind} {owner.key}: unable to create pods, no labels")
        try:
            created = self.registry.create(pod)
        except Exception as exc:
            self.recorder.event(owner, WARNING, "FailedCreate", f"Error creating: {exc}")
            raise
        self.recorder.event(owner, NORMAL, "SuccessfulCreate", f"Created pod: {created.metadata.name}")
        return created

    def delete_pod(self, owner: Any, pod: Any) -> bool:
        """Delete ``pod`` (only the very pod read: its uid is a precondition); False if it was gone."""
        try:
            self.registry.delete("Pod", pod.metadata.name, pod.metadata.namespace, uid=pod.metadata.uid,
                                 grace_period_seconds=termination_grace(pod) if self.graceful else None)
        except NotFound:
            return False
        except Exception as exc:
            self.recorder.event(owner, WARNING, "FailedDelete", f"Error deleting: {exc}")
            raise
        self.recorder.event(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}")
        return True
