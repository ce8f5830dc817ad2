"""Replicated kvstore vs etcd 3.4, both as 3-member clusters on loopback, in one run.

    python benches/bench_replication.py [--quick]

Prints one table: put (1 client, sequential), put (64 concurrent clients), linearizable get
(1 client), serializable get (1 client), and failover (SIGKILL of the leader to the next
acknowledged write through another member). 256-byte values. Clients are threads of this process
talking to the leader (borgkit: msgpack over TCP to a member process; etcd: its JSON gateway).
"""
from __future__ import annotations

import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))

from tests.etcd_client import EtcdClient  # noqa: E402
from tests.replication.harness import ProcessCluster  # noqa: E402
from tests.replication.support import SECRET, free_ports  # noqa: E402

VALUE = b"v" * 256
FAILOVERS = 3
ETCD = os.environ.get("BORGKIT_ETCD", "/usr/bin/etcd")


def rate(count: int, run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def concurrent(clients: int, per_client: int, make: Callable[[int], Callable[[int], None]]) -> float:
    workers = [make(n) for n in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def loop(work: Callable[[int], None]) -> None:
        barrier.wait()
        for i in range(per_client):
            work(i)

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    start = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    return clients * per_client / (time.perf_counter() - start)


# -- borgkit ----------------------------------------------------------------------------------------

def bench_borgkit(n: int) -> dict[str, float]:
    root = tempfile.mkdtemp(prefix="bench-repl-")
    cluster = ProcessCluster(3, root, proxied=False)
    try:
        cluster.start_all()
        leader = cluster.leader()
        for i in range(3):
            cluster.call(i, "wait_ready", 15, timeout=20)
        client = cluster.client(leader)
        out = {"put, 1 client": rate(n, lambda: [client.call("put", f"s{i}", VALUE) for i in range(n)])}

        def make(c: int) -> Callable[[int], None]:
            conn = cluster.client(leader)
            return lambda i: conn.call("put", f"c{c}/{i}", VALUE)
        out["put, 64 clients"] = concurrent(64, max(n // 16, 10), make)
        out["linearizable get, 1 client"] = rate(n, lambda: [client.call("get", f"s{i}", False) for i in range(n)])
        out["serializable get, 1 client"] = rate(n, lambda: [client.call("get", f"s{i}", True) for i in range(n)])
        client.close()
        failovers = []
        for _ in range(FAILOVERS):
            leader = cluster.leader()
            other = next(i for i in range(3) if i != leader)
            survivor = cluster.client(other, timeout=30)
            start = time.perf_counter()
            cluster.kill(leader)
            retry_until_ok(lambda: survivor.call("put", "after-failover", VALUE), start)
            failovers.append(time.perf_counter() - start)
            survivor.close()
            cluster.start(leader)
            for i in range(3):
                cluster.call(i, "wait_ready", 15, timeout=20)
        out["failover (s), median of 3"] = statistics.median(failovers)
        out["failover (s), worst of 3"] = max(failovers)
        return out
    finally:
        cluster.stop_all()


def retry_until_ok(action: Callable[[], Any], start: float) -> None:
    while True:
        try:
            action()
            return
        except Exception:
            if time.perf_counter() - start > 30:
                raise
            time.sleep(0.01)


def bench_embedded(n: int) -> dict[str, float]:
    """The library as it is meant to be used: the caller's threads on the leader member's process
    (two follower processes), no RPC in between."""
    import kvstore
    from kvstore.replication import Cluster

    root = tempfile.mkdtemp(prefix="bench-embedded-")
    cluster = ProcessCluster(3, root, proxied=False)
    member = None
    try:
        cluster.start(1)
        cluster.start(2)
        member = kvstore.open(os.path.join(root, "data0"), cluster=Cluster(
            self_address=cluster.addresses[0], peers=cluster.addresses, secret=SECRET))
        member.wait_ready(15)
        leader = cluster.leader(among=[1, 2])
        if leader != 0:
            cluster.call(leader, "transfer", cluster.addresses[0], timeout=10)
        deadline = time.monotonic() + 10
        while not member.is_leader and time.monotonic() < deadline:
            time.sleep(0.01)
        out = {"put, 1 client": rate(n, lambda: [member.put(b"s%d" % i, VALUE) for i in range(n)])}
        out["put, 64 clients"] = concurrent(
            64, max(n // 8, 10), lambda c: (lambda i: member.put(b"c%d/%d" % (c, i), VALUE)))
        out["linearizable get, 1 client"] = rate(n, lambda: [member.get(b"s%d" % i) for i in range(n)])
        out["serializable get, 1 client"] = rate(
            n, lambda: [member.get(b"s%d" % i, serializable=True) for i in range(n)])
        return out
    finally:
        if member is not None:
            member.close()
        cluster.stop_all()


# -- etcd 3.4 ---------------------------------------------------------------------------------------

class EtcdCluster:
    def __init__(self, size: int = 3) -> None:
        ports = free_ports(2 * size)
        self.client_ports, self.peer_ports = ports[:size], ports[size:]
        self.root = tempfile.mkdtemp(prefix="bench-etcd-")
        self.names = [f"e{i}" for i in range(size)]
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(self.names, self.peer_ports))
        self.procs = []
        for i, name in enumerate(self.names):
            log = open(os.path.join(self.root, f"{name}.log"), "wb")
            self.procs.append(subprocess.Popen([
                ETCD, "--name", name, "--data-dir", os.path.join(self.root, name),
                "--listen-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                "--advertise-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", "bench"], stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.leader() is not None:
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("etcd cluster did not elect a leader in 30 s")
            time.sleep(0.1)

    def client(self, i: int) -> EtcdClient:
        return EtcdClient("127.0.0.1", self.client_ports[i], timeout=30)

    def leader(self) -> Any:
        for i in range(len(self.procs)):
            if self.procs[i].poll() is not None:
                continue
            with self.client(i) as c:
                status = c.call("/v3/maintenance/status", {})
            if status.get("leader") and status["leader"] == status["header"]["member_id"]:
                return i
        return None

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)


def bench_etcd(n: int) -> dict[str, float]:
    cluster = EtcdCluster()
    try:
        leader = cluster.leader()
        client = cluster.client(leader)
        out = {"put, 1 client": rate(n, lambda: [client.put(f"s{i}".encode(), VALUE) for i in range(n)])}

        def make(c: int) -> Callable[[int], None]:
            conn = cluster.client(leader)
            return lambda i: conn.put(f"c{c}/{i}".encode(), VALUE)
        out["put, 64 clients"] = concurrent(64, max(n // 16, 10), make)
        out["linearizable get, 1 client"] = rate(n, lambda: [client.get(f"s{i}".encode()) for i in range(n)])

        def serializable(i: int) -> None:
            client.call("/v3/kv/range", {"key": base64.b64encode(f"s{i}".encode()).decode(), "serializable": True})
        out["serializable get, 1 client"] = rate(n, lambda: [serializable(i) for i in range(n)])
        client.close()
        other = next(i for i in range(3) if i != leader)
        survivor = cluster.client(other)
        start = time.perf_counter()
        cluster.procs[leader].send_signal(signal.SIGKILL)
        retry_until_ok(lambda: survivor.put(b"after-failover", VALUE), start)
        failover = time.perf_counter() - start
        out["failover (s), median of 3"] = out["failover (s), worst of 3"] = failover  # one run: no restart
        survivor.close()
        return out
    finally:
        cluster.stop()


# -- pysyncobj's own ReplDict (same timers and password as borgkit, its own unsynced journal) --------

def repldict_member(data_dir: str, self_address: str, rpc_port: str, *peers: str) -> None:
    """Subprocess mode: one ReplDict member behind the same msgpack RPC as the borgkit members."""
    import socketserver
    import struct

    import msgpack
    from pysyncobj import SyncObj, SyncObjConf
    from pysyncobj.batteries import ReplDict

    os.makedirs(data_dir, exist_ok=True)
    replicated = ReplDict()
    conf = SyncObjConf(password=b"bench-secret-0123456789", bindAddress=self_address, appendEntriesUseBatch=False,
                       appendEntriesPeriod=0.05, autoTickPeriod=0.05, raftMinTimeout=0.5, raftMaxTimeout=1.0,
                       connectionTimeout=1.5, connectionRetryTime=0.2, leaderFallbackTimeout=1.0,
                       journalFile=os.path.join(data_dir, "journal"), fullDumpFile=os.path.join(data_dir, "dump"))
    node = SyncObj(self_address, [p for p in peers if p != self_address], conf, consumers=[replicated])

    def handle(op: str, args: list) -> Any:
        if op == "put":
            replicated.set(args[0], args[1], sync=True, timeout=5)
            return True
        if op == "get":
            return replicated.get(args[0])
        if op == "status":
            leader = node._getLeader()
            return {"leader": None if leader is None else leader.address, "is_leader": node._isLeader()}
        if op == "wait_ready":
            return True
        raise ValueError(op)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn = self.request
            while True:
                head = conn.recv(4, socket_flags())
                if len(head) < 4:
                    return
                size = struct.unpack("<I", head)[0]
                body = b""
                while len(body) < size:
                    chunk = conn.recv(size - len(body))
                    if not chunk:
                        return
                    body += chunk
                request = msgpack.unpackb(body, raw=False)
                try:
                    reply = [True, handle(request[0], request[1:])]
                except Exception as exc:
                    reply = [False, type(exc).__name__]
                data = msgpack.packb(reply, use_bin_type=True)
                conn.sendall(struct.pack("<I", len(data)) + data)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", int(rpc_port)), Handler)
    server.daemon_threads = True
    server.serve_forever()


def socket_flags() -> int:
    import socket
    return socket.MSG_WAITALL


class ReplDictCluster(ProcessCluster):
    """ProcessCluster whose members are ReplDict processes (this file in --repldict-member mode)."""

    def start(self, i: int) -> None:
        log = open(self.logs[i], "ab")
        self.procs[i] = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--repldict-member", os.path.join(self.root, f"rd{i}"),
             self.addresses[i], str(self.rpc_ports[i]), *self.addresses], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 15
        while not self._rpc_up(i):
            if time.monotonic() > deadline:
                raise RuntimeError(f"ReplDict member {i} did not start")
            time.sleep(0.02)


def bench_repldict(n: int) -> dict[str, float]:
    cluster = ReplDictCluster(3, tempfile.mkdtemp(prefix="bench-repldict-"), proxied=False)
    try:
        cluster.start_all()
        leader = cluster.leader()
        client = cluster.client(leader)
        out = {"put, 1 client": rate(n, lambda: [client.call("put", f"s{i}", VALUE) for i in range(n)])}

        def make(c: int) -> Callable[[int], None]:
            conn = cluster.client(leader)
            return lambda i: conn.call("put", f"c{c}/{i}", VALUE)
        out["put, 64 clients"] = concurrent(64, max(n // 16, 10), make)
        out["serializable get, 1 client"] = rate(n, lambda: [client.call("get", f"s{i}") for i in range(n)])
        client.close()
        other = next(i for i in range(3) if i != leader)
        survivor = cluster.client(other, timeout=30)
        start = time.perf_counter()
        cluster.kill(leader)
        retry_until_ok(lambda: survivor.call("put", "after-failover", VALUE), start)
        out["failover (s), median of 3"] = out["failover (s), worst of 3"] = time.perf_counter() - start
        survivor.close()
        return out
    finally:
        cluster.stop_all()


def _text(value: float | None, name: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if "(s)" in name else f"{value:,.0f}/s"


def main() -> None:
    if sys.argv[1:2] == ["--repldict-member"]:
        repldict_member(*sys.argv[2:])
        return
    n = 300 if "--quick" in sys.argv else 2000
    etcd = bench_etcd(n) if os.access(ETCD, os.X_OK) else {}
    repldict = bench_repldict(n)
    ours = bench_borgkit(n)
    embedded = bench_embedded(n)
    print(f"{'3-member cluster, loopback, 256 B values':36} {'borgkit':>11} {'etcd 3.4':>11} {'vs etcd':>8} "
          f"{'ReplDict':>11} {'embedded':>11}")
    for name, value in ours.items():
        ref = etcd.get(name)
        if not ref:
            ratio = ""
        else:
            ratio = f"{ref / value:6.2f}x" if "(s)" in name else f"{value / ref:6.2f}x"
        print(f"{name:36} {_text(value, name):>11} {_text(ref, name):>11} {ratio:>8} "
              f"{_text(repldict.get(name), name):>11} {_text(embedded.get(name), name):>11}")
    print("borgkit/etcd/ReplDict: clients are threads of this process talking to the leader process "
          "(borgkit and ReplDict: msgpack RPC; etcd: JSON gateway). vs etcd: >1 means borgkit is better.\n"
          "ReplDict: pysyncobj 0.3.17's ReplDict, same timers, unsynced journal, local gets only.\n"
          "embedded: the caller's threads inside the leader member's process (kvstore.open(cluster=...)), "
          "two follower processes, no RPC.")
    print(json.dumps({"borgkit": ours, "etcd": etcd, "repldict": repldict, "embedded": embedded}))


if __name__ == "__main__":
    main()
