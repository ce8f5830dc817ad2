"""How long a lease outlives a failover, borgkit vs etcd 3.4, and what a lease read costs on a follower.

    python benches/bench_lease_failover.py [--rounds N]

Both systems run as 3 member processes on loopback (borgkit's members behind the msgpack RPC of
tests/replication/member_main.py, etcd behind its JSON gateway). Each round, for each system in turn:
grant a 5 s lease on the leader, SIGKILL the leader 4.2 s later, note when the survivors agree on a
new leader, and poll time_to_live on a survivor until the lease is gone. Printed per system (median
of the rounds): seconds from the new leader to the lease's expiry (etcd's rule: the new leader gives
every lease its full TTL plus its election timeout, so about 5 + 1 s), and time_to_live calls per
second on a follower (1 client, linearizable), beside linearizable gets on that follower. Every process is stopped and every data directory
removed at the end, also after a failure.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.join(ROOT, "benches"))

from bench_replication import EtcdSystem  # noqa: E402
from tests.replication.harness import ProcessCluster  # noqa: E402

TTL = 5
KILL_AFTER = 4.2
BOUND = 60.0  # every wait of the bench


def _until(predicate: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # an election in progress: ask again
            value = None
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"no {what} within {BOUND} s")


class Borgkit:
    name = "borgkit"

    def __init__(self, root: str) -> None:
        self.cluster = ProcessCluster(3, os.path.join(root, "borgkit"), proxied=False)
        os.makedirs(self.cluster.root, exist_ok=True)

    def start(self) -> None:
        self.cluster.start_all()

    def leader(self, among: list[int]) -> int:
        return self.cluster.leader(among=among, timeout=BOUND)

    def grant(self, member: int, lease_id: int) -> None:
        self.cluster.call_until_ok(member, "grant", TTL, lease_id, timeout=BOUND)

    def alive(self, member: int, lease_id: int) -> bool:
        return self.cluster.call(member, "ttl", lease_id, False, False)[0] != -1

    def kill(self, member: int) -> None:
        self.cluster.kill(member)

    def restart(self, member: int) -> None:
        self.cluster.start(member)

    def reads(self, member: int, lease_id: int, seconds: float) -> tuple[float, float]:
        client = self.cluster.client(member)
        try:
            return (_rate(lambda: client.call("ttl", lease_id, False, False), seconds),
                    _rate(lambda: client.call("get", "k", False), seconds))
        finally:
            client.close()

    def stop(self) -> None:
        self.cluster.stop_all()


class Etcd:
    name = "etcd 3.4"

    def __init__(self, root: str) -> None:
        os.makedirs(os.path.join(root, "etcd"), exist_ok=True)
        self.system = EtcdSystem(os.path.join(root, "etcd"))

    def start(self) -> None:
        self.system.start()

    def leader(self, among: list[int]) -> int:
        return _until(lambda: (lambda i: None if i is None else i + 1)(self.system._find_leader()), "etcd leader") - 1

    def grant(self, member: int, lease_id: int) -> None:
        with self.system.client(member) as client:
            client.grant(TTL, lease_id)

    def alive(self, member: int, lease_id: int) -> bool:
        with self.system.client(member) as client:
            return client.time_to_live(lease_id)["ttl"] != -1

    def kill(self, member: int) -> None:
        self.system.procs[member].kill()
        self.system.procs[member].wait(timeout=10)

    def restart(self, member: int) -> None:
        self.system.procs[member] = self.system._spawn(member)

    def reads(self, member: int, lease_id: int, seconds: float) -> tuple[float, float]:
        with self.system.client(member) as client:
            return (_rate(lambda: client.time_to_live(lease_id), seconds),
                    _rate(lambda: client.get(b"k"), seconds))

    def stop(self) -> None:
        self.system.stop()


def _rate(call: Callable[[], Any], seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        count += 1
    return count / (time.perf_counter() - start)


def failover_round(system: Any, lease_id: int) -> float:
    """Seconds from the new leader to the expiry of a lease whose leader died 4.2 s into its 5 s."""
    leader = system.leader([0, 1, 2])
    system.grant(leader, lease_id)
    granted = time.monotonic()
    survivors = [i for i in range(3) if i != leader]
    time.sleep(max(0.0, granted + KILL_AFTER - time.monotonic()))
    system.kill(leader)
    _until(lambda: system.leader(survivors) in survivors, "new leader")
    new_leader_at = time.monotonic()
    _until(lambda: not system.alive(survivors[0], lease_id), "lease expiry")
    kept = time.monotonic() - new_leader_at
    system.restart(leader)
    return kept


def main() -> None:
    if "-h" in sys.argv or "--help" in sys.argv:
        print(__doc__)
        return
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 2
    with tempfile.TemporaryDirectory(prefix="bench-leases-", ignore_cleanup_errors=True) as root:
        systems = [Borgkit(root), Etcd(root)]
        started: list[Any] = []
        kept: dict[str, list[float]] = {s.name: [] for s in systems}
        reads: dict[str, list[float]] = {s.name: [] for s in systems}
        gets: dict[str, list[float]] = {s.name: [] for s in systems}
        try:
            for system in systems:
                started.append(system)
                system.start()
            for round_ in range(rounds):
                for system in systems:
                    kept[system.name].append(failover_round(system, 9000 + round_))
                for system in systems:
                    leader = system.leader([0, 1, 2])
                    follower = next(i for i in range(3) if i != leader)
                    system.grant(leader, 8000 + round_)
                    ttl_rate, get_rate = system.reads(follower, 8000 + round_, 2.0)
                    reads[system.name].append(ttl_rate)
                    gets[system.name].append(get_rate)
        finally:
            for system in started:
                system.stop()
    print(f"3-member clusters on loopback, median of {rounds} interleaved rounds; load {os.getloadavg()}")
    for name in kept:
        print(f"{name:10} lease kept after the new leader appears: {statistics.median(kept[name]):.2f} s "
              f"({', '.join(f'{v:.2f}' for v in kept[name])});  time_to_live on a follower: "
              f"{statistics.median(reads[name]):,.0f}/s (linearizable get there: "
              f"{statistics.median(gets[name]):,.0f}/s)")


if __name__ == "__main__":
    main()
