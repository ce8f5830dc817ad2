"""Clients writing and reading a cluster while faults happen, recording a checkable history."""
from __future__ import annotations

import math
import random
import threading
import time
from typing import Optional

from .harness import Client, ProcessCluster, RpcError
from .linearizability import Operation

REGISTERS = ["r0", "r1", "r2"]


class Workload:
    """`clients` threads, each bound to a member (moving on when it fails), until `stop()`."""

    def __init__(self, cluster: ProcessCluster, clients: int = 4, seed: int = 1) -> None:
        self.cluster = cluster
        self.history: list[Operation] = []
        self.acknowledged: list[str] = []  # unique keys whose put was acknowledged
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n, random.Random(seed * 100 + n)), daemon=True)
                         for n in range(clients)]

    def start(self) -> "Workload":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
            assert not thread.is_alive(), "a workload client did not stop"

    def _run(self, n: int, rng: random.Random) -> None:
        member = n % self.cluster.size
        client: Optional[Client] = None
        counter = 0
        last_seen: dict[str, Optional[bytes]] = {}  # CAS from what this client saw last: many succeed
        while not self._stop.is_set():
            if client is None:
                alive = self.cluster.alive()
                if not alive:
                    time.sleep(0.05)
                    continue
                member = alive[(alive.index(member) + 1) % len(alive)] if member in alive else alive[0]
                try:
                    client = self.cluster.client(member, timeout=6)
                except OSError:
                    client = None
                    time.sleep(0.05)
                    continue
            counter += 1
            choice = rng.random()
            key = rng.choice(REGISTERS)
            value = f"c{n}-{counter}"
            if choice < 0.3:
                request, kind, arg = ("put", key, value.encode()), "put", value.encode()
            elif choice < 0.6:
                request, kind, arg = ("get", key, False), "get", None
            elif choice < 0.8:
                expected_bytes = last_seen.get(key)
                request, kind, arg = ("cas", key, expected_bytes, value.encode()), "cas", (expected_bytes,
                                                                                           value.encode())
            else:
                key = f"u/{n}/{counter}"
                request, kind, arg = ("put", key, b"acked"), "unique", None
            start = time.monotonic()
            try:
                result = client.call(*request)
                end = time.monotonic()
            except (OSError, RpcError, ConnectionError) as exc:
                result, end = None, math.inf
                if not isinstance(exc, RpcError):
                    client.close()
                    client = None
                    time.sleep(0.05)
            if kind == "unique":
                if end != math.inf:
                    with self._lock:
                        self.acknowledged.append(key)
                continue
            if kind == "get" and result is not None:
                result = result[0]
            if end != math.inf:
                if kind == "get":
                    last_seen[key] = result
                elif kind == "put" or (kind == "cas" and result):
                    last_seen[key] = value.encode()
            with self._lock:
                self.history.append(Operation(key, kind, arg, result if kind != "put" else None, start, end))
        if client is not None:
            client.close()
