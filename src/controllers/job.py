"""Job controller, as kube-controller-manager's job controller: run pods to completion.

NonIndexed: keep ``min(parallelism, completions - succeeded)`` pods active (``parallelism`` while no pod
has succeeded, for a Job without ``completions``); Complete once ``succeeded >= completions`` (or, without
completions, once a pod succeeded and none is active). Indexed: one pod per completion index 0 ..
completions-1 (``batch.kubernetes.io/job-completion-index`` annotation and label); Complete once every index
succeeded (``status.completedIndexes`` "0-2,5" as Kubernetes writes it).

Failed (and the active pods deleted) when ``backoffLimit`` is exceeded (failed pods, or container restarts
for restartPolicy OnFailure) or after ``activeDeadlineSeconds`` from ``startTime``. After failures new pods
wait an exponential backoff (10 s doubling to 6 minutes, ``pod_failure_backoff``). ``suspend`` deletes the
active pods and sets Suspended.

Difference: counts come from the pods that exist (the pre-1.26 way), without the job-tracking finalizer;
``succeeded`` and ``failed`` never go down when finished pods are deleted.
"""
from __future__ import annotations

from typing import Any

from objects import Condition

from .events import NORMAL, WARNING
from .podcontrol import BURST_REPLICAS
from .podowner import PodOwnerController
from .podstate import deletion_order, format_time, is_active, is_ready, parse_time, total_restarts
from .table import register_controller

__all__ = ["JobController", "COMPLETION_INDEX", "format_indexes", "parse_indexes"]

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
POD_FAILURE_BACKOFF, MAX_POD_FAILURE_BACKOFF = 10.0, 360.0


def format_indexes(indexes: set[int]) -> str:
    """"0-2,5,7-8": completed indexes as Kubernetes writes them."""
    out: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def parse_indexes(text: str | None) -> set[int]:
    """The indexes of "0-2,5" (bad parts are skipped: the status is ours, but be lenient)."""
    out: set[int] = set()
    for part in (text or "").split(","):
        first, _, last = part.partition("-")
        try:
            out.update(range(int(first), int(last or first) + 1))
        except ValueError:
            continue
    return out


def _index_of(pod: Any) -> int | None:
    value = pod.metadata.annotations.get(COMPLETION_INDEX) or pod.metadata.labels.get(COMPLETION_INDEX)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _finished(job: Any) -> str | None:
    for c in job.status.conditions:
        if c is not None and c.type in ("Complete", "Failed") and c.status == "True":
            return c.type  # type: ignore[no-any-return]
    return None


class JobController(PodOwnerController):
    """Runs Jobs' pods to completion; see the module documentation."""

    name = "job"
    KIND = "Job"
    SKIP_OWN_STATUS_UPDATES = True
    pod_failure_backoff = POD_FAILURE_BACKOFF

    def __init__(self, registry: Any, informers: Any, *, recorder: Any, clock: Any = None) -> None:
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self._failures_seen: dict[str, tuple[int, float]] = {}  # key -> (failed count, next create allowed)

    def min_ready_seconds_of(self, owner: Any) -> int:
        """0: a Job has no minReadySeconds."""
        return 0

    def _owner_deleted(self, owner: Any) -> None:
        self._failures_seen.pop(owner.key, None)
        super()._owner_deleted(owner)

    # ------------------------------------------------------------------ sync
    def sync(self, key: str) -> None:
        """Reconcile one Job: its pods, its conditions and counters, the deadline and backoff."""
        job = self.owners.lister.get(key)
        if job is None:
            self.expectations.delete(key)
            self._failures_seen.pop(key, None)
            return
        if job.metadata.deletion_timestamp or self.owner_is_stale(key, job):
            return
        selector = self.selector_of(job)
        if selector is None or selector.empty:
            self.recorder.event(job, WARNING, "InvalidSelector", "the Job has no selector; no pods are managed")
            return
        needs_sync = self.expectations.satisfied(key)
        pods = self.claim_pods(job, selector, active_only=False)
        active = [p for p in pods if is_active(p)]
        if _finished(job):  # finished: only pods still running (their deletion was in flight) are left to go
            self._delete_pods(job, key, active, needs_sync)
            return
        succeeded_pods = [p for p in pods if p.status.phase == "Succeeded"]
        failed_now = sum(1 for p in pods if p.status.phase == "Failed")
        status = job.status
        now = self.clock()
        spec = job.spec
        indexed = spec.completion_mode == "Indexed"
        completed_indexes: set[int] = set()
        if indexed:
            completed_indexes = parse_indexes(status.completed_indexes) | {
                i for i in (_index_of(p) for p in succeeded_pods) if i is not None}
            completed_indexes = {i for i in completed_indexes if 0 <= i < (spec.completions or 0)}
            succeeded = len(completed_indexes)
        else:
            succeeded = max(status.succeeded or 0, len(succeeded_pods))
        failed = max(status.failed or 0, failed_now)
        start_time = status.start_time or format_time(now)
        conditions = [c for c in status.conditions if c is not None]
        completion_time = status.completion_time
        error: Exception | None = None

        failure = self._failure(job, pods, failed, start_time, now)
        if spec.suspend:
            self._delete_pods(job, key, active, needs_sync)
            conditions = self._set_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now)
        elif failure is not None:
            reason, message = failure
            self._delete_pods(job, key, active, needs_sync)
            conditions = self._set_condition(conditions, "Failed", "True", reason, message, now)
            self.recorder.event(job, WARNING, reason, message)
        elif self._complete(job, succeeded, active, indexed):
            self._delete_pods(job, key, active, needs_sync)
            conditions = self._set_condition(conditions, "Complete", "True", None, None, now)
            completion_time = completion_time or format_time(now)
            self.recorder.event(job, NORMAL, "Completed", "Job completed")
        elif needs_sync:
            conditions = [c for c in conditions if c.type != "Suspended"]
            try:
                self._manage(job, key, active, succeeded, completed_indexes, failed, now)
            except Exception as exc:  # noqa: BLE001 - status first, then the backoff
                error = exc
        active_left = 0 if _finished_by(conditions) else len(active)
        new = status.replace(
            active=active_left, succeeded=succeeded, failed=failed,
            ready=sum(1 for p in active if is_ready(p)) if active_left else 0,
            start_time=start_time if not spec.suspend or status.start_time else None,
            completion_time=completion_time, conditions=conditions,
            completed_indexes=format_indexes(completed_indexes) if indexed and completed_indexes else
            (status.completed_indexes if indexed else None))
        if new != status:
            self.write_status(job, new)
        if error is not None:
            raise error
        deadline = spec.active_deadline_seconds
        if deadline is not None and not _finished_by(conditions) and not spec.suspend:
            started = parse_time(start_time) or now
            self.queue.add_after(key, max(0.0, started + deadline - now) + 0.5)

    def _failure(self, job: Any, pods: list[Any], failed: int, start_time: str, now: float) -> tuple[str, str] | None:
        spec = job.spec
        limit = spec.backoff_limit if spec.backoff_limit is not None else 6
        on_failure = spec.template is not None and spec.template.spec.restart_policy == "OnFailure"
        # kube's exceedsBackoffLimit || pastBackoffLimitOnFailure: failed pods above the limit, or (OnFailure)
        # the container restarts (every container's, init containers too, summed as kube's
        # pastBackoffLimitOnFailure does) of the pods Pending or Running reaching it (any restart when the
        # limit is 0)
        restarts = sum(total_restarts(p) for p in pods if p.status.phase in ("Pending", "Running")) \
            if on_failure else 0
        if failed > limit or (on_failure and (restarts > 0 if limit == 0 else restarts >= limit)):
            return "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        deadline = spec.active_deadline_seconds
        started = parse_time(start_time)
        if deadline is not None and started is not None and now - started >= deadline:
            return "DeadlineExceeded", "Job was active longer than specified deadline"
        return None

    @staticmethod
    def _complete(job: Any, succeeded: int, active: list[Any], indexed: bool) -> bool:
        completions = job.spec.completions
        if completions is None:
            return succeeded > 0 and not active
        return succeeded >= completions

    def _manage(self, job: Any, key: str, active: list[Any], succeeded: int, completed_indexes: set[int],
                failed: int, now: float) -> None:
        spec = job.spec
        parallelism = spec.parallelism if spec.parallelism is not None else 1
        if spec.completions is None:
            want = len(active) if succeeded > 0 else parallelism
        else:
            want = max(0, min(parallelism, spec.completions - succeeded))
        if len(active) > want:
            self._delete_pods(job, key, deletion_order(active, now)[:len(active) - want], True)
            return
        missing = want - len(active)
        if missing <= 0:
            return
        seen, allowed = self._failures_seen.get(key, (0, 0.0))
        if failed > seen:  # new failures: wait before replacing them
            allowed = now + min(self.pod_failure_backoff * 2 ** (failed - 1), MAX_POD_FAILURE_BACKOFF)
            self._failures_seen[key] = (failed, allowed)
        if failed and now < allowed:
            self.queue.add_after(key, allowed - now)
            return
        missing = min(missing, BURST_REPLICAS)
        indexes: list[int | None] = [None] * missing
        if spec.completion_mode == "Indexed":
            taken = completed_indexes | {i for i in (_index_of(p) for p in active) if i is not None}
            indexes = [i for i in range(spec.completions or 0) if i not in taken][:missing]
            missing = len(indexes)
        if not missing:
            return
        pending = iter(indexes)
        self.expectations.expect_creations(key, missing)

        def create() -> None:
            index = next(pending)
            if index is None:
                self.pod_control.create_pod(job, spec.template)
            else:
                template = spec.template.replace(metadata=spec.template.metadata.replace(
                    annotations={**spec.template.metadata.annotations, COMPLETION_INDEX: str(index)}))
                self.pod_control.create_pod(job, template, generate_name=f"{job.metadata.name}-{index}-",
                                            labels={COMPLETION_INDEX: str(index)})
        error = self.create_pods(key, missing, create)
        if error is not None:
            raise error

    def _delete_pods(self, job: Any, key: str, pods: list[Any], allowed: bool) -> None:
        if not pods or not allowed:
            return
        self.expectations.expect_deletions(key, [p.metadata.uid for p in pods])
        error = self.delete_pods(key, job, pods)
        if error is not None:
            raise error

    @staticmethod
    def _set_condition(conditions: list[Any], type_: str, status: str, reason: str | None, message: str | None,
                       now: float) -> list[Any]:
        for c in conditions:
            if c.type == type_ and c.status == status and c.reason == reason:
                return conditions
        stamp = format_time(now)
        return [c for c in conditions if c.type != type_] + [
            Condition(type=type_, status=status, reason=reason, message=message, last_probe_time=stamp,
                      last_transition_time=stamp)]


def _finished_by(conditions: list[Any]) -> bool:
    return any(c.type in ("Complete", "Failed") and c.status == "True" for c in conditions)


register_controller(JobController.name, JobController)
