"""kvstore.connect() on a real 3-member etcd cluster: SIGKILL the leader during writes and watches.

No acknowledged write is lost, every watcher resumes on another member without a gap or a repeat, and
the client reaches the new leader. Writers resend after Timeout/NoLeader as an application does: a write
that timed out may or may not have been applied, so each attempt writes a fresh key and the check
compares what the watchers saw with what the cluster holds.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

import kvstore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from etcd_cluster import EtcdCluster  # noqa: E402
from etcd_store import SKIP_ETCD  # noqa: E402

pytestmark = [pytest.mark.etcd, SKIP_ETCD]

WAIT = 60.0  # every wait below is bounded by this (a loaded machine); reached only when the test fails
BEFORE, AFTER = 40, 40  # acknowledged writes before and after the kill


def _collect(watcher, until_revision: int, into: list) -> None:
    deadline = time.monotonic() + WAIT
    while (not into or into[-1].kv.mod_revision < until_revision) and time.monotonic() < deadline:
        event = watcher.get(0.5)
        if event is not None:
            into.append(event)


def test_sigkill_of_the_leader_loses_no_acknowledged_write_and_no_watch_event():
    with EtcdCluster(3, election_timeout_ms=300, heartbeat_ms=30) as cluster:
        leader = cluster.leader()
        followers = [i for i in range(3) if i != leader]
        # one client sits on the leader (its watch stream dies with it), one on a follower
        # a write stuck on a member that still believes in the dead leader gives up after 2 s (Timeout)
        on_leader = kvstore.connect([cluster.endpoints[i] for i in [leader, *followers]], timeout=2.0)
        on_follower = kvstore.connect([cluster.endpoints[i] for i in [*followers, leader]], timeout=WAIT)
        try:
            start = on_leader.revision + 1
            watchers = [on_leader.watch(b"/w/", prefix=True), on_follower.watch(b"/w/", prefix=True),
                        on_leader.watch(b"/w/", prefix=True, prev_kv=True)]
            acknowledged: list[tuple[bytes, int]] = []
            attempts = 0
            stop = threading.Event()
            killed_at = [0]
            errors: list[BaseException] = []

            def write() -> None:
                nonlocal attempts
                deadline = time.monotonic() + 3 * WAIT
                while not stop.is_set() and time.monotonic() < deadline:
                    key = b"/w/%06d" % attempts
                    attempts += 1
                    try:
                        acknowledged.append((key, on_leader.put(key, key).revision))
                    except (kvstore.Timeout, kvstore.NoLeader):
                        time.sleep(0.01)  # may or may not be applied: the check below reads the cluster
                    except BaseException as error:  # anything else fails the test
                        errors.append(error)
                        return

            writer = threading.Thread(target=write, name="writer")
            writer.start()
            try:
                deadline = time.monotonic() + WAIT
                while len(acknowledged) < BEFORE and time.monotonic() < deadline and writer.is_alive():
                    time.sleep(0.01)
                killed_at[0] = len(acknowledged)
                cluster.kill(leader)
                while len(acknowledged) < killed_at[0] + AFTER and time.monotonic() < deadline + WAIT \
                        and writer.is_alive():
                    time.sleep(0.01)
            finally:
                stop.set()
                writer.join(WAIT)
            assert not errors, errors
            assert len(acknowledged) >= killed_at[0] + AFTER, "the client did not reach the new leader"
            new_leader = cluster.leader()
            assert new_leader != leader

            final = on_follower.range(b"/w/", prefix=True)
            held = {kv.key: kv.mod_revision for kv in final.kvs}
            for key, revision in acknowledged:
                assert held.get(key) == revision, f"acknowledged write {key!r} at {revision} lost"
            expected = sorted((revision, key) for key, revision in held.items())
            for watcher in watchers:
                seen: list = []
                _collect(watcher, expected[-1][0], seen)
                assert [(e.kv.mod_revision, e.kv.key) for e in seen] == expected  # no gap, no repeat
                assert all(e.kv.mod_revision >= start for e in seen)
            assert all(e.prev_kv is None for e in seen)  # fresh keys: nothing before them
        finally:
            on_leader.close()
            on_follower.close()
