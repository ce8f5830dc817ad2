"""ControllerManager: the controllers of the table, their shared informers, workers and metrics, as
kube-controller-manager runs them (optionally only while holding a leader-election Lease)."""
from __future__ import annotations

import inspect
import logging
import threading
import time
from typing import Any, Callable

from objects import Registry

from .controller import Controller
from .events import EventRecorder
from .fencing import LeaderFencedRegistry
from .informer import SharedInformers
from .metrics import ControllerMetrics, MetricsUnavailable, metrics_available
from .table import DEFAULT_CONTROLLERS, resolve_controllers

__all__ = ["ControllerManager", "DEFAULT_CONTROLLERS"]

log = logging.getLogger(__name__)

SYNC_TIMEOUT = 60.0        # informers must list within this on start
IDLE_POLL = 0.02
DUE_SOON = 1.0             # wait_idle: a key due within this many seconds still counts as work


class ControllerManager:
    """Runs controllers on one Registry.

    ``controllers``: names from the table (None: every default; "-name" excludes one, see
    :func:`controllers.table.resolve_controllers`). ``workers``: threads per controller, one number or
    a dict by name (default 1). ``clock``: epoch seconds for controllers' timing. ``leader_election``:
    an object with ``run(registry, on_started_leading, on_stopped_leading, stop)`` (such as
    :class:`objects.leaderelection.LeaderElection`); controllers then run only while it leads, and their
    writes go through only while it leads (:class:`controllers.fencing.LeaderFencedRegistry`).
    ``metrics``: None (on when prometheus-client is installed), False, or a :class:`ControllerMetrics`.
    ``controller_options``: keyword arguments by controller name, as kube-controller-manager's flags
    (``{"nodelifecycle": {"node_monitor_grace_period": 20}}``). ``record_events=False`` writes no Events
    (a large simulation saves a write per pod; kube-controller-manager always records them).
    """

    def __init__(self, registry: Registry, controllers: list[str] | None = None,
                 workers: int | dict[str, int] = 1, clock: Callable[[], float] | None = None,
                 leader_election: Any = None, metrics: Any = None, component: str = "kube-controller-manager",
                 controller_options: dict[str, dict[str, Any]] | None = None, record_events: bool = True) -> None:
        self.registry = registry
        self.record_events = record_events
        self.names = resolve_controllers(controllers)
        if isinstance(workers, int):
            if workers < 1:
                raise ValueError(f"workers: {workers} must be >= 1")
        else:
            bad = {k: v for k, v in workers.items() if k not in DEFAULT_CONTROLLERS or v < 1}
            if bad:
                raise ValueError(f"workers: {bad} (names must be known controllers, counts >= 1)")
        self._workers = workers
        unknown = sorted(set(controller_options or {}) - set(DEFAULT_CONTROLLERS))
        if unknown:
            raise ValueError(f"controller_options: unknown controllers {unknown}")
        for name, options in (controller_options or {}).items():
            # checked now: under leader election the controllers are built on the elector's thread, where a
            # TypeError would leave a leader holding the lease with nothing running
            try:
                inspect.signature(DEFAULT_CONTROLLERS[name]).bind(registry, None, recorder=None, clock=None,
                                                                    **options)
            except TypeError as exc:
                raise ValueError(f"controller_options[{name!r}]: {exc}") from None
        self._options = dict(controller_options or {})
        self.clock = clock or time.time
        self._given_clock = clock  # handed to the controllers as given (None: their queues stay monotonic)
        self.leader_election = leader_election
        if metrics is None:
            metrics = ControllerMetrics() if metrics_available() else False
        self.metrics: ControllerMetrics | None = metrics or None
        self.component = component
        self.controllers: dict[str, Controller] = {}
        self.informers: SharedInformers | None = None
        self.recorder: EventRecorder | None = None
        self._threads: list[threading.Thread] = []
        self._run_stop = threading.Event()     # ends the current run of the controllers
        self._stop = threading.Event()         # ends the manager (and its leader election)
        self._lock = threading.RLock()
        self._elector: threading.Thread | None = None
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the controllers (or the leader election that starts them); returns at once."""
        with self._lock:
            if self._started:
                raise RuntimeError("ControllerManager already started")
            self._started = True
            self._stop.clear()
        if self.leader_election is None:
            self._run_controllers()
            return
        self._elector = threading.Thread(
            target=self.leader_election.run, name="controller-manager-leader-election",
            args=(self.registry, self._lead, self._stop_controllers, self._stop), daemon=True)
        self._elector.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every controller, worker and informer; flush the events recorded."""
        self._stop.set()
        if self._elector is not None:
            self._elector.join(timeout)
            self._elector = None
        self._stop_controllers()
        if self.metrics is not None:
            self.metrics.close()
        with self._lock:
            self._started = False

    @property
    def running(self) -> bool:
        """True while the controllers run (for a manager with leader election: while it leads)."""
        with self._lock:
            return bool(self.controllers)

    def _lead(self) -> None:
        """on_started_leading: start the controllers; if they cannot start, stop campaigning (the lease is
        released) instead of holding it with nothing running, as kube-controller-manager exits."""
        try:
            self._run_controllers()
        except Exception:
            log.exception("controller manager: the controllers could not start; giving up the lease")
            self._stop.set()

    def _run_controllers(self) -> None:
        with self._lock:
            if self.controllers:
                return
            self._run_stop = threading.Event()
            informers = SharedInformers(self.registry)
            writer: Any = self.registry if self.leader_election is None else \
                LeaderFencedRegistry(self.registry, self.leader_election)
            recorder = EventRecorder(writer, self.component, enabled=self.record_events)
            built: dict[str, Controller] = {}
            for name in self.names:
                controller = DEFAULT_CONTROLLERS[name](writer, informers,
                                                      recorder=recorder.with_component(f"{name}-controller"),
                                                      clock=self._given_clock, **self._options.get(name, {}))
                if self.metrics is not None:
                    controller.metrics = self.metrics
                    controller.queue.metrics = self.metrics.queue(controller.queue.name)
                built[name] = controller
            informers.start()
            if not informers.wait_synced(SYNC_TIMEOUT):
                log.warning("controller manager: informers not synced after %.0fs; starting anyway", SYNC_TIMEOUT)
            threads = []
            for name, controller in built.items():
                count = self._workers if isinstance(self._workers, int) else self._workers.get(name, 1)
                for i in range(count):
                    threads.append(threading.Thread(target=controller.run_worker, args=(self._run_stop,),
                                                    name=f"{name}-worker-{i}", daemon=True))
                if type(controller).background is not Controller.background:
                    threads.append(threading.Thread(target=controller.background, args=(self._run_stop,),
                                                    name=f"{name}-background", daemon=True))
            for thread in threads:
                thread.start()
            self.informers, self.recorder, self.controllers, self._threads = informers, recorder, built, threads

    def _stop_controllers(self, timeout: float = 10.0) -> None:
        with self._lock:
            controllers, threads = self.controllers, self._threads
            informers, recorder = self.informers, self.recorder
            self.controllers, self._threads = {}, []
            self._run_stop.set()
            for controller in controllers.values():
                controller.shut_down()
            deadline = time.monotonic() + timeout
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if informers is not None:
                informers.stop()
            if recorder is not None:
                recorder.stop()

    # ------------------------------------------------------------------ idleness
    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is left to do: informers synced and caught up with the store's revision
        (read linearizably, so on a Raft member writes acknowledged by other members count too),
        every queue empty with no worker busy and no delayed key due within a second, no event being
        written; seen twice in a row with nothing happening in between. False after ``timeout``."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            snapshot = self._idle_snapshot()
            if snapshot is not None and snapshot == last:
                return True
            last = snapshot
            time.sleep(IDLE_POLL)
        return False

    def _idle_snapshot(self) -> tuple[int, int] | None:
        with self._lock:
            controllers, informers, recorder = dict(self.controllers), self.informers, self.recorder
        if not controllers or informers is None:
            return (-1, -1) if self._started else None
        for informer in informers.informers():
            if not informer.has_synced:
                return None
        activity = 0
        for controller in controllers.values():
            queue = controller.queue
            if len(queue) or queue.processing() or not controller.idle():
                return None
            due = queue.next_due()
            if due is not None and due <= DUE_SOON:
                return None
            activity += queue.activity
        if recorder is not None and recorder.pending:
            return None
        revision = self._committed_revision()
        behind = [i for i in informers.informers() if i.resource_version < revision]
        for informer in behind:
            informer.request_progress()
        if behind:
            return None
        return revision, activity

    def _committed_revision(self) -> int:
        """The store's revision as a linearizable read sees it: on a Raft member that is behind, the
        cluster's, so wait_idle also waits for writes made through other members."""
        try:
            return int(self.registry.store.range("/registry-idle-probe").revision)
        except Exception:  # noqa: BLE001 - a store without range (or a closing one): its local revision
            return int(self.registry.store.revision)

    # ------------------------------------------------------------------ metrics
    def metrics_text(self) -> str:
        """The metrics in Prometheus' text exposition format."""
        if self.metrics is None:
            raise MetricsUnavailable("this manager has no metrics (prometheus-client missing or metrics=False)")
        return self.metrics.text()

    def serve_metrics(self, port: int = 0, addr: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` over HTTP on ``addr`` (loopback only); returns the port."""
        if self.metrics is None:
            raise MetricsUnavailable("this manager has no metrics (prometheus-client missing or metrics=False)")
        return self.metrics.serve(port, addr)
