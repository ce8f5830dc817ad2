"""Hollow nodes on a real Registry: registration, node leases, the kubelet's pod phases driven by a clock the
test moves, exit codes and restarts from annotations, graceful deletion, pause / resume / stop, one set of
threads for any number of nodes."""
from __future__ import annotations

import threading

import pytest

import objects
from controllers.hollownodes import HollowNodes
from controllers.kubeletstatus import NODE_LEASE_NAMESPACE

from ctrl_helpers import FakeClock, pod, wait_for


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def hollow(registry, clock):
    started = []

    def make(count_or_templates, **kw):
        kw.setdefault("clock", clock)
        nodes = HollowNodes(registry, count_or_templates, **kw)
        nodes.start()
        started.append(nodes)
        return nodes
    yield make
    for nodes in started:
        nodes.stop()


def _get(registry, name, namespace="default"):
    try:
        return registry.get("Pod", name, namespace)
    except objects.NotFound:
        return None


def _phase(registry, name):
    p = _get(registry, name)
    return p.status.phase if p is not None else None


def _condition(obj, kind):
    return next((c for c in obj.status.conditions or () if c.type == kind), None)


def _container(p):
    return objects.to_dict(p)["status"]["containerStatuses"][0]


def _renew_time(registry, name):
    return registry.get("Lease", name, NODE_LEASE_NAMESPACE).spec.renew_time


# ---------------------------------------------------------------------------------------------- nodes
def test_nodes_register_from_templates_with_a_lease_each(registry, hollow) -> None:
    template = {"metadata": {"labels": {"zone": "a"}},
                "spec": {"taints": [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]},
                "status": {"capacity": {"cpu": "16", "memory": "64Gi", "pods": "250"},
                           "allocatable": {"cpu": "15", "memory": "60Gi", "pods": "250"}}}
    nodes = hollow([template, {}, {"metadata": {"name": "named"}}], name_prefix="hn-")
    assert nodes.names == ["hn-0", "hn-1", "named"]
    first = registry.get("Node", "hn-0")
    assert first.metadata.labels["zone"] == "a" and first.metadata.labels["kubernetes.io/hostname"] == "hn-0"
    assert [t.key for t in first.spec.taints] == ["dedicated"]
    assert first.allocatable_resources["cpu"] == 15000 and first.allocatable_resources["pods"] == 250
    plain = registry.get("Node", "hn-1")
    assert {k: str(v) for k, v in plain.status.capacity.items()} == {"cpu": "4", "memory": "32Gi", "pods": "110"}
    assert plain.status.allocatable == plain.status.capacity
    ready = _condition(plain, "Ready")
    assert (ready.status, ready.reason) == ("True", "KubeletReady")
    assert {c.type: c.status for c in plain.status.conditions} == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False", "Ready": "True"}
    assert plain.spec.pod_cidr != first.spec.pod_cidr
    registry.get("Namespace", NODE_LEASE_NAMESPACE)
    for name in nodes.names:
        lease = registry.get("Lease", name, NODE_LEASE_NAMESPACE)
        node = registry.get("Node", name)
        assert lease.spec.holder_identity == name and lease.spec.lease_duration_seconds == 40
        assert [(o.kind, o.name, o.uid) for o in lease.metadata.owner_references] == [
            ("Node", name, node.metadata.uid)]


def test_bad_templates_are_refused_before_anything_is_written(registry, clock) -> None:
    with pytest.raises(objects.ValidationError) as err:
        HollowNodes(registry, [{"status": {"capacity": {"cpu": "12x"}}}], clock=clock)
    assert "status.capacity.cpu" in str(err.value)
    with pytest.raises(ValueError, match="Duplicate value"):
        HollowNodes(registry, [{"metadata": {"name": "x"}}, {"metadata": {"name": "x"}}], clock=clock)
    with pytest.raises(ValueError, match="must be at least 0"):
        HollowNodes(registry, -1, clock=clock)
    with pytest.raises(ValueError, match="heartbeat_interval"):
        HollowNodes(registry, 1, clock=clock, heartbeat_interval=0)
    assert not registry.list("Node").items
    with pytest.raises(KeyError, match="no hollow node named 'nope'"):
        HollowNodes(registry, 1, clock=clock).node("nope")


# ---------------------------------------------------------------------------------------------- pods
def test_a_bound_pod_goes_pending_then_running_as_the_kubelet_writes_it(registry, hollow, clock) -> None:
    nodes = hollow(2, pod_startup_seconds=5)
    registry.create(pod("web", node_name="hollow-node-0"))
    registry.create(pod("elsewhere", node_name="real-node"))
    registry.create(pod("unbound"))
    pending = wait_for(lambda: (p := _get(registry, "web")) is not None and p.status.phase == "Pending" and p,
                       message="Pending status")
    assert _container(pending)["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert _condition(pending, "Ready").status == "False"
    assert _condition(pending, "Ready").reason == "ContainersNotReady"
    clock.advance(5)
    running = wait_for(lambda: (p := _get(registry, "web")).status.phase == "Running" and p, message="Running")
    assert {c.type: c.status for c in running.status.conditions} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True", "ContainersReady": "True",
        "PodScheduled": "True"}
    assert running.status.host_ip == registry.get("Node", "hollow-node-0").status.addresses[0].address
    node_cidr = registry.get("Node", "hollow-node-0").spec.pod_cidr
    assert running.status.pod_ip.rsplit(".", 1)[0] == node_cidr.rsplit(".", 1)[0]
    assert running.status.start_time == "2023-11-14T22:13:20Z"  # when the kubelet first saw it
    status = _container(running)
    assert status["ready"] and status["started"] and status["restartCount"] == 0
    assert status["state"]["running"]["startedAt"] == "2023-11-14T22:13:25Z"
    assert [p.metadata.name for p in nodes.pods_on("hollow-node-0")] == ["web"]
    for untouched in ("elsewhere", "unbound"):
        assert _get(registry, untouched).status.phase is None


@pytest.mark.parametrize("policy, code, phase", [("Never", 0, "Succeeded"), ("Never", 3, "Failed"),
                                                 ("OnFailure", 0, "Succeeded")])
def test_containers_exit_after_run_seconds_with_the_exit_code(registry, hollow, clock, policy, code, phase) -> None:
    hollow(1)
    p = pod("job", node_name="hollow-node-0", restartPolicy=policy)
    p = p.replace(metadata=p.metadata.replace(annotations={"borgkit.io/run-seconds": "30",
                                                            "borgkit.io/exit-code": str(code)}))
    registry.create(p)
    wait_for(lambda: _phase(registry, "job") == "Running", message="Running")
    clock.advance(29)
    clock.advance(2)
    done = wait_for(lambda: (q := _get(registry, "job")).status.phase in ("Succeeded", "Failed") and q,
                    message="finished")
    assert done.status.phase == phase
    terminated = _container(done)["state"]["terminated"]
    assert terminated["exitCode"] == code and terminated["reason"] == ("Completed" if code == 0 else "Error")
    assert _condition(done, "Ready").reason == "PodCompleted"


def test_a_failing_container_restarts_with_the_kubelets_backoff(registry, hollow, clock) -> None:
    hollow(1, restart_backoff=(10.0, 300.0))
    p = pod("crash", node_name="hollow-node-0", restartPolicy="OnFailure")
    registry.create(p.replace(metadata=p.metadata.replace(annotations={"borgkit.io/run-seconds": "5",
                                                                        "borgkit.io/exit-code": "1"})))
    wait_for(lambda: _phase(registry, "crash") == "Running", message="Running")
    clock.advance(5)
    waiting = wait_for(lambda: (q := _get(registry, "crash")) and "waiting" in _container(q)["state"] and q,
                       message="CrashLoopBackOff")
    status = _container(waiting)
    # while it waits the kubelet reports the exited instance's restartCount: the first one's is 0
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff" and status["restartCount"] == 0
    assert status["lastState"]["terminated"]["exitCode"] == 1
    first_id = status["lastState"]["terminated"]["containerID"]
    assert waiting.status.phase == "Running" and _condition(waiting, "Ready").status == "False"
    clock.advance(9)
    assert "waiting" in _container(_get(registry, "crash"))["state"]
    clock.advance(1)  # 10 s back-off over
    again = wait_for(lambda: (q := _get(registry, "crash")) and "running" in _container(q)["state"] and q,
                     message="restarted")
    assert _container(again)["restartCount"] == 1 and _condition(again, "Ready").status == "True"
    assert _container(again)["lastState"]["terminated"]["containerID"] == first_id
    assert _container(again)["containerID"] != first_id
    clock.advance(5)  # second failure: back-off doubles to 20 s
    second = wait_for(lambda: (q := _get(registry, "crash")) and "waiting" in _container(q)["state"] and q,
                      message="second CrashLoopBackOff")
    assert _container(second)["restartCount"] == 1
    clock.advance(19)
    assert "waiting" in _container(_get(registry, "crash"))["state"]
    clock.advance(1)
    third = wait_for(lambda: (q := _get(registry, "crash")) and "running" in _container(q)["state"] and q,
                     message="running again")
    assert _container(third)["restartCount"] == 2


def test_graceful_deletion_terminates_then_deletes_for_good(registry, hollow, clock) -> None:
    nodes = hollow(1, termination_seconds=2)
    registry.create(pod("web", node_name="hollow-node-0"))
    slow = pod("slow", node_name="hollow-node-0")
    registry.create(slow.replace(metadata=slow.metadata.replace(
        annotations={"borgkit.io/termination-seconds": "100"})))
    wait_for(lambda: _phase(registry, "web") == "Running" and _phase(registry, "slow") == "Running",
             message="Running")
    uid = _get(registry, "web").metadata.uid
    watch = registry.watch("Pod", "default", resource_version=str(registry.store.status().revision))
    marked = registry.delete("Pod", "web", "default", grace_period_seconds=30)
    slow = registry.delete("Pod", "slow", "default", grace_period_seconds=4)
    # the kubelet starts the termination when it sees the deletion: let it see both before the clock moves
    wait_for(lambda: nodes.observed("default/web") == marked.metadata.resource_version
             and nodes.observed("default/slow") == slow.metadata.resource_version, message="deletions seen")
    clock.advance(1)
    assert _get(registry, "web") is not None  # still terminating
    clock.advance(1.5)
    wait_for(lambda: _get(registry, "web") is None, message="web deleted after its termination time")
    assert _get(registry, "slow") is not None  # takes 100 s, capped by its 4 s grace period
    clock.advance(2)
    wait_for(lambda: _get(registry, "slow") is None, message="slow deleted at the end of its grace period")
    events = []
    while (event := watch.get(0.5)) is not None:
        if event.object is not None and event.object.metadata.uid == uid:
            events.append((event.type, event.object.status.phase))
    watch.stop()
    # marked, then the kubelet's terminated status, then the final delete
    assert events == [("MODIFIED", "Running"), ("MODIFIED", "Failed"), ("DELETED", "Failed")]
    assert not nodes.pods_on("hollow-node-0")


# ---------------------------------------------------------------------------------------------- node failures
def test_paused_node_stops_heartbeats_and_pods_then_resumes(registry, hollow, clock) -> None:
    nodes = hollow(2, heartbeat_interval=10)
    first = {n: _renew_time(registry, n) for n in nodes.names}
    clock.advance(10.5)
    wait_for(lambda: all(_renew_time(registry, n) != first[n] for n in nodes.names), message="renewals")
    nodes.node("hollow-node-1").pause()
    paused_lease = _renew_time(registry, "hollow-node-1")
    registry.create(pod("waits", node_name="hollow-node-1"))
    node = registry.get("Node", "hollow-node-1")
    unknown = [objects.to_dict(c) for c in node.status.conditions]
    for c in unknown:
        if c["type"] == "Ready":
            c.update(status="Unknown", reason="NodeStatusUnknown")
    registry.patch_status("Node", "hollow-node-1", {"status": {"conditions": unknown}})
    live_lease = _renew_time(registry, "hollow-node-0")
    clock.advance(25)
    wait_for(lambda: _renew_time(registry, "hollow-node-0") != live_lease, message="the live node renews")
    assert _renew_time(registry, "hollow-node-1") == paused_lease
    assert _get(registry, "waits").status.phase is None
    assert _condition(registry.get("Node", "hollow-node-1"), "Ready").status == "Unknown"

    nodes.node("hollow-node-1").resume()
    wait_for(lambda: _renew_time(registry, "hollow-node-1") != paused_lease, message="renewed at once")
    wait_for(lambda: _condition(registry.get("Node", "hollow-node-1"), "Ready").status == "True",
             message="Ready again")
    wait_for(lambda: _phase(registry, "waits") == "Running", message="its pod runs")

    nodes.node("hollow-node-1").stop()
    stopped_lease = _renew_time(registry, "hollow-node-1")
    nodes.node("hollow-node-1").resume()  # a stopped node stays stopped
    live_lease = _renew_time(registry, "hollow-node-0")
    clock.advance(25)
    wait_for(lambda: _renew_time(registry, "hollow-node-0") != live_lease, message="the live node renews")
    assert _renew_time(registry, "hollow-node-1") == stopped_lease


def test_a_deleted_node_registers_again(registry, hollow) -> None:
    hollow(1)
    old = registry.get("Node", "hollow-node-0").metadata.uid
    registry.delete("Node", "hollow-node-0")
    again = wait_for(lambda: registry.list("Node").items, message="registered again")
    assert again[0].metadata.name == "hollow-node-0" and again[0].metadata.uid != old


def test_a_restarted_process_adopts_its_nodes_and_running_pods(registry, clock) -> None:
    first = HollowNodes(registry, 1, clock=clock)
    first.start()
    try:
        registry.create(pod("web", node_name="hollow-node-0"))
        wait_for(lambda: _phase(registry, "web") == "Running", message="Running")
    finally:
        first.stop()
    running = _get(registry, "web")
    second = HollowNodes(registry, 1, clock=clock, termination_seconds=0)
    second.start()
    try:
        assert registry.get("Node", "hollow-node-0").metadata.uid == first.node("hollow-node-0").uid
        clock.advance(1)
        registry.delete("Pod", "web", "default", grace_period_seconds=30)
        wait_for(lambda: _get(registry, "web") is None, message="the new kubelet finishes the deletion")
        assert running.status.pod_ip
    finally:
        second.stop()


def test_one_set_of_threads_for_many_nodes(registry) -> None:
    before = threading.active_count()
    nodes = HollowNodes(registry, 300, heartbeat_interval=10.0)
    nodes.start()
    try:
        assert len(registry.list("Node").items) == 300
        assert len(registry.list("Lease", NODE_LEASE_NAMESPACE).items) == 300
        assert threading.active_count() - before <= 3  # the pod informer, the node informer, the timer wheel
        registry.create(pod("web", node_name="hollow-node-299"))
        wait_for(lambda: _phase(registry, "web") == "Running", message="Running on the last node")
    finally:
        nodes.stop()
    wait_for(lambda: threading.active_count() <= before, message="threads stopped")


def test_worker_threads_share_the_nodes_and_keep_each_nodes_order(registry, hollow, clock) -> None:
    nodes = hollow(10, workers=3, termination_seconds=0)
    for i in range(30):
        registry.create(pod(f"p{i}", node_name=f"hollow-node-{i % 10}"))
    wait_for(lambda: all(_phase(registry, f"p{i}") == "Running" for i in range(30)), message="30 Running")
    ips = {(p.spec.node_name, p.status.pod_ip) for p in registry.list("Pod", "default").items}
    assert len(ips) == 30  # addresses unique per node, allocated by the node's own worker
    for i in range(30):
        registry.delete("Pod", f"p{i}", "default", grace_period_seconds=30)
    wait_for(lambda: not registry.list("Pod", "default").items, message="all deleted by their kubelets")
    assert nodes.writes["pod_delete"] == 30
