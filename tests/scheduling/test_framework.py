"""The framework runtime: Status, CycleState, the plugin registry, and kube-scheduler's rules for running
extension points (first failing filter wins, PreFilter Skip and node-name results, weights, binders)."""
from __future__ import annotations

import pathlib
import sys
from typing import Any, Optional, Sequence

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler, default_registry  # noqa: E402
from scheduling.framework import (BindPlugin, Code, ConfigError, CycleState, FilterPlugin, NodeInfo,  # noqa: E402
                                  NodeScore, PermitPlugin, Plugin, PluginNotFound, PreFilterPlugin, PreFilterResult,
                                  ReservePlugin, ScorePlugin, Status, default_normalize_score, is_success)
from scheduling.framework.registry import Registry  # noqa: E402


def test_status_codes_and_helpers() -> None:
    assert is_success(None) and is_success(Status())
    s = Status.unschedulable("Insufficient cpu", "Too many pods")
    assert s.code == Code.UNSCHEDULABLE and s.is_rejected and not s.is_success
    assert s.message == "Insufficient cpu, Too many pods"
    assert s.with_plugin("NodeResourcesFit").plugin == "NodeResourcesFit" and s.plugin == ""
    assert str(Code.UNSCHEDULABLE_AND_UNRESOLVABLE) == "UnschedulableAndUnresolvable"
    assert Status.skip().is_skip and Status.error("boom").code == Code.ERROR


def test_cycle_state_read_write_clone() -> None:
    class Data:
        def __init__(self, n: int) -> None:
            self.n = n

        def clone(self) -> "Data":
            return Data(self.n)

    state = CycleState()
    state.write("a", Data(1))
    state.write("b", [1])
    copy = state.clone()
    copy.read("a").n = 5
    assert state.read("a").n == 1
    assert copy.read("b") is state.read("b")  # values without clone() are shared
    with pytest.raises(KeyError, match="'missing' not found"):
        state.read("missing")


def test_default_normalize_score_matches_kube() -> None:
    scores = [NodeScore("a", 0), NodeScore("b", 2), NodeScore("c", 4)]
    default_normalize_score(scores)
    assert [s.score for s in scores] == [0, 50, 100]
    scores = [NodeScore("a", 0), NodeScore("b", 1), NodeScore("c", 3)]
    default_normalize_score(scores, reverse=True)
    assert [s.score for s in scores] == [100, 67, 0]
    zeros = [NodeScore("a", 0), NodeScore("b", 0)]
    default_normalize_score(zeros, reverse=True)
    assert [s.score for s in zeros] == [100, 100]


def test_registry_rejects_duplicates_and_unknown_names() -> None:
    reg = Registry()
    reg.register("X", lambda args, handle: None)
    with pytest.raises(ConfigError, match="'X'.*already exists"):
        reg.register("X", lambda args, handle: None)
    with pytest.raises(PluginNotFound, match="'Y'"):
        reg.factory("Y")
    with pytest.raises(PluginNotFound):
        reg.unregister("Y")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []


RECORD = Recorder()


class RejectOdd(Plugin, FilterPlugin):
    """Rejects nodes whose name ends in an odd digit."""

    name = "RejectOdd"

    def filter(self, state: CycleState, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        RECORD.calls.append(f"RejectOdd:{node_info.name}")
        return Status.unschedulable("odd node") if int(node_info.name[-1]) % 2 else None


class CountingFilter(Plugin, FilterPlugin):
    name = "CountingFilter"

    def filter(self, state: CycleState, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        RECORD.calls.append(f"CountingFilter:{node_info.name}")
        return None


class OnlyNode2(Plugin, PreFilterPlugin):
    name = "OnlyNode2"

    def pre_filter(self, state: CycleState, pod: Any,
                   nodes: Sequence[NodeInfo]) -> tuple[Optional[PreFilterResult], Optional[Status]]:
        return PreFilterResult({"n2"}), None


class PreferHigh(Plugin, ScorePlugin):
    """Scores a node by its last digit, normalized to 0..100."""

    name = "PreferHigh"

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        return int(node_info.name[-1])

    def normalize_score(self, state: CycleState, pod: Any, scores: list[NodeScore]) -> Optional[Status]:
        default_normalize_score(scores)
        return None


class FailingBinder(Plugin, BindPlugin):
    name = "FailingBinder"

    def bind(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        return Status.error("the API server is down")


class Reserver(Plugin, ReservePlugin):
    name = "Reserver"

    def reserve(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        RECORD.calls.append(f"reserve:{node_name}")
        return None

    def unreserve(self, state: CycleState, pod: Any, node_name: str) -> None:
        RECORD.calls.append(f"unreserve:{node_name}")


def _registry() -> Registry:
    reg = default_registry()
    for cls in (RejectOdd, CountingFilter, OnlyNode2, PreferHigh, FailingBinder, Reserver):
        reg.register(cls.name, cls)
    return reg


def _only(points: dict[str, list[dict]]) -> dict:
    """A profile with PrioritySort, DefaultBinder and the given plugins only."""
    plugins: dict[str, Any] = {"multiPoint": {"disabled": [{"name": "*"}]},
                               "queueSort": {"enabled": [{"name": "PrioritySort"}]},
                               "bind": {"enabled": [{"name": "DefaultBinder"}]}}
    for point, enabled in points.items():
        plugins[point] = {"enabled": enabled}
    return {"profiles": [{"schedulerName": "default-scheduler", "plugins": plugins}]}


def test_a_filter_failure_stops_the_later_filters_on_that_node() -> None:
    RECORD.calls.clear()
    s = Scheduler(_only({"filter": [{"name": "RejectOdd"}, {"name": "CountingFilter"}]}), registry=_registry())
    for i in range(4):
        s.add_node(node(f"n{i}"))
    s.add_pod(pod("p"))
    [result] = s.schedule_pending()
    assert result.node_name in ("n0", "n2")
    assert "CountingFilter:n1" not in RECORD.calls and "CountingFilter:n3" not in RECORD.calls
    explanation = s.explain(pod("q"))
    assert explanation.nodes["n1"].plugin == "RejectOdd" and explanation.nodes["n1"].reasons == ("odd node",)


def test_prefilter_result_restricts_nodes_and_others_report_filtered_out() -> None:
    s = Scheduler(_only({"preFilter": [{"name": "OnlyNode2"}], "filter": [{"name": "RejectOdd"}]}),
                  registry=_registry())
    for i in range(4):
        s.add_node(node(f"n{i}"))
    s.add_pod(pod("p"))
    assert [r.node_name for r in s.schedule_pending()] == ["n2"]
    verdicts = s.explain(pod("q")).nodes
    assert verdicts["n0"].reasons == ("node(s) didn't satisfy plugin(s) [OnlyNode2]",)
    assert verdicts["n2"].fits


def test_score_weights_decide_and_explain_shows_weighted_scores() -> None:
    config = _only({"score": [{"name": "PreferHigh", "weight": 3}]})
    s = Scheduler(config, registry=_registry())
    for i in range(5):
        s.add_node(node(f"n{i}"))
    explanation = s.explain(pod("p"))
    assert explanation.scores["PreferHigh"] == {"n0": 0, "n1": 75, "n2": 150, "n3": 225, "n4": 300}
    assert explanation.best == ["n4"]
    s.add_pod(pod("p"))
    assert s.schedule_pending()[0].node_name == "n4"


def test_bind_error_unreserves_forgets_and_backs_off() -> None:
    RECORD.calls.clear()
    config = _only({"reserve": [{"name": "Reserver"}]})
    config["profiles"][0]["plugins"]["bind"] = {"enabled": [{"name": "FailingBinder"}],
                                                "disabled": [{"name": "DefaultBinder"}]}
    now = [100.0]
    s = Scheduler(config, registry=_registry(), clock=lambda: now[0])
    s.add_node(node("n0"))
    s.add_pod(pod("p", cpu="3"))
    [result] = s.schedule_pending()
    assert result.node_name is None and "the API server is down" in result.message
    assert RECORD.calls == ["reserve:n0", "unreserve:n0"]
    assert s.cache.get("n0").requested == {} and not s.cache.is_assumed("default/p")
    assert s.queue.backoff_count == 1 and s.metrics.errors == 1
    assert s.schedule_pending() == []  # still backing off
    now[0] += 1.0
    assert len(s.schedule_pending()) == 1  # retried once the 1 s backoff is over


def test_unknown_plugin_and_point_mismatch_are_config_errors() -> None:
    with pytest.raises(PluginNotFound, match="'NoSuchPlugin'"):
        Scheduler(_only({"filter": [{"name": "NoSuchPlugin"}]}))
    with pytest.raises(ConfigError, match="does not implement score"):
        Scheduler(_only({"score": [{"name": "RejectOdd"}]}), registry=_registry())


def test_plugin_returning_out_of_range_score_is_an_error_status() -> None:
    class Wild(Plugin, ScorePlugin):
        name = "Wild"

        def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
            return 1000

    reg = default_registry()
    reg.register("Wild", Wild)
    s = Scheduler(_only({"score": [{"name": "Wild"}]}), registry=reg)
    s.add_node(node("a"))
    s.add_node(node("b"))
    s.add_pod(pod("p"))
    [result] = s.schedule_pending()
    assert result.node_name is None and "invalid score 1000" in result.message
    assert s.metrics.errors == 1 and s.cache.get("a").pods == {} and s.cache.get("b").pods == {}


def test_the_worked_example_of_docs_scheduling_md_runs() -> None:
    import re
    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "scheduling.md").read_text()
    code = re.search(r"## Writing a plugin.*?```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/scheduling.md", "exec"), namespace)
    s = namespace["s"]
    s.add_node(node("m", labels={"maintenance": "true"}))
    s.add_node(node("ok"))
    s.add_pod(pod("p"))
    assert [r.node_name for r in s.schedule_pending()] == ["ok"]
    assert s.explain(pod("q")).nodes["m"].reasons == ("node(s) are in maintenance",)


class OnlyNode1(Plugin, PreFilterPlugin):
    name = "OnlyNode1"

    def pre_filter(self, state: CycleState, pod: Any,
                   nodes: Sequence[NodeInfo]) -> tuple[Optional[PreFilterResult], Optional[Status]]:
        return PreFilterResult({"n1"}), None


def test_conflicting_prefilter_results_reject_with_kube_message() -> None:
    reg = _registry()
    reg.register("OnlyNode1", OnlyNode1)
    s = Scheduler(_only({"preFilter": [{"name": "OnlyNode2"}, {"name": "OnlyNode1"}]}), registry=reg)
    s.add_node(node("n1"))
    s.add_node(node("n2"))
    s.add_pod(pod("p"))
    [result] = s.schedule_pending()
    assert result.message == ("0/2 nodes are available: node(s) didn't satisfy plugin(s) [OnlyNode1 OnlyNode2] "
                              "simultaneously.")


def test_post_filter_reasons_accumulate_until_one_succeeds() -> None:
    from scheduling.framework import PostFilterPlugin, PostFilterResult

    class Shrug(Plugin, PostFilterPlugin):
        name = "Shrug"

        def post_filter(self, state, pod, statuses):
            return None, Status.unschedulable("nothing to do")

    class Nominate(Plugin, PostFilterPlugin):
        name = "Nominate"

        def post_filter(self, state, pod, statuses):
            assert set(statuses) == {"n0"} and statuses["n0"].plugin == "NodeResourcesFit"
            return PostFilterResult("n0"), None

    reg = default_registry()
    reg.register("Shrug", Shrug)
    reg.register("Nominate", Nominate)
    config = _only({"filter": [{"name": "NodeResourcesFit"}],
                    "postFilter": [{"name": "Shrug"}, {"name": "Nominate"}]})
    s = Scheduler(config, registry=reg)
    s.add_node(node("n0", cpu="1"))
    s.add_pod(pod("p", cpu="2"))
    [result] = s.schedule_pending()
    assert result.nominated_node_name == "n0" and result.pod.status.nominated_node_name == "n0"
    assert result.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert s.metrics.preemptions == 1
    config["profiles"][0]["plugins"]["postFilter"] = {"enabled": [{"name": "Shrug"}]}
    s = Scheduler(config, registry=reg)
    s.add_node(node("n0", cpu="1"))
    s.add_pod(pod("p", cpu="2"))
    assert s.schedule_pending()[0].message == "0/1 nodes are available: 1 Insufficient cpu. nothing to do."


class _Permit(Plugin, PermitPlugin):
    """Returns what its args say: ``{"code": "Wait" | "Unschedulable" | "Error" | "Success", "timeout": s}``."""

    def permit(self, state: CycleState, pod: Any, node_name: str) -> tuple[Optional[Status], float]:
        code = {"Wait": Code.WAIT, "Unschedulable": Code.UNSCHEDULABLE, "Error": Code.ERROR,
                "Success": Code.SUCCESS}[self.args["code"]]
        return Status(code, f"{self.name} says {code}"), float(self.args.get("timeout", 0))


def _permits(*specs: tuple[str, str, float]) -> Scheduler:
    reg = default_registry()
    config = _only({"permit": [{"name": name} for name, _, _ in specs]})
    config["profiles"][0]["pluginConfig"] = [{"name": name, "args": {"code": code, "timeout": timeout}}
                                             for name, code, timeout in specs]
    for name, _, _ in specs:
        reg.register(name, type(name, (_Permit,), {"name": name}))
    s = Scheduler(config, registry=reg, clock=lambda: 0.0)
    s.add_node(node("n0"))
    s.add_pod(pod("p"))
    return s


def test_permit_rejection_error_and_wait_as_kube_scheduler() -> None:
    [rejected] = _permits(("A", "Wait", 5), ("B", "Unschedulable", 0)).schedule_pending()
    assert rejected.message == "0/1 nodes are available: 1 B says Unschedulable." and not rejected.error
    [failed] = _permits(("A", "Error", 0)).schedule_pending()
    assert failed.error and failed.message == 'running Permit plugin "A": A says Error'
    s = _permits(("A", "Wait", 5), ("B", "Success", 0), ("C", "Wait", 3000))
    [waiting] = s.schedule_pending()
    assert waiting.waiting_node_name == "n0"
    held = s.framework().get_waiting_pod("default/p")
    assert held.get_pending_plugins() == ["A", "C"] and held.timeouts == {"A": 5.0, "C": 900.0}
    held.allow("A")
    assert s.bound_pod("default/p") is None  # C still waits
    held.allow("C")
    assert s.bound_pod("default/p").spec.node_name == "n0"


def test_skip_is_one_shared_value_equal_to_a_new_one() -> None:
    from scheduling.framework import Code, Status
    assert Status.skip() is Status.skip()
    assert Status.skip() == Status(Code.SKIP) and Status.skip().is_skip and not Status.skip().reasons
    assert Status.skip().with_plugin("P") == Status(Code.SKIP, plugin="P") and Status.skip().plugin == ""
