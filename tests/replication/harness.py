"""Clusters of member processes for the fault tests: start, kill -9, stop, restart, cut off, talk to."""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Optional

import msgpack

from .support import WAIT, free_ports, wait_until

MEMBER_MAIN = os.path.join(os.path.dirname(__file__), "member_main.py")


class RpcError(Exception):
    """The member answered with an error (its type name is the message)."""


class Client:
    """One connection to one member's RPC port; every call bounded by `timeout`."""

    def __init__(self, port: int, timeout: float = 8.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call(self, *request: Any) -> Any:
        body = msgpack.packb(list(request), use_bin_type=True)
        self.sock.sendall(struct.pack("<I", len(body)) + body)
        head = self._recv(4)
        ok, result = msgpack.unpackb(self._recv(struct.unpack("<I", head)[0]), raw=False)
        if not ok:
            raise RpcError(result)
        return result

    def _recv(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("member closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


class Proxy:
    """A TCP proxy in front of a member's Raft port; `cut()` drops and refuses traffic."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", listen_port))
        self.server.listen(64)
        self.cut_off = False
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=1)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay on Raft traffic
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data or self.cut_off:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self) -> None:
        self.cut_off = True
        with self.lock:
            for s in self.connections:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.connections = []

    def heal(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.server.close()


class ProcessCluster:
    """N member processes; every member's Raft port sits behind a Proxy (member 0 has the lowest
    address, so all its connections are inbound and its proxy alone can cut it off)."""

    def __init__(self, size: int, root: str, proxied: bool = True,
                 options: Optional[dict[str, Any]] = None) -> None:
        self.size = size
        self.root = root
        self.options = options or {}  # further Cluster fields of every member
        ports = sorted(free_ports(3 * size))
        self.proxy_ports = ports[:size]  # ascending: member 0 has the smallest address
        self.raft_ports = ports[size:2 * size]
        self.rpc_ports = ports[2 * size:]
        if proxied:
            self.addresses = [f"127.0.0.1:{p}" for p in self.proxy_ports]
            self.proxies = [Proxy(p, r) for p, r in zip(self.proxy_ports, self.raft_ports)]
        else:  # benchmarks: members talk directly
            self.addresses = [f"127.0.0.1:{p}" for p in self.raft_ports]
            self.proxies = []
        self.procs: list[Optional[subprocess.Popen]] = [None] * size
        self.logs = [os.path.join(root, f"member{i}.log") for i in range(size)]

    def start(self, i: int, peers: Optional[list[str]] = None) -> None:
        """Start member i (peers: every address of this cluster unless given)."""
        log = open(self.logs[i], "ab")
        self.procs[i] = subprocess.Popen(
            [sys.executable, MEMBER_MAIN, os.path.join(self.root, f"data{i}"), self.addresses[i],
             f"127.0.0.1:{self.raft_ports[i]}", str(self.rpc_ports[i]), *(peers or self.addresses)],
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "MEMBER_CLUSTER_OPTIONS": json.dumps(self.options)})
        log.close()
        wait_until(lambda: self._rpc_up(i), 15, f"member {i} to serve")

    def _rpc_up(self, i: int) -> bool:
        proc = self.procs[i]
        if proc is None or proc.poll() is not None:
            raise AssertionError(f"member {i} exited: {open(self.logs[i]).read()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", self.rpc_ports[i]), timeout=0.5).close()
            return True
        except OSError:
            return False

    def start_all(self) -> None:
        for i in range(self.size):
            self.start(i)

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait(timeout=10)
            self.procs[i] = None

    def signal(self, i: int, sig: int) -> None:
        proc = self.procs[i]
        assert proc is not None
        os.kill(proc.pid, sig)

    def alive(self) -> list[int]:
        return [i for i, p in enumerate(self.procs) if p is not None and p.poll() is None]

    def client(self, i: int, timeout: float = 8.0) -> Client:
        return Client(self.rpc_ports[i], timeout)

    def call(self, i: int, *request: Any, timeout: float = 8.0) -> Any:
        client = self.client(i, timeout)
        try:
            return client.call(*request)
        finally:
            client.close()

    def call_until_ok(self, i: int, *request: Any, timeout: float = WAIT) -> Any:
        """`call`, retried while the member answers an error or the connection fails (an election
        in progress after a fault), until `timeout`; then the last failure is raised."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.call(i, *request)
            except (OSError, RpcError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def leader(self, among: Optional[list[int]] = None, timeout: float = WAIT) -> int:
        """Index of a member that every live member of `among` agrees is the leader."""
        among = self.alive() if among is None else among

        def agreed() -> Optional[int]:
            try:
                views = [self.call(i, "status", timeout=2)["leader"] for i in among]
            except (OSError, RpcError):
                return None
            if views[0] is not None and all(v == views[0] for v in views):
                return self.addresses.index(views[0]) + 1
            return None

        return wait_until(agreed, timeout, "an agreed leader") - 1

    def stop_all(self) -> None:
        for i in range(self.size):
            self.kill(i)
        for proxy in self.proxies:
            proxy.close()
