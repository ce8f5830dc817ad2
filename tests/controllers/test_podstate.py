"""What controllers read off a pod, against Kubernetes' rules: availability (IsPodAvailable, strict on
minReadySeconds), restart counts (the largest container's for a scale-down's ranking, every container's
summed for a Job's backoffLimit, as kubelet reports them per container)."""
from __future__ import annotations

import objects

from controllers.podstate import deletion_order, format_time, is_available, restart_count, total_restarts

T = 1_700_000_000.0


def _pod(name: str = "p", ready: bool = True, since: float | None = T, containers=None, init=None,
         node: str | None = "n1"):
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    if since is not None:
        condition["lastTransitionTime"] = format_time(since)
    status: dict = {"phase": "Running", "conditions": [condition]}
    if containers is not None:
        status["containerStatuses"] = [{"name": f"c{i}", "image": "i", "imageID": "", "ready": True,
                                        "restartCount": n} for i, n in enumerate(containers)]
    if init is not None:
        status["initContainerStatuses"] = [{"name": f"i{i}", "image": "i", "imageID": "", "ready": True,
                                            "restartCount": n} for i, n in enumerate(init)]
    spec: dict = {"containers": [{"name": "c", "image": "i"}]}
    if node:
        spec["nodeName"] = node
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                              "creationTimestamp": format_time(T - 100)}, "spec": spec, "status": status})


def test_available_without_min_ready_seconds_when_ready() -> None:
    assert is_available(_pod(), 0, T)
    assert not is_available(_pod(ready=False), 0, T + 1000)


def test_min_ready_seconds_are_strict_as_kubernetes() -> None:
    # IsPodAvailable: lastTransitionTime + minReadySeconds must be Before(now): ready exactly minReadySeconds
    # ago is not available yet
    assert not is_available(_pod(), 10, T + 9)
    assert not is_available(_pod(), 10, T + 10)
    assert is_available(_pod(), 10, T + 10.5)
    assert is_available(_pod(), 10, T + 11)


def test_a_ready_pod_without_a_transition_time_is_not_available_with_min_ready_seconds() -> None:
    assert not is_available(_pod(since=None), 5, T + 1000)
    assert is_available(_pod(since=None), 0, T)


def test_restart_count_is_the_largest_container_count() -> None:
    assert restart_count(_pod(containers=[1, 4, 2])) == 4
    assert restart_count(_pod(containers=[1], init=[9])) == 1   # init containers do not rank a scale-down
    assert restart_count(_pod()) == 0


def test_total_restarts_sum_every_container_init_containers_too() -> None:
    assert total_restarts(_pod(containers=[1, 4, 2])) == 7
    assert total_restarts(_pod(containers=[1, 1], init=[2])) == 4
    assert total_restarts(_pod()) == 0


def test_malformed_restart_counts_count_as_none() -> None:
    pod = _pod(containers=[3])
    pod.status.unknown_fields["containerStatuses"].append({"name": "x", "restartCount": "7"})
    pod.status.unknown_fields["containerStatuses"].append("not a status")
    assert restart_count(pod) == 3 and total_restarts(pod) == 3


def test_a_scale_down_deletes_the_pod_whose_container_restarted_most_first() -> None:
    calm = _pod("calm", containers=[2, 2])         # 4 restarts in all, at most 2 per container
    flaky = _pod("flaky", containers=[3, 0])       # 3 in all, one container restarted 3 times
    assert [p.metadata.name for p in deletion_order([calm, flaky], T + 1000)] == ["flaky", "calm"]
