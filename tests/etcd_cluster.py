"""Run a real etcd cluster (3 members by default) on 127.0.0.1 for tests and benches.

``EtcdCluster(size)`` starts every member with free loopback ports and its own data directory under one
temporary directory, waits (bounded) until every member reports healthy (a leader is elected), and stops
them all on ``stop()`` or when used as a context manager. ``kill(i)`` is a real SIGKILL; ``leader()``
asks the members which one leads (etcd's Maintenance/Status through the JSON gateway, so this helper
needs no gRPC). Nothing listens anywhere but 127.0.0.1.
"""
from __future__ import annotations

import http.client
import json
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from etcd_server import ETCD_BINARY, SKIP_REASON, EtcdStartError, _free_port, etcd_installed

__all__ = ["EtcdCluster"]


class EtcdCluster:
    """``size`` etcd members on loopback. ``election_timeout_ms``/``heartbeat_ms`` default to etcd's own
    (1000/100); tests pass smaller ones to elect faster."""

    def __init__(self, size: int = 3, *, unsafe_no_fsync: bool = True, election_timeout_ms: int = 1000,
                 heartbeat_ms: int = 100, start_timeout: float = 60.0) -> None:
        self.size = size
        self.unsafe_no_fsync = unsafe_no_fsync
        self.election_timeout_ms = election_timeout_ms
        self.heartbeat_ms = heartbeat_ms
        self.start_timeout = start_timeout
        self.client_ports: list[int] = []
        self.peer_ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes] | None] = []
        self.root: Path | None = None

    @property
    def endpoints(self) -> list[str]:
        """Every member's client URL, member 0 first."""
        return [f"http://127.0.0.1:{port}" for port in self.client_ports]

    def start(self) -> EtcdCluster:
        if not etcd_installed():
            raise EtcdStartError(SKIP_REASON)
        self.root = Path(tempfile.mkdtemp(prefix="borgkit-etcd-cluster-"))
        self.client_ports = [_free_port() for _ in range(self.size)]
        self.peer_ports = [_free_port() for _ in range(self.size)]
        initial = ",".join(f"m{i}=http://127.0.0.1:{port}" for i, port in enumerate(self.peer_ports))
        try:
            for i in range(self.size):
                peer = f"http://127.0.0.1:{self.peer_ports[i]}"
                client = f"http://127.0.0.1:{self.client_ports[i]}"
                args = [ETCD_BINARY, "--name", f"m{i}", "--data-dir", str(self.root / f"m{i}"),
                        "--listen-client-urls", client, "--advertise-client-urls", client,
                        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                        "--initial-cluster", initial, "--initial-cluster-state", "new",
                        "--initial-cluster-token", self.root.name,
                        "--heartbeat-interval", str(self.heartbeat_ms),
                        "--election-timeout", str(self.election_timeout_ms),
                        "--log-level", "error", "--logger", "zap",
                        *(["--unsafe-no-fsync"] if self.unsafe_no_fsync else [])]
                log = open(self.root / f"m{i}.log", "ab")
                try:
                    self.processes.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                                           stdin=subprocess.DEVNULL))
                finally:
                    log.close()
            deadline = time.monotonic() + self.start_timeout
            for i in range(self.size):
                if not self._wait_healthy(i, deadline):
                    raise EtcdStartError(f"etcd member m{i} not healthy within {self.start_timeout} s:\n"
                                         f"{self.log_tail(i)}")
        except BaseException:
            self.stop()
            raise
        return self

    def _status(self, i: int, timeout: float = 2.0) -> dict | None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.client_ports[i], timeout=timeout)
            try:
                conn.request("POST", "/v3/maintenance/status", body=b"{}")
                response = conn.getresponse()
                body = response.read()
            finally:
                conn.close()
        except OSError:
            return None
        if response.status != 200:
            return None
        return json.loads(body)  # type: ignore[no-any-return]

    def _wait_healthy(self, i: int, deadline: float) -> bool:
        while time.monotonic() < deadline:
            process = self.processes[i]
            if process is None or process.poll() is not None:
                return False
            status = self._status(i)
            if status is not None and int(status.get("leader", 0)):
                return True
            time.sleep(0.05)
        return False

    def alive(self, i: int) -> bool:
        process = self.processes[i]
        return process is not None and process.poll() is None

    def leader(self, timeout: float = 30.0) -> int:
        """The index of the member every live member names as leader (waits, bounded, for one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids: dict[int, int] = {}
            named: set[int] = set()
            for i in range(self.size):
                if not self.alive(i):
                    continue
                status = self._status(i)
                if status is None:
                    continue
                ids[int(status["header"]["member_id"])] = i
                named.add(int(status.get("leader", 0)))
            if len(named) == 1:
                leader_id = named.pop()
                if leader_id in ids:
                    return ids[leader_id]
            time.sleep(0.02)
        raise EtcdStartError(f"no agreed etcd leader within {timeout} s")

    def kill(self, i: int) -> None:
        """SIGKILL member ``i`` and reap it."""
        process = self.processes[i]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    def log_tail(self, i: int) -> str:
        if self.root is None:
            return "(no log)"
        path = self.root / f"m{i}.log"
        return path.read_bytes()[-3000:].decode("utf-8", "replace") if path.exists() else "(no log)"

    def stop(self) -> None:
        """Stop every member (SIGTERM, SIGKILL after 10 s) and remove the data."""
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes = []
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> EtcdCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
