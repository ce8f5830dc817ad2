"""The Scheduler fed directly: kube-scheduler's "0/N nodes are available" messages, node sampling
(numFeasibleNodesToFind with a round-robin start), seeded tie-breaking, pods bound / deleted / gated, node
events retrying unschedulable pods, explain(), metrics."""
from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler, fit_error_message, num_feasible_nodes_to_find  # noqa: E402
from scheduling.framework import PodNotFound, Status  # noqa: E402

NO_PREEMPTION = {"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "DefaultPreemption"}]}}}]}
INFRA = [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]


def test_unschedulable_message_in_kube_scheduler_words() -> None:
    s = Scheduler(NO_PREEMPTION)
    for i in range(3):
        s.add_node(node(f"small-{i}", cpu="1"))
    for i in range(2):
        s.add_node(node(f"infra-{i}", cpu="8", taints=INFRA))
    s.add_pod(pod("big", cpu="2"))
    [result] = s.schedule_pending()
    assert result.node_name is None
    assert result.message == ("0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, "
                              "3 Insufficient cpu.")
    assert s.metrics.unschedulable == 1 and s.metrics.attempts == 1


def test_every_insufficient_resource_is_counted() -> None:
    s = Scheduler(NO_PREEMPTION)
    s.add_node(node("tiny", cpu="1", memory="1Gi", pods=1))
    s.add_pod(pod("bound", cpu="100m", memory="100Mi", node_name="tiny"))
    s.add_pod(pod("p", cpu="2", memory="2Gi"))
    [result] = s.schedule_pending()
    assert result.message == ("0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, "
                              "1 Too many pods.")


def test_fit_error_message_sorts_reason_strings_and_adds_post_filter() -> None:
    statuses = {"a": Status.unschedulable("Insufficient cpu"), "b": Status.unresolvable("node(s) x")}
    assert fit_error_message(2, statuses, post_filter_message="preemption: none") == \
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) x. preemption: none."
    assert fit_error_message(3, statuses, pre_filter_message="pod affinity terms conflict") == \
        "0/3 nodes are available: pod affinity terms conflict."


def test_no_nodes() -> None:
    s = Scheduler()
    s.add_pod(pod("p"))
    [result] = s.schedule_pending()
    assert result.message == "no nodes available to schedule pods"


@pytest.mark.parametrize("nodes, percentage, expected", [
    (50, 0, 50), (99, 0, 99), (100, 0, 100), (1000, 0, 420), (5000, 0, 500), (6000, 0, 300),
    (15000, 0, 750), (5000, 100, 5000), (1000, 5, 100), (1000, 30, 300),
])
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    assert num_feasible_nodes_to_find(percentage, nodes) == expected


def test_sampling_examines_a_window_and_starts_where_the_last_one_ended() -> None:
    s = Scheduler({"percentageOfNodesToScore": 10})
    for i in range(200):
        s.add_node(node(f"n{i:03}"))
    s.add_pod(pod("a"))
    s.add_pod(pod("b"))
    first, second = s.schedule_pending()
    # 200 nodes, 10 % -> 100 feasible nodes to find: the first pod sees n000..n099, the second n100..n199.
    assert first.node_name < "n100" <= second.node_name
    assert s.metrics.indexed_cycles == 1  # a class's first pod walks the nodes; the index serves the next


def test_same_seed_same_decisions_different_seed_other_ties() -> None:
    def run(seed: int) -> list:
        s = Scheduler(seed=seed)
        for i in range(20):
            s.add_node(node(f"n{i}"))
        for i in range(10):
            s.add_pod(pod(f"p{i}"))
        return [r.node_name for r in s.schedule_pending()]

    assert run(7) == run(7)
    assert any(run(seed) != run(7) for seed in range(8))


def test_bound_pods_are_accounted_and_deleting_one_retries_waiting_pods() -> None:
    s = Scheduler(NO_PREEMPTION)
    s.add_node(node("n", cpu="2"))
    blocker = pod("blocker", cpu="2", node_name="n")
    s.add_pod(blocker)
    s.add_pod(pod("waiting", cpu="1"))
    assert s.schedule_pending()[0].node_name is None
    assert s.queue.unschedulable_count == 1
    s.remove_pod(blocker)
    # moved to backoff (1 s); include_backoff attempts it without waiting for the clock
    [result] = s.schedule_pending(include_backoff=True)
    assert result.node_name == "n" and result.pod.spec.node_name == "n"
    assert s.bound_pod("default/waiting").spec.node_name == "n"
    with pytest.raises(PodNotFound):
        s.remove_pod(pod("never-seen"))


def test_a_new_node_retries_unschedulable_pods() -> None:
    now = [0.0]
    s = Scheduler(NO_PREEMPTION, clock=lambda: now[0])
    s.add_pod(pod("p", cpu="1"))
    assert s.schedule_pending()[0].node_name is None
    s.add_node(node("fresh"))
    now[0] += 1.0
    assert [r.node_name for r in s.schedule_pending()] == ["fresh"]
    assert s.pending == 0


def test_updating_a_node_taint_retries_and_gates_hold_pods() -> None:
    now = [0.0]
    s = Scheduler(NO_PREEMPTION, clock=lambda: now[0])
    s.add_node(node("n", taints=INFRA))
    s.add_pod(pod("p"))
    s.add_pod(pod("gated", schedulingGates=[{"name": "wait"}]))
    assert [r.node_name for r in s.schedule_pending()] == [None]
    s.update_node(node("n"))
    now[0] += 5
    assert [r.node_name for r in s.schedule_pending()] == ["n"]
    s.update_pod(pod("gated"))
    assert [r.pod.metadata.name for r in s.schedule_pending()] == ["gated"]


def test_removed_nodes_are_not_chosen_and_explain_changes_nothing() -> None:
    s = Scheduler()
    for name in ("a", "b", "c"):
        s.add_node(node(name))
    s.remove_node("b")
    before = s.rng.getstate()
    explanation = s.explain(pod("p"))
    assert set(explanation.nodes) == {"a", "c"} and s.rng.getstate() == before and s.pending == 0
    assert set(explanation.totals) == {"a", "c"} and explanation.best
    assert "NodeResourcesFit" in explanation.scores and "NodeResourcesFit" in explanation.raw_scores
    assert "a" in explanation.table()
    s.add_pod(pod("p"))
    assert s.schedule_pending()[0].node_name in ("a", "c")


def test_explain_without_fit_gives_the_message() -> None:
    s = Scheduler(NO_PREEMPTION)
    s.add_node(node("a", cpu="1"))
    explanation = s.explain(pod("p", cpu="2"))
    assert explanation.nodes["a"].reasons == ("Insufficient cpu",)
    assert explanation.message == "0/1 nodes are available: 1 Insufficient cpu."


def test_metrics_count_and_time_extension_points() -> None:
    s = Scheduler()
    s.add_node(node("a"))
    s.add_node(node("b"))
    s.add_pod(pod("p"))
    s.schedule_pending()
    m = s.metrics.as_dict()
    assert m["attempts"] == 1 and m["scheduled"] == 1
    assert {"PreFilter", "Filter", "Score", "Reserve", "Bind"} <= set(m["extension_point_seconds"])


def test_a_pod_failing_in_a_cycle_that_saw_a_move_event_goes_to_backoff() -> None:
    """kube-scheduler's moveRequestCycle: e.g. preemption deletes victims during the preemptor's cycle."""
    s = Scheduler(NO_PREEMPTION)
    s.add_node(node("n", cpu="1"))
    s.add_pod(pod("p", cpu="2"))
    info = s.queue.pop()
    s.queue.move_on_event("AssignedPodDelete")  # happens while p is being scheduled
    s.schedule_one(info)
    assert s.queue.backoff_count == 1 and s.queue.unschedulable_count == 0
    s.add_pod(pod("q", cpu="2"))
    s.schedule_pending()
    assert s.queue.unschedulable_count == 1  # no event during q's cycle


def test_explaining_a_pod_of_another_scheduler_names_the_profiles() -> None:
    from scheduling import ConfigError, UnknownProfile
    s = Scheduler()
    with pytest.raises(ConfigError, match="no profile named 'other'"):
        s.explain(pod("p", schedulerName="other"))
    with pytest.raises(UnknownProfile, match="spec.schedulerName 'other' names no profile"):
        s._profile_for(pod("p", schedulerName="other"))


def test_nominated_pods_keep_their_room_from_lower_priority_pods() -> None:
    """After a preemption the preemptor is nominated to the node; until it binds, pods of lower priority
    must not take the room it made (kube-scheduler's addNominatedPods), pods of higher priority may."""
    from scheduling.framework import PostFilterPlugin, PostFilterResult
    from scheduling import default_registry

    class EvictAll(PostFilterPlugin):
        name = "EvictAll"

        def __init__(self, args=None, handle=None):
            self.handle = handle

        def post_filter(self, state, p, statuses):
            for victim in list(self.handle.snapshot.get("n").pods.values()):
                self.handle.delete_pod(victim)
            return PostFilterResult("n"), None

    registry = default_registry()
    registry.register("EvictAll", EvictAll)
    config = {"profiles": [{"plugins": {"postFilter": {"enabled": [{"name": "EvictAll"}]}}}]}
    now = [0.0]
    s = Scheduler(config, registry=registry, clock=lambda: now[0])
    s.add_node(node("n", cpu="2"))
    s.add_pod(pod("low", cpu="2", priority=0, node_name="n"))
    s.add_pod(pod("high", cpu="2", priority=100))
    [preempting] = s.schedule_pending()
    assert preempting.nominated_node_name == "n" and [v.key for v in preempting.victims] == ["default/low"]
    s.add_pod(pod("medium", cpu="2", priority=50))
    [medium] = s.schedule_pending()  # high still backing off
    assert medium.node_name is None and medium.pod.metadata.name == "medium"
    assert s.cache.get("n").pods == {}
    now[0] += 1.0
    results = {r.pod.metadata.name: r.node_name for r in s.schedule_pending()}
    assert results["high"] == "n"
