"""The controllers on a 3-member Raft store (one process, 127.0.0.1): the manager runs on one member's
Registry while the objects are written through another; ReplicaSet, garbage collector and Job converge."""
from __future__ import annotations

import pathlib
import sys

import pytest

import objects
from controllers import ControllerManager
from objects import Registry

from ctrl_helpers import owned_pods, replica_set, set_pod_phase, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # tests/ holds the replication package
from replication.support import WAIT, in_process_members  # noqa: E402

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def members(tmp_path):
    with in_process_members(str(tmp_path)) as members:
        yield members


def test_replica_set_job_and_gc_on_raft(members):
    writer, runner = Registry(members[0]), Registry(members[1])
    manager = ControllerManager(runner, controllers=["replicaset", "garbagecollector", "job"], metrics=False)
    manager.start()
    try:
        writer.create(replica_set("web", 3))
        assert manager.wait_idle(WAIT * 2)
        rs = writer.get("ReplicaSet", "web", "default")
        pods = owned_pods(writer, rs)
        assert len(pods) == 3 and rs.status.replicas == 3
        writer.delete("Pod", pods[0].metadata.name, "default")
        wait_for(lambda: len(owned_pods(writer, rs)) == 3 and pods[0].metadata.name not in
                 {p.metadata.name for p in owned_pods(writer, rs)}, timeout=WAIT * 2, message="a replacement pod")
        job = writer.create(objects.from_dict(
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
             "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}))
        wait_for(lambda: len(owned_pods(writer, job)) == 1, timeout=WAIT * 2, message="the job's pod")
        set_pod_phase(writer, owned_pods(writer, job)[0], "Succeeded")
        wait_for(lambda: any(c.type == "Complete" for c in writer.get("Job", "once", "default").status.conditions),
                 timeout=WAIT * 2, message="the Job to complete")
        writer.delete("ReplicaSet", "web", "default")
        wait_for(lambda: not writer.list("Pod", "default", label_selector="app=web").items, timeout=WAIT * 2,
                 message="the garbage collector to delete the pods")
        assert manager.wait_idle(WAIT * 2)
    finally:
        manager.stop()
