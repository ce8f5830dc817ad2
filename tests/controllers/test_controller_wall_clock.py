"""A controller built without a clock keys its work queue's delays on the monotonic clock (as client-go's
delaying queue does through Go's monotonic time.Now), so a step back of the wall clock does not hold its
retries and delayed keys back for the length of the step (review finding)."""
from __future__ import annotations

import time
from typing import Iterator

import pytest

from controllers import Controller, ControllerManager, register_controller
from controllers.events import EventRecorder
from controllers.informer import SharedInformers
from controllers.table import DEFAULT_CONTROLLERS


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    yield offset


class Idle(Controller):
    name = "walltest"

    def sync(self, key: str) -> None:
        pass


def test_a_delayed_key_comes_on_time_after_the_wall_clock_steps_back(registry, wall: list[float]) -> None:
    controller = Idle(registry, SharedInformers(registry), recorder=EventRecorder(registry, "walltest", enabled=False))
    controller.queue.add_after("default/x", 0.2)
    wall[0] = -3600.0
    assert controller.queue.get(timeout=5) == "default/x"


def test_the_managers_controllers_too(registry, wall: list[float]) -> None:
    register_controller("walltest", Idle, enabled_by_default=False)
    try:
        manager = ControllerManager(registry, controllers=["walltest"], metrics=False)
        manager.start()
        try:
            queue = manager.controllers["walltest"].queue
            queue.add_after("default/y", 0.2)
            wall[0] = -3600.0
            deadline = time.monotonic() + 5
            while queue.activity and time.monotonic() < deadline and queue.next_due() is not None:
                time.sleep(0.05)
            assert queue.next_due() is None   # released (and taken by the worker), not an hour away
        finally:
            manager.stop()
    finally:
        DEFAULT_CONTROLLERS.pop("walltest", None)


def test_expectations_do_not_expire_when_the_wall_clock_steps_forward(registry, wall: list[float]) -> None:
    # a pod owner's expectations live 5 minutes (ExpectationsTimeout), measured like kube's on a monotonic
    # clock: a wall step forward must not expire them early (the controller would create again)
    from controllers.replicaset import ReplicaSetController
    controller = ReplicaSetController(registry, SharedInformers(registry),
                                      recorder=EventRecorder(registry, "rs", enabled=False))
    controller.expectations.expect_creations("default/rs", 3)
    wall[0] = 3600.0
    assert not controller.expectations.satisfied("default/rs")
