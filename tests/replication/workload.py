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


LEASE_TTL = 600  # far longer than a test: expiry is not part of the lease model
DEFINITE_ERRORS = {"LeaseNotFound": False, "LeaseExists": False}  # errors that are an answer


class Workload:
    """`clients` register threads, each bound to a member (moving on when it fails), and
    `lease_clients` lease-episode threads, until `stop()`."""

    def __init__(self, cluster: ProcessCluster, clients: int = 4, seed: int = 1, lease_clients: int = 1) -> None:
        self.cluster = cluster
        self.history: list[Operation] = []
        self.acknowledged: list[str] = []  # unique keys whose put was acknowledged
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n, random.Random(seed * 100 + n)), daemon=True)
                         for n in range(clients)]
        self._threads += [threading.Thread(target=self._run_leases, args=(n, random.Random(seed * 1000 + n)),
                                           daemon=True) for n in range(lease_clients)]
        self.lease_episodes = 0

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

    def _run_leases(self, n: int, rng: random.Random) -> None:
        """Lease episodes: grant a lease, attach its key, read both from every member, revoke it, read
        again. Each call goes to a member picked at random, so a read often runs on another member
        than the write before it (where a stale lease table would show)."""
        clients: dict[int, Client] = {}
        episode = 0
        while not self._stop.is_set():
            episode += 1
            lease_id = (n + 1) * 1_000_000 + episode
            obj = ("lease", lease_id)
            key = f"l/{lease_id}"
            steps = ["grant", "lput"] + [rng.choice(["alive", "lget", "lput"]) for _ in range(rng.randint(1, 3))]
            steps += ["revoke"] + [rng.choice(["alive", "lget", "alive-list"]) for _ in range(2)]
            for step in steps:
                if self._stop.is_set():
                    break
                kind, request, arg = step, None, None
                if step == "grant":
                    request = ("grant", LEASE_TTL, lease_id)
                elif step == "revoke":
                    request = ("revoke", lease_id)
                elif step == "lput":
                    arg = f"e{episode}-{rng.randint(0, 99)}".encode()
                    request = ("lput", key, arg, lease_id)
                elif step == "lget":
                    request = ("get", key, False)
                elif step == "alive":
                    request = ("ttl", lease_id, False, False)
                else:
                    kind, request = "alive", ("leases", False)
                result, start, end = self._call_any(clients, rng, request)
                if end != math.inf and not isinstance(result, bool):
                    if kind == "alive":
                        result = (result[0] != -1) if step == "alive" else (lease_id in result)
                    elif kind == "lget":
                        result = None if result is None else result[0]
                    else:
                        result = True
                with self._lock:
                    self.history.append(Operation(obj, kind, arg, result, start, end))
            with self._lock:
                self.lease_episodes += 1
        for client in clients.values():
            client.close()

    def _call_any(self, clients: dict[int, Client], rng: random.Random, request: tuple) -> tuple:
        """(result, start, end) of one call on a random live member; end is inf when the outcome is
        unknown; a definite lease error (LeaseNotFound, LeaseExists) is the result False."""
        alive = self.cluster.alive()
        if not alive:
            time.sleep(0.05)
            return None, time.monotonic(), math.inf
        member = rng.choice(alive)
        start = time.monotonic()
        try:
            if member not in clients:
                clients[member] = self.cluster.client(member, timeout=6)
            result = clients[member].call(*request)
            return result, start, time.monotonic()
        except RpcError as exc:
            end = time.monotonic()
            if str(exc) in DEFINITE_ERRORS:
                return DEFINITE_ERRORS[str(exc)], start, end
            return None, start, math.inf
        except (OSError, ConnectionError):
            client = clients.pop(member, None)
            if client is not None:
                client.close()
            time.sleep(0.05)
            return None, start, math.inf
