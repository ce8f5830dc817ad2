"""The simulated cluster: a store, a Registry, the scheduler, the controller manager and hollow nodes, all
in this process (the two other Raft members of ``--cluster`` in processes of their own)."""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

import controllers
import kvstore
import objects
import scheduling

from .config import SimConfig
from .member import FOLLOWER_ELECTION_TIMEOUT, SECRET_ENV

__all__ = ["StoreSpec", "SimCluster", "RaftMembers", "Compactor"]

log = logging.getLogger(__name__)
EVICTION_WORKERS = 4       # threads of the taint eviction controller (the others have one)
WATCH_QUEUE_SIZE = 65536   # informers fall behind under a burst; a larger queue keeps them synced longer


@dataclass
class StoreSpec:
    """Where the objects live: ``data_dir=None`` and ``cluster=False``: in memory; ``data_dir``: durable
    (WAL + snapshots); ``cluster=True``: a 3-member Raft cluster, this process's member the Registry's store,
    the two others in child processes (their data in ``data_dir`` or a temporary directory)."""

    data_dir: str | None = None
    cluster: bool = False

    @property
    def label(self) -> str:
        if self.cluster:
            return "raft-3"
        return "durable" if self.data_dir else "memory"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class RaftMembers:
    """A 3-member Raft cluster on 127.0.0.1: the member in this process (``store``) and two followers in
    child processes (``python -m borgsim.member``)."""

    def __init__(self, data_dir: str | None) -> None:
        self._tmp = None if data_dir else tempfile.mkdtemp(prefix="borgsim-raft-")
        self.root = data_dir or self._tmp
        assert self.root is not None
        os.makedirs(self.root, exist_ok=True)
        self.addresses = [f"127.0.0.1:{p}" for p in _free_ports(3)]
        self.secret = secrets.token_hex(24)
        self.children: list[subprocess.Popen[str]] = []
        self.store: Any = None

    def start(self, timeout: float = 30.0) -> Any:
        from kvstore.replication import Cluster

        env = dict(os.environ, **{SECRET_ENV: self.secret})
        src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        for i in (1, 2):
            self.children.append(subprocess.Popen(
                [sys.executable, "-m", "borgsim.member", os.path.join(self.root, f"member{i}"), self.addresses[i],
                 *self.addresses], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env))
        for child in self.children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                self.close()
                raise RuntimeError("a Raft member process did not start")
        self.store = kvstore.open(os.path.join(self.root, "member0"), cluster=Cluster(
            self_address=self.addresses[0], peers=self.addresses, secret=self.secret),
            watch_queue_size=WATCH_QUEUE_SIZE)
        self.store.wait_ready(timeout)
        deadline = time.monotonic() + min(timeout, 2 * FOLLOWER_ELECTION_TIMEOUT[1])
        while not self.store.is_leader and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.store

    def close(self) -> None:
        try:
            if self.store is not None:
                self.store.close()
        finally:
            for child in self.children:
                if child.stdin is not None:
                    child.stdin.close()   # the member ends when its stdin closes
            for child in self.children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(timeout=10)
            self.children = []
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)


class Compactor(threading.Thread):
    """Compacts the store's history as kube-apiserver does (--etcd-compaction-interval): every ``interval``
    seconds, up to the revision it noted one interval earlier, so a watcher less than one interval behind
    never sees a compacted revision."""

    def __init__(self, store: Any, interval: float) -> None:
        super().__init__(name="borgsim-compactor", daemon=True)
        self.store = store
        self.interval = interval
        self.stopped = threading.Event()
        self.compactions = 0

    def run(self) -> None:
        noted = self.store.revision
        while not self.stopped.wait(self.interval):
            current = self.store.revision
            try:
                if noted > self.store.status().compact_revision:
                    self.store.compact(noted)
                    self.compactions += 1
            except kvstore.KVError as e:  # compacted by another, or a Raft hiccup: next time
                log.debug("compaction to %d skipped: %s", noted, e)
            noted = current

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


class SimCluster:
    """Everything of one simulated cluster; ``start()`` then ``close()`` (or use it as a context manager).

    ``registry``, ``hollow`` (:class:`controllers.HollowNodes`), ``manager``
    (:class:`controllers.ControllerManager`), ``scheduler`` (running ``Scheduler.run`` in a thread)."""

    def __init__(self, config: SimConfig, store: StoreSpec | None = None) -> None:
        config.check()
        self.config = config
        self.spec = store or StoreSpec()
        self.raft: RaftMembers | None = None
        self.store: Any = None
        self.registry: Any = None
        self.hollow: Any = None
        self.manager: Any = None
        self.scheduler: Any = None
        self.compactor: Compactor | None = None
        self._stop = threading.Event()
        self._scheduler_thread: threading.Thread | None = None

    @property
    def has_node_lifecycle(self) -> bool:
        """Whether this build has the node lifecycle controller (the failure phase needs it)."""
        return "nodelifecycle" in controllers.DEFAULT_CONTROLLERS

    def _open_store(self) -> Any:
        if self.spec.cluster:
            self.raft = RaftMembers(self.spec.data_dir)
            return self.raft.start()
        return kvstore.open(self.spec.data_dir, watch_queue_size=WATCH_QUEUE_SIZE)

    def _manager(self) -> Any:
        cfg = self.config
        options: dict[str, dict[str, Any]] = {}
        if self.has_node_lifecycle:
            options["nodelifecycle"] = {"node_monitor_grace_period": cfg.node_monitor_grace_period,
                                        "node_monitor_period": cfg.node_monitor_period,
                                        # every failed node is tainted at once (kube's --node-eviction-rate
                                        # is 0.1/s, which would spread a 10 % failure over minutes)
                                        "node_eviction_rate": 1000.0, "secondary_node_eviction_rate": 1000.0}
        # kube's taint eviction deletes each pod on a goroutine of its own when its toleration ends; one
        # worker thread here left the last evictions of a 100-node failure ~5 s behind their due time
        workers = {"tainteviction": EVICTION_WORKERS} if "tainteviction" in controllers.DEFAULT_CONTROLLERS else 1
        return controllers.ControllerManager(self.registry, metrics=False, controller_options=options,
                                             workers=workers)

    def start(self) -> "SimCluster":
        cfg = self.config
        try:
            self.store = self._open_store()
            self.registry = objects.Registry(self.store)
            self.compactor = Compactor(self.store, cfg.compaction_interval)
            self.compactor.start()
            self.hollow = controllers.HollowNodes(
                self.registry, cfg.nodes, heartbeat_interval=cfg.heartbeat_interval,
                lease_duration_seconds=max(1, round(cfg.node_monitor_grace_period)))
            self.hollow.start()
            self.manager = self._manager()
            self.manager.start()
            self.scheduler = scheduling.Scheduler(seed=cfg.seed)
            self._scheduler_thread = threading.Thread(target=self.scheduler.run, args=(self.registry,),
                                                      kwargs={"stop": self._stop}, name="borgsim-scheduler",
                                                      daemon=True)
            self._scheduler_thread.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop everything this cluster started, in the reverse order."""
        self._stop.set()
        if self._scheduler_thread is not None:
            self._scheduler_thread.join(timeout=30)
        for part in (self.manager, self.hollow, self.compactor):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # stop the rest regardless
                    log.exception("stopping %r", part)
        if self.raft is not None:
            self.raft.close()
        elif self.store is not None:
            self.store.close()

    def __enter__(self) -> "SimCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

