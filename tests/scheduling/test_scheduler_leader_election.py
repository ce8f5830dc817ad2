"""Scheduler.run(registry, leader_election=...): two schedulers on one store, only the lease holder binds;
pausing the holder's renewals hands scheduling over to the other within the lease duration; stopping the
holder releases the lease. Every binding is checked against the Lease's history: made by the holder."""
from __future__ import annotations

import pathlib
import sys
import threading

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from leader_checker import LeadershipLog, LeaseHistory, eventually  # noqa: E402
from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402


class RecordingRegistry:
    """The registry as one scheduler sees it: every binding it makes is logged with its revision."""

    def __init__(self, registry, identity: str, log: LeadershipLog) -> None:
        self._registry = registry
        self._identity = identity
        self._log = log

    def bind(self, *args, **kw):
        bound = self._registry.bind(*args, **kw)
        self._log.acted(self._identity, int(bound.metadata.resource_version))
        return bound

    def __getattr__(self, name):
        return getattr(self._registry, name)


class Instance:
    def __init__(self, identity: str, registry, log: LeadershipLog) -> None:
        self.election = objects.LeaderElection(identity, "kube-scheduler", lease_duration=2.0, renew_deadline=1.0,
                                               retry_period=0.2)
        self.scheduler = Scheduler()
        self.stop = threading.Event()
        self.bound: list[int] = []
        view = RecordingRegistry(registry, identity, log)
        self.thread = threading.Thread(
            target=lambda: self.bound.append(self.scheduler.run(view, stop=self.stop, timeout=60,
                                                                leader_election=self.election)),
            daemon=True)

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def _all_bound(registry, prefix: str, count: int) -> bool:
    pods = [p for p in registry.list("Pod", all_namespaces=True).items if p.metadata.name.startswith(prefix)]
    return len(pods) == count and all(p.spec.node_name for p in pods)


def test_only_the_holder_schedules_and_a_paused_holder_hands_over() -> None:
    store = kvstore.open()
    registry = objects.Registry(store)
    log = LeadershipLog(store)
    history = LeaseHistory(registry, "kube-scheduler")
    for i in range(3):
        registry.create(node(f"n{i}", cpu="8", pods=50))
    a = Instance("a", registry, log)
    b = Instance("b", registry, log)
    try:
        a.thread.start()
        assert eventually(lambda: a.election.is_leader)
        b.thread.start()
        for i in range(6):
            registry.create(pod(f"first-{i}"))
        assert eventually(lambda: _all_bound(registry, "first-", 6))
        assert {w for w, _ in log.actions} == {"a"}

        a.election.pause()  # a stops renewing (as if SIGSTOPped) but its scheduling loop goes on
        assert eventually(lambda: b.election.is_leader)
        assert not a.election.is_leader
        for i in range(6):
            registry.create(pod(f"second-{i}"))
        assert eventually(lambda: _all_bound(registry, "second-", 6))
        later = [w for w, rev in log.actions if rev > int(b.election.lease.metadata.resource_version)]
        assert set(later) == {"b"}

        a.election.resume()
        b.halt()  # releases the lease: a takes it on its next retry
        assert eventually(lambda: a.election.is_leader)
        for i in range(4):
            registry.create(pod(f"third-{i}"))
        assert eventually(lambda: _all_bound(registry, "third-", 4))
    finally:
        a.halt()
        b.halt()
    history.collect(store.status().revision)
    history.stop()
    log.check_actions(history)
    assert len(log.actions) == 16  # each pod bound once, by whoever held the lease at that revision
    assert sum(a.bound) + sum(b.bound) == 16
    store.close()
