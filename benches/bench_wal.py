"""Speed of the WAL alone: append throughput per fsync policy, 64-thread group commit, 1,000,000-record recovery.

    python benches/bench_wal.py                                   # one table, references alongside
    python -m pytest benches/bench_wal.py --benchmark-only        # pytest-benchmark (the small cases)

References measured in the same run on the same disk: a bare ``os.write`` + ``os.fsync`` loop on a plain
file (the floor of any "always" log), a bare ``os.write`` loop (the floor of "never"), and for recovery the
raw read of the same segment files plus one ``zlib.crc32`` over them (I/O and checksum, nothing parsed).
Payloads are 256 bytes, as the store benchmark's values. The last row opens a whole store (WAL recovery plus
the state machine's replay of every put), with the WAL's part alone as its reference.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import zlib
from typing import Callable

from kvstore.framing import encode_record, scan_records
from kvstore.wal import open_wal

PAYLOAD = b"v" * 256


def append_rate(policy: str, count: int, directory: str) -> float:
    """Records per second, one writer: append + wait_durable each, as the store's write path."""
    wal, _, _ = open_wal(directory, fsync=policy)
    started = time.perf_counter()
    for _ in range(count):
        wal.wait_durable(wal.append(PAYLOAD))
    elapsed = time.perf_counter() - started
    wal.close()
    return count / elapsed


def threaded_rate(policy: str, threads: int, per_thread: int, directory: str) -> tuple[float, float]:
    """Records per second with ``threads`` writers sharing fsyncs; also writes per fsync."""
    wal, _, _ = open_wal(directory, fsync=policy)
    apply_lock = threading.Lock()  # the store appends under its apply lock, waits outside it

    def writer() -> None:
        for _ in range(per_thread):
            with apply_lock:
                seq = wal.append(PAYLOAD)
            wal.wait_durable(seq)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    total = threads * per_thread
    per_fsync = total / max(1, wal.fsync_count)
    wal.close()
    return total / elapsed, per_fsync


def bare_write_rate(count: int, directory: str, fsync: bool) -> float:
    """The reference: frames written with os.write (and os.fsync) on one plain file, no WAL code."""
    frame = encode_record(PAYLOAD)
    fd = os.open(os.path.join(directory, "bare"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    started = time.perf_counter()
    for _ in range(count):
        os.write(fd, frame)
        if fsync:
            os.fsync(fd)
    elapsed = time.perf_counter() - started
    os.close(fd)
    return count / elapsed


def recovery_seconds(count: int, directory: str) -> tuple[float, float, int]:
    """Seconds to open a WAL of ``count`` records and iterate them; the raw read + CRC reference; bytes."""
    wal, _, _ = open_wal(directory, fsync="never")
    for _ in range(count):
        wal.append(PAYLOAD)
    wal.close()
    size = sum(os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory))
    started = time.perf_counter()
    crc = 0
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as source:
            crc = zlib.crc32(source.read(), crc)
    raw = time.perf_counter() - started
    started = time.perf_counter()
    wal, _, records = open_wal(directory, fsync="never")
    replayed = sum(1 for _ in records)
    elapsed = time.perf_counter() - started
    wal.close()
    assert replayed == count
    return elapsed, raw, size


def store_recovery_seconds(count: int, directory: str) -> tuple[float, float]:
    """Seconds for ``kvstore.open`` of a store whose WAL holds ``count`` put revisions (100-byte values):
    the WAL's recovery plus the state machine's replay, the issue's 10-second budget. Also the WAL's part
    alone, measured on the same directory just before."""
    import kvstore

    with kvstore.open(directory, fsync="never", snapshot_every=count * 10) as store:
        put = store.put
        for number in range(count):
            put(b"key-%08d" % number, b"v" * 100)
    started = time.perf_counter()
    wal, _, records = open_wal(directory, fsync="never")
    for _ in records:
        pass
    wal.close()
    wal_part = time.perf_counter() - started
    started = time.perf_counter()
    with kvstore.open(directory, fsync="never") as store:
        elapsed = time.perf_counter() - started
        assert store.revision == count + 1
    return elapsed, wal_part


def _scratch() -> str:
    return tempfile.mkdtemp(prefix="bench-wal-", dir=os.environ.get("BENCH_DIR"))


def _measure(function: Callable[[str], object]) -> object:
    directory = _scratch()
    try:
        return function(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _interleaved(subject: Callable[[str], float], reference: Callable[[str], float],
                 rounds: int = 3) -> tuple[float, float]:
    """Medians of ``rounds`` alternating runs: a shared, noisy disk affects subject and reference alike."""
    subjects, references = [], []
    for _ in range(rounds):
        subjects.append(float(_measure(subject)))  # type: ignore[arg-type]
        references.append(float(_measure(reference)))  # type: ignore[arg-type]
    return _median(subjects), _median(references)


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    records = int(args[0]) if args else 1_000_000
    rows: list[tuple[str, str, str]] = []
    for policy in ("always", "batch"):
        rate, bare = _interleaved(lambda d: append_rate(policy, 1_000, d),
                                  lambda d: bare_write_rate(1_000, d, fsync=True))
        rows.append((f"append, 1 writer, fsync={policy}", f"{rate:,.0f}/s", f"os.write+os.fsync: {bare:,.0f}/s"))
    for policy in ("batch", "always"):
        results: list[tuple[float, float]] = []
        bares = []
        for _ in range(3):
            results.append(_measure(lambda d: threaded_rate(policy, 64, 300, d)))  # type: ignore[arg-type]
            bares.append(_measure(lambda d: bare_write_rate(1_000, d, fsync=True)))
        rate, per_fsync = sorted(results)[1]
        rows.append((f"append, 64 writers, fsync={policy}", f"{rate:,.0f}/s ({per_fsync:.1f} writes/fsync)",
                     f"os.write+os.fsync, 1 writer: {_median(bares):,.0f}/s"))  # type: ignore[arg-type]
    never, bare = _interleaved(lambda d: append_rate("never", 200_000, d),
                               lambda d: bare_write_rate(200_000, d, fsync=False))
    rows.append(("append, 1 writer, fsync=never", f"{never:,.0f}/s", f"os.write: {bare:,.0f}/s"))
    elapsed, raw, size = _measure(lambda d: recovery_seconds(records, d))  # type: ignore[misc]
    rows.append((f"recover {records:,} records ({size / 2**20:,.0f} MiB)", f"{elapsed:.2f} s",
                 f"read+crc32 of the files: {raw:.2f} s"))
    opened, wal_part = _measure(lambda d: store_recovery_seconds(records, d))  # type: ignore[misc]
    rows.append((f"kvstore.open, {records:,} put revisions", f"{opened:.2f} s",
                 f"open_wal + read every record of the same WAL: {wal_part:.2f} s"))
    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    print(f"{'WAL operation':<{width}}  {'borgkit':<{value_width}}  reference (same run)")
    for name, value, reference in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {reference}")


# -- pytest-benchmark (small cases) ---------------------------------------------------------------------------
def test_bench_append_never(benchmark, tmp_path) -> None:
    wal, _, _ = open_wal(str(tmp_path), fsync="never")
    benchmark(lambda: wal.wait_durable(wal.append(PAYLOAD)))
    wal.close()


def test_bench_append_always(benchmark, tmp_path) -> None:
    wal, _, _ = open_wal(str(tmp_path), fsync="always")
    benchmark.pedantic(lambda: wal.wait_durable(wal.append(PAYLOAD)), rounds=200, iterations=1)
    wal.close()


def test_bench_scan_10k_records(benchmark) -> None:
    data = b"".join(encode_record(PAYLOAD) for _ in range(10_000))
    payloads, end = benchmark(scan_records, data, 0)
    assert len(payloads) == 10_000 and end == len(data)


def test_bench_recover_20k_records(benchmark, tmp_path) -> None:
    wal, _, _ = open_wal(str(tmp_path), fsync="never")
    for _ in range(20_000):
        wal.append(PAYLOAD)
    wal.close()

    def recover() -> int:
        opened, _, records = open_wal(str(tmp_path), fsync="never")
        count = sum(1 for _ in records)
        opened.close()
        return count

    assert benchmark(recover) == 20_000


if __name__ == "__main__":
    main()
