"""ControllerManager(..., leader_election=...): two managers on one store, only the lease holder's controllers
act; pausing the holder's renewals hands over within the lease duration; stopping it releases the lease.
Every write a controller makes is logged with its revision and checked against the Lease's history."""
from __future__ import annotations

import copy
import pathlib
import sys
import time

import pytest

import objects
from controllers import Controller, ControllerManager, LeaderElection, register_controller
from controllers.table import DEFAULT_CONTROLLERS

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from ctrl_helpers import config_map, wait_for  # noqa: E402
from leader_checker import LeadershipLog, LeaseHistory  # noqa: E402

LOG: dict[str, LeadershipLog] = {}


def _probe(identity: str):
    class Probe(Controller):
        """Counts on the ConfigMap "counter": every sync writes data.by=<identity>, n+1 (CAS), and comes back."""

        name = f"probe-{identity}"

        def __init__(self, registry, informers, *, recorder, clock=None):
            super().__init__(registry, informers, recorder=recorder, clock=clock)
            self.lister = informers.informer("ConfigMap").lister
            informers.informer("ConfigMap").add_handler(on_add=self.enqueue,
                                                        on_update=lambda old, new: self.enqueue_after(new, 0.02))

        def sync(self, key):
            cm = self.lister.get(key)
            if cm is None or cm.metadata.name != "counter":
                return
            mine = copy.deepcopy(cm)
            mine.data = {"by": identity, "n": str(int((cm.data or {}).get("n", "0")) + 1)}
            written = self.registry.update(mine)
            LOG["log"].acted(identity, int(written.metadata.resource_version))
    return Probe


@pytest.fixture
def probes():
    for identity in ("a", "b"):
        register_controller(f"probe-{identity}", _probe(identity), enabled_by_default=False)
    yield
    for identity in ("a", "b"):
        DEFAULT_CONTROLLERS.pop(f"probe-{identity}", None)


def _election(identity: str) -> LeaderElection:
    return LeaderElection(identity, "kube-controller-manager", lease_duration=2.0, renew_deadline=1.0,
                          retry_period=0.2)


def test_only_the_holders_controllers_act_and_a_paused_holder_hands_over(registry, probes) -> None:
    store = registry.store
    log = LOG["log"] = LeadershipLog(store)
    history = LeaseHistory(registry, "kube-controller-manager")
    elections = {n: _election(n) for n in "ab"}
    managers = {n: ControllerManager(registry, controllers=[f"probe-{n}"], leader_election=elections[n],
                                     metrics=False) for n in "ab"}
    registry.create(config_map("counter", data={"n": "0"}))
    try:
        managers["a"].start()
        wait_for(lambda: elections["a"].is_leader, message="a leads")
        managers["b"].start()
        wait_for(lambda: sum(1 for w, _ in log.actions if w == "a") > 5, message="a's controller acts")
        assert not managers["b"].running and not any(w == "b" for w, _ in log.actions)

        elections["a"].pause()
        wait_for(lambda: elections["b"].is_leader, message="b takes over")
        wait_for(lambda: not managers["a"].running, message="a's controllers stopped")
        wait_for(lambda: sum(1 for w, _ in log.actions if w == "b") > 5, message="b's controller acts")
        elections["a"].resume()

        managers["b"].stop()  # releases the lease: a takes it on its next retry
        wait_for(lambda: elections["a"].is_leader, message="a leads again")
        before = sum(1 for w, _ in log.actions if w == "a")
        wait_for(lambda: sum(1 for w, _ in log.actions if w == "a") > before + 5, message="a acts again")
    finally:
        for manager in managers.values():
            manager.stop()
    time.sleep(0.1)
    history.collect(store.status().revision)
    history.stop()
    history.check_transitions()
    log.check_actions(history)
    log.check_no_overlap(history)
    final = registry.get("ConfigMap", "counter", "default")
    assert int(final.data["n"]) == len(log.actions)  # every write counted once: no lost update
    assert objects.to_dict(registry.get("Lease", "kube-controller-manager", "kube-system"))["spec"].get(
        "holderIdentity") is None  # released on stop
