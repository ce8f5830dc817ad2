"""The kvstore benchmark table: borgkit's embedded store next to etcd 3.4 on loopback, measured in one run.

    python benches/kvstore_table.py            # full sizes (a few minutes)
    python benches/kvstore_table.py --quick    # small sizes, under a minute

Every row is measured here and now, on this machine, single process, 256-byte values (100-byte values for
the recovery and memory rows, as the issue asks). etcd (``/usr/bin/etcd``, one member, started by this
script with a temp data dir on the same disk) is driven through gRPC by ``kvstore.connect()`` (one
long-lived channel per client); its concurrent row spreads the clients over several client processes, as
etcd's own benchmark tool does, so the rate is not bounded by one Python client. The Python clients still
share the 2 cores with etcd. When etcd is not installed its column says so.
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
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # the etcd fixture lives with the tests

import kvstore  # noqa: E402
from etcd_server import EtcdServer, etcd_installed  # noqa: E402
from go_signal import ChildFailed, go_together  # noqa: E402

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
def etcd_connect(server: EtcdServer) -> Any:
    """A long-lived gRPC client of ``server`` (kvstore.connect: one channel, opened before the clock)."""
    client = kvstore.connect(f"127.0.0.1:{server.client_port}", timeout=60)
    client.get(b"/warm-up")
    return client


def etcd_put_one_writer(server: EtcdServer, count: int) -> str:
    with etcd_connect(server) as client:
        keys = [f"/bench/{i:08d}".encode() for i in range(count)]
        put = client.put
        return rate(count, timed(lambda: [put(key, VALUE) for key in keys]))


_ETCD_WRITER = """
import sys, kvstore
from go_signal import run_on_go
target, tag, clients, per_client = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
value = b"v" * 256
handles = [kvstore.connect(target, timeout=60) for _ in range(clients)]
for handle in handles:
    handle.get(b"/warm-up")  # connected before the clock starts
tag = tag.encode()
run_on_go([lambda j, put=h.put, n=n: put(b"/bench/%s/%03d/%07d" % (tag, n, j), value)
           for n, h in enumerate(handles)], per_client)
"""


def etcd_put_spread(server: EtcdServer, processes: int, clients: int, per_client: int) -> str:
    """``processes`` client processes of ``clients`` kvstore.connect() clients each (one thread each), as
    etcd's benchmark tool spreads load: the rate is not bounded by one client interpreter."""
    path = [str(ROOT / "src"), str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))  # src, and benches/ for go_signal
    target = f"127.0.0.1:{server.client_port}"
    try:
        elapsed = go_together([[sys.executable, "-c", _ETCD_WRITER, target, f"p{p}", str(clients), str(per_client)]
                               for p in range(processes)], env)
    except ChildFailed as e:
        return f"n/a ({e})"
    return rate(processes * clients * per_client, elapsed)


def etcd_reads(server: EtcdServer, count: int, range_count: int) -> tuple[str, str]:
    with etcd_connect(server) as client:
        keys = [f"/range/{i:08d}".encode() for i in range(1000)]
        for start in range(0, 1000, 100):  # load in txns of 100 puts (etcd's default limit is 128 ops)
            client.txn([], [kvstore.Op.put(key, VALUE) for key in keys[start:start + 100]])
        lookups = [keys[i % 1000] for i in range(count)]
        get = client.get
        get_rate = rate(count, timed(lambda: [get(key) for key in lookups]))
        range_ = client.range
        range_rate = rate(range_count, timed(lambda: [range_(b"/range/", prefix=True) for _ in range(range_count)]))
        return get_rate, range_rate


def etcd_watch_latency(server: EtcdServer, watchers: int, puts: int) -> str:
    """``watchers`` watches multiplexed on one gRPC watch stream (as clientv3 shares one stream per
    context), through the generated stubs kvstore.connect() uses (aetcd.rpc); each event's delay runs from
    the put request to the moment its response is decoded here. (kvstore.connect() gives each watcher its
    own stream and thread, which would measure this process's 1,000 threads rather than etcd.)"""
    import queue as queue_module

    import grpc
    from aetcd import rpc

    channel = grpc.insecure_channel(f"127.0.0.1:{server.client_port}")
    requests: queue_module.SimpleQueue[Any] = queue_module.SimpleQueue()
    for _ in range(watchers):
        requests.put(rpc.WatchRequest(create_request=rpc.WatchCreateRequest(key=b"/watched")))
    stream = rpc.WatchStub(channel).Watch(iter(requests.get, None), timeout=600)
    client = etcd_connect(server)
    try:
        created = 0
        while created < watchers:
            created += next(stream).created
        samples: list[float] = []
        for i in range(puts):
            sent = time.perf_counter()
            client.put(b"/watched", str(i).encode())
            seen = 0
            while seen < watchers:
                events = len(next(stream).events)
                seen += events
                samples.extend([time.perf_counter() - sent] * events)
        return latency_cell(samples)
    finally:
        requests.put(None)
        stream.cancel()
        channel.close()
        client.close()


def etcd_rss_and_restart(keys: int) -> tuple[str, str]:
    """Load ``keys`` keys of 100 bytes (txns of 100 puts), read etcd's RSS, then restart it and time
    until healthy. The revisions differ from ours (one per txn), the key count is the same."""
    import psutil

    server = EtcdServer(unsafe_no_fsync=True).start()
    try:
        with etcd_connect(server) as client:
            for start in range(0, keys, 100):
                client.txn([], [kvstore.Op.put(b"/rss/%09d" % i, SMALL_VALUE) for i in range(start, min(keys, start + 100))])
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
        rows.append(("put, 64 writers, fsync batch (etcd: 4 processes x 16 clients)",
                     durable or ours_put_threads(64, per_thread),
                     etcd_put_spread(etcd, 4, 16, per_thread // 2) if etcd else missing, ">= 20,000/s"))
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
    header = ("workload", "borgkit kvstore", "etcd 3.4 (gRPC, kvstore.connect)", "target")
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
    print("etcd: 1 member on 127.0.0.1 started by this script; its client is kvstore.connect() (gRPC, one")
    print("long-lived channel per client); the 64-writer row spreads 64 clients over 4 client processes, while")
    print("borgkit's 64 writers are threads of the one process that embeds the store (its deployment: there is")
    print("no client). The watch row multiplexes the watchers on one gRPC stream. fsync-never rows use")
    print("etcd's --unsafe-no-fsync.")
    print("etcd restart/RSS rows load the same keys in txns of 100 puts (fewer revisions than ours).")
    print("The disk row is the fsync ceiling of this (shared) disk during the run: fsync rows move with it.")
    print("load average at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
