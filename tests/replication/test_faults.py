"""Clusters of separate member processes under faults: nothing acknowledged is lost, members agree,
and what clients saw is linearizable."""
from __future__ import annotations

import contextlib
import signal
import time
from typing import Iterator

import pytest

from .harness import ProcessCluster, RpcError
from .linearizability import check_history
from .support import WAIT, wait_until
from .workload import Workload

pytestmark = pytest.mark.timeout(240)


def _converged(cluster: ProcessCluster) -> list:
    def same() -> list:
        try:
            views = [cluster.call(i, "hash", timeout=3) for i in cluster.alive()]
        except (OSError, RpcError):
            return []
        return views if all(v == views[0] for v in views) else []
    return wait_until(same, WAIT, "every member at the same revision and HashKV", interval=0.2)


def _verify(cluster: ProcessCluster, workload: Workload) -> None:
    for i in cluster.alive():
        cluster.call(i, "wait_ready", 20, timeout=25)
    # every earlier entry is committed; retried, as a leader may still be settling after the faults
    cluster.call_until_ok(cluster.alive()[0], "put", "final-barrier", b"x")
    views = _converged(cluster)
    assert len(views) == len(cluster.alive())
    for i in cluster.alive():
        held = {key.decode() for key, _value in cluster.call(i, "keys", timeout=10)}
        missing = [key for key in workload.acknowledged if key not in held]
        assert not missing, f"member {i} lost acknowledged writes {missing[:5]}"
    assert workload.acknowledged and len(workload.history) > 20
    assert any(op.kind == "grant" for op in workload.history), "no lease episode in the history"
    assert check_history(workload.history, timeout=60) is None


def _pause(seconds: float) -> None:
    time.sleep(seconds)


@contextlib.contextmanager
def _verified_workload(cluster: ProcessCluster, clients: int, seed: int = 1) -> Iterator[Workload]:
    """Clients write and read while the body injects faults; stopped however the body ends, and
    checked by _verify only when the body finished."""
    workload = Workload(cluster, clients=clients, seed=seed).start()
    try:
        yield workload
    finally:
        workload.stop()
    _verify(cluster, workload)


def _fault(cluster: ProcessCluster, member: int, fault: str, on: bool) -> None:
    """Inject (``on``) or repair ``fault`` of ``member``: kill -9 / restart, SIGSTOP / SIGCONT, or cut / heal
    its proxy (a cut of member > 0 is a partial partition)."""
    if fault == "kill":
        cluster.kill(member) if on else cluster.start(member)
    elif fault == "pause":
        cluster.signal(member, signal.SIGSTOP if on else signal.SIGCONT)
    elif on:
        cluster.proxies[member].cut()
    else:
        cluster.proxies[member].heal()


def test_sigkill_leader_and_follower_then_restart_from_data_dir(cluster_factory) -> None:
    cluster = cluster_factory(3)
    with _verified_workload(cluster, clients=4):
        _pause(1.0)
        leader = cluster.leader()
        cluster.kill(leader)
        _pause(1.5)
        cluster.start(leader)
        _pause(1.0)
        follower = next(i for i in cluster.alive() if i != cluster.leader())
        cluster.kill(follower)
        _pause(1.0)
        cluster.start(follower)
        _pause(1.0)


def test_paused_leader_and_cut_off_member_in_five(cluster_factory) -> None:
    cluster = cluster_factory(5)
    with _verified_workload(cluster, clients=5, seed=2):
        _pause(1.0)
        leader = cluster.leader()
        cluster.signal(leader, signal.SIGSTOP)
        _pause(2.5)  # the others elect a new leader meanwhile
        cluster.signal(leader, signal.SIGCONT)
        _pause(1.0)
        # Member 0 (all its Raft connections pass its proxy) becomes leader if it can, then is cut off.
        current = cluster.leader()
        if current != 0:
            try:
                cluster.call(current, "transfer", cluster.addresses[0], timeout=8)
            except (RpcError, OSError):
                pass  # not caught up at that instant: the cut-off still exercises a member cut from the others
        cluster.proxies[0].cut()
        _pause(2.5)
        cluster.proxies[0].heal()
        _pause(1.5)


def test_whole_cluster_sigkill_and_restart_keeps_every_acknowledged_write(cluster_factory) -> None:
    cluster = cluster_factory(3)
    with _verified_workload(cluster, clients=3, seed=3):
        _pause(1.5)
        for i in range(cluster.size):
            cluster.kill(i)
        _pause(0.3)
        for i in range(cluster.size):
            cluster.start(i)
        cluster.leader()
        _pause(1.0)


def test_random_faults_on_a_minority_of_five(cluster_factory) -> None:
    """A nemesis: for ~12 s, random kill -9 + restart, pause + resume and cut + heal of up to two
    members at a time, while five clients write and read."""
    import random

    rng = random.Random(7)
    cluster = cluster_factory(5)
    broken: dict[int, str] = {}
    with _verified_workload(cluster, clients=5, seed=5):
        try:
            for _round in range(8):
                time.sleep(0.7)
                if broken and (len(broken) == 2 or rng.random() < 0.5):
                    _fault(cluster, *broken.popitem(), on=False)
                    continue
                member = rng.choice([i for i in range(cluster.size) if i not in broken])
                fault = rng.choice(["kill", "pause", "cut"])
                _fault(cluster, member, fault, on=True)
                broken[member] = fault
            time.sleep(0.7)
        finally:
            for member, fault in broken.items():
                _fault(cluster, member, fault, on=False)


def test_a_new_member_joins_catches_up_and_counts_for_the_majority(tmp_path) -> None:
    """Grow 3 -> 4 with a brand-new member (empty data dir) while clients write; it catches up to the
    same HashKV, and after a SIGKILL of an original member the remaining 3 of 4 keep accepting writes."""
    cluster = ProcessCluster(4, str(tmp_path))
    try:
        for i in range(3):
            cluster.start(i, peers=cluster.addresses[:3])
        for i in range(3):
            cluster.call(i, "wait_ready", 15, timeout=20)
        workload = Workload(cluster, clients=3, seed=4).start()
        try:
            _pause(0.5)
            leader = cluster.leader(among=[0, 1, 2])
            cluster.call(leader, "add_member", cluster.addresses[3], timeout=10)
            cluster.start(3)  # every address of the grown cluster as peers, nothing on disk
            cluster.call(3, "wait_ready", 20, timeout=25)
            assert sorted(cluster.call(3, "status")["members"]) == sorted(cluster.addresses)
            _pause(0.5)
            # The leader if it is an original member (a new election follows), else member 0. With four
            # voters a commit needs three, so the writes that go on need the new member's acks.
            victim = cluster.leader(among=[0, 1, 2, 3])
            cluster.kill(victim if victim != 3 else 0)
            _pause(2.0)
            assert cluster.call_until_ok(3, "put", "after-kill", b"x")  # once the 3 of 4 elected a leader
        finally:
            workload.stop()
        assert 3 in cluster.alive() and len(cluster.alive()) == 3
        for i in cluster.alive():
            assert sorted(cluster.call(i, "status")["members"]) == sorted(cluster.addresses)
        _verify(cluster, workload)
    finally:
        cluster.stop_all()
