"""Many threads at once: revisions stay dense and unique, reads never see a torn state."""
from __future__ import annotations

import threading

import kvstore
from kvstore import Op

THREADS = 8
PUTS = 300


def test_concurrent_writers_get_dense_unique_revisions_and_watchers_see_them_all(store):
    watcher = store.watch(b"", prefix=True)
    revisions: list[list[int]] = [[] for _ in range(THREADS)]
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for i in range(PUTS):
                if i % 10 == 0:
                    response = store.txn([], [Op.put(b"t%d/txn%d/a" % (number, i), b"x"),
                                              Op.put(b"t%d/txn%d/b" % (number, i), b"y")])
                else:
                    response = store.put(b"t%d/%d" % (number, i % 17), b"%d" % i)
                revisions[number].append(response.revision)
        except BaseException as error:  # surfaced by the main thread
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures and not any(thread.is_alive() for thread in threads)
    every = sorted(r for per_thread in revisions for r in per_thread)
    assert every == list(range(2, 2 + THREADS * PUTS))  # dense and unique
    for per_thread in revisions:
        assert per_thread == sorted(per_thread)  # each thread sees its own writes in order
    seen = []
    while len(seen) < THREADS * PUTS + THREADS * PUTS // 10:
        event = watcher.get(30.0)
        assert event is not None
        seen.append(event.kv.mod_revision)
    assert sorted(set(seen)) == every and seen == sorted(seen)
    watcher.cancel()


def test_readers_never_see_half_a_transaction(store):
    store.txn([], [Op.put(b"a", b"0"), Op.put(b"b", b"0")])
    stop = threading.Event()
    torn: list[tuple[bytes, bytes]] = []

    def reader() -> None:
        while not stop.is_set():
            kvs = store.range(b"a", b"c").kvs
            if kvs[0].value != kvs[1].value:
                torn.append((kvs[0].value, kvs[1].value))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for i in range(1, 500):
        store.txn([], [Op.put(b"a", b"%d" % i), Op.put(b"b", b"%d" % i)])
    stop.set()
    for thread in threads:
        thread.join(60)
    assert torn == [] and not any(thread.is_alive() for thread in threads)


def test_concurrent_lease_expiry_and_puts_keep_the_model(clock):
    with kvstore.open(clock=clock) as store:
        leases = [store.grant(5) for _ in range(20)]
        for lease in leases:
            store.put(b"l%d" % lease.id, b"v", lease=lease.id)
        clock.advance(10)
        results: list[list[int]] = []
        threads = [threading.Thread(target=lambda: results.append(store.expire_leases())) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        expired = sorted(i for result in results for i in result)
        assert expired == sorted(lease.id for lease in leases)  # each lease expired exactly once
        assert store.status().keys == 0 and store.revision == 1 + 20 + 20
