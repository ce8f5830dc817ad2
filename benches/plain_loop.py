"""Issue 12's plain loop: the figures a new user sees, beside etcd 3.4 (one member, gRPC) in the same run.

    python benches/plain_loop.py                 # about 40 s: borgkit, then etcd 3.4 (/usr/bin/etcd)
    python benches/plain_loop.py --no-etcd       # borgkit only
    python benches/plain_loop.py --runs 3        # each borgkit row 3 times, the median printed

Each borgkit row is the loop a user would write, nothing prepared ahead (keys formatted in the loop, the
clock read every iteration, 256-byte values, keys ``/bench/%08d``)::

    s = kvstore.open(tmpdir, fsync="never")
    n = 0
    deadline = time.perf_counter() + 1.5
    while time.perf_counter() < deadline:
        s.put(b"/bench/%08d" % n, value)
        n += 1

``batch`` rows run that loop in 64 (then 8) threads for 2 s, sharing one counter; ``get`` reads the keys
the ``never`` row wrote. etcd 3.4 (one member started here on 127.0.0.1) runs the very same loops on
``s = kvstore.connect(...)``, the gRPC client of ``borgkit[etcd]``: ``--unsafe-no-fsync`` for the
``never`` row, etcd's own fsync (every Raft batch) for the others. The Python client shares the 2 cores with
etcd, so etcd's column is what a Python program gets from etcd on this machine, not etcd's own ceiling
(its Go ``benchmark`` tool is not packaged).
The load average is printed before and after: figures from a loaded machine are not comparable. The
"per CPU-second" column divides by this process's CPU time instead of the wall clock: for the CPU-bound
rows (``never``, ``get``) it is what the loop would do with a core of its own, which other processes'
load changes far less (for the fsync-bound rows it only shows the CPU each write costs).
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import kvstore  # noqa: E402

VALUE = b"v" * 256
FLOORS = {"put never, 1 thread": ">= 100,000/s", "put batch, 64 threads": ">= 20,000/s",
          "put batch, 8 threads": ">= 13,000/s", "put always, 1 thread": ">= 3,000/s",
          "get, 1 thread": ">= 300,000/s"}


# ------------------------------------------------------------------------------------------- borgkit
def plain_put(fsync: str, seconds: float, threads: int = 1, keep: list[Any] | None = None,
              connect: Callable[[], Any] | None = None, cpu: list[float] | None = None) -> float:
    """Puts per second of the plain loop in ``threads`` threads on a fresh store in a temp directory (or on
    ``connect()``'s store); with ``keep``, the plain get loop's rate on the keys written is appended to it;
    with ``cpu``, the puts per CPU-second of this process (what another process's load changes least)."""
    with tempfile.TemporaryDirectory(prefix="borgkit-plain-") as directory:
        s = kvstore.open(directory, fsync=fsync) if connect is None else connect()
        try:
            cpu_started = time.process_time()
            if threads == 1:
                n = 0
                started = time.perf_counter()
                deadline = started + seconds
                while time.perf_counter() < deadline:
                    s.put(b"/bench/%08d" % n, VALUE)
                    n += 1
                elapsed = time.perf_counter() - started
            else:
                n, elapsed = _threaded_puts(s, seconds, threads)
            if cpu is not None:
                cpu.append(n / max(time.process_time() - cpu_started, 1e-9))
            if keep is not None:
                keep.append(_plain_get(s, seconds, n, cpu))
            return n / elapsed
        finally:
            s.close()


def _threaded_puts(s: Any, seconds: float, threads: int) -> tuple[int, float]:
    counter = itertools.count()  # next() on it is atomic under the GIL: every key is written once
    start = threading.Barrier(threads + 1)
    deadline = [0.0]

    def writer() -> None:
        start.wait()
        while time.perf_counter() < deadline[0]:
            s.put(b"/bench/%08d" % next(counter), VALUE)

    workers = [threading.Thread(target=writer, name=f"plain-writer-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return next(counter), elapsed


def _plain_get(s: Any, seconds: float, written: int, cpu: list[float] | None = None) -> float:
    n = 0
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        s.get(b"/bench/%08d" % (n % written))
        n += 1
    rate = n / (time.perf_counter() - started)
    if cpu is not None:
        cpu.append(n / max(time.process_time() - cpu_started, 1e-9))
    return rate


def borgkit_rows(seconds: float, runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median rates per row, and median rates per CPU-second of this process."""
    rows: dict[str, list[float]] = {name: [] for name in FLOORS}
    per_cpu: dict[str, list[float]] = {name: [] for name in FLOORS}
    for _ in range(runs):
        gets: list[float] = []
        cpu: list[float] = []
        rows["put never, 1 thread"].append(plain_put("never", seconds, keep=gets, cpu=cpu))
        rows["get, 1 thread"].append(gets[0])
        per_cpu["put never, 1 thread"].append(cpu[0])
        per_cpu["get, 1 thread"].append(cpu[1])
        for name, fsync, threads, length in (("put batch, 64 threads", "batch", 64, seconds + 0.5),
                                             ("put batch, 8 threads", "batch", 8, seconds + 0.5),
                                             ("put always, 1 thread", "always", 1, seconds)):
            cpu = []
            rows[name].append(plain_put(fsync, length, threads, cpu=cpu))
            per_cpu[name].append(cpu[0])
    return ({name: statistics.median(values) for name, values in rows.items()},
            {name: statistics.median(values) for name, values in per_cpu.items()})


# ------------------------------------------------------------------------------------------- etcd
def etcd_rows(seconds: float) -> dict[str, float] | str:
    """etcd 3.4's figures for the same loops through ``kvstore.connect()``, or why there are none."""
    try:
        from etcd_server import EtcdServer, etcd_installed
        from kvstore import remote  # noqa: F401  (the etcd extra is installed)
    except ImportError as error:
        return f"etcd column skipped: {error} (pip install 'borgkit[etcd]')"
    if not etcd_installed():
        return "etcd column skipped: /usr/bin/etcd not installed"
    rows: dict[str, float] = {}
    with EtcdServer(unsafe_no_fsync=True) as server:
        def fast() -> Any:
            return kvstore.connect(f"127.0.0.1:{server.client_port}")
        gets: list[float] = []
        rows["put never, 1 thread"] = plain_put("never", seconds, keep=gets, connect=fast)
        rows["get, 1 thread"] = gets[0]
    with EtcdServer() as server:
        def durable() -> Any:
            return kvstore.connect(f"127.0.0.1:{server.client_port}")
        rows["put batch, 64 threads"] = plain_put("batch", seconds + 0.5, 64, connect=durable)
        rows["put batch, 8 threads"] = plain_put("batch", seconds + 0.5, 8, connect=durable)
        rows["put always, 1 thread"] = plain_put("always", seconds, connect=durable)
    return rows


# ------------------------------------------------------------------------------------------- table
def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.2f} (5 min {five:.2f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each single-thread loop")
    parser.add_argument("--runs", type=int, default=1, help="borgkit runs per row; the median is printed")
    parser.add_argument("--no-etcd", action="store_true", help="skip the etcd 3.4 column")
    args = parser.parse_args(argv)
    before = load()
    ours, ours_per_cpu = borgkit_rows(args.seconds, args.runs)
    middle = load()
    theirs = "etcd column skipped (--no-etcd)" if args.no_etcd else etcd_rows(args.seconds)
    after = load()
    print(f"load average: {before} before, {middle} after borgkit, {after} after etcd; {os.cpu_count()} cores")
    print("| workload (plain loop, 256-byte values) | borgkit | borgkit per CPU-second | "
          "etcd 3.4 (1 member, kvstore.connect) | floor |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, floor in FLOORS.items():
        etcd = f"{theirs[name]:,.0f}/s" if isinstance(theirs, dict) else "-"
        etcd_name = " (--unsafe-no-fsync)" if isinstance(theirs, dict) and "never" in name else ""
        if isinstance(theirs, dict) and "threads" in name:
            etcd_name = f" ({name.split(', ')[1].split()[0]} clients)"
        print(f"| {name} | {ours[name]:,.0f}/s | {ours_per_cpu[name]:,.0f} | {etcd}{etcd_name} | {floor} |")
    if isinstance(theirs, str):
        print(theirs)


if __name__ == "__main__":
    main()
