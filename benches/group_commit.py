"""The group commit of fsync="batch" (issue 12's 8- and 64-thread plain loop): what the disk allows, and
this checkout against another one, alternating in the same run.

    python benches/group_commit.py                          # the disk's ceiling, then this checkout alone
    python benches/group_commit.py --old /tmp/old/src       # ... and A/B against another checkout's src/
    python benches/group_commit.py --threads 8 --rounds 10  # more rounds: the median of a noisy machine

(``git worktree add /tmp/old <commit>`` gives an older checkout to compare with.)

The ceiling rows time the bare OS cost of one group-commit round on this disk: a ``pwrite`` of N framed
256-byte records into a preallocated file and one ``fdatasync``, in a loop (N = 1 and 8), and the CPU of one
put with no fsync at all (``fsync="never"``, one thread). 8 threads can share at most 8 puts per fsync, so
8 threads cannot beat 8 / (round + 8 puts' CPU + the wake-ups) in puts per second.

The A/B rows run the plain loop (keys ``/bench/%08d``, 256-byte values, a fresh store in a temp directory)
in a child process per run, the checkouts alternating run by run, and print the median rate, the median
puts per CPU-second of the child (steadier than the wall clock on a shared machine), puts per fsync (the
group size) and the child's user and system CPU per put. The load average is printed: figures taken at
different loads are not comparable, only the columns of one run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import itertools, json, os, sys, tempfile, threading, time
import kvstore
threads, seconds = int(sys.argv[1]), float(sys.argv[2])
value = b"v" * 256
with tempfile.TemporaryDirectory(prefix="borgkit-groupcommit-") as directory:
    s = kvstore.open(directory, fsync="batch")
    wal = s._engine.wal
    counter = itertools.count()
    start = threading.Barrier(threads + 1)
    deadline = [0.0]

    def writer():
        start.wait()
        while time.perf_counter() < deadline[0]:
            s.put(b"/bench/%08d" % next(counter), value)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    fsyncs, times = wal.fsync_count, os.times()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    after = os.times()
    n, fsyncs = next(counter), wal.fsync_count - fsyncs
    s.close()
user, system = after.user - times.user, after.system - times.system
print(json.dumps(dict(rate=n / elapsed, per_cpu=n / max(user + system, 1e-9), per_fsync=n / max(fsyncs, 1),
                      user_us=user / n * 1e6, system_us=system / n * 1e6)))
"""


def disk_round(records: int, seconds: float) -> tuple[float, float]:
    """Rounds per second of pwrite(N framed records) + fdatasync into a preallocated file; CPU us per round."""
    frame = b"\0" * 8 + b"v" * 256 + b"/bench/00000000" + b"\0" * 12  # about a put's WAL record
    with tempfile.TemporaryDirectory(prefix="borgkit-ceiling-") as directory:
        fd = os.open(os.path.join(directory, "segment"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.posix_fallocate(fd, 0, 64 << 20)
            os.fsync(fd)
            offset = rounds = 0
            cpu = time.process_time()
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                data = frame * records
                os.pwrite(fd, data, offset)
                offset += len(data)
                os.fdatasync(fd)
                rounds += 1
            elapsed = time.perf_counter() - started
            return rounds / elapsed, (time.process_time() - cpu) / rounds * 1e6
        finally:
            os.close(fd)


def put_cpu_us(src: str, seconds: float) -> float:
    """CPU microseconds of one put with fsync="never" (one thread, plain loop), in a child on ``src``."""
    code = ("import kvstore, tempfile, time\n"
            "with tempfile.TemporaryDirectory() as d:\n"
            "    s = kvstore.open(d, fsync='never'); n = 0; c = time.process_time()\n"
            f"    end = time.perf_counter() + {seconds}\n"
            "    while time.perf_counter() < end:\n"
            "        s.put(b'/bench/%08d' % n, b'v' * 256); n += 1\n"
            "    print((time.process_time() - c) / n * 1e6); s.close()\n")
    return float(_run(src, ["-c", code]))


def _run(src: str, args: list[str]) -> str:
    env = dict(os.environ, PYTHONPATH=src)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          check=True).stdout


def load() -> float:
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", help="another checkout's src/ directory to compare with")
    parser.add_argument("--threads", type=int, nargs="*", default=[8, 64])
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per checkout and thread count")
    parser.add_argument("--no-ceiling", action="store_true")
    args = parser.parse_args(argv)
    new = str(Path(__file__).resolve().parents[1] / "src")
    if not args.no_ceiling:
        print(f"load average {load():.2f}; {os.cpu_count()} cores")
        for records in (1, 8):
            rate, cpu = disk_round(records, args.seconds)
            print(f"disk: pwrite of {records} record(s) + fdatasync: {rate:,.0f} rounds/s "
                  f"({1e6 / rate:.0f} us a round, {cpu:.0f} us of CPU) = {rate * records:,.0f} records/s")
        cpu = put_cpu_us(new, args.seconds)
        print(f"CPU of one put (fsync='never', one thread): {cpu:.1f} us; 8 puts {8 * cpu:.0f} us")
    checkouts = [("this", new)] + ([("old", args.old)] if args.old else [])
    for threads in args.threads:
        results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in checkouts}
        loads = [load()]
        for round_ in range(args.rounds):
            for name, src in (checkouts if round_ % 2 == 0 else checkouts[::-1]):
                results[name].append(json.loads(_run(src, ["-c", CHILD, str(threads), str(args.seconds)])))
                loads.append(load())
        print(f"\n{threads} threads, {args.rounds} runs of {args.seconds} s per checkout, alternating; "
              f"load average {min(loads):.1f}-{max(loads):.1f}")
        print("| checkout | puts/s (median) | runs | puts per CPU-second | puts per fsync | user / system us per put |")
        print("| --- | ---: | --- | ---: | ---: | --- |")
        for name, runs in results.items():
            def median(key: str, runs: list[dict[str, float]] = runs) -> float:
                return statistics.median(run[key] for run in runs)
            spread = ", ".join(f"{run['rate']:,.0f}" for run in runs)
            print(f"| {name} | {median('rate'):,.0f} | {spread} | {median('per_cpu'):,.0f} | "
                  f"{median('per_fsync'):.1f} | {median('user_us'):.1f} / {median('system_us'):.1f} |")


if __name__ == "__main__":
    main()
