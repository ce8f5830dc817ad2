"""Under leader election a controller's writes are fenced: a sync still running when the lease is lost
cannot write (kube-controller-manager exits the process instead), and reads go on untouched."""
from __future__ import annotations

import copy
import pathlib
import sys
import threading

import pytest

import objects
from controllers import Controller, ControllerManager, LeaderElection, register_controller
from controllers.fencing import LeaderFencedRegistry, LeadershipLost
from controllers.table import DEFAULT_CONTROLLERS

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from ctrl_helpers import WAIT, config_map, new_registry, wait_for  # noqa: E402


class Elector:
    is_leader = True
    identity = "fake"


def test_writes_go_through_only_while_leading_reads_always() -> None:
    _, registry = new_registry()
    elector = Elector()
    fenced = LeaderFencedRegistry(registry, elector)
    fenced.create(config_map("a"))
    elector.is_leader = False
    before = registry.store.revision
    with pytest.raises(LeadershipLost) as info:
        fenced.create(config_map("b"))
    assert isinstance(info.value, objects.ObjectsError) and "no longer holds the lease" in str(info.value)
    for write in (lambda: fenced.delete("ConfigMap", "a", "default"),
                  lambda: fenced.patch("ConfigMap", "a", {"data": {"x": "1"}}, "default")):
        with pytest.raises(LeadershipLost):
            write()
    assert registry.store.revision == before
    assert fenced.get("ConfigMap", "a", "default").metadata.name == "a"
    assert [c.metadata.name for c in fenced.list("ConfigMap", all_namespaces=True).items] == ["a"]


def test_a_sync_in_flight_when_the_lease_is_lost_cannot_write() -> None:
    entered, release, outcome = threading.Event(), threading.Event(), []

    class Slow(Controller):
        name = "slow-writer"

        def __init__(self, registry, informers, *, recorder, clock=None):
            super().__init__(registry, informers, recorder=recorder, clock=clock)
            self.lister = informers.informer("ConfigMap").lister
            informers.informer("ConfigMap").add_handler(on_add=self.enqueue)

        def sync(self, key):
            cm = self.lister.get(key)
            if cm is None or outcome:
                return
            entered.set()
            release.wait(WAIT)
            mine = copy.deepcopy(cm)
            mine.data = {"written": "late"}
            try:
                self.registry.update(mine)
                outcome.append("written")
            except LeadershipLost:
                outcome.append("fenced")

    register_controller("slow-writer", Slow, enabled_by_default=False)
    store, registry = new_registry()
    election = LeaderElection("a", "fenced", lease_duration=2.0, renew_deadline=1.0, retry_period=0.2)
    manager = ControllerManager(registry, controllers=["slow-writer"], leader_election=election, metrics=False)
    try:
        registry.create(config_map("target"))
        manager.start()
        assert entered.wait(WAIT)
        election.pause()  # as SIGSTOP: no renewals; is_leader turns false after renew_deadline
        wait_for(lambda: not election.is_leader, message="leadership lost")
        release.set()
        wait_for(lambda: outcome, message="the sync's write")
        assert outcome == ["fenced"]
        assert registry.get("ConfigMap", "target", "default").data != {"written": "late"}
    finally:
        release.set()
        election.resume()
        manager.stop()
        DEFAULT_CONTROLLERS.pop("slow-writer", None)
        store.close()
