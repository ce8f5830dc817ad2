"""The kvstore benchmark table: borgkit's embedded store next to etcd 3.4 on loopback, measured in one run.

    python benches/kvstore_table.py            # full sizes (a few minutes)
    python benches/kvstore_table.py --quick    # small sizes, under a minute

Every row is measured here and now, on this machine, single process, 256-byte values (100-byte values for
the recovery and memory rows, as the issue asks). etcd (``/usr/bin/etcd``, one member, started by this
script with a temp data dir on the same disk) is driven by tests/etcd_client.py: Python, HTTP/1.1 + JSON
through etcd's gRPC gateway, one keep-alive connection per client thread. That is not gRPC, so etcd's
figures here understate it somewhat (more per request, and the Python client shares the 2 cores).
When etcd is not installed its column says so.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the etcd fixture and JSON-gateway client live with the tests

import kvstore  # noqa: E402
from etcd_client import EtcdClient  # noqa: E402
from etcd_server import EtcdServer, etcd_installed  # noqa: E402

VALUE = b"v" * 256
SMALL_VALUE = b"v" * 100


# ------------------------------------------------------------------------------------------------ helpers
def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_threads(count: int, target: Callable[[int], None]) -> float:
    """Run ``target(i)`` in ``count`` threads started together; the wall time until all are done."""
    barrier = threading.Barrier(count + 1)

    def body(i: int) -> None:
        barrier.wait()
        target(i)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def scratch_dir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"borgkit-bench-{name}-"))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_cell(samples: list[float]) -> str:
    return f"p50 {percentile(samples, 0.50) * 1e3:.2f} ms, p99 {percentile(samples, 0.99) * 1e3:.2f} ms"


def durable_store_available() -> str | None:
    """None when ``kvstore.open(path)`` works here, else why not (the WAL module may not exist yet)."""
    directory = scratch_dir("probe")
    try:
        kvstore.open(str(directory)).close()
        return None
    except Exception as error:  # any failure means: no durable rows from us
        return f"n/a ({type(error).__name__}: {error})"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ disk
def disk_fsync_rate(count: int, preallocate: bool) -> str:
    """The ceiling this disk sets right now: 280-byte appends (a 256-byte put's record), each fsynced."""
    directory = scratch_dir("disk")
    try:
        fd = os.open(directory / "probe", os.O_CREAT | os.O_WRONLY)
        try:
            if preallocate:
                os.posix_fallocate(fd, 0, 64 << 20)  # as etcd does with its 64 MiB WAL segments
            record = b"r" * 280
            return rate(count, timed(lambda: [os.write(fd, record) and os.fdatasync(fd) for _ in range(count)]))
        finally:
            os.close(fd)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ ours
def ours_put_one_writer(fsync: str, count: int) -> str:
    directory = scratch_dir(f"put-{fsync}")
    try:
        with kvstore.open(str(directory), fsync=fsync) as store:
            keys = [f"/bench/{i:08d}".encode() for i in range(count)]
            put = store.put
            return rate(count, timed(lambda: [put(key, VALUE) for key in keys]))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def ours_put_threads(threads: int, per_thread: int) -> str:
    directory = scratch_dir("put-batch")
    try:
        with kvstore.open(str(directory), fsync="batch") as store:
            def writer(i: int) -> None:
                put = store.put
                for j in range(per_thread):
                    put(f"/bench/{i:03d}/{j:07d}".encode(), VALUE)
            return rate(threads * per_thread, run_threads(threads, writer))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def ours_reads(count: int, range_count: int) -> tuple[str, str]:
    with kvstore.open() as store:
        keys = [f"/bench/{i:08d}".encode() for i in range(1000)]
        for key in keys:
            store.put(key, VALUE)
        get = store.get
        lookups = [keys[i % 1000] for i in range(count)]
        get_rate = rate(count, timed(lambda: [get(key) for key in lookups]))
        range_ = store.range
        range_rate = rate(range_count, timed(lambda: [range_(b"/bench/", prefix=True) for _ in range(range_count)]))
        return get_rate, range_rate


def ours_watch_latency(watchers: int, puts: int) -> str:
    with kvstore.open() as store:
        samples: list[float] = []
        lock = threading.Lock()
        delivered = threading.Semaphore(0)
        sent_at = [0.0]

        def on_event(item: Any) -> None:
            if isinstance(item, kvstore.Event):
                arrived = time.perf_counter()
                with lock:
                    samples.append(arrived - sent_at[0])
                delivered.release()

        handles = [store.watch(b"/watched", callback=on_event) for _ in range(watchers)]
        try:
            for i in range(puts):
                sent_at[0] = time.perf_counter()
                store.put(b"/watched", str(i).encode())
                for _ in range(watchers):
                    if not delivered.acquire(timeout=30):
                        return "n/a (deliveries stalled)"
        finally:
            for handle in handles:
                handle.cancel()
        return latency_cell(samples)


_CHILD_WRITE = """
import sys, kvstore
path, count = sys.argv[1], int(sys.argv[2])
value = b"v" * 100
with kvstore.open(path, fsync="never", snapshot_every=10 * count + 1) as store:
    put = store.put
    for i in range(count):
        put(b"/recover/%09d" % i, value)
"""

_CHILD_OPEN = """
import sys, time, kvstore, psutil
path = sys.argv[1]
start = time.perf_counter()
store = kvstore.open(path, fsync="never", snapshot_every=10**9)
elapsed = time.perf_counter() - start
print(elapsed, store.revision, psutil.Process().memory_info().rss)
store.close()
"""

_CHILD_RSS = """
import sys, kvstore, psutil
count = int(sys.argv[1])
before = psutil.Process().memory_info().rss
store = kvstore.open()
value = b"v" * 100
put = store.put
for i in range(count):
    put(b"/rss/%09d" % i, value)
print(psutil.Process().memory_info().rss, before)
"""


def child(code: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                            timeout=1800, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "child failed")
    return result.stdout.strip()


def ours_recovery(revisions: int) -> str:
    directory = scratch_dir("recover")
    try:
        child(_CHILD_WRITE, str(directory), str(revisions))
        seconds, revision, _rss = child(_CHILD_OPEN, str(directory)).split()
        if int(revision) != revisions + 1:
            return f"wrong: reopened at revision {revision}, expected {revisions + 1}"
        return f"{float(seconds):.2f} s"
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return f"n/a ({error})"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def ours_rss(keys: int) -> str:
    after, before = (int(x) for x in child(_CHILD_RSS, str(keys)).split())
    return f"{after / 2**20:,.0f} MiB (store {(after - before) / 2**20:,.0f} MiB)"


# ------------------------------------------------------------------------------------------------ etcd
def etcd_put_one_writer(server: EtcdServer, count: int) -> str:
    with EtcdClient(server.host, server.client_port) as client:
        keys = [f"/bench/{i:08d}".encode() for i in range(count)]
        return rate(count, timed(lambda: [client.put(key, VALUE) for key in keys]))


def etcd_put_threads(server: EtcdServer, threads: int, per_thread: int) -> str:
    clients = [EtcdClient(server.host, server.client_port) for _ in range(threads)]
    try:
        for client in clients:
            client.revision()  # connect before the clock starts

        def writer(i: int) -> None:
            put = clients[i].put
            for j in range(per_thread):
                put(f"/bench/{i:03d}/{j:07d}".encode(), VALUE)
        return rate(threads * per_thread, run_threads(threads, writer))
    finally:
        for client in clients:
            client.close()


def etcd_reads(server: EtcdServer, count: int, range_count: int) -> tuple[str, str]:
    with EtcdClient(server.host, server.client_port) as client:
        keys = [f"/range/{i:08d}".encode() for i in range(1000)]
        for start in range(0, 1000, 100):  # load in txns of 100 puts (etcd's default limit is 128 ops)
            client.txn([], [client.op_put(client.put_request(key, VALUE)) for key in keys[start:start + 100]], [])
        lookups = [keys[i % 1000] for i in range(count)]
        get_rate = rate(count, timed(lambda: [client.range(key) for key in lookups]))
        end = b"/range0"  # prefix end of b"/range/"
        range_rate = rate(range_count, timed(lambda: [client.range(b"/range/", end) for _ in range(range_count)]))
        return get_rate, range_rate


def etcd_watch_latency(server: EtcdServer, watchers: int, puts: int) -> str:
    """Watchers on gateway streams of 50 each; each event's delay runs from the put request to the moment
    its response is decoded here. Why 50: the create requests travel in the HTTP request body, and Go's
    HTTP/1 server stops reading a body once the handler starts answering (etcd's first "created"), so
    only what its first 4 KiB read holds arrives: about 90 create requests."""
    per_stream = 50
    client = EtcdClient(server.host, server.client_port)
    streams = [client.watch_many([{"key": "L3dhdGNoZWQ="}] * min(per_stream, watchers - i))  # b"/watched"
               for i in range(0, watchers, per_stream)]
    try:
        for stream, size in zip(streams, [min(per_stream, watchers - i) for i in range(0, watchers, per_stream)]):
            created = 0
            while created < size:
                response = stream.next_response(30)
                if response is None:
                    return f"n/a (only {created} of {size} watchers created)"
                created += response["created"]
        samples: list[float] = []
        for i in range(puts):
            sent = time.perf_counter()
            client.put(b"/watched", str(i).encode())
            for stream, size in zip(streams, [min(per_stream, watchers - j) for j in range(0, watchers, per_stream)]):
                seen = 0
                while seen < size:
                    response = stream.next_response(30)
                    if response is None:
                        return "n/a (deliveries stalled)"
                    events = len(response["events"])
                    seen += events
                    samples.extend([time.perf_counter() - sent] * events)
        return latency_cell(samples)
    finally:
        for stream in streams:
            stream.close()
        client.close()


def etcd_rss_and_restart(keys: int) -> tuple[str, str]:
    """Load ``keys`` keys of 100 bytes (txns of 100 puts), read etcd's RSS, then restart it and time
    until healthy. The revisions differ from ours (one per txn), the key count is the same."""
    import psutil

    server = EtcdServer(unsafe_no_fsync=True).start()
    try:
        with EtcdClient(server.host, server.client_port) as client:
            for start in range(0, keys, 100):
                client.txn([], [client.op_put(client.put_request(b"/rss/%09d" % i, SMALL_VALUE))
                                for i in range(start, min(keys, start + 100))], [])
        assert server.process is not None
        rss = psutil.Process(server.process.pid).memory_info().rss
        seconds = server.restart()
        return f"{seconds:.2f} s (restart, {keys:,} keys)", f"{rss / 2**20:,.0f} MiB"
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------------ table
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    args = parser.parse_args(argv)
    q = args.quick
    n_always = 300 if q else 2000
    per_thread = 80 if q else 400
    n_never = 20_000 if q else 200_000
    n_get = 100_000 if q else 1_000_000
    n_range = 200 if q else 2000
    n_watch_puts = 5 if q else 50
    n_recover = 100_000 if q else 1_000_000
    n_rss = 200_000 if q else 1_000_000

    durable = durable_store_available()
    rows: list[tuple[str, str, str, str]] = []
    have_etcd = etcd_installed()
    etcd = EtcdServer().start() if have_etcd else None
    etcd_fast = EtcdServer(unsafe_no_fsync=True).start() if have_etcd else None
    missing = "etcd not installed"
    try:
        rows.append(("disk: 280-byte write + fdatasync", disk_fsync_rate(n_always, False),
                     f"preallocated file: {disk_fsync_rate(n_always, True)}", "reference"))
        rows.append(("put, 1 writer, fsync always",
                     durable or ours_put_one_writer("always", n_always),
                     etcd_put_one_writer(etcd, n_always // 2) if etcd else missing, ">= 3,000/s"))
        rows.append(("put, 64 writer threads, fsync batch",
                     durable or ours_put_threads(64, per_thread),
                     etcd_put_threads(etcd, 64, per_thread // 2) if etcd else missing, ">= 20,000/s"))
        rows.append(("put, 1 writer, fsync never",
                     durable or ours_put_one_writer("never", n_never),
                     etcd_put_one_writer(etcd_fast, n_never // 20) if etcd_fast else missing,
                     ">= 100,000/s"))
        ours_get, ours_range = ours_reads(n_get, n_range)
        etcd_get, etcd_range = (etcd_reads(etcd_fast, n_get // 50, n_range // 2) if etcd_fast
                                else (missing, missing))
        rows.append(("get (1 key, 1 reader)", ours_get, etcd_get, ">= 300,000/s"))
        rows.append(("range over 1,000 keys", ours_range, etcd_range, "report"))
        rows.append(("watch, 1,000 watchers: put to delivery", ours_watch_latency(1000, n_watch_puts),
                     etcd_watch_latency(etcd_fast, 1000, n_watch_puts) if etcd_fast else missing, "report"))
    finally:
        for server in (etcd, etcd_fast):
            if server is not None:
                server.stop()
    etcd_restart, etcd_rss = (etcd_rss_and_restart(n_rss if not q else 100_000) if have_etcd
                              else (missing, missing))
    rows.append((f"recovery: open a WAL of {n_recover:,} revisions", durable or ours_recovery(n_recover),
                 etcd_restart, "< 10 s (1,000,000)"))
    rows.append((f"RSS, {n_rss:,} keys of 100-byte values", ours_rss(n_rss), etcd_rss, "< 1 GiB (1,000,000)"))
    print_table(rows, q)


def print_table(rows: list[tuple[str, str, str, str]], quick: bool) -> None:
    header = ("workload", "borgkit kvstore", "etcd 3.4 (HTTP/JSON gateway)", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(f"kvstore benchmark {'(--quick) ' if quick else ''}on {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}, 256-byte values unless noted")
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(line)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print(line)
    print("etcd: 1 member on 127.0.0.1 started by this script; its client is Python over HTTP/1.1 + JSON (the")
    print("gRPC gateway), not gRPC, which understates etcd somewhat. fsync-never rows use --unsafe-no-fsync.")
    print("etcd restart/RSS rows load the same keys in txns of 100 puts (fewer revisions than ours).")
    print("The disk row is the fsync ceiling of this (shared) disk during the run: fsync rows move with it.")


if __name__ == "__main__":
    main()
