"""ControllerManager: the controller table, workers, retries with backoff, wait_idle, metrics."""
from __future__ import annotations

import copy
import threading
import urllib.request

import pytest

from controllers import Controller, ControllerManager, MetricsUnavailable, register_controller, resolve_controllers
from controllers.table import DEFAULT_CONTROLLERS

from ctrl_helpers import WAIT, config_map


class LabelController(Controller):
    """A toy controller: labels every ConfigMap seen=yes; fails the first sync of a ConfigMap named fail-*."""

    name = "labeltest"

    def __init__(self, registry, informers, *, recorder, clock=None):
        super().__init__(registry, informers, recorder=recorder, clock=clock)
        self.lister = informers.informer("ConfigMap").lister
        informers.informer("ConfigMap").add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))
        self.failed: set[str] = set()
        self.concurrent: set[str] = set()
        self.overlap = False
        self.lock = threading.Lock()

    def sync(self, key):
        with self.lock:
            self.overlap |= key in self.concurrent
            self.concurrent.add(key)
        try:
            cm = self.lister.get(key)
            if cm is None or cm.metadata.labels.get("seen") == "yes":
                return
            if cm.metadata.name.startswith("fail-") and key not in self.failed:
                self.failed.add(key)
                self.recorder.event(cm, "Warning", "NotYet", "failing once on purpose")
                raise RuntimeError("failing once on purpose")
            mine = copy.deepcopy(cm)
            mine.metadata.labels["seen"] = "yes"
            self.registry.update(mine)  # carries the resourceVersion read: Conflict if stale
        finally:
            with self.lock:
                self.concurrent.discard(key)


@pytest.fixture
def table():
    register_controller("labeltest", LabelController)
    yield
    DEFAULT_CONTROLLERS.pop("labeltest", None)


@pytest.fixture
def manager(registry, table):
    managers = []

    def make(**options):
        m = ControllerManager(registry, controllers=["labeltest"], **options)
        managers.append(m)
        return m
    yield make
    for m in managers:
        m.stop()


def test_controllers_converge_and_retry_failures(registry, manager):
    for i in range(20):
        registry.create(config_map(f"cm-{i}"))
    registry.create(config_map("fail-1"))
    m = manager(workers=3)
    m.start()
    assert m.wait_idle(WAIT)
    labels = {c.metadata.name: c.metadata.labels.get("seen") for c in registry.list("ConfigMap", all_namespaces=True).items}
    assert set(labels.values()) == {"yes"} and len(labels) == 21
    controller = m.controllers["labeltest"]
    assert controller.failed == {"default/fail-1"} and not controller.overlap
    assert controller.queue.num_requeues("default/fail-1") == 0  # forgotten after the successful retry
    text = m.metrics_text()
    assert 'workqueue_retries_total{name="labeltest"} 1.0' in text
    assert 'workqueue_adds_total{name="labeltest"}' in text
    assert 'controller_sync_total{name="labeltest",result="error"} 1.0' in text
    assert 'workqueue_work_duration_seconds_count{name="labeltest"}' in text
    warnings = [e for e in registry.list("Event", all_namespaces=True).items if e.reason == "NotYet"]
    assert len(warnings) == 1 and warnings[0].source.component == "labeltest-controller"
    # later changes are picked up too
    registry.create(config_map("late"))
    assert m.wait_idle(WAIT)
    assert registry.get("ConfigMap", "late", "default").metadata.labels == {"seen": "yes"}


def test_stop_ends_every_thread(registry, manager):
    m = manager(workers=2)
    m.start()
    assert m.wait_idle(WAIT)
    names = {t.name for t in threading.enumerate()}
    assert "labeltest-worker-1" in names
    m.stop()
    alive = {t.name for t in threading.enumerate()}
    assert not any(n.startswith(("labeltest-", "informer-")) for n in alive), alive
    assert not m.running


def test_serve_metrics_on_loopback_only(registry, manager):
    m = manager()
    m.start()
    with pytest.raises(ValueError, match="loopback"):
        m.serve_metrics(0, addr="0.0.0.0")
    port = m.serve_metrics(0)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT).read().decode()
    assert "workqueue_depth" in body


def test_metrics_can_be_off(registry, manager):
    m = manager(metrics=False)
    with pytest.raises(MetricsUnavailable):
        m.metrics_text()


def test_controller_names_are_checked(registry, table):
    assert "labeltest" in resolve_controllers(None)
    assert "labeltest" not in resolve_controllers(["*", "-labeltest"])
    with pytest.raises(ValueError, match="unknown controller 'nope'"):
        ControllerManager(registry, controllers=["nope"])
    with pytest.raises(ValueError, match="workers"):
        ControllerManager(registry, controllers=["labeltest"], workers=0)


def test_controller_options_a_controller_does_not_take_are_refused_at_once(registry):
    # Checked when the manager is built: under leader election the controllers are built on the elector's
    # thread, where the TypeError only ended that thread and the manager went on holding the lease with
    # no controller running.
    with pytest.raises(ValueError, match=r"controller_options\['job'\].*bogus"):
        ControllerManager(registry, controllers=["job"], metrics=False, controller_options={"job": {"bogus": 1}})
    ControllerManager(registry, controllers=["nodelifecycle"], metrics=False,
                      controller_options={"nodelifecycle": {"node_monitor_grace_period": 20}})


def test_a_leader_whose_controllers_cannot_start_gives_the_lease_up(registry):
    from controllers import LeaderElection
    from ctrl_helpers import wait_for
    election = LeaderElection("a", "kcm-broken", lease_duration=2.0, renew_deadline=1.0, retry_period=0.2)
    manager = ControllerManager(registry, controllers=["nodelifecycle"], metrics=False, leader_election=election,
                                controller_options={"nodelifecycle": {"node_monitor_grace_period": 0}})
    manager.start()
    try:
        wait_for(lambda: election.lease is not None and not election.is_leader
                 and not registry.get("Lease", "kcm-broken", "kube-system").spec.holder_identity,
                 message="the lease released")
        assert not manager.running
    finally:
        manager.stop()


def test_a_controller_without_a_name_is_refused(registry):
    class Nameless(Controller):
        pass
    with pytest.raises(TypeError, match="Nameless must set"):
        Nameless(registry, None, recorder=None)
