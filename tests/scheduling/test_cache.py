"""The cache: NodeInfo accounting (requests, non-zero requests, host ports with the 0.0.0.0 rule, images,
affinity lists), assume / forget / confirm, placeholder nodes, the change log; and a hypothesis model
comparing the incremental NodeInfos with totals recomputed from scratch."""
from __future__ import annotations

import pathlib
import sys

import objects
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod, pod_affinity, term  # noqa: E402

from scheduling.cache import Cache  # noqa: E402
from scheduling.framework import NodeNotFound, PodNotFound  # noqa: E402
from scheduling.framework.nodeinfo import HostPortInfo  # noqa: E402


def test_node_info_accounts_requests_and_non_zero_defaults() -> None:
    cache = Cache()
    cache.add_node(node("n", cpu="4", memory="8Gi"))
    cache.add_pod(pod("a", cpu="500m", memory="1Gi", node_name="n"))
    cache.add_pod(pod("b", cpu=None, memory=None, node_name="n"))
    info = cache.get("n")
    assert info.requested == {"cpu": 500, "memory": 1024**3}
    assert info.non_zero_requested == [600, 1024**3 + 200 * 1024**2]
    assert info.allocatable["pods"] == 110 and info.free("pods") == 108 and info.free("cpu") == 3500
    cache.remove_pod(pod("a", node_name="n"))
    assert info.requested == {} and info.non_zero_requested == [100, 200 * 1024**2]


def test_host_port_conflicts_follow_the_wildcard_rule() -> None:
    ports = HostPortInfo()
    ports.add("127.0.0.1", "TCP", 8080)
    assert ports.conflicts("0.0.0.0", "TCP", 8080)  # the wildcard clashes with any IP
    assert ports.conflicts("127.0.0.1", "TCP", 8080)
    assert not ports.conflicts("127.0.0.2", "TCP", 8080)
    assert not ports.conflicts("127.0.0.1", "UDP", 8080)
    ports.add("", "", 9090)  # empty means 0.0.0.0 / TCP
    assert ports.conflicts("10.0.0.1", "TCP", 9090)
    ports.remove("", "", 9090)
    assert not ports.conflicts("10.0.0.1", "TCP", 9090) and not ports.conflicts("1.1.1.1", "TCP", 0)


def test_assume_forget_and_confirm() -> None:
    cache = Cache()
    cache.add_node(node("n"))
    p = pod("p", cpu="1").with_node_name("n")
    cache.assume_pod(p)
    assert cache.is_assumed("default/p") and cache.get("n").requested["cpu"] == 1000
    with pytest.raises(PodNotFound):
        cache.assume_pod(p)
    cache.forget_pod(p)
    assert cache.get("n").requested == {} and cache.get_pod("default/p") is None
    cache.assume_pod(p)
    cache.add_pod(p)  # the binding was observed
    assert not cache.is_assumed("default/p") and cache.get("n").requested["cpu"] == 1000
    with pytest.raises(PodNotFound):
        cache.forget_pod(p)


def test_pods_on_unknown_nodes_wait_on_a_placeholder() -> None:
    cache = Cache()
    cache.add_pod(pod("early", cpu="1", node_name="late"))
    assert cache.num_nodes() == 0
    with pytest.raises(NodeNotFound):
        cache.get("late")
    cache.add_node(node("late"))
    assert cache.get("late").requested["cpu"] == 1000 and cache.list()[0].name == "late"
    cache.remove_node("late")
    assert cache.num_nodes() == 0
    cache.remove_pod(pod("early"))
    with pytest.raises(NodeNotFound):
        cache.remove_node("late")


def test_image_spread_counts_nodes() -> None:
    cache = Cache()
    images = [{"names": ["nginx:1.25"], "sizeBytes": 100 * 1024 * 1024}]
    cache.add_node(node("a", images=images))
    cache.add_node(node("b", images=images))
    assert cache.get("a").image_states["nginx:1.25"].num_nodes == 2
    cache.remove_node("b")
    assert cache.get("a").image_states["nginx:1.25"].num_nodes == 1


def test_affinity_lists_and_change_log() -> None:
    cache = Cache()
    cache.add_node(node("a"))
    cache.add_node(node("b"))
    cursor = cache.change_cursor()
    anti = pod("x", node_name="a", **pod_affinity(required=[term({"matchLabels": {"app": "x"}}, "zone")],
                                                  anti=True))
    cache.add_pod(anti)
    assert [n.name for n in cache.have_pods_with_required_anti_affinity_list()] == ["a"]
    assert [n.name for n in cache.have_pods_with_affinity_list()] == ["a"]
    changed, cursor = cache.changes_since(cursor)
    assert [n.name for n in changed] == ["a"]
    cache.remove_pod(anti)
    assert cache.have_pods_with_affinity_list() == []
    assert cache.changes_since(cursor)[0] == [cache.get("a")]


OPS = st.lists(st.tuples(st.sampled_from(["add", "remove", "assume", "forget", "node"]),
                         st.integers(0, 5), st.sampled_from(["n0", "n1", "n2"]),
                         st.sampled_from(["0", "250m", "1"]), st.sampled_from([0, 80, 443])), max_size=40)


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_incremental_node_infos_equal_a_recount(ops: list) -> None:
    cache = Cache()
    for name in ("n0", "n1", "n2"):
        cache.add_node(node(name))
    truth: dict[str, tuple] = {}  # pod key -> (pod, node, assumed)
    for op, i, node_name, cpu, port in ops:
        key = f"default/p{i}"
        ports = [{"containerPort": 80, "hostPort": port}] if port else []
        p = pod(f"p{i}", cpu=cpu, ports=ports, node_name=node_name)
        if op == "add":
            cache.add_pod(p)
            truth[key] = (p, node_name, False)
        elif op == "assume" and key not in truth:
            cache.assume_pod(p)
            truth[key] = (p, node_name, True)
        elif op == "forget" and key in truth and truth[key][2]:
            cache.forget_pod(truth[key][0])
            del truth[key]
        elif op == "remove" and key in truth:
            cache.remove_pod(p)
            del truth[key]
        elif op == "node":
            cache.update_node(node(node_name, cpu=str(4 + i)))
    for info in cache.list():
        mine = [t[0] for t in truth.values() if t[1] == info.name]
        assert sorted(info.pods) == sorted(p.key for p in mine)
        expected: dict[str, int] = {}
        for p in mine:
            for r, v in p.requests.items():
                expected[r] = expected.get(r, 0) + v
        assert {r: v for r, v in info.requested.items() if v} == {r: v for r, v in expected.items() if v}
        assert info.non_zero_requested == [sum(p.non_zero_requests[0] for p in mine),
                                           sum(p.non_zero_requests[1] for p in mine)]
        assert len(info.used_ports) == sum(len(p.host_ports) for p in mine)
    for key, (_, _, assumed) in truth.items():
        assert cache.is_assumed(key) == assumed


def _cache_state(cache: Cache) -> tuple:
    """Everything a cache's readers see: per node its pods in order, aggregates, affinity lists; the label
    index, the pod change log, the pods' states."""
    nodes = {}
    for name, info in cache._nodes.items():
        nodes[name] = (list(info.pods.items()), info.requested, list(info.non_zero_requested),
                       info.used_ports._by_ip, info.used_ports._any_ip,
                       [p.key for p in info.pods_with_affinity], [p.key for p in info.pods_with_required_anti_affinity])
    return (nodes, cache._labelled, [(n, p, a) for n, p, a in cache.pod_changes],
            {k: (s.pod, s.node_name, s.assumed) for k, s in cache._pods.items()},
            sorted(cache._with_affinity), sorted(cache._with_anti_affinity))


_VERSION = st.tuples(st.sampled_from(["n0", "n1", "gone"]), st.sampled_from([{"app": "a"}, {"app": "b"}]),
                     st.sampled_from(["100m", "200m"]), st.sampled_from([None, 8080]), st.booleans(),
                     st.sampled_from([None, "Running"]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["bind", "bind", "assume", "remove", "next", "move"]), st.integers(0, 3),
                          _VERSION), max_size=30))
def test_a_pod_replaced_in_place_leaves_the_cache_as_a_removal_and_an_addition_do(ops: list) -> None:
    """A new version of a pod on the same node with the same requests, ports and affinity is swapped in
    place (``NodeInfo.replace_pod``); every other change goes through a removal and an addition. Both caches,
    one never taking the in-place path, end up the same after any sequence. "next" / "move": the pod's next
    version made from the one held, as a status write / a binding makes it (sharing the parts its requests are
    read from: replace_pod's shortcut)."""
    from unittest import mock

    from scheduling.framework.nodeinfo import NodeInfo

    fast, slow, compared = Cache(), Cache(), Cache()  # compared: replace_pod always compares the values
    for cache in (fast, slow, compared):
        for name in ("n0", "n1"):
            cache.add_node(node(name))
    for op, index, (node_name, labels, cpu, port, affinity, phase) in ops:
        spec: dict = {}
        if port:
            spec["ports"] = [{"containerPort": port, "hostPort": port}]
        if affinity:
            spec.update(pod_affinity(required=[term({"matchLabels": {"app": "a"}}, "zone")], anti=True))
        p = pod(f"p{index}", cpu=cpu, labels=labels, node_name=node_name, **spec)
        if phase:
            d = objects.to_dict(p)
            d["status"] = {"phase": phase}
            p = objects.from_dict(d)
        if op in ("next", "move"):
            held = fast.get_pod(p.key)
            if held is None:
                continue
            p = held.with_metadata(resource_version=str(index)) if op == "next" else held.with_node_name(node_name)
            op = "bind"
        for cache in (fast, slow, compared):
            patch = mock.patch.object(NodeInfo, "replace_pod", lambda self, pod: False) if cache is slow \
                else mock.patch.object(objects.Pod, "derives_like", lambda self, other: False) if cache is compared \
                else mock.patch.object(NodeInfo, "replace_pod", NodeInfo.replace_pod)
            with patch:
                if op == "bind":
                    cache.add_pod(p)
                elif op == "assume" and cache.get_pod(p.key) is None:
                    cache.assume_pod(p)
                elif op == "remove" and cache.get_pod(p.key) is not None:
                    cache.remove_pod(p)
        assert _cache_state(fast) == _cache_state(slow) == _cache_state(compared)
