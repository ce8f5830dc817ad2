"""Replicated kvstore vs etcd 3.4 and pysyncobj's ReplDict, all 3-member clusters on loopback, one run.

    python benches/bench_replication.py [--quick] [--rounds N] [--put1]

--put1 measures only the single-client put of borgkit and etcd (interleaved, N rounds, no failover):
the row issue 12 holds against etcd, short enough to repeat on a shared machine; it also prints the
median of the per-round ratios, which a load swing between rounds moves less than the medians' ratio.

Every cluster is started first; then each measurement is taken for every system in turn, `rounds`
times (3 by default; the order of the systems reversed every other round), and the table shows the
median, so that the systems see the same machine load (the machine is shared). 256-byte values. Rows: put (1 client, sequential), put (64 concurrent
clients spread over 4 client processes of 16 clients each, so that no side is bounded by one client
interpreter, as etcd's own benchmark tool spreads its load), linearizable get (1 client), serializable
get (1 client), failover (SIGKILL of the leader to the next acknowledged write). All data directories
live in one temporary directory, removed at the end (after every process is stopped) whether the run
completes or fails.

Columns:
- borgkit: three member processes; each client is a msgpack-over-TCP connection to the leader member
  (tests/replication/member_main.py). Failover: a client of a surviving member resends until acknowledged.
- etcd 3.4: three etcd processes; each client is a ``kvstore.connect()`` (gRPC, one long-lived channel per
  endpoint) that knows every endpoint, the leader first. Failover: through such a client, as etcd's
  clientv3 would: each attempt has a 0.25 s deadline (a write the survivors forward to the dead leader
  waits for etcd's own 5 s request timeout otherwise), so the figure is etcd's election, to 0.25 s.
- ReplDict: pysyncobj 0.3.17's ReplDict in three processes behind the same msgpack RPC, with the same
  timers and password as borgkit, its own (unsynced) journal and local gets only.
- embedded: the library as meant to be used, kvstore.open(cluster=...) in this process as the leader,
  the caller's threads calling it directly, two follower processes (its 64-client row stays threads of
  this process: the leader lives here).
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # etcd_client imports its sibling etcd_grpc by name

from etcd_client import EtcdClient  # noqa: E402
from go_signal import behind_a_barrier, go_together, run_on_go  # noqa: E402
from tests.replication.harness import Client, ProcessCluster  # noqa: E402
from tests.replication.member_main import serve_rpc  # noqa: E402
from tests.replication.support import SECRET, free_ports  # noqa: E402

VALUE = b"v" * 256
ETCD = os.environ.get("BORGKIT_ETCD", "/usr/bin/etcd")
CLIENTS = 64
PROCESSES = 4  # client processes the 64 clients are spread over
FAILOVER_ATTEMPT_S = 0.25
METRICS = ["put, 1 client", "put, 64 clients", "linearizable get, 1 client", "serializable get, 1 client"]


def rate(count: int, operation: Callable[[int], Any]) -> float:
    start = time.perf_counter()
    for i in range(count):
        operation(i)
    return count / (time.perf_counter() - start)


def concurrent(per_client: int, operations: list[Callable[[int], Any]]) -> float:
    barrier, threads = behind_a_barrier(operations, per_client)
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return len(operations) * per_client / (time.perf_counter() - start)


def spread(kind: str, target: str, tag: str, per_client: int) -> float:
    """CLIENTS clients in PROCESSES child processes (this file in --put-worker mode), started together;
    acknowledged puts per second over the wall time from the start signal to the last child done."""
    per_process = CLIENTS // PROCESSES
    elapsed = go_together([[sys.executable, os.path.abspath(__file__), "--put-worker", kind, target,
                            f"{tag}-p{p}", str(per_process), str(per_client)] for p in range(PROCESSES)])
    return CLIENTS * per_client / elapsed


def put_worker(kind: str, target: str, tag: str, clients: str, per_client: str) -> None:
    """Subprocess mode: ``clients`` threads, each with its own client, put ``per_client`` keys after "go"."""
    count = int(per_client)
    if kind == "etcd":
        import kvstore

        handles = [kvstore.connect(target, timeout=30) for _ in range(int(clients))]
        for handle in handles:
            handle.get(b"warm-up")  # each channel connects on its first call: not in the measured time
        puts = [lambda i, h=h, n=n: h.put(f"{tag}-{n}/{i}".encode(), VALUE) for n, h in enumerate(handles)]
    else:
        rpc_clients = [Client(int(target), timeout=30) for _ in range(int(clients))]
        puts = [lambda i, c=c, n=n: c.call("put", f"{tag}-{n}/{i}", VALUE) for n, c in enumerate(rpc_clients)]
    run_on_go(puts, count)


def retry_until_ok(action: Callable[[], Any], start: float) -> None:
    while True:
        try:
            action()
            return
        except Exception:
            if time.perf_counter() - start > 30:
                raise
            time.sleep(0.01)


class System:
    """One cluster under test: operations as callables `(i) -> Any` on fresh clients.

    Constructing one starts nothing; `start()` starts its processes, and `stop()` stops whatever
    is running, also after a `start()` that failed half-way."""

    name = ""

    def start(self) -> None:
        raise NotImplementedError

    def put(self, tag: str) -> Callable[[int], Any]:
        raise NotImplementedError

    def get(self, serializable: bool) -> Optional[Callable[[int], Any]]:
        raise NotImplementedError

    def spread_target(self) -> Optional[tuple[str, str]]:
        """(kind, target) for client processes of put_worker, or None to use threads of this process."""
        return None

    def failover(self) -> float:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class RpcSystem(System):
    """Member processes behind the msgpack RPC (borgkit's member_main, or ReplDict)."""

    def __init__(self, name: str, cluster: ProcessCluster, linearizable_gets: bool) -> None:
        self.name = name
        self.cluster = cluster
        self.linearizable_gets = linearizable_gets
        self.leader = -1

    def start(self) -> None:
        self.cluster.start_all()
        self.leader = self.cluster.leader()
        for i in range(self.cluster.size):
            self.cluster.call(i, "wait_ready", 15, timeout=20)

    def put(self, tag: str) -> Callable[[int], Any]:
        client = self.cluster.client(self.leader)
        return lambda i: client.call("put", f"{tag}/{i}", VALUE)

    def get(self, serializable: bool) -> Optional[Callable[[int], Any]]:
        if not serializable and not self.linearizable_gets:
            return None
        client = self.cluster.client(self.leader)
        return lambda i: client.call("get", f"s0/{i}", serializable)

    def spread_target(self) -> Optional[tuple[str, str]]:
        return "rpc", str(self.cluster.rpc_ports[self.leader])

    def failover(self) -> float:
        leader = self.cluster.leader()
        survivor = self.cluster.client(next(i for i in range(self.cluster.size) if i != leader), timeout=30)
        start = time.perf_counter()
        self.cluster.kill(leader)
        retry_until_ok(lambda: survivor.call("put", "after-failover", VALUE), start)
        elapsed = time.perf_counter() - start
        survivor.close()
        self.cluster.start(leader)
        for i in range(self.cluster.size):
            self.cluster.call(i, "wait_ready", 15, timeout=20)
        self.leader = self.cluster.leader()
        return elapsed

    def stop(self) -> None:
        self.cluster.stop_all()


class EmbeddedSystem(System):
    """The leader member inside this process; two follower processes."""

    name = "embedded"

    def __init__(self, root: str) -> None:
        self.root = root
        self.cluster = ProcessCluster(3, root, proxied=False)
        self.member: Any = None

    def start(self) -> None:
        import kvstore
        from kvstore.replication import Cluster

        self.cluster.start(1)
        self.cluster.start(2)
        self.member = kvstore.open(os.path.join(self.root, "data0"), cluster=Cluster(
            self_address=self.cluster.addresses[0], peers=self.cluster.addresses, secret=SECRET))
        self.member.wait_ready(15)
        leader = self.cluster.leader(among=[1, 2])
        if leader != 0:
            self.cluster.call(leader, "transfer", self.cluster.addresses[0], timeout=10)
        deadline = time.monotonic() + 10
        while not self.member.is_leader and time.monotonic() < deadline:
            time.sleep(0.01)

    def put(self, tag: str) -> Callable[[int], Any]:
        member, prefix = self.member, tag.encode() + b"/"
        return lambda i: member.put(prefix + str(i).encode(), VALUE)

    def get(self, serializable: bool) -> Optional[Callable[[int], Any]]:
        member = self.member
        return lambda i: member.get(b"s0/" + str(i).encode(), serializable=serializable)

    def failover(self) -> float:
        return float("nan")  # the leader is this process

    def stop(self) -> None:
        try:
            if self.member is not None:
                self.member.close()
        finally:
            self.cluster.stop_all()


class EtcdSystem(System):
    """Three etcd 3.4 members on loopback."""

    name = "etcd 3.4"

    def __init__(self, root: str, size: int = 3) -> None:
        ports = free_ports(2 * size)
        self.client_ports, peer_ports = ports[:size], ports[size:]
        self.root = root
        names = [f"e{i}" for i in range(size)]
        self.args = []
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(names, peer_ports))
        for i, name in enumerate(names):
            self.args.append([
                ETCD, "--name", name, "--data-dir", os.path.join(self.root, name),
                "--listen-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                "--advertise-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer_ports[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_ports[i]}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", "bench"])
        self.procs: list[subprocess.Popen] = []
        self.clients: list[Any] = []
        self.leader = -1

    def start(self) -> None:
        for i in range(len(self.args)):
            self.procs.append(self._spawn(i))
        self.leader = self._wait_leader()

    def _spawn(self, i: int) -> subprocess.Popen:
        log = open(os.path.join(self.root, f"e{i}.log"), "ab")
        try:
            return subprocess.Popen(self.args[i], stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def endpoints(self, first: int) -> str:
        """Every member's client URL, member ``first`` first (the one a client starts on)."""
        order = [first] + [i for i in range(len(self.client_ports)) if i != first]
        return ",".join(f"http://127.0.0.1:{self.client_ports[i]}" for i in order)

    def connect(self, first: int, timeout: float = 30.0) -> Any:
        import kvstore

        client = kvstore.connect(self.endpoints(first), timeout=timeout)
        self.clients.append(client)
        return client

    def _find_leader(self) -> Optional[int]:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                continue
            try:
                with EtcdClient("127.0.0.1", self.client_ports[i], timeout=5) as c:
                    status = c.call("/v3/maintenance/status", {})
            except Exception:
                continue
            if status.get("leader") and status["leader"] == status["header"]["member_id"]:
                return i
        return None

    def _wait_leader(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            leader = self._find_leader()
            if leader is not None:
                return leader
            time.sleep(0.1)
        raise RuntimeError("etcd cluster did not elect a leader in 30 s")

    def put(self, tag: str) -> Callable[[int], Any]:
        client = self.connect(self.leader)
        prefix = tag.encode() + b"/"
        return lambda i: client.put(prefix + str(i).encode(), VALUE)

    def get(self, serializable: bool) -> Optional[Callable[[int], Any]]:
        client = self.connect(self.leader)
        return lambda i: client.get(b"s0/" + str(i).encode(), serializable=serializable)

    def spread_target(self) -> Optional[tuple[str, str]]:
        return "etcd", self.endpoints(self.leader)

    def failover(self) -> float:
        import kvstore

        leader = self._wait_leader()
        client = self.connect(leader, timeout=FAILOVER_ATTEMPT_S)
        client.put(b"before-failover", VALUE)  # connected, on the leader
        start = time.perf_counter()
        self.procs[leader].send_signal(signal.SIGKILL)
        self.procs[leader].wait(timeout=10)
        attempt = 0
        while True:
            attempt += 1
            try:
                client.put(b"after-failover/%d" % attempt, VALUE)
                break
            except (kvstore.Timeout, kvstore.NoLeader):
                if time.perf_counter() - start > 60:
                    raise
        elapsed = time.perf_counter() - start
        self.procs[leader] = self._spawn(leader)
        self.leader = self._wait_leader()
        return elapsed

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


# -- pysyncobj's own ReplDict behind the same RPC (this file in --repldict-member mode) -------------

def repldict_member(data_dir: str, self_address: str, rpc_port: str, *peers: str) -> None:
    """Subprocess mode: one ReplDict member serving the msgpack RPC of tests/replication/member_main."""
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

    serve_rpc(handle, int(rpc_port))


class ReplDictCluster(ProcessCluster):
    """ProcessCluster whose members are ReplDict processes."""

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


# -- the run ----------------------------------------------------------------------------------------

def measure(system: System, metric: str, n: int, round_: int) -> Optional[float]:
    if metric == "put, 1 client":
        return rate(n, system.put(f"s{round_}"))
    if metric == "put, 64 clients":
        spread_to = system.spread_target()
        if spread_to is not None:
            return spread(*spread_to, f"c{round_}", max(n // 16, 10))
        return concurrent(max(n // 16, 10), [system.put(f"c{round_}-{c}") for c in range(CLIENTS)])
    operation = system.get(serializable=metric.startswith("serializable"))
    return None if operation is None else rate(n, operation)


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _text(value: Optional[float], failover: bool) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.2f} s" if failover else f"{value:,.0f}/s"


def planned_systems(root: str, put1: bool = False) -> list[System]:
    """The systems to compare, each with its own directory under `root`; none started yet."""
    def directory(name: str) -> str:
        path = os.path.join(root, name)
        os.makedirs(path)
        return path

    systems: list[System] = [RpcSystem("borgkit", ProcessCluster(3, directory("borgkit"), proxied=False),
                                       linearizable_gets=True)]
    if os.access(ETCD, os.X_OK):
        systems.append(EtcdSystem(directory("etcd")))
    if put1:
        return systems
    systems.append(RpcSystem("ReplDict", ReplDictCluster(3, directory("repldict"), proxied=False),
                             linearizable_gets=False))
    systems.append(EmbeddedSystem(directory("embedded")))
    return systems


def stop_every(systems: list[System]) -> None:
    """Stop each system even if stopping an earlier one fails, then report the first failure."""
    failure: Optional[BaseException] = None
    for system in systems:
        try:
            system.stop()
        except BaseException as error:  # the other systems' processes must still be stopped
            failure = failure or error
    if failure is not None:
        raise failure


def main() -> None:
    if sys.argv[1:2] == ["--repldict-member"]:
        repldict_member(*sys.argv[2:])
        return
    if sys.argv[1:2] == ["--put-worker"]:
        put_worker(*sys.argv[2:])
        return
    if "-h" in sys.argv or "--help" in sys.argv:
        print(__doc__)
        return
    n = 300 if "--quick" in sys.argv else 1500
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    put1 = "--put1" in sys.argv
    metrics = METRICS[:1] if put1 else METRICS
    # ignore_cleanup_errors: a leftover file must not cost the run its results, printed after the removal
    with tempfile.TemporaryDirectory(prefix="bench-replication-", ignore_cleanup_errors=True) as root:
        systems = planned_systems(root, put1)
        started: list[System] = []
        try:
            for system in systems:
                started.append(system)  # before start(): a half-started system is stopped too
                system.start()
            results: dict[str, dict[str, list[float]]] = {s.name: {m: [] for m in METRICS} for s in systems}
            for round_ in range(rounds):
                for metric in metrics:
                    # the order alternates, so that neither side always runs right after the other
                    for system in (systems if round_ % 2 == 0 else systems[::-1]):
                        value = measure(system, metric, n, round_)
                        if value is not None:
                            results[system.name][metric].append(value)
            failovers = {s.name: [] if put1 else [s.failover() for _ in range(rounds)] for s in systems}
        finally:
            stop_every(started)
    names = [s.name for s in systems]
    print(f"3-member clusters on loopback, 256 B values, median of {rounds} interleaved rounds; "
          f"64 clients in {PROCESSES} client processes (embedded: threads); {load_average()}")
    print(f"{'':30}" + "".join(f"{name:>13}" for name in names) + f"{'borgkit/etcd':>14}")
    table: dict[str, dict[str, Optional[float]]] = {}
    for metric in metrics + ([] if put1 else ["failover (SIGKILL leader -> ack)"]):
        row = {}
        for name in names:
            values = failovers[name] if metric.startswith("failover") else results[name][metric]
            values = [v for v in values if v == v]
            row[name] = statistics.median(values) if values else None
        table[metric] = row
        ours, etcd = row.get("borgkit"), row.get("etcd 3.4")
        ratio = "" if not ours or not etcd else (
            f"{etcd / ours:.2f}x" if metric.startswith("failover") else f"{ours / etcd:.2f}x")
        print(f"{metric:30}" + "".join(f"{_text(row[name], metric.startswith('failover')):>13}" for name in names)
              + f"{ratio:>14}")
    if not put1:
        worst = max(v for v in failovers["borgkit"] if v == v)
        print(f"borgkit failover, worst of {rounds}: {worst:.2f} s.  borgkit/etcd > 1 means borgkit is better "
              "(higher rate, or quicker failover).")
    else:
        pairs = list(zip(*(results[n][METRICS[0]] for n in names)))
        print("per round (borgkit, etcd): " + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in pairs))
        if pairs and len(pairs[0]) == 2:
            # a load swing between rounds moves both sides of a round alike, not the medians
            print(f"borgkit/etcd per round, median: {statistics.median(a / b for a, b in pairs):.2f}x")
    clean = {name: [v for v in values if v == v] for name, values in failovers.items()}
    print(json.dumps({"table": table, "failovers": clean}))


if __name__ == "__main__":
    main()
