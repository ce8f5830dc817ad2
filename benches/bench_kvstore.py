"""pytest-benchmark for the embedded kvstore, with etcd 3.4 (over gRPC) as the reference in the same run.

    python -m pytest benches/bench_kvstore.py --benchmark-columns=mean,ops,rounds

Groups pair our operation with etcd's (the ``etcd`` rows are skipped when ``/usr/bin/etcd`` is missing).
etcd is driven through tests/etcd_client.py, over etcd's gRPC API (one long-lived channel) when the
``etcd`` extra is installed, else over its HTTP/1.1 + JSON gateway.
For the table with targets, run ``python benches/kvstore_table.py``.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import kvstore  # noqa: E402
from etcd_client import EtcdClient  # noqa: E402
from etcd_server import SKIP_REASON, EtcdServer, etcd_installed  # noqa: E402
from kvstore import Compare, Op  # noqa: E402

VALUE = b"v" * 256
KEYS = [f"/bench/{i:06d}".encode() for i in range(1000)]
needs_etcd = pytest.mark.skipif(not etcd_installed(), reason=SKIP_REASON)


@pytest.fixture(scope="module")
def etcd() -> Iterator[EtcdClient]:
    if not etcd_installed():
        pytest.skip(SKIP_REASON)
    with EtcdServer(unsafe_no_fsync=True) as server:
        with EtcdClient(server.host, server.client_port) as client:
            for start in range(0, len(KEYS), 100):
                client.txn([], [client.op_put(client.put_request(k, VALUE)) for k in KEYS[start:start + 100]], [])
            yield client


@pytest.fixture
def memory_store() -> Iterator[Any]:
    with kvstore.open() as store:
        for key in KEYS:
            store.put(key, VALUE)
        yield store


@pytest.fixture(params=["never", "always"])
def durable_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    directory = tempfile.mkdtemp(prefix="borgkit-bench-")
    try:
        with kvstore.open(directory, fsync=request.param) as store:
            yield store
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _cycle() -> Iterator[bytes]:
    i = 0
    while True:
        yield KEYS[i % len(KEYS)]
        i += 1


@pytest.mark.benchmark(group="put")
def test_put_in_memory(benchmark: Any, memory_store: Any) -> None:
    keys = _cycle()
    benchmark(lambda: memory_store.put(next(keys), VALUE))
    assert memory_store.revision > len(KEYS)


@pytest.mark.benchmark(group="put")
def test_put_durable(benchmark: Any, durable_store: Any) -> None:
    keys = _cycle()
    benchmark.pedantic(lambda: durable_store.put(next(keys), VALUE), rounds=200, iterations=1)
    assert durable_store.get(KEYS[0]).value == VALUE


@needs_etcd
@pytest.mark.benchmark(group="put")
def test_put_etcd_no_fsync(benchmark: Any, etcd: EtcdClient) -> None:
    keys = _cycle()
    benchmark.pedantic(lambda: etcd.put(next(keys), VALUE), rounds=200, iterations=1)


@pytest.mark.benchmark(group="put 64 threads")
def test_put_64_threads_fsync_batch(benchmark: Any) -> None:
    directory = tempfile.mkdtemp(prefix="borgkit-bench-")
    try:
        with kvstore.open(directory, fsync="batch") as store:
            def burst() -> None:
                threads = [threading.Thread(target=lambda c=c: [store.put(b"/t/%d/%d" % (c, i), VALUE)
                                                                 for i in range(20)]) for c in range(64)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            benchmark.pedantic(burst, rounds=3, iterations=1)
            assert store.range(b"/t/", prefix=True, count_only=True).count == 64 * 20
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.benchmark(group="get")
def test_get(benchmark: Any, memory_store: Any) -> None:
    keys = _cycle()
    result = benchmark(lambda: memory_store.get(next(keys)))
    assert result is not None


@needs_etcd
@pytest.mark.benchmark(group="get")
def test_get_etcd(benchmark: Any, etcd: EtcdClient) -> None:
    keys = _cycle()
    result = benchmark.pedantic(lambda: etcd.get(next(keys)), rounds=500, iterations=1)
    assert result is not None


@pytest.mark.benchmark(group="range 1,000 keys")
def test_range_1000(benchmark: Any, memory_store: Any) -> None:
    response = benchmark(lambda: memory_store.range(b"/bench/", prefix=True))
    assert len(response.kvs) == 1000


@needs_etcd
@pytest.mark.benchmark(group="range 1,000 keys")
def test_range_1000_etcd(benchmark: Any, etcd: EtcdClient) -> None:
    response = benchmark.pedantic(lambda: etcd.range(b"/bench/", b"/bench0"), rounds=30, iterations=1)
    assert len(response["kvs"]) == 1000


@pytest.mark.benchmark(group="txn")
def test_txn_compare_and_swap(benchmark: Any, memory_store: Any) -> None:
    def cas() -> Any:
        current = memory_store.get(KEYS[0])
        return memory_store.txn([Compare.mod_revision(KEYS[0]) == current.mod_revision],
                                [Op.put(KEYS[0], VALUE)], [Op.get(KEYS[0])])
    assert benchmark(cas).succeeded


@pytest.mark.benchmark(group="watch")
def test_watch_put_to_delivery(benchmark: Any, memory_store: Any) -> None:
    with memory_store.watch(b"/watched") as watcher:
        def round_trip() -> Any:
            memory_store.put(b"/watched", VALUE)
            return watcher.get(10)
        event = benchmark(round_trip)
        assert event is not None and event.kv.key == b"/watched"
