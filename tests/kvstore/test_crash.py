"""SIGKILL a writing process at random moments: every write it acknowledged is there, intact, after reopen.

The child appends (WAL level) or puts (Store level) in a loop and prints each acknowledged sequence number
or revision only after ``wait_durable`` / ``put`` returned. The parent kills it with SIGKILL after a random
delay, reopens the directory and checks every acknowledged record. Ten rounds on one directory, so crashes
also land in segment rollovers and snapshots.
"""
from __future__ import annotations

import os
import stat
import random
import select
import signal
import subprocess
import sys
import textwrap
import time

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import kvstore
from kvstore.wal import open_wal

ROUNDS = 10

PAYLOAD = """
def payload_for(seq):
    return b"%d:" % seq + bytes((seq * 7 + i) % 256 for i in range(seq % 200))
"""

WAL_CHILD = PAYLOAD + """
import sys, threading, msgpack
from kvstore.wal import open_wal

directory, policy, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
wal, _snapshot, records = open_wal(directory, fsync=policy, segment_bytes=4096)
for _ in records:
    pass
lock, out = threading.Lock(), threading.Lock()
print("ready", wal.last_seq, flush=True)

def writer():
    while True:
        with lock:  # as the store: sequence numbers are assigned under one lock
            seq = wal.append(payload_for(wal.last_seq + 1))
            if seq % 97 == 0:
                wal.save_snapshot(msgpack.packb(seq), seq)
        wal.wait_durable(seq)
        with out:
            print(seq, flush=True)

for _ in range(threads - 1):
    threading.Thread(target=writer, daemon=True).start()
writer()
"""

STORE_CHILD = """
import sys, threading, kvstore

directory, round_, policy, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = kvstore.open(directory, fsync=policy, snapshot_every=30, segment_bytes=4096)
out = threading.Lock()
print("ready", store.revision, flush=True)

def writer(thread):
    number = 0
    while True:
        number += 1
        key = b"key-%d-%d" % (thread, number % 8)
        value = b"round %s thread %d write %d" % (round_.encode(), thread, number)
        response = store.put(key, value)
        with out:
            print(response.revision, key.decode(), value.decode(), flush=True)

for thread in range(1, threads):
    threading.Thread(target=writer, args=(thread,), daemon=True).start()
writer(0)
"""

namespace: dict = {}
exec(PAYLOAD, namespace)
payload_for = namespace["payload_for"]


def run_and_kill(script: str, args: list[str], rng: random.Random) -> list[str]:
    """Start the child, SIGKILL it a random time after it is ready, return its complete output lines."""
    # unbuffered: readline() below must not read past the "ready" line, since communicate() reads the
    # pipe itself and would never see what a buffered reader had taken (acknowledgements lost or cut)
    child = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, bufsize=0)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 60)
        assert ready, "the child never became ready"
        first = child.stdout.readline()
        assert first.startswith(b"ready"), (first, child.stderr.read() if child.poll() is not None else b"")
        time.sleep(rng.uniform(0.02, 0.4))  # a random kill moment, not a timing assertion
        child.send_signal(signal.SIGKILL)
        output, errors = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL, errors.decode()[-2000:]
    lines = output.split(b"\n")
    return [line.decode() for line in lines[:-1]]  # the last piece may be a half-printed line


@pytest.mark.parametrize("policy,threads", [("always", 1), ("batch", 8)])
def test_wal_keeps_every_acknowledged_record_across_sigkill(tmp_path, policy, threads):
    rng = random.Random(f"{policy}{threads}")
    script = textwrap.dedent(WAL_CHILD)
    acknowledged = 0
    for _round in range(ROUNDS):
        lines = run_and_kill(script, [str(tmp_path), policy, str(threads)], rng)
        if lines:
            acknowledged = max(acknowledged, max(map(int, lines)))
        wal, snapshot, records = open_wal(str(tmp_path), segment_bytes=4096)
        try:
            first = 1 if snapshot is None else msgpack.unpackb(snapshot) + 1
            replayed = list(records)
            assert replayed == [payload_for(seq) for seq in range(first, first + len(replayed))]
            assert wal.last_seq == first + len(replayed) - 1 >= acknowledged
        finally:
            wal.close()
    assert acknowledged > 0


@pytest.mark.parametrize("policy,threads", [("always", 1), ("batch", 4), ("batch", 8)])
def test_store_keeps_every_acknowledged_put_across_sigkill(tmp_path, policy, threads):
    rng = random.Random(f"store{policy}{threads}")
    acknowledged: list[tuple[int, bytes, bytes]] = []
    for round_ in range(ROUNDS):
        lines = run_and_kill(STORE_CHILD, [str(tmp_path), str(round_), policy, str(threads)], rng)
        fresh = []
        for line in lines:
            revision, key, value = line.split(" ", 2)
            fresh.append((int(revision), key.encode(), value.encode()))
        acknowledged.extend(fresh)
        with kvstore.open(str(tmp_path), segment_bytes=4096) as store:
            if acknowledged:
                assert store.revision >= max(revision for revision, _key, _value in acknowledged)
            for revision, key, value in fresh:  # earlier rounds' writes were checked in their round
                kv = store.get(key, revision=revision)
                assert kv is not None and (kv.value, kv.mod_revision) == (value, revision)
    assert len(acknowledged) > 0
    with kvstore.open(str(tmp_path), segment_bytes=4096) as store:
        latest: dict[bytes, tuple[int, bytes]] = {}
        for revision, key, value in sorted(acknowledged):
            latest[key] = (revision, value)
        for key, (revision, value) in latest.items():
            current = store.get(key)
            assert current.mod_revision >= revision
            if current.mod_revision == revision:
                assert current.value == value
    assert os.listdir(tmp_path)


class SyncedSizes:
    """An fsync that remembers, per file, the bytes the last fsync covered: what a power cut keeps. (Its
    content, not just its size: a segment is preallocated, so unsynced records lie inside its size.)"""

    def __init__(self) -> None:
        self.contents: dict[int, bytes] = {}

    def __call__(self, fd: int) -> None:
        os.fsync(fd)
        status = os.fstat(fd)
        if stat.S_ISREG(status.st_mode):  # (directories are fsynced too)
            with open(f"/proc/self/fd/{fd}", "rb") as again:  # the fd itself may be write-only
                self.contents[status.st_ino] = again.read()

    def power_cut(self, directory) -> None:
        """Put every file back to its last fsynced content, as a machine losing its page cache would."""
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            synced = self.contents.get(os.stat(path).st_ino, b"")
            with open(path, "r+b") as f:
                if f.read() != synced:
                    f.seek(0)
                    f.write(synced)
                    f.truncate(len(synced))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=st.sampled_from(["always", "batch"]),
       steps=st.lists(st.one_of(st.binary(max_size=200), st.sampled_from(["wait", "snapshot"])), max_size=60))
def test_a_power_cut_keeps_every_acknowledged_record(tmp_path_factory, policy, steps):
    """Only fsynced bytes survive: every record whose wait_durable returned must still be recovered."""
    directory = str(tmp_path_factory.mktemp("power"))
    synced = SyncedSizes()
    wal, _, _ = open_wal(directory, fsync=policy, segment_bytes=1024, fsync_function=synced)
    history: list[bytes] = []
    acknowledged = 0
    for step in steps:
        if step == "wait":
            if history:
                wal.wait_durable(len(history))
                acknowledged = len(history)
        elif step == "snapshot":
            wal.save_snapshot(msgpack.packb(len(history)), len(history))
            acknowledged = len(history)
        else:
            assert wal.append(step) == len(history) + 1
            history.append(step)
    synced.power_cut(directory)  # before close: close would fsync everything
    os.close(wal._fd)  # abandon the WAL as a dead machine would: no close(), no final fsync
    os.close(wal._directory_lock)
    wal._closed = True
    wal, snapshot, records = open_wal(directory, segment_bytes=1024)
    covered = 0 if snapshot is None else msgpack.unpackb(snapshot)
    recovered = history[:covered] + list(records)
    wal.close()
    assert len(recovered) >= acknowledged
    assert recovered == history[:len(recovered)]
