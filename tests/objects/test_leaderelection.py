"""Leader election on a Lease: client-go's rules on a fake clock, a hypothesis state machine of pauses,
resumes, releases and clock moves that never finds two leaders, and real threads on one store where
pausing or stopping the holder hands over within the lease duration and only the holder ever acts."""
from __future__ import annotations

import pathlib
import sys
import threading
import time

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import kvstore
import objects
from objects import LeaderElection
from objects.leaderelection import _micro_time, micro_time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from leader_checker import Candidate, LeadershipLog, LeaseHistory, eventually  # noqa: E402


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _registry():
    store = kvstore.open()
    return store, objects.Registry(store)


def _elector(identity: str, clock: Clock, **kw) -> LeaderElection:
    options = dict(lease_duration=15.0, renew_deadline=10.0, retry_period=2.0, clock=clock)
    options.update(kw)
    return LeaderElection(identity, "lock", **options)


# ---------------------------------------------------------------------------------------------- rules
def test_bad_configuration_is_refused_with_the_field_value_and_limit() -> None:
    with pytest.raises(objects.ValidationError) as err:
        LeaderElection("a", "lock", lease_duration=10, renew_deadline=10, retry_period=2)
    assert "leaseDuration: Invalid value: 10: must be greater than renewDeadline (10)" in str(err.value)
    with pytest.raises(objects.ValidationError) as err:
        LeaderElection("a", "lock", lease_duration=15, renew_deadline=2, retry_period=2)
    assert "renewDeadline: Invalid value: 2: must be greater than retryPeriod*JitterFactor (2.4)" in str(err.value)
    with pytest.raises(objects.ValidationError) as err:
        LeaderElection("", "lock", lease_duration=0.5, renew_deadline=0.2, retry_period=0.1)
    assert "identity: Required value" in str(err.value)
    assert "leaseDuration: Invalid value: 0.5: must be at least 1 (second)" in str(err.value)


def test_first_candidate_creates_the_lease_with_client_go_record() -> None:
    store, registry = _registry()
    clock = Clock()
    a = _elector("a", clock)
    assert not a.is_leader
    assert a.try_acquire_or_renew(registry) and a.is_leader
    lease = registry.get("Lease", "lock", "kube-system")
    assert lease.spec.holder_identity == "a"
    assert lease.spec.lease_duration_seconds == 15
    assert lease.spec.acquire_time == lease.spec.renew_time == "2023-11-14T22:13:20.000000Z"
    assert lease.spec.lease_transitions == 0
    clock.now += 2.5
    assert a.try_acquire_or_renew(registry)
    lease = registry.get("Lease", "lock", "kube-system")
    assert lease.spec.renew_time == "2023-11-14T22:13:22.500000Z"
    assert lease.spec.acquire_time == "2023-11-14T22:13:20.000000Z"  # kept while the holder renews
    store.close()


def test_expiry_is_judged_on_the_observed_time_not_the_holders_timestamps() -> None:
    store, registry = _registry()
    clock = Clock()
    # A holder whose clock is an hour behind writes a renewTime long past: that must not matter.
    skewed = Clock(clock.now - 3600)
    a = _elector("a", skewed)
    assert a.try_acquire_or_renew(registry)
    b = _elector("b", clock)
    assert not b.try_acquire_or_renew(registry)  # first sight of the record: observed now
    assert b.holder == "a"
    clock.now += 14.9
    assert not b.try_acquire_or_renew(registry)
    clock.now += 0.2  # 15.1 s after b first saw this record
    assert b.try_acquire_or_renew(registry) and b.is_leader
    lease = registry.get("Lease", "lock", "kube-system")
    assert (lease.spec.holder_identity, lease.spec.lease_transitions) == ("b", 1)
    store.close()


def test_a_renewal_restarts_the_observers_wait() -> None:
    store, registry = _registry()
    clock = Clock()
    a, b = _elector("a", clock), _elector("b", clock)
    assert a.try_acquire_or_renew(registry)
    assert not b.try_acquire_or_renew(registry)
    for _ in range(5):  # a renews every 9 s: b never sees 15 s without a change
        clock.now += 9
        assert a.try_acquire_or_renew(registry)
        assert not b.try_acquire_or_renew(registry)
    assert a.is_leader and not b.is_leader
    store.close()


def test_the_holder_steps_down_after_renew_deadline_before_anyone_can_take_over() -> None:
    store, registry = _registry()
    clock = Clock()
    a, b = _elector("a", clock), _elector("b", clock)
    assert a.try_acquire_or_renew(registry)
    assert not b.try_acquire_or_renew(registry)
    clock.now += 9.99
    assert a.is_leader
    clock.now += 0.02  # 10.01 s without a renewal
    assert not a.is_leader
    assert not b.try_acquire_or_renew(registry)  # and yet nobody else may take it before 15 s
    clock.now += 5
    assert b.try_acquire_or_renew(registry) and b.is_leader and not a.is_leader
    assert not a.try_acquire_or_renew(registry)  # a comes back: the lease is b's now
    assert a.holder == "b"
    store.close()


def test_release_lets_the_next_candidate_take_the_lease_at_once() -> None:
    store, registry = _registry()
    clock = Clock()
    a, b = _elector("a", clock), _elector("b", clock)
    assert a.try_acquire_or_renew(registry)
    assert not b.try_acquire_or_renew(registry)
    assert a.release(registry) and not a.is_leader
    lease = registry.get("Lease", "lock", "kube-system")
    assert lease.spec.holder_identity is None and lease.spec.lease_duration_seconds == 1
    assert b.try_acquire_or_renew(registry)  # no wait: the holder is empty
    assert registry.get("Lease", "lock", "kube-system").spec.lease_transitions == 1
    assert not a.release(registry)  # not the holder: nothing written
    assert registry.get("Lease", "lock", "kube-system").spec.holder_identity == "b"
    store.close()


def test_two_candidates_finding_the_lease_expired_one_wins() -> None:
    store, registry = _registry()
    clock = Clock()
    a, b, c = (_elector(n, clock) for n in "abc")
    assert a.try_acquire_or_renew(registry)
    assert not b.try_acquire_or_renew(registry) and not c.try_acquire_or_renew(registry)
    clock.now += 16
    # b read the lease, c writes before b does: b's write carries a stale resourceVersion.
    real_get = registry.get
    raced = []

    def get_then_race(*args, **kw):
        lease = real_get(*args, **kw)
        if not raced:
            raced.append(True)
            assert c.try_acquire_or_renew(registry)
        return lease
    registry.get = get_then_race
    assert not b.try_acquire_or_renew(registry)
    registry.get = real_get
    assert c.is_leader and not b.is_leader
    assert registry.get("Lease", "lock", "kube-system").spec.holder_identity == "c"
    store.close()


# ---------------------------------------------------------------------------------------------- properties
NAMES = ("a", "b", "c")


class ElectionMachine(RuleBasedStateMachine):
    """Three candidates on one store and one fake clock; any interleaving of attempts, clock moves, pauses
    (no attempts), resumes and releases. Never two leaders; every leadership interval, in store
    revisions, is disjoint from the others; a lone unpaused candidate always ends up leading."""

    def __init__(self) -> None:
        super().__init__()
        self.store, self.registry = _registry()
        self.clock = Clock()
        self.electors = {n: _elector(n, self.clock, lease_duration=3.0, renew_deadline=2.0, retry_period=0.5)
                         for n in NAMES}
        self.history = LeaseHistory(self.registry, "lock")
        self.started: dict[str, int] = {}
        self.spans: list[tuple[int, int, str]] = []

    def _track(self) -> None:
        revision = self.store.status().revision
        for name, e in self.electors.items():
            if e.is_leader and name not in self.started:
                self.started[name] = int(e.lease.metadata.resource_version)
            elif not e.is_leader and name in self.started:
                self.spans.append((self.started.pop(name), revision, name))

    @rule(seconds=st.sampled_from([0.1, 0.5, 1.0, 1.9, 2.1, 3.1]))
    def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        self._track()

    @rule(name=st.sampled_from(NAMES))
    def attempt(self, name: str) -> None:
        e = self.electors[name]
        if not e.paused:
            e.try_acquire_or_renew(self.registry)
        self._track()

    @rule(name=st.sampled_from(NAMES))
    def pause(self, name: str) -> None:
        self.electors[name].pause()

    @rule(name=st.sampled_from(NAMES))
    def resume(self, name: str) -> None:
        self.electors[name].resume()

    @rule(name=st.sampled_from(NAMES))
    def release(self, name: str) -> None:
        e = self.electors[name]
        if not e.paused:
            e.release(self.registry)
        self._track()

    @rule()
    def settle(self) -> None:
        """Everyone unpaused looks, then tries again after a full lease duration: exactly one leads (if
        anyone can try; a candidate must see the record unchanged for a lease duration before taking it)."""
        for _ in range(2):
            for e in self.electors.values():
                if not e.paused:
                    e.try_acquire_or_renew(self.registry)
            self._track()
            self.clock.now += 3.01
            self._track()
        for e in self.electors.values():
            if not e.paused:
                e.try_acquire_or_renew(self.registry)
        self._track()
        leaders = [n for n, e in self.electors.items() if e.is_leader]
        assert len(leaders) == (0 if all(e.paused for e in self.electors.values()) else 1)

    @invariant()
    def at_most_one_leader(self) -> None:
        assert sum(e.is_leader for e in self.electors.values()) <= 1

    @invariant()
    def intervals_disjoint(self) -> None:
        end = self.store.status().revision
        spans = sorted(self.spans + [(s, end, n) for n, s in self.started.items()])
        for (s1, e1, a), (s2, e2, b) in zip(spans, spans[1:]):
            assert e1 < s2, f"{a} led {s1}..{e1}, {b} acquired at {s2}"

    def teardown(self) -> None:
        self.history.collect(self.store.status().revision, timeout=5)
        self.history.check_transitions()
        self.history.stop()
        self.store.close()


TestElectionMachine = ElectionMachine.TestCase
TestElectionMachine.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)


# ---------------------------------------------------------------------------------------------- threads
def test_two_candidates_pause_and_stop_hand_over_and_only_the_holder_acts() -> None:
    store, registry = _registry()
    log = LeadershipLog(store)
    history = LeaseHistory(registry, "lock")
    a = Candidate("a", registry, log).start()
    assert eventually(lambda: a.elector.is_leader)
    b = Candidate("b", registry, log).start()
    try:
        assert eventually(lambda: a.actions > 3)
        assert not b.elector.is_leader and b.actions == 0

        # Pausing the holder (no renewals) hands over.
        # (how long the handover takes is asserted on the fake clock above, not here in wall time)
        a.elector.pause()
        assert eventually(lambda: b.elector.is_leader)
        assert not a.elector.is_leader
        assert not a.leading.is_set()
        assert eventually(lambda: b.actions > 3)
        # a comes back (resumed): the lease is b's, a stays a follower.
        a.elector.resume()
        time.sleep(0.5)
        # (the lease, not b.is_leader: that also needs b's last renewal within 1 s, which a loaded
        # machine can delay without anyone else taking over)
        assert not a.elector.is_leader
        assert registry.get("Lease", "lock", "kube-system").spec.holder_identity == "b"

        # Stopping the holder releases the lease: a takes it on its next retry, not a lease later.
        b.halt()
        assert eventually(lambda: a.elector.is_leader, timeout=20)
        assert eventually(lambda: a.actions > 6)
    finally:
        a.halt()
        b.halt()
    history.collect(store.status().revision)
    history.stop()
    # b's stop wrote the release (an empty holder) before a took the lease again; read from the history,
    # since a, retrying every 0.2 s, may take the lease before the test could read it between the two
    holders = [holder for _, holder, _ in history.records]
    assert any(first == "b" and then == "" for first, then in zip(holders, holders[1:])), holders
    history.check_transitions()
    assert [h for _, h, _ in history.records if h][:1] == ["a"]
    log.check_no_overlap(history)
    log.check_actions(history)
    assert {w for w, _ in log.actions} == {"a", "b"}
    store.close()


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                 st.floats(-1e3, 3e11),
                 st.integers(0, 253402300799).map(float),
                 st.tuples(st.integers(1_600_000_000, 1_800_000_000), st.integers(0, 999_999),
                           st.sampled_from([0.0, 0.5, 0.4999999, 0.5000001, 0.9999999]))
                 .map(lambda t: t[0] + (t[1] + t[2]) / 1e6)))
def test_micro_time_is_the_formatted_datetime(seconds) -> None:
    """The stamp of each whole second formatted once, the microseconds rounded as datetime rounds them
    (half to even, carried into the next second): the same text, or the same error, as formatting the whole
    datetime."""
    def outcome(fn):
        try:
            return fn(seconds)
        except (ValueError, OverflowError, OSError) as exc:
            return type(exc)
    assert outcome(micro_time) == outcome(_micro_time)
