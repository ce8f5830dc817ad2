"""Run a real, single-member etcd (Debian's ``etcd-server``, 3.4) on 127.0.0.1 for tests and benches.

``EtcdServer`` starts ``/usr/bin/etcd`` with two free loopback ports and a temporary data directory,
waits (bounded) until ``/health`` answers, and stops it (SIGTERM, then SIGKILL) on ``stop()`` or when
used as a context manager. Nothing listens anywhere but 127.0.0.1.
"""
from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["ETCD_BINARY", "etcd_installed", "EtcdServer", "EtcdStartError", "SKIP_REASON"]

ETCD_BINARY = os.environ.get("BORGKIT_ETCD", "/usr/bin/etcd")
SKIP_REASON = "etcd-server not installed: differential tests skipped (apt-get install -y etcd-server)"


def etcd_installed() -> bool:
    """True when the etcd binary exists and is executable."""
    return os.access(ETCD_BINARY, os.X_OK)


class EtcdStartError(RuntimeError):
    """etcd did not become healthy in time; the message carries the tail of its log."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EtcdServer:
    """One etcd member on loopback with its own temp data dir.

    ``unsafe_no_fsync=True`` passes etcd's ``--unsafe-no-fsync`` (for the fsync-never bench row).
    ``tls=(cert_file, key_file, ca_file)`` serves clients over TLS and requires client certificates
    signed by that CA (``--client-cert-auth``).
    """

    def __init__(self, *, unsafe_no_fsync: bool = False, start_timeout: float = 30.0,
                 extra_args: tuple[str, ...] = (), tls: tuple[str, str, str] | None = None) -> None:
        self.tls = tls
        self.unsafe_no_fsync = unsafe_no_fsync
        self.start_timeout = start_timeout
        self.extra_args = extra_args
        self.client_port = 0
        self.peer_port = 0
        self.data_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.client_port}"

    def start(self) -> EtcdServer:
        """Start etcd and return once it reports healthy; raises EtcdStartError otherwise."""
        if not etcd_installed():
            raise EtcdStartError(SKIP_REASON)
        self.data_dir = Path(tempfile.mkdtemp(prefix="borgkit-etcd-"))
        self._log_path = self.data_dir / "etcd.log"
        for _attempt in range(3):  # a free port can be taken between probe and bind: retry a few times
            self.client_port, self.peer_port = _free_port(), _free_port()
            self._spawn()
            if self._wait_healthy():
                return self
            self._kill()
        log = self._log_tail()
        self._cleanup_dir()
        raise EtcdStartError(f"etcd did not become healthy within {self.start_timeout}s:\n{log}")

    def _spawn(self, fresh: bool = True) -> None:
        assert self.data_dir is not None and self._log_path is not None
        member_dir = self.data_dir / "member-data"
        if fresh and member_dir.exists():  # a half-started member from a failed attempt
            shutil.rmtree(member_dir)
        peer = f"http://127.0.0.1:{self.peer_port}"
        args = [
            ETCD_BINARY,
            "--name", "borgkit-test",
            "--data-dir", str(member_dir),
            "--listen-client-urls", self.url,
            "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"borgkit-test={peer}",
            "--initial-cluster-state", "new",
            "--log-level", "error",
            "--logger", "zap",
            *(["--unsafe-no-fsync"] if self.unsafe_no_fsync else []),
            *(["--cert-file", self.tls[0], "--key-file", self.tls[1], "--trusted-ca-file", self.tls[2],
               "--client-cert-auth"] if self.tls else []),
            *self.extra_args,
        ]
        with open(self._log_path, "ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                if self.tls:
                    context = ssl.create_default_context(cafile=self.tls[2])
                    context.load_cert_chain(self.tls[0], self.tls[1])  # the server's pair is a client too
                    conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                        "127.0.0.1", self.client_port, timeout=2, context=context)
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", self.client_port, timeout=2)
                try:
                    conn.request("GET", "/health")
                    body = conn.getresponse().read()
                finally:
                    conn.close()
                if b'"true"' in body:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _log_tail(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        return self._log_path.read_bytes()[-4000:].decode("utf-8", "replace")

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def _cleanup_dir(self) -> None:
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def restart(self) -> float:
        """Stop etcd (SIGTERM) and start it again on the same data and ports; the seconds from the new
        process to healthy (how long etcd takes to recover its data)."""
        self._kill()
        start = time.monotonic()
        self._spawn(fresh=False)
        if not self._wait_healthy():
            raise EtcdStartError(f"etcd did not come back within {self.start_timeout}s:\n{self._log_tail()}")
        return time.monotonic() - start

    def stop(self) -> None:
        """Stop etcd (SIGTERM, SIGKILL after 10 s) and remove its data directory."""
        self._kill()
        self._cleanup_dir()

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
