"""Checkers for leader election tests (not a test module): the Lease's history from a watch, and a log of
every acquire / loss and every action a candidate took, each with the store revision, checked for overlap;
and the bounded wait those tests assert with."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import objects


def eventually(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02) -> bool:
    """Whether ``predicate()`` turns truthy within ``timeout`` seconds (polled every ``interval``), for
    ``assert eventually(...)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class LeaseHistory:
    """Every write of one Lease, in revision order, read from a watch opened before the candidates start."""

    def __init__(self, registry: Any, name: str, namespace: str = "kube-system") -> None:
        self.name = name
        revision = registry.store.status().revision
        self._stream = registry.watch("Lease", namespace, resource_version=str(revision))
        self.records: list[tuple[int, str, int]] = []  # (revision, holder, leaseTransitions)

    def collect(self, until_revision: int, timeout: float = 30.0) -> None:
        """Read events until the history reaches ``until_revision`` (bounded by ``timeout``)."""
        import time
        deadline = time.monotonic() + timeout
        self._stream.request_bookmark()
        while time.monotonic() < deadline:
            if self.records and self.records[-1][0] >= until_revision:
                return
            event = self._stream.get(0.2)
            if event is None:
                self._stream.request_bookmark()
                continue
            if event.type == "BOOKMARK":
                if int(event.resource_version) >= until_revision:
                    return
                self._stream.request_bookmark()
                continue
            if event.object.metadata.name == self.name:
                spec = event.object.spec
                self.records.append((int(event.resource_version), spec.holder_identity or "",
                                     spec.lease_transitions or 0))
        raise AssertionError(f"the Lease history did not reach revision {until_revision} in {timeout} s")

    def holder_at(self, revision: int) -> str:
        holder = ""
        for rev, who, _ in self.records:
            if rev > revision:
                break
            holder = who
        return holder

    def check_transitions(self) -> None:
        """leaseTransitions grows by one exactly when a new non-empty holder takes the lease."""
        for (_, old, old_n), (rev, new, new_n) in zip(self.records, self.records[1:]):
            expected = old_n + (1 if new and new != old else 0)
            assert new_n == expected, f"revision {rev}: {old!r}->{new!r} transitions {old_n}->{new_n}"

    def stop(self) -> None:
        self._stream.stop()


class LeadershipLog:
    """Acquire / loss of every candidate with the store revision; checks that no two intervals overlap."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, int]] = []  # (identity, "acquire" | "loss", revision)
        self.actions: list[tuple[str, int]] = []      # (identity, revision of the write it made)

    def callbacks(self, elector: Any) -> tuple[Any, Any]:
        def started() -> None:
            with self.lock:
                self.events.append((elector.identity, "acquire", int(elector.lease.metadata.resource_version)))

        def stopped() -> None:
            with self.lock:
                self.events.append((elector.identity, "loss", self.store.status().revision))
        return started, stopped

    def acted(self, identity: str, revision: int) -> None:
        with self.lock:
            self.actions.append((identity, revision))

    def intervals(self, history: "LeaseHistory | None" = None) -> list[tuple[int, int, str]]:
        """(first revision, last revision, identity) of every term. Without ``history`` a term ends at the
        store revision when ``on_stopped_leading`` ran; with it, at the candidate's last write in the term
        (an action or a renewal of the lease): what it actually did as leader, which a callback that runs
        late (its thread held up in a slow write) cannot blur."""
        open_: dict[str, int] = {}
        terms: list[tuple[int, int, str]] = []
        for who, what, rev in self.events:
            if what == "acquire":
                assert who not in open_, f"{who} acquired twice without a loss"
                open_[who] = rev
            else:
                assert who in open_, f"{who} lost a lease it did not hold"
                terms.append((open_.pop(who), rev, who))
        end = self.store.status().revision
        terms += [(start, end, who) for who, start in open_.items()]
        if history is None:
            return sorted(terms)
        effective = []
        for start, _, who in terms:
            later = [s for s, _, w in terms if w == who and s > start]
            until = min(later) if later else end + 1
            writes = [rev for w, rev in self.actions if w == who and start <= rev < until]
            writes += [rev for rev, holder, _ in history.records if holder == who and start <= rev < until]
            effective.append((start, max(writes, default=start), who))
        return sorted(effective)

    def check_no_overlap(self, history: "LeaseHistory | None" = None) -> None:
        """No term starts before the previous one ended (see ``intervals``)."""
        spans = self.intervals(history)
        for (s1, e1, a), (s2, e2, b) in zip(spans, spans[1:]):
            assert e1 < s2, f"{a} led revisions {s1}..{e1} and {b} acquired at {s2}: two leaders"

    def check_actions(self, history: LeaseHistory) -> None:
        """Every action was made by the holder of the lease at its revision."""
        for who, rev in self.actions:
            assert history.holder_at(rev) == who, f"{who} acted at revision {rev}, the holder was " \
                                                  f"{history.holder_at(rev)!r}"


class Candidate:
    """A LeaderElection run in a thread, with a worker that writes a ConfigMap while it is the leader."""

    def __init__(self, identity: str, registry, log: LeadershipLog, **kw) -> None:
        options = dict(lease_duration=2.0, renew_deadline=1.0, retry_period=0.2)
        options.update(kw)
        self.elector = objects.LeaderElection(identity, "lock", **options)
        self.registry = registry
        self.log = log
        self.stop = threading.Event()         # ends the elector's run (it releases the lease)
        self.stop_work = threading.Event()    # ends the worker, which halt() stops first
        started, stopped = log.callbacks(self.elector)
        self.leading = threading.Event()

        def on_started() -> None:
            started()
            self.leading.set()

        def on_stopped() -> None:
            self.leading.clear()
            stopped()
        self.thread = threading.Thread(target=self.elector.run,
                                       args=(registry, on_started, on_stopped, self.stop), daemon=True)
        self.worker = threading.Thread(target=self._work, daemon=True)
        self.actions = 0

    def _work(self) -> None:
        name = self.elector.identity
        while not self.stop_work.is_set():
            if not self.elector.is_leader:
                self.stop_work.wait(0.01)
                continue
            cm = objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "work", "namespace": "default"},
                                    "data": {"by": name, "n": str(self.actions)}})
            try:
                try:
                    written = self.registry.update(cm)
                except objects.NotFound:
                    written = self.registry.create(cm)
            except Exception:  # noqa: BLE001 - a store that is down: the action did not happen
                self.stop_work.wait(0.05)
                continue
            self.log.acted(name, int(written.metadata.resource_version))
            self.actions += 1
            self.stop_work.wait(0.02)

    def start(self) -> "Candidate":
        self.thread.start()
        self.worker.start()
        return self

    def halt(self) -> None:
        # The work stops before the elector releases the lease, as client-go's ReleaseOnCancel asks of the
        # holder: a write still in flight when the release lands would be an action by a non-holder.
        self.stop_work.set()
        self.worker.join(10)
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive() and not self.worker.is_alive()
