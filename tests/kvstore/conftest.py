"""Fixtures for the kvstore core tests: an in-memory store driven by a fake clock (tests never sleep)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

import kvstore


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


WAIT = 30.0  # a bound for what threads deliver: generous, it is only reached when the test fails anyway


def eventually(predicate: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Poll `predicate` until true (a thread's work lands); fail after `timeout` seconds on the real clock."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """`wait_for(predicate, what)`: the bounded poll above, for tests that wait on other threads."""
    return eventually


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Iterator[kvstore.Store]:
    with kvstore.open(clock=clock) as opened:
        yield opened
