"""Registry under concurrency: no lost updates, consistent pages while writers run."""
import threading

import pytest

from objects.errors import Conflict
from objects.registry import retry_on_conflict

from registry_helpers import config_map, new_registry, pod

THREADS = 4
INCREMENTS = 25


def test_concurrent_updaters_with_retry_never_lose_an_update(kv_backend):
    store, reg = new_registry(backend=kv_backend)
    reg.create(config_map("counter", {"n": "0"}))
    conflicts = []
    errors = []

    def increment_once():
        current = reg.get("ConfigMap", "counter")
        try:
            return reg.update(current.replace(data={"n": str(int(current.data["n"]) + 1)}))
        except Conflict:
            conflicts.append(1)
            raise

    def worker():
        try:
            for _ in range(INCREMENTS):
                retry_on_conflict(increment_once, attempts=10_000)
        except Exception as exc:  # surfaced below; a thread cannot fail the test by itself
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    final = reg.get("ConfigMap", "counter")
    assert final.data["n"] == str(THREADS * INCREMENTS)
    # every successful update made exactly one revision: the create + one per increment
    assert int(final.metadata.resource_version) == 2 + THREADS * INCREMENTS
    store.close()


def test_concurrent_patches_of_different_fields_all_land(kv_backend):
    store, reg = new_registry(backend=kv_backend)
    reg.create(pod("web"))
    errors = []

    def worker(i):
        try:
            for j in range(10):
                reg.patch("Pod", "web", {"metadata": {"labels": {f"w{i}-{j}": "x"}}})
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert len(reg.get("Pod", "web").metadata.labels) == THREADS * 10
    store.close()


def test_pagination_is_a_consistent_snapshot_while_writes_happen(kv_backend):
    store, reg = new_registry(backend=kv_backend)
    for i in range(40):
        reg.create(pod(f"p{i:03d}", labels={"gen": "0"}))
    expected = [o.metadata.name for o in reg.list("Pod", all_namespaces=True).items]
    stop = threading.Event()
    errors = []

    def writer():
        k = 0
        try:
            while not stop.is_set() and k < 2000:
                k += 1
                reg.create(pod(f"p{k % 40:03d}x{k}"))
                reg.delete("Pod", f"p{k % 40:03d}") if k <= 40 else None
        except Exception as exc:
            errors.append(exc)

    # the first page pins the revision; writes after it must not show in any later page
    first = reg.list("Pod", all_namespaces=True, limit=7)
    t = threading.Thread(target=writer)
    t.start()
    try:
        names = [o.metadata.name for o in first.items]
        token = first.continue_
        pages = 1
        while token is not None and pages < 100:
            page = reg.list("Pod", all_namespaces=True, limit=7, continue_=token)
            assert page.resource_version == first.resource_version
            names += [o.metadata.name for o in page.items]
            token = page.continue_
            pages += 1
    finally:
        stop.set()
        t.join(timeout=60)
    assert not t.is_alive() and errors == []
    assert names == expected
    store.close()
