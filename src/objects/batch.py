"""batch/v1 Job: pods that run to completion, ``completions`` of them, ``parallelism`` at a time."""
from __future__ import annotations

from typing import Any

from .apps import PodTemplateSpec
from .errors import FieldError
from .fieldtypes import INT64, Bool, Enum, Errors, Int, ListOf, Raw, Str, join
from .labels import LabelSelector
from .meta import Condition, KubeObject, attach_kind, spec_and_status
from .schema import Field, Model, model
from .validation import timestamp

__all__ = ["JobSpec", "JobStatus", "Job", "JOB_RESTART_POLICIES", "CONTROLLER_UID_LABEL", "JOB_NAME_LABEL"]

COUNT = Int(0)
JOB_RESTART_POLICIES = ("OnFailure", "Never")
# The labels the API server puts on a Job's template when it generates the selector (and their legacy twins).
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"


@model
class JobSpec(Model):
    """``spec`` of a Job. Without ``manualSelector`` the API server generates the selector from the uid."""

    FIELDS = (
        Field("parallelism", COUNT),
        Field("completions", COUNT),
        Field("active_deadline_seconds", Int(0, INT64[1])),
        Field("pod_failure_policy", Raw()),
        Field("backoff_limit", COUNT),
        Field("backoff_limit_per_index", COUNT),
        Field("max_failed_indexes", COUNT),
        Field("selector", LabelSelector),
        Field("manual_selector", Bool()),
        Field("template", PodTemplateSpec),
        Field("ttl_seconds_after_finished", COUNT),
        Field("completion_mode", Enum("NonIndexed", "Indexed")),
        Field("suspend", Bool()),
        Field("pod_replacement_policy", Enum("TerminatingOrFailed", "Failed")),
    )
    parallelism: int | None
    completions: int | None
    active_deadline_seconds: int | None
    pod_failure_policy: Any
    backoff_limit: int | None
    backoff_limit_per_index: int | None
    max_failed_indexes: int | None
    selector: LabelSelector | None
    manual_selector: bool | None
    template: PodTemplateSpec | None
    ttl_seconds_after_finished: int | None
    completion_mode: str | None
    suspend: bool | None
    pod_replacement_policy: str | None

    def validate(self, path: str, errs: Errors) -> None:
        template = self.template
        if template is None:
            errs.append(FieldError(join(path, "template"), "", None, "Required value"))
        else:
            policy = template.spec.restart_policy
            supported = 'supported values: "OnFailure", "Never"'
            if policy is None:
                errs.append(FieldError(join(path, "template.spec.restartPolicy"), supported, None, "Required value"))
            elif policy not in JOB_RESTART_POLICIES:
                errs.append(FieldError(join(path, "template.spec.restartPolicy"), supported, policy,
                                       "Unsupported value"))
        if self.manual_selector and self.selector is None:
            errs.append(FieldError(join(path, "selector"), "", None, "Required value"))
        if self.selector is not None:
            if self.selector.empty:
                errs.append(FieldError(join(path, "selector"), "empty selector is invalid for job", "{}"))
            elif template is not None and not self.selector.matches(template.metadata.labels):
                errs.append(FieldError(join(path, "template.metadata.labels"),
                                       "`selector` does not match template `labels`", str(template.metadata.labels)))
        if self.completion_mode == "Indexed" and self.completions is None:
            errs.append(FieldError(join(path, "completions"), "when completion mode is Indexed", None,
                                   "Required value"))


@model
class JobStatus(Model):
    """``status`` of a Job: pod counts, Complete / Failed / Suspended conditions, start and end times."""

    FIELDS = (
        Field("conditions", ListOf(Condition)),
        Field("start_time", Str(timestamp)),
        Field("completion_time", Str(timestamp)),
        Field("active", COUNT),
        Field("succeeded", COUNT),
        Field("failed", COUNT),
        Field("terminating", COUNT),
        Field("ready", COUNT),
        Field("completed_indexes", Str()),
        Field("failed_indexes", Str()),
        Field("uncounted_terminated_pods", Raw()),
    )
    conditions: list[Condition]
    start_time: str | None
    completion_time: str | None
    active: int | None
    succeeded: int | None
    failed: int | None
    terminating: int | None
    ready: int | None
    completed_indexes: str | None
    failed_indexes: str | None
    uncounted_terminated_pods: Any


@model
class Job(KubeObject):
    """A Job (batch/v1)."""

    FIELDS = spec_and_status(JobSpec, JobStatus)
    spec: JobSpec
    status: JobStatus


attach_kind(Job, "batch/v1", "Job", "jobs")
