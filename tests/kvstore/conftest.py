"""Fixtures for the kvstore core tests: an in-memory store driven by a fake clock (tests never sleep)."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import kvstore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the etcd helper modules
from etcd_store import BACKENDS, etcd_store  # noqa: E402


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


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[kvstore.Store]:
    """The store contract runs on the embedded store and on ``kvstore.connect()`` to a real etcd."""
    if request.param == "embedded":
        with kvstore.open(clock=clock) as opened:
            yield opened
        return
    if request.node.get_closest_marker("embedded_only"):
        pytest.skip(f"embedded store only: {request.node.get_closest_marker('embedded_only').args[0]}")
    if "clock" in request.fixturenames and request.node.get_closest_marker("clock_free") is None:
        # asked for by the test itself (the fixture above always is): lease time moves only in the embedded store
        if _uses_clock(request):
            pytest.skip("moves the injected clock: etcd's lessor runs on etcd's own clock")
    with etcd_store() as connected:
        yield connected


def _uses_clock(request: pytest.FixtureRequest) -> bool:
    import inspect

    return "clock" in inspect.signature(request.function).parameters
