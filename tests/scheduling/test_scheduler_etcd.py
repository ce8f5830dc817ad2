"""End to end on a real etcd: ``Scheduler.run(registry)`` on a Registry over ``kvstore.connect()`` binds a
small workload, and a second client + scheduler (a restarted process) rebuilds its state from etcd."""
from __future__ import annotations

import pathlib
import sys

import pytest

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from etcd_server import EtcdServer  # noqa: E402
from etcd_store import FAST_ELECTION, SKIP_ETCD  # noqa: E402
from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402

pytestmark = [pytest.mark.etcd, SKIP_ETCD]


def test_scheduler_run_on_a_registry_over_etcd_binds_and_a_restart_rebuilds_from_etcd() -> None:
    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as server:
        endpoint = f"127.0.0.1:{server.client_port}"
        with kvstore.connect(endpoint, timeout=30) as store:
            registry = objects.Registry(store)
            for name in ("a", "b", "c"):
                registry.create(node(name, cpu="2", pods=4))
            for i in range(8):
                registry.create(pod(f"p{i}", cpu="500m"))
            registry.create(pod("too-big", cpu="3"))
            assert Scheduler().run(registry, until_idle=True, timeout=60) == 8
            placed = {p.metadata.name: p.spec.node_name for p in registry.list("Pod", all_namespaces=True).items}
            assert placed["too-big"] is None
            per_node: dict[str, int] = {}
            for name, where in placed.items():
                if where:
                    per_node[where] = per_node.get(where, 0) + 1
            assert sum(per_node.values()) == 8 and all(count <= 4 for count in per_node.values())
            too_big = registry.get("Pod", "too-big", "default")
            assert any(c.type == "PodScheduled" and c.status == "False" for c in too_big.status.conditions)

        with kvstore.connect(endpoint, timeout=30) as store:  # a new process: new client, new scheduler
            registry = objects.Registry(store)
            for i in range(4):
                registry.create(pod(f"q{i}", cpu="500m"))
            scheduler = Scheduler()
            assert scheduler.run(registry, until_idle=True, timeout=60) == 4
            requested = sum(scheduler.cache.get(n).requested["cpu"] for n in ("a", "b", "c"))
            assert requested == 12 * 500  # the rebuilt cache counted the first run's pods too
            assert all(p.spec.node_name for p in registry.list("Pod", all_namespaces=True).items
                       if p.metadata.name != "too-big")


def test_the_bench_runs_e2e_on_etcd_beside_the_embedded_store_and_cleans_up(tmp_path: pathlib.Path) -> None:
    import json
    import subprocess

    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as server:
        endpoint = f"127.0.0.1:{server.client_port}"
        out = tmp_path / "rows.json"
        proc = subprocess.run([sys.executable, "-m", "scheduling.bench", "--mode", "e2e", "--builtin",
                               "Scaling_500Nodes_2000Pods", "--scale", "0.01", "--store", f"etcd://{endpoint}",
                               "--json", str(out)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        rows = json.loads(out.read_text())
        assert [r["mode"] for r in rows] == ["e2e", "e2e etcd"]
        for row in rows:
            assert row["available"], row["note"]
            assert row["scheduled"] == row["measured_pods"] > 0
        with kvstore.connect(endpoint, timeout=30) as store:
            assert store.range(b"/borgkit-bench/", prefix=True, count_only=True).count == 0
            assert store.revision > 20  # the objects were written there, then deleted
