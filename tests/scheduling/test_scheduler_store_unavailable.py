"""Scheduler.run(registry) rides out a store that cannot answer for a while (a Raft or etcd cluster between
leaders, a slow disk): its first list and some binds fail with objects.Unavailable / ServerTimeout, and
every pod is still bound, as kube-scheduler's reflector and binding cycle retry."""
from __future__ import annotations

import pathlib
import sys

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "objects"))

from refbuilders import node, pod  # noqa: E402
from test_registry_store_unavailable import FlakyStore  # noqa: E402

from scheduling import Scheduler  # noqa: E402


def test_a_run_started_without_a_leader_and_failing_binds_binds_every_pod() -> None:
    store = FlakyStore(kvstore.NoLeader)
    registry = objects.Registry(store)
    registry.create(node("a", cpu="4", pods=10))
    for i in range(6):
        registry.create(pod(f"p{i}", cpu="100m"))
    store.failures = 3  # the first lists fail: the run retries them
    bound = Scheduler().run(registry, until_idle=True, idle_seconds=0.5, timeout=60)
    assert store.failures == 0
    assert bound == 6
    assert all(p.spec.node_name == "a" for p in registry.list("Pod", all_namespaces=True).items)


def test_binds_that_time_out_are_retried() -> None:
    store = FlakyStore(kvstore.Timeout)
    store.methods = {"txn"}  # only writes fail: binds and status patches
    registry = objects.Registry(store)
    registry.create(node("a", cpu="4", pods=10))
    for i in range(4):
        registry.create(pod(f"p{i}", cpu="100m"))
    store.failures = 2
    # a pod whose bind failed with an error waits out its backoff (1 s): the idle bound is longer than that
    Scheduler().run(registry, until_idle=True, idle_seconds=2.5, timeout=60)
    assert store.failures == 0
    assert all(p.spec.node_name == "a" for p in registry.list("Pod", all_namespaces=True).items)
