"""Fixtures for the kvstore core tests: an in-memory store driven by a fake clock (tests never sleep)."""
from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Iterator[kvstore.Store]:
    with kvstore.open(clock=clock) as opened:
        yield opened
