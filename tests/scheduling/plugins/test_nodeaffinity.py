"""NodeAffinity with the cases of the Kubernetes "Assigning Pods to Nodes" page: nodeSelector, the
operators, terms ORed and expressions ANDed, matchFields, preferred weights, scheduler-enforced affinity."""
from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.framework import CycleState, NodeInfo  # noqa: E402
from scheduling.plugins import NodeAffinity  # noqa: E402

REQ = "requiredDuringSchedulingIgnoredDuringExecution"
PREF = "preferredDuringSchedulingIgnoredDuringExecution"


def _required(*terms: list) -> dict:
    return {"affinity": {"nodeAffinity": {REQ: {"nodeSelectorTerms": [{"matchExpressions": t} for t in terms]}}}}


def _fits(p, n, plugin=None) -> bool:
    plugin = plugin or NodeAffinity()
    state = CycleState()
    plugin.pre_filter(state, p, [])
    return plugin.filter(state, p, NodeInfo(n)) is None


def test_node_selector_needs_every_label() -> None:
    p = pod("p", nodeSelector={"disktype": "ssd"})
    assert _fits(p, node("a", labels={"disktype": "ssd"}))
    assert not _fits(p, node("b", labels={"disktype": "hdd"}))
    assert not _fits(p, node("c"))


@pytest.mark.parametrize("operator, values, labels, fits", [
    ("In", ["antarctica-east1", "antarctica-west1"], {"topology.kubernetes.io/zone": "antarctica-east1"}, True),
    ("In", ["antarctica-east1"], {"topology.kubernetes.io/zone": "europe"}, False),
    ("NotIn", ["antarctica-east1"], {"topology.kubernetes.io/zone": "europe"}, True),
    ("NotIn", ["antarctica-east1"], {}, True),
    ("Exists", [], {"topology.kubernetes.io/zone": "x"}, True),
    ("DoesNotExist", [], {"topology.kubernetes.io/zone": "x"}, False),
    ("Gt", ["5"], {"topology.kubernetes.io/zone": "6"}, True),
    ("Gt", ["5"], {"topology.kubernetes.io/zone": "5"}, False),
    ("Lt", ["5"], {"topology.kubernetes.io/zone": "4"}, True),
])
def test_operators(operator: str, values: list, labels: dict, fits: bool) -> None:
    expr = {"key": "topology.kubernetes.io/zone", "operator": operator}
    if values:
        expr["values"] = values
    assert _fits(pod("p", **_required([expr])), node("n", labels=labels)) == fits


def test_terms_are_ored_and_expressions_anded() -> None:
    p = pod("p", **_required([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}],
                             [{"key": "c", "operator": "Exists"}]))
    assert _fits(p, node("ab", labels={"a": "1", "b": "1"}))
    assert not _fits(p, node("a", labels={"a": "1"}))
    assert _fits(p, node("c", labels={"c": "1"}))


def test_match_fields_narrow_prefilter_to_named_nodes() -> None:
    p = pod("p", affinity={"nodeAffinity": {REQ: {"nodeSelectorTerms": [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}})
    result, status = NodeAffinity().pre_filter(CycleState(), p, [])
    assert status is None and result.node_names == {"n2"}
    s = Scheduler()
    for i in range(4):
        s.add_node(node(f"n{i}"))
    s.add_pod(p)
    assert s.schedule_pending()[0].node_name == "n2"


def test_no_affinity_skips_the_filter() -> None:
    _, status = NodeAffinity().pre_filter(CycleState(), pod("p"), [])
    assert status.is_skip


def test_docs_preferred_weights_pick_the_heavier_match() -> None:
    # The docs' example: weight 1 for label-1=key-1 and weight 50 for label-2=key-2: node with label-2 wins.
    p = pod("p", affinity={"nodeAffinity": {PREF: [
        {"weight": 1, "preference": {"matchExpressions": [{"key": "label-1", "operator": "In", "values": ["key-1"]}]}},
        {"weight": 50, "preference": {"matchExpressions": [{"key": "label-2", "operator": "In", "values": ["key-2"]}]}},
    ]}})
    s = Scheduler()
    s.add_node(node("one", labels={"label-1": "key-1"}))
    s.add_node(node("two", labels={"label-2": "key-2"}))
    s.add_node(node("none"))
    explanation = s.explain(p)
    assert explanation.raw_scores["NodeAffinity"] == {"one": 1, "two": 50, "none": 0}
    assert explanation.scores["NodeAffinity"] == {"one": 2 * 2, "two": 200, "none": 0}
    s.add_pod(p)
    assert s.schedule_pending()[0].node_name == "two"


def test_added_affinity_is_enforced_for_every_pod() -> None:
    args = {"addedAffinity": {REQ: {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "pool", "operator": "In", "values": ["batch"]}]}]}}}
    plugin = NodeAffinity(args)
    assert _fits(pod("p"), node("b", labels={"pool": "batch"}), plugin)
    status = plugin.filter(CycleState(), pod("p"), NodeInfo(node("x")))
    assert status.reasons == ("node(s) didn't match scheduler-enforced node affinity",)
