"""kvstore.connect() against raw gRPC on the same etcd: the client's overhead, and etcd's throughput here.

    python benches/bench_etcd_client.py            # about a minute
    python benches/bench_etcd_client.py --quick    # a few seconds

For put, get (a one-key range), txn (compare + put) and watch (replaying N events), the same requests are
sent N times through ``kvstore.connect()`` and through the bare generated stubs (``aetcd.rpc``) on a plain
``grpc.insecure_channel``: the round trip the client wraps. Rounds alternate (raw, client, raw, client...)
and each side keeps its best round, so a load spike from other work on the machine hits both sides alike.
The overhead is ``client time / raw time - 1``. This runs on an etcd with ``--unsafe-no-fsync`` (the disk
is not what is compared); the throughput rows run on an etcd with fsync (etcd's default), one client
process and then several (``--processes``), each with its own client and threads, as etcd's benchmark
tool spreads its load. ``etcdctl check perf --load=l`` (etcd's own load check, its "large" model: many Go
clients for 60 s) runs last on the fsync etcd and reports the throughput it reached. The load average is
printed.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # the etcd fixtures live with the tests

import grpc  # noqa: E402
from aetcd import rpc  # noqa: E402

import kvstore  # noqa: E402
from kvstore import Compare, Op  # noqa: E402
from etcd_server import EtcdServer, etcd_installed  # noqa: E402

VALUE = b"v" * 256


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------------------------ overhead
def raw_ops(kv: rpc.KVStub, n: int) -> dict[str, callable]:
    keys = [b"/o/%08d" % i for i in range(n)]

    def put() -> None:
        for key in keys:
            kv.Put(rpc.PutRequest(key=key, value=VALUE))

    def get() -> None:
        for key in keys:
            kv.Range(rpc.RangeRequest(key=key))

    def txn() -> None:
        for key in keys:
            kv.Txn(rpc.TxnRequest(compare=[rpc.Compare(key=key, target=rpc.Compare.CompareTarget.VERSION,
                                                        result=rpc.Compare.CompareResult.GREATER, version=0)],
                                  success=[rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=VALUE))]))
    return {"put": put, "get": get, "txn": txn}


def client_ops(store: object, n: int) -> dict[str, callable]:
    keys = [b"/o/%08d" % i for i in range(n)]

    def put() -> None:
        for key in keys:
            store.put(key, VALUE)

    def get() -> None:
        for key in keys:
            store.get(key)

    def txn() -> None:
        for key in keys:
            store.txn([Compare.version(key) > 0], [Op.put(key, VALUE)])
    return {"put": put, "get": get, "txn": txn}


def raw_watch(watch: rpc.WatchStub, start: int, n: int) -> None:
    request = rpc.WatchRequest(create_request=rpc.WatchCreateRequest(key=b"/o/", range_end=b"/o0",
                                                                     start_revision=start))
    done = threading.Event()

    def requests():
        yield request
        done.wait(60)

    call = watch.Watch(requests())
    seen = 0
    for response in call:
        seen += len(response.events)
        if seen >= n:
            break
    done.set()
    call.cancel()


def client_watch(store: object, start: int, n: int) -> None:
    with store.watch(b"/o/", prefix=True, start_revision=start) as watcher:
        for _ in range(n):
            watcher.get(60)


def overhead(n: int, rounds: int) -> list[tuple[str, str, str, str]]:
    rows = []
    with EtcdServer(unsafe_no_fsync=True) as server:
        target = f"127.0.0.1:{server.client_port}"
        channel = grpc.insecure_channel(target)
        kv, watch = rpc.KVStub(channel), rpc.WatchStub(channel)
        store = kvstore.connect(target)
        raw, ours = raw_ops(kv, n), client_ops(store, n)
        ours["put"]()  # every key exists before the rounds: each round does the same work
        for name in ("put", "get", "txn"):
            best_raw = best_ours = float("inf")
            for _ in range(rounds):
                best_raw = min(best_raw, timed(raw[name]))
                best_ours = min(best_ours, timed(ours[name]))
            rows.append((name, f"{n / best_raw:,.0f}/s", f"{n / best_ours:,.0f}/s",
                         f"{(best_ours / best_raw - 1) * 100:+.1f}%"))
        start = store.revision - n + 1  # the last round of txns wrote one revision per key
        best_raw = best_ours = float("inf")
        for _ in range(rounds):
            best_raw = min(best_raw, timed(lambda: raw_watch(watch, start, n)))
            best_ours = min(best_ours, timed(lambda: client_watch(store, start, n)))
        rows.append((f"watch (replay {n} events)", f"{n / best_raw:,.0f} events/s", f"{n / best_ours:,.0f} events/s",
                     f"{(best_ours / best_raw - 1) * 100:+.1f}%"))
        store.close()
        channel.close()
    return rows


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------------ throughput
def _writer_process(target: str, threads: int, per_thread: int, tag: int, ready, go, out) -> None:
    store = kvstore.connect(target)

    def write(t: int) -> None:
        for j in range(per_thread):
            store.put(b"/t/%02d/%03d/%07d" % (tag, t, j), VALUE)

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    ready.release()
    go.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(time.perf_counter() - start)
    store.close()


def spread_puts(target: str, processes: int, threads: int, per_thread: int) -> str:
    """``processes`` client processes with ``threads`` threads each: total acknowledged puts per second."""
    context = multiprocessing.get_context("spawn")
    ready, go, out = context.Semaphore(0), context.Event(), context.Queue()
    children = [context.Process(target=_writer_process, args=(target, threads, per_thread, i, ready, go, out))
                for i in range(processes)]
    for child in children:
        child.start()
    for _ in children:
        ready.acquire(timeout=60)
    started = time.perf_counter()
    go.set()
    for child in children:
        child.join(300)
    wall = time.perf_counter() - started
    total = processes * threads * per_thread
    return f"{total / wall:,.0f}/s"


def throughput(n: int, processes: int, threads: int) -> list[tuple[str, str]]:
    rows = []
    with EtcdServer() as server:
        target = f"127.0.0.1:{server.client_port}"
        with kvstore.connect(target) as store:
            keys = [b"/s/%08d" % i for i in range(n)]
            rows.append(("put, 1 client, sequential", f"{n / timed(lambda: [store.put(k, VALUE) for k in keys]):,.0f}/s"))
            rows.append(("get, 1 client, sequential", f"{n / timed(lambda: [store.get(k) for k in keys]):,.0f}/s"))
            rows.append(("txn (compare + put), 1 client, sequential",
                         f"{n / timed(lambda: [store.txn([Compare.version(k) > 0], [Op.put(k, VALUE)]) for k in keys]):,.0f}/s"))
        per_thread = max(1, 2 * n // (processes * threads))
        rows.append((f"put, 1 process x {processes * threads} threads",
                     spread_puts(target, 1, processes * threads, per_thread)))
        rows.append((f"put, {processes} processes x {threads} threads", spread_puts(target, processes, threads, per_thread)))
        perf = subprocess.run(["etcdctl", f"--endpoints={target}", "check", "perf", "--load=l"],
                              capture_output=True, text=True, timeout=300, env={**os.environ, "ETCDCTL_API": "3"})
        lines = [line.strip() for line in perf.stdout.splitlines() if line.strip() and "%" not in line]
        rows.append(("etcdctl check perf --load=l", "; ".join(lines[-4:]) or perf.stderr.strip()[-200:]))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    parser.add_argument("--processes", type=int, default=4, help="client processes of the spread rows")
    args = parser.parse_args(argv)
    if not etcd_installed():
        print("etcd not installed: nothing to measure")
        return
    n, rounds = (200, 2) if args.quick else (2000, 4)
    print(f"before: {load()}")
    rows = overhead(n, rounds)
    print(f"\nclient overhead over the raw gRPC round trip (etcd --unsafe-no-fsync, {n} ops x best of {rounds} "
          "alternating rounds)")
    print("| op | raw gRPC (aetcd.rpc stubs) | kvstore.connect() | overhead |\n| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"({load()})")
    rows2 = throughput(n, args.processes, 4 if args.quick else 16)
    print("\nthroughput through kvstore.connect() (etcd with fsync, its default)")
    print("| workload | kvstore.connect() |\n| --- | ---: |")
    for row in rows2:
        print("| " + " | ".join(row) + " |")
    print(f"(after: {load()})")


if __name__ == "__main__":
    main()
