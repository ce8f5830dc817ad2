"""ControllerExpectations against a model: counts, uids, observations, the 5-minute TTL."""
from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from controllers import EXPECTATIONS_TTL, ControllerExpectations

from ctrl_helpers import FakeClock

KEYS = st.sampled_from(["ns/a", "ns/b"])
UIDS = st.sampled_from(["u1", "u2", "u3"])


class ExpectationsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(0.0)
        self.exp = ControllerExpectations(clock=self.clock)
        self.model: dict[str, list] = {}  # key -> [add, set(uids), timestamp]

    @rule(key=KEYS, n=st.integers(0, 3))
    def expect_creations(self, key: str, n: int) -> None:
        self.exp.expect_creations(key, n)
        self.model[key] = [n, set(), self.clock.now]

    @rule(key=KEYS, uids=st.sets(UIDS))
    def expect_deletions(self, key: str, uids: set) -> None:
        self.exp.expect_deletions(key, uids)
        self.model[key] = [0, set(uids), self.clock.now]

    @rule(key=KEYS)
    def creation_observed(self, key: str) -> None:
        self.exp.creation_observed(key)
        if key in self.model and self.model[key][0] > 0:
            self.model[key][0] -= 1

    @rule(key=KEYS, uid=UIDS)
    def deletion_observed(self, key: str, uid: str) -> None:
        self.exp.deletion_observed(key, uid)
        if key in self.model:
            self.model[key][1].discard(uid)

    @rule(seconds=st.sampled_from([1.0, 60.0, 299.0, 301.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        self.exp.delete(key)
        self.model.pop(key, None)

    @invariant()
    def satisfied_as_the_model(self) -> None:
        for key in ("ns/a", "ns/b"):
            entry = self.model.get(key)
            expected = entry is None or (entry[0] <= 0 and not entry[1]) or \
                self.clock.now - entry[2] > EXPECTATIONS_TTL
            assert self.exp.satisfied(key) == expected
            add, uids = self.exp.pending(key)
            assert (add, set(uids)) == ((0, set()) if entry is None else (entry[0], entry[1]))


ExpectationsMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestExpectations = ExpectationsMachine.TestCase


def test_pending_creations_block_until_observed_or_expired():
    clock = FakeClock(0.0)
    exp = ControllerExpectations(clock=clock)
    assert exp.satisfied("ns/rs")  # never expected anything
    exp.expect_creations("ns/rs", 2)
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", ["u1"])
    exp.deletion_observed("ns/rs", "other")  # another pod's deletion does not count
    assert not exp.satisfied("ns/rs")
    clock.advance(EXPECTATIONS_TTL + 1)
    assert exp.satisfied("ns/rs")  # a lost event cannot wedge the controller


def test_negative_count_is_refused():
    with pytest.raises(ValueError, match="count -1"):
        ControllerExpectations().expect_creations("k", -1)
