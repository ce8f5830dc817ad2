"""kvstore.open(..., cluster=...) hands every Store option of the embedded open() to the Raft member."""
from __future__ import annotations

import os
import time

import pytest

import kvstore
from kvstore.errors import InvalidArgument
from kvstore.replication import Cluster
from kvstore.replication.raftnode import SNAPSHOT_NAME

from .support import SECRET, WAIT, free_ports, wait_until

pytestmark = pytest.mark.timeout(60)


def _single(tmp_path, port=None, **options):
    port = port or free_ports(1)[0]
    member = kvstore.open(str(tmp_path / "m"), cluster=Cluster(self_address=f"127.0.0.1:{port}", peers=[],
                                                               secret=SECRET), **options)
    member.wait_ready(10)
    return member


def test_watch_queue_size_reaches_the_member(tmp_path) -> None:
    # A watcher whose queue (2) overflowed falls behind; a compaction past it ends it after what
    # was queued. With the default queue (1024) it would have seen all ten values.
    member = _single(tmp_path, watch_queue_size=2)
    try:
        watcher = member.watch(b"k")
        for number in range(10):
            member.put(b"k", b"%d" % number)
        member.compact(8)
        seen = []
        with pytest.raises(kvstore.Compacted):
            while True:
                seen.append(watcher.get(WAIT).kv.value)
        assert seen == [b"0", b"1"]
    finally:
        member.close()


def test_progress_notify_interval_reaches_the_member(tmp_path) -> None:
    member = _single(tmp_path, progress_notify_interval=0.2)  # the default is 600 s
    try:
        member.put(b"k", b"v")
        with member.watch(b"k", progress_notify=True) as watcher:
            started = time.monotonic()
            response = next(watcher.responses(timeout=WAIT))
            assert not response.events and response.revision == member.revision
            assert time.monotonic() - started < WAIT  # far below the 600 s default: the 0.2 s interval took
    finally:
        member.close()


def test_snapshot_every_sets_the_raft_snapshot_interval(tmp_path) -> None:
    port, = free_ports(1)
    member = _single(tmp_path, port, snapshot_every=4)  # Cluster.snapshot_entries is 20,000 by default
    try:
        for number in range(12):
            member.put(b"k%d" % number, b"v")
        wait_until(lambda: os.path.exists(tmp_path / "m" / SNAPSHOT_NAME), WAIT, "a Raft snapshot")
    finally:
        member.close()
    reopened = _single(tmp_path, port, snapshot_every=4)
    try:
        assert [kv.key for kv in reopened.range(b"k", prefix=True).kvs] == sorted(b"k%d" % n for n in range(12))
    finally:
        reopened.close()


@pytest.mark.parametrize("value", [1, "10", 2.5])
def test_a_bad_snapshot_every_is_refused_naming_it(tmp_path, value) -> None:
    port, = free_ports(1)
    cluster = Cluster(self_address=f"127.0.0.1:{port}", peers=[], secret=SECRET)
    with pytest.raises(InvalidArgument, match="snapshot_every"):
        kvstore.open(str(tmp_path), cluster=cluster, snapshot_every=value)
    assert not os.path.exists(tmp_path / "raft.log")  # bad input changes nothing


def test_unknown_options_are_refused(tmp_path) -> None:
    port, = free_ports(1)
    cluster = Cluster(self_address=f"127.0.0.1:{port}", peers=[], secret=SECRET)
    with pytest.raises(InvalidArgument, match="segment_bytez"):
        kvstore.open(str(tmp_path), cluster=cluster, segment_bytez=1)
