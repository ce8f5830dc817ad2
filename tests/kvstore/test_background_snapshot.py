"""An automatic snapshot is written by the WAL's thread while writes go on; a crash or a failure meanwhile
loses nothing that was acknowledged."""
from __future__ import annotations

import os
import threading

import pytest

import kvstore
from kvstore.errors import KVError

WAIT = 30.0


class SnapshotGate:
    """An fsync function that holds the snapshot thread's fsyncs until released (others pass)."""

    def __init__(self, fail: bool = False) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, fd: int) -> None:
        if threading.current_thread().name == "kvstore-snapshot":
            self.entered.set()
            assert self.release.wait(WAIT)
            if self.fail:
                raise OSError(5, "Input/output error")
        os.fsync(fd)


def _snapshots(path) -> list[str]:
    return sorted(name for name in os.listdir(path) if name.endswith(".snap"))


def test_writes_go_on_while_the_snapshot_is_written_and_it_covers_its_records(tmp_path):
    gate = SnapshotGate()
    store = kvstore.open(str(tmp_path), fsync="always", snapshot_every=10, fsync_function=gate)
    try:
        for number in range(10):
            store.put(b"k%d" % number, b"before")
        assert gate.entered.wait(WAIT)  # the 10th write started a snapshot, its thread now holds the fsync
        for number in range(10, 30):  # acknowledged while the snapshot file is not durable yet
            store.put(b"k%d" % number, b"during")
        assert _snapshots(tmp_path) == []
        assert store._engine.wal.snapshot_in_flight
        gate.release.set()
        expected = (store.revision, store.hash_kv())
    finally:
        gate.release.set()
        store.close()  # waits for the snapshot thread
    assert len(_snapshots(tmp_path)) == 1
    with kvstore.open(str(tmp_path)) as reopened:
        assert (reopened.revision, reopened.hash_kv()) == expected
        assert reopened.get(b"k29").value == b"during"


def test_a_failed_background_snapshot_fails_the_store_and_loses_no_write(tmp_path):
    gate = SnapshotGate(fail=True)
    store = kvstore.open(str(tmp_path), fsync="batch", snapshot_every=5, fsync_function=gate)
    try:
        for number in range(5):
            store.put(b"k%d" % number, b"v")
        assert gate.entered.wait(WAIT)
        store.put(b"acknowledged", b"v")  # goes to the new segment meanwhile
        revision = store.revision
        writer = store._engine.wal._snapshot_thread
        gate.release.set()
        writer.join(WAIT)
        assert not writer.is_alive()
        with pytest.raises(KVError, match="reopen"):
            store.put(b"later", b"v")
        with pytest.raises(KVError, match="reopen"):
            store.put(b"later", b"v")  # refused from then on, as after a failed fsync
    finally:
        gate.release.set()
        store.close()
    with kvstore.open(str(tmp_path)) as reopened:
        assert reopened.get(b"acknowledged").value == b"v"
        assert reopened.get(b"later") is None  # never acknowledged, never logged
        assert reopened.revision >= revision
        assert _snapshots(tmp_path) == []
