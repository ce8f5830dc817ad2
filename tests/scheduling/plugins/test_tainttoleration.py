"""TaintToleration, with the cases of the Kubernetes "Taints and Tolerations" page."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.framework import CycleState, NodeInfo, NodeScore  # noqa: E402
from scheduling.plugins import TaintToleration  # noqa: E402

KEY1 = {"key": "key1", "value": "value1", "effect": "NoSchedule"}


def _filter(p, n):
    return TaintToleration().filter(CycleState(), p, NodeInfo(n))


def test_docs_equal_and_exists_tolerations_both_tolerate_key1_value1_noschedule() -> None:
    tainted = node("node1", taints=[KEY1])
    equal = pod("a", tolerations=[{"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"}])
    exists = pod("b", tolerations=[{"key": "key1", "operator": "Exists", "effect": "NoSchedule"}])
    assert _filter(equal, tainted) is None and _filter(exists, tainted) is None
    status = _filter(pod("c"), tainted)
    assert status.reasons == ("node(s) had untolerated taint {key1: value1}",)
    assert str(status.code) == "UnschedulableAndUnresolvable"


def test_docs_empty_key_exists_tolerates_everything_and_empty_effect_matches_all_effects() -> None:
    many = node("n", taints=[KEY1, {"key": "key1", "value": "value1", "effect": "NoExecute"},
                             {"key": "key2", "value": "v", "effect": "NoSchedule"}])
    assert _filter(pod("all", tolerations=[{"operator": "Exists"}]), many) is None
    key1_any_effect = pod("k1", tolerations=[{"key": "key1", "operator": "Exists"}])
    assert _filter(key1_any_effect, many).reasons == ("node(s) had untolerated taint {key2: v}",)


def test_docs_multiple_taints_one_untolerated_noschedule_rejects_prefer_does_not() -> None:
    n = node("n", taints=[KEY1, {"key": "key1", "value": "value1", "effect": "NoExecute"},
                          {"key": "key2", "value": "value2", "effect": "NoSchedule"}])
    p = pod("p", tolerations=[{"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"},
                              {"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoExecute"}])
    assert _filter(p, n).reasons == ("node(s) had untolerated taint {key2: value2}",)
    soft = node("soft", taints=[{"key": "key2", "value": "value2", "effect": "PreferNoSchedule"}])
    assert _filter(p, soft) is None


def test_prefer_no_schedule_scores_reverse_normalized() -> None:
    plugin = TaintToleration()
    infos = [NodeInfo(node("clean")),
             NodeInfo(node("one", taints=[{"key": "a", "value": "", "effect": "PreferNoSchedule"}])),
             NodeInfo(node("two", taints=[{"key": "a", "value": "", "effect": "PreferNoSchedule"},
                                          {"key": "b", "value": "", "effect": "PreferNoSchedule"}]))]
    p = pod("p", tolerations=[{"key": "b", "operator": "Exists", "effect": "PreferNoSchedule"}])
    scores = [NodeScore(i.name, plugin.score(CycleState(), p, i)) for i in infos]
    assert [s.score for s in scores] == [0, 1, 1]
    plugin.normalize_score(CycleState(), p, scores)
    assert [s.score for s in scores] == [100, 0, 0]


def test_scheduler_avoids_prefer_no_schedule_nodes() -> None:
    s = Scheduler()
    s.add_node(node("spot", taints=[{"key": "spot", "value": "", "effect": "PreferNoSchedule"}]))
    s.add_node(node("regular"))
    for i in range(3):
        s.add_pod(pod(f"p{i}"))
    assert {r.node_name for r in s.schedule_pending()} == {"regular"}


def test_equivalence_keys_are_equal_exactly_when_the_tolerations_are() -> None:
    """The class key holds the tolerations' fields: pods whose tolerations compare equal share a class, any
    field that differs (the seconds too) parts them."""
    base = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300}
    variants = [dict(base), {**base, "tolerationSeconds": 301}, {k: v for k, v in base.items() if k != "tolerationSeconds"},
                {**base, "operator": "Equal", "value": "x"}, {**base, "key": "other"},
                {"key": "other", "operator": "Exists", "effect": "NoSchedule"}]
    plugin = TaintToleration()
    pods = [pod(f"p{i}", tolerations=[v]) for i, v in enumerate(variants)] + [pod("again", tolerations=[base])]
    for a in pods:
        for b in pods:
            same = list(a.spec.tolerations) == list(b.spec.tolerations)
            assert (plugin.equivalence_key(a) == plugin.equivalence_key(b)) == same
    assert plugin.equivalence_key(pod("none")) == ()
