"""Without a clock given, LeaderElection measures its durations (is_leader's renew deadline, a lease's
expiry since it was observed) on the monotonic clock, as client-go does (Go's time.Now carries a
monotonic reading that Sub/Before use), and writes wall-clock MicroTime stamps: a step of the wall clock
(NTP, a VM resumed) neither keeps a holder that stopped renewing acting past its deadline nor makes a
candidate take a lease early (review finding)."""
from __future__ import annotations

import time
from typing import Iterator

import pytest

import kvstore
import objects
from objects import LeaderElection
from objects import leaderelection as module


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """A wall clock the test can step: time.time() plus the offset held in the list."""
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(module.time, "time", lambda: real() + offset[0])
    yield offset


def _elector(identity: str) -> LeaderElection:
    return LeaderElection(identity, "lock", lease_duration=2.0, renew_deadline=0.5, retry_period=0.2)


def test_a_wall_clock_step_back_does_not_extend_a_paused_holders_leadership(wall: list[float]) -> None:
    store = kvstore.open()
    try:
        registry = objects.Registry(store)
        holder = _elector("a")
        assert holder.try_acquire_or_renew(registry) and holder.is_leader
        wall[0] = -3600.0               # the wall clock steps an hour back; nothing renews any more
        deadline = time.monotonic() + 5
        while holder.is_leader and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not holder.is_leader     # renew_deadline (0.5 s) has passed, whatever the wall clock says
    finally:
        store.close()


def test_a_wall_clock_step_forward_does_not_let_a_candidate_take_a_held_lease(wall: list[float]) -> None:
    store = kvstore.open()
    try:
        registry = objects.Registry(store)
        holder, candidate = _elector("a"), _elector("b")
        assert holder.try_acquire_or_renew(registry)
        assert not candidate.try_acquire_or_renew(registry)   # observed now: valid for 2 s from here
        wall[0] = 3600.0                # the candidate's wall clock steps an hour forward
        assert not candidate.try_acquire_or_renew(registry)
        assert holder.is_leader and candidate.holder == "a"
        assert holder.try_acquire_or_renew(registry)        # renewals stamp the (stepped) wall clock
        renew = objects.to_dict(registry.get("Lease", "lock", "kube-system"))["spec"]["renewTime"]
        assert renew[:13] == time.strftime("%Y-%m-%dT%H", time.gmtime(time.time()))
    finally:
        store.close()
