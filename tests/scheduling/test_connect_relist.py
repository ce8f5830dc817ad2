"""Scheduler.run's watches behind a compaction (objects.Expired, the API server's 410 Gone): the connection
lists again and goes on, as kube-scheduler's informers relist, instead of ending the scheduler's thread."""
from __future__ import annotations

import pathlib
import sys
import threading

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.connect import RegistryConnection  # noqa: E402


def test_a_watch_behind_a_compaction_relists_and_sees_every_change_it_missed() -> None:
    store = kvstore.open(watch_queue_size=1)  # a one-event queue: the watches fall behind at once
    registry = objects.Registry(store)
    try:
        registry.create(node("a", cpu="4", pods=10))
        registry.create(pod("gone", cpu="1"))
        scheduler = Scheduler()
        conn = RegistryConnection(scheduler, registry)
        conn.rebuild()
        assert scheduler.queue.get("default/gone") is not None
        # while the connection does not read: a node, pods, a deletion; then the history is compacted
        registry.create(node("b", cpu="4", pods=10))
        for i in range(5):
            registry.create(pod(f"new-{i}", cpu="1"))
        registry.delete("Pod", "gone", "default")
        store.compact(store.revision)
        assert conn.drain() >= 1 and conn.relists == 1
        assert {info.name for info in scheduler.cache.list()} == {"a", "b"}
        assert scheduler.queue.get("default/gone") is None
        assert all(scheduler.queue.get(f"default/new-{i}") is not None for i in range(5))
        # the new watches deliver what comes next
        registry.create(pod("later", cpu="1"))
        deadline = 200
        while scheduler.queue.get("default/later") is None and deadline:
            conn.drain(wait=0.05)
            deadline -= 1
        assert scheduler.queue.get("default/later") is not None and conn.relists == 1
        for _, stream in conn.streams:
            stream.stop()
    finally:
        store.close()


def test_a_running_scheduler_outlives_a_compaction_and_binds_what_came_meanwhile() -> None:
    store = kvstore.open(watch_queue_size=1)
    registry = objects.Registry(store)
    scheduler = Scheduler()
    stop = threading.Event()
    try:
        registry.create(node("a", cpu="8", pods=20))
        for i in range(10):
            registry.create(pod(f"p-{i}", cpu="100m"))
        store.compact(store.revision)  # the scheduler's list may be older than this: its watch expires
        thread = threading.Thread(target=scheduler.run, args=(registry,), kwargs={"stop": stop})
        thread.start()
        try:
            for i in range(10, 20):
                registry.create(pod(f"p-{i}", cpu="100m"))
                store.compact(store.revision)
            waited = 0
            while waited < 600 and not all(p.spec.node_name for p in registry.list("Pod", "default").items):
                stop.wait(0.05)
                waited += 1
            assert thread.is_alive()  # Expired did not end the scheduler's thread
        finally:
            stop.set()
            thread.join(timeout=30)
        assert all(p.spec.node_name == "a" for p in registry.list("Pod", "default").items)
    finally:
        store.close()
