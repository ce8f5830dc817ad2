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
from tests.replication.support import free_ports  # noqa: E402

VALUE = b"v" * 256
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
        other = next(i for i in range(3) if i != leader)
        survivor = cluster.client(other, timeout=30)
        start = time.perf_counter()
        cluster.kill(leader)
        while True:
            try:
                survivor.call("put", "after-failover", VALUE)
                break
            except Exception:
                if time.perf_counter() - start > 30:
                    raise
                time.sleep(0.01)
        out["failover (s)"] = time.perf_counter() - start
        survivor.close()
        return out
    finally:
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
        while True:
            try:
                survivor.put(b"after-failover", VALUE)
                break
            except Exception:
                if time.perf_counter() - start > 30:
                    raise
                time.sleep(0.01)
        out["failover (s)"] = time.perf_counter() - start
        survivor.close()
        return out
    finally:
        cluster.stop()


def main() -> None:
    n = 300 if "--quick" in sys.argv else 2000
    etcd = bench_etcd(n) if os.access(ETCD, os.X_OK) else {}
    ours = bench_borgkit(n)
    print(f"{'3-member cluster, loopback, 256 B values':34} {'borgkit':>12} {'etcd 3.4':>12} {'ratio':>7}")
    for name, value in ours.items():
        ref = etcd.get(name)
        unit = "" if "(s)" in name else "/s"
        ratio = "" if not ref else (f"{ref / value:6.2f}x" if "(s)" in name else f"{value / ref:6.2f}x")
        ref_text = "-" if ref is None else f"{ref:,.2f}{unit}" if "(s)" in name else f"{ref:,.0f}{unit}"
        ours_text = f"{value:,.2f}{unit}" if "(s)" in name else f"{value:,.0f}{unit}"
        print(f"{name:34} {ours_text:>12} {ref_text:>12} {ratio:>7}")
    print(json.dumps({"borgkit": ours, "etcd": etcd}))


if __name__ == "__main__":
    main()
