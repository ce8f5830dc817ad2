"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's ``leaderelection`` semantics.

Candidates share one Lease (``<namespace>/<lease_name>``). The record in its spec says who holds it
(``holderIdentity``), for how long (``leaseDurationSeconds``), since when (``acquireTime``) and when it
was last renewed (``renewTime``, MicroTime); ``leaseTransitions`` counts changes of holder. As client-go:

* Expiry is judged on the *observed* time: a candidate remembers when it last saw the record change, by
  its own clock, and takes the lease only once ``leaseDurationSeconds`` have passed since then without a
  change (or when the holder is empty). The holder's timestamps are never compared with another clock.
* Every write is a compare-and-swap on the Lease's resourceVersion: of two candidates that both find the
  lease expired, one write wins and the other gets Conflict.
* The holder renews every ``retry_period``; one that cannot renew within ``renew_deadline`` steps down.
* On stop, a holder with ``release_on_cancel`` writes an empty holder, so the next candidate takes the
  lease at once instead of waiting out the lease duration.

Stricter than client-go, so that a paused holder can never overlap the next one: ``is_leader`` is true
only while ``clock() < start of the last successful acquire/renew + renew_deadline``. Another candidate
can take the lease no earlier than ``lease_duration`` after the change it observed, which it observed no
earlier than that start; since ``renew_deadline < lease_duration``, the old holder's ``is_leader`` has
turned false before (given clocks that advance at the same rate). client-go's holder instead acts until
its renew loop notices the failure, up to ``retry_period + renew_deadline`` after its last renewal.

``run`` campaigns again after losing the lease, until ``stop``: in-process components re-join, where
kube-scheduler and kube-controller-manager exit on a lost lease and are restarted by their supervisor.
"""
from __future__ import annotations

import datetime
import logging
import math
import random
import threading
import time
from typing import Any, Callable

from .errors import AlreadyExists, Conflict, FieldError, NotFound, ObjectsError, ValidationError

__all__ = ["LeaderElection", "JITTER_FACTOR", "micro_time"]

log = logging.getLogger(__name__)

# wait.JitterUntil's factor in client-go's acquire loop: each retry waits retry_period * [1, 1 + 1.2).
JITTER_FACTOR = 1.2


_last_second: tuple[float, str] = (-1.0, "")  # (whole second, its text up to the seconds): asked in a row


def micro_time(seconds: float) -> str:
    """A metav1.MicroTime string ("2024-05-01T10:00:00.123456Z") for seconds since the epoch.

    The microseconds are ``datetime.fromtimestamp``'s (the fraction rounded half to even, a carry into the
    next second), the text of each whole second formatted once: 500 node Lease renewals a second at 5,000
    hollow nodes stamp the same second, and formatting the whole datetime was an eighth of a renewal."""
    global _last_second
    if not 0 <= seconds < 253402300800.0:  # outside year 1970..9999: as datetime does it (or fails)
        return _micro_time(seconds)
    frac, whole = math.modf(seconds)
    micros = round(frac * 1e6)  # half to even, as datetime's _PyTime_ROUND_HALF_EVEN
    if micros >= 1000000:
        micros -= 1000000
        whole += 1.0
    last = _last_second  # one read: another thread may replace it meanwhile (with a pair as consistent)
    if last[0] != whole:
        if whole >= 253402300800.0:
            return _micro_time(seconds)
        text = datetime.datetime.fromtimestamp(whole, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        last = _last_second = (whole, text)
    return f"{last[1]}.{micros:06d}Z"


def _micro_time(seconds: float) -> str:
    """``micro_time`` by formatting the whole datetime (the reference the fast one is tested against)."""
    stamp = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElection:
    """One candidate for the Lease ``namespace/lease_name`` (see the module docstring).

    ``clock`` gives seconds for both the stamps written and the durations measured; by default the stamps
    are ``time.time`` and the durations ``time.monotonic`` (client-go's time.Now carries a monotonic
    reading), so a step of the wall clock changes no judgement. ``run`` waits in real time, so a test that
    moves a fake clock calls :meth:`try_acquire_or_renew` itself. :meth:`pause` stops renewing, as a SIGSTOP'd
    process would (the callbacks' work goes on, and ``is_leader`` turns false after ``renew_deadline``).
    """

    def __init__(self, identity: str, lease_name: str, *, namespace: str = "kube-system",
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 clock: Callable[[], float] | None = None, release_on_cancel: bool = True) -> None:
        errors = []
        if not isinstance(identity, str) or not identity:
            errors.append(FieldError("identity", "", type="Required value"))
        if not isinstance(lease_name, str) or not lease_name:
            errors.append(FieldError("leaseName", "", type="Required value"))
        if not lease_duration >= 1:  # leaseDurationSeconds is a whole number of seconds, at least 1
            errors.append(FieldError("leaseDuration", "must be at least 1 (second)", lease_duration))
        if not renew_deadline > 0:
            errors.append(FieldError("renewDeadline", "must be greater than zero", renew_deadline))
        if not retry_period > 0:
            errors.append(FieldError("retryPeriod", "must be greater than zero", retry_period))
        if not lease_duration > renew_deadline:
            errors.append(FieldError("leaseDuration", f"must be greater than renewDeadline ({renew_deadline})",
                                     lease_duration))
        if not renew_deadline > JITTER_FACTOR * retry_period:
            errors.append(FieldError("renewDeadline", f"must be greater than retryPeriod*JitterFactor "
                                     f"({JITTER_FACTOR * retry_period:g})", renew_deadline))
        if errors:
            raise ValidationError(errors)
        self.identity = identity
        self.lease_name = lease_name
        self.namespace = namespace
        self.lease_duration = float(lease_duration)
        self.renew_deadline = float(renew_deadline)
        self.retry_period = float(retry_period)
        self.release_on_cancel = release_on_cancel
        self._clock = clock or time.monotonic   # durations: is_leader, expiry since observed, the run loop
        self._wall = clock or time.time         # the MicroTime stamps written in the record
        self._lock = threading.RLock()
        self._observed: Any = None          # the Lease as last read or written
        self._observed_record: dict[str, Any] | None = None
        self._observed_time = 0.0           # own clock, when the record was last seen to change
        self._renewed_at: float | None = None  # start of the last successful acquire / renew
        self._paused = threading.Event()
        self._wake = threading.Event()

    # ------------------------------------------------------------------ state
    def _now(self) -> float:
        # Whole microseconds, as MicroTime keeps them: what is written is what is compared.
        return math.floor(self._clock() * 1_000_000) / 1_000_000

    @property
    def holder(self) -> str:
        """The holder identity in the record as last observed ("" when none): client-go's GetLeader()."""
        record = self._observed_record
        return str(record.get("holderIdentity") or "") if record else ""

    @property
    def is_leader(self) -> bool:
        """True while this candidate holds the lease and its last renewal is within ``renew_deadline``."""
        with self._lock:
            renewed = self._renewed_at
            return renewed is not None and self.holder == self.identity and \
                self._clock() < renewed + self.renew_deadline

    @property
    def lease(self) -> Any:
        """The Lease as this candidate last read or wrote it (None before the first attempt)."""
        return self._observed

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def pause(self) -> None:
        """Stop renewing (and campaigning) until :meth:`resume`, as a SIGSTOP'd process would."""
        self._paused.set()

    def resume(self) -> None:
        """Renew and campaign again."""
        self._paused.clear()
        self._wake.set()

    def _lease_valid(self, now: float) -> bool:
        record = self._observed_record or {}
        return self._observed_time + float(record.get("leaseDurationSeconds") or 0) > now

    def _observe(self, lease: Any, now: float) -> None:
        from .codec import to_dict
        record = to_dict(lease.spec)
        if record != self._observed_record:
            self._observed_record = record
            self._observed_time = now
        self._observed = lease

    def _written(self, lease: Any, started: float) -> None:
        from .codec import to_dict
        self._observed = lease
        self._observed_record = to_dict(lease.spec)
        self._observed_time = started
        self._renewed_at = started

    def _record(self, now: float, acquire_time: str | None, transitions: int) -> dict[str, Any]:
        stamp = micro_time(self._wall() if self._wall is not self._clock else now)
        return {"holderIdentity": self.identity, "leaseDurationSeconds": math.ceil(self.lease_duration),
                "acquireTime": acquire_time or stamp, "renewTime": stamp, "leaseTransitions": transitions}

    def _lease_object(self, spec: dict[str, Any], metadata: dict[str, Any]) -> Any:
        from .codec import from_dict
        return from_dict({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
                          "spec": spec})

    # ------------------------------------------------------------------ one attempt
    def try_acquire_or_renew(self, registry: Any) -> bool:
        """One attempt to take or renew the lease (client-go's tryAcquireOrRenew); True when held after it.

        Registry errors other than Conflict / NotFound / AlreadyExists propagate; those three mean
        another candidate wrote first: the attempt fails and the next one reads again."""
        with self._lock:
            now = self._now()
            # Fast path: still the holder and the lease valid: renew on the copy held, no read.
            held = self._observed
            if held is not None and self.holder == self.identity and self._lease_valid(now):
                record = self._observed_record or {}
                spec = self._record(now, record.get("acquireTime"), int(record.get("leaseTransitions") or 0))
                try:
                    lease = registry.update(self._lease_object(spec, {
                        "name": self.lease_name, "namespace": self.namespace,
                        "resourceVersion": held.metadata.resource_version}))
                except (Conflict, NotFound):
                    pass  # someone else wrote: read and judge on the slow path
                else:
                    self._written(lease, now)
                    return True
            try:
                current = registry.get("Lease", self.lease_name, self.namespace)
            except NotFound:
                try:
                    lease = registry.create(self._lease_object(self._record(now, None, 0), {
                        "name": self.lease_name, "namespace": self.namespace}))
                except AlreadyExists:
                    return False
                self._written(lease, now)
                return True
            self._observe(current, now)
            record = self._observed_record or {}
            holder = str(record.get("holderIdentity") or "")
            if holder and holder != self.identity and self._lease_valid(now):
                return False  # held by another and not expired by our observation
            transitions = int(record.get("leaseTransitions") or 0)
            if holder == self.identity:
                spec = self._record(now, record.get("acquireTime"), transitions)
            else:
                spec = self._record(now, None, transitions + 1)
            try:
                lease = registry.update(self._lease_object(spec, {
                    "name": self.lease_name, "namespace": self.namespace,
                    "resourceVersion": current.metadata.resource_version}))
            except (Conflict, NotFound):
                return False
            self._written(lease, now)
            return True

    def release(self, registry: Any) -> bool:
        """Give the lease up if held: an empty holder, so the next candidate takes it at once (client-go's
        release: leaseDurationSeconds 1, the transitions kept). True when released."""
        with self._lock:
            held = self._observed
            if held is None or self.holder != self.identity:
                return False
            now = self._now()
            record = self._observed_record or {}
            stamp = micro_time(self._wall() if self._wall is not self._clock else now)
            spec = {"leaseDurationSeconds": 1, "acquireTime": stamp, "renewTime": stamp,
                    "leaseTransitions": int(record.get("leaseTransitions") or 0)}
            self._renewed_at = None  # no longer acting, whether or not the write lands
            try:
                lease = registry.update(self._lease_object(spec, {
                    "name": self.lease_name, "namespace": self.namespace,
                    "resourceVersion": held.metadata.resource_version}))
            except ObjectsError:
                return False
            self._observe(lease, now)
            return True

    # ------------------------------------------------------------------ the loop
    def run(self, registry: Any, on_started_leading: Callable[[], Any] | None,
            on_stopped_leading: Callable[[], Any] | None, stop: threading.Event) -> None:
        """Campaign, lead, and campaign again when the lease is lost, until ``stop`` is set.

        ``on_started_leading`` runs on a thread of its own each time the lease is taken (client-go runs it
        in a goroutine), so a slow start (informers listing) does not hold up the renewals;
        ``on_stopped_leading`` runs on this thread once for each of those, after it returned, when the
        lease is lost or (after releasing it) when ``stop`` ends the run.
        """
        starter: threading.Thread | None = None

        def stopped() -> None:
            if starter is not None:
                starter.join()
            if on_stopped_leading is not None:
                on_stopped_leading()
        try:
            while not stop.is_set():
                if starter is None:
                    if not self.paused and self._attempt(registry):
                        starter = threading.Thread(target=on_started_leading or (lambda: None), daemon=True,
                                                   name=f"leading-{self.identity}")
                        starter.start()
                        continue
                    # wait.JitterUntil(retryPeriod, 1.2): candidates do not retry in lock-step.
                    self._sleep(stop, self.retry_period * (1 + random.random() * JITTER_FACTOR))
                    continue
                deadline = (self._renewed_at or 0.0) + self.renew_deadline
                self._sleep(stop, max(0.0, min(self.retry_period, deadline - self._clock())))
                if stop.is_set():
                    break
                if not self.paused and self._clock() < deadline:
                    self._attempt(registry)
                if not self.is_leader:
                    stopped()
                    starter = None
        finally:
            if starter is not None:
                if self.release_on_cancel and not self.paused:
                    try:
                        self.release(registry)
                    except Exception:  # noqa: BLE001 - releasing is a courtesy; the lease expires anyway
                        log.warning("leader election %s/%s: release by %s failed", self.namespace,
                                    self.lease_name, self.identity, exc_info=True)
                self._renewed_at = None
                stopped()

    def _attempt(self, registry: Any) -> bool:
        try:
            return self.try_acquire_or_renew(registry)
        except Exception:  # noqa: BLE001 - a store that is down or closing: a failed attempt, as client-go
            log.warning("leader election %s/%s: attempt by %s failed", self.namespace, self.lease_name,
                        self.identity, exc_info=True)
            return False

    def _sleep(self, stop: threading.Event, seconds: float) -> None:
        # Waits in slices so that resume() ends the wait too, not only stop.
        end = time.monotonic() + seconds
        while not stop.is_set() and not self._wake.is_set():
            left = end - time.monotonic()
            if left <= 0:
                break
            stop.wait(min(left, 0.05))
        self._wake.clear()
