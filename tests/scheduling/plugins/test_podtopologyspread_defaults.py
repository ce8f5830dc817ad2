"""PodTopologySpread's cluster-level default constraints: the selector comes from the Services selecting the
pod and from its ReplicationController / ReplicaSet / StatefulSet controller (kube-scheduler's
helper.DefaultSelector); nothing selects the pod: no default constraints. Checked on the plugin, against the
reference (hypothesis), and on the Kubernetes docs' example — fed directly and through a Registry."""
from __future__ import annotations

import pathlib
from collections import Counter

import kvstore
import objects
import pytest
from hypothesis import given, settings, strategies as st
from pluginharness import ZONE, Handle, filter_reasons, node, node_infos, nodes_strategy, pod, scores

from objects import LabelSelector
from scheduling import Scheduler
from scheduling import reference as R
from scheduling.bench.run import exact_config
from scheduling.framework import ClusterEvent, CycleState
from scheduling.listers import ClusterObjects
from scheduling.plugins.podtopologyspread import ERR_CONSTRAINTS, PodTopologySpread, default_selector

ONLY_SPREAD_SCORES = {"plugins": {"score": {"disabled": [{"name": "*"}],
                                            "enabled": [{"name": "PodTopologySpread"}]}}}


class ListerHandle(Handle):
    """The harness handle plus the scheduler's listers of Services and controllers."""

    def __init__(self, infos, selecting=()):
        super().__init__(infos)
        self.objects = ClusterObjects()
        for obj in selecting:
            self.objects.add(obj)

    def selectors_for(self, p):
        return self.objects.selectors_for(p)


def service(name, selector, namespace="default"):
    return objects.from_dict({"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": name, "namespace": namespace},
                              "spec": {"selector": selector, "ports": [{"port": 80}]}})


def replica_set(name, selector, labels, namespace="default"):
    return objects.from_dict({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                              "metadata": {"name": name, "namespace": namespace},
                              "spec": {"selector": selector, "template": {
                                  "metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "pause:3.10"}]}}}})


def owned_by(name, kind="ReplicaSet", api_version="apps/v1", controller=True):
    return {"ownerReferences": [{"apiVersion": api_version, "kind": kind, "name": name, "uid": f"uid-{name}",
                                 "controller": controller}]}


def _two_zones():
    # zA = n0, n1; zB = n2, n3; "app: web" pods: two on n0, one on n1, one on n3.
    nodes = [node(f"n{i}", labels={ZONE: "zA" if i < 2 else "zB"}) for i in range(4)]
    placed = [pod(f"e{i}", labels={"app": "web"}, node_name=n) for i, n in enumerate(["n0", "n0", "n1", "n3"])]
    return nodes, placed


def _skips(plugin, p, infos):
    status = plugin.pre_score(CycleState(), p, infos)
    return status is not None and status.is_skip


def test_default_selector_ands_every_requirement_and_is_none_when_empty():
    assert default_selector([]) is None
    assert default_selector([LabelSelector()]) is None
    merged = default_selector([LabelSelector.from_set({"app": "web"}), LabelSelector.from_set({"app": "web"}),
                               LabelSelector.from_dict({"matchExpressions": [
                                   {"key": "tier", "operator": "In", "values": ["fe"]}]})])
    assert merged.matches({"app": "web", "tier": "fe", "x": "y"})
    assert not merged.matches({"app": "web"}) and not merged.matches({"tier": "fe"})
    assert len(merged.match_expressions) == 2


def test_system_defaults_score_by_hand_for_a_pod_a_service_selects():
    # hostname maxSkew 3 (weight ln(4 + 2)) and zone maxSkew 5 (weight ln(2 + 2)); zA holds 3 pods, zB 1:
    # raw n0 = round(2*1.79 + 2 + 3*1.39 + 4) = 14, n1 = 12, n2 = 7, n3 = 9; 100 * (14 + 7 - raw) // 14.
    nodes, placed = _two_zones()
    infos = node_infos(nodes, placed)
    web = service("web", {"app": "web"})
    plugin = PodTopologySpread({}, ListerHandle(infos, [web]))
    p = pod("p", labels={"app": "web", "version": "2"})
    expected = {"n0": 50, "n1": 64, "n2": 100, "n3": 85}
    assert scores(plugin, p, infos) == expected
    state = CycleState()
    plugin.pre_score(state, p, infos)
    assert plugin.normalized_scores(state, p, infos) == list(expected.values())
    assert R.plugin_scores(p, R.Cluster(nodes, placed, selecting=[web]), nodes)["PodTopologySpread"] == expected


def test_no_default_constraints_when_nothing_selects_the_pod():
    nodes, placed = _two_zones()
    infos = node_infos(nodes, placed)
    p = pod("p", labels={"app": "web"})
    assert _skips(PodTopologySpread({}, ListerHandle(infos)), p, infos)
    assert _skips(PodTopologySpread({}, ListerHandle(infos, [service("db", {"app": "db"})])), p, infos)
    assert _skips(PodTopologySpread({}, ListerHandle(infos, [service("web", {"app": "web"}, "other")])), p, infos)
    assert _skips(PodTopologySpread({}, Handle(infos)), p, infos)  # a handle without listers
    listed = PodTopologySpread({"defaultingType": "List", "defaultConstraints": []},
                               ListerHandle(infos, [service("web", {"app": "web"})]))
    assert _skips(listed, p, infos)


def test_only_the_pods_own_controller_lends_its_selector():
    nodes, placed = _two_zones()
    infos = node_infos(nodes, placed)
    rs_a = replica_set("rs-a", {"matchLabels": {"app": "web"}}, {"app": "web"})
    rs_b = replica_set("rs-b", {"matchLabels": {"app": "web"}}, {"app": "web"})
    plugin = PodTopologySpread({}, ListerHandle(infos, [rs_a, rs_b]))
    assert not _skips(plugin, pod("mine", labels={"app": "web"}, metadata=owned_by("rs-a")), infos)
    assert _skips(plugin, pod("unknown", labels={"app": "web"}, metadata=owned_by("rs-c")), infos)
    assert _skips(plugin, pod("bare", labels={"app": "web"}), infos)  # rs-b selects it, but does not own it
    assert _skips(plugin, pod("dep", labels={"app": "web"}, metadata=owned_by("rs-a", kind="Deployment")), infos)
    assert _skips(plugin, pod("ref", labels={"app": "web"}, metadata=owned_by("rs-a", controller=False)), infos)


def test_list_defaults_with_do_not_schedule_filter_a_selected_pod():
    nodes, placed = _two_zones()
    infos = node_infos(nodes, placed)
    args = {"defaultingType": "List", "defaultConstraints": [
        {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}]}
    plugin = PodTopologySpread(args, ListerHandle(infos, [service("web", {"app": "web"})]))
    # zA holds 3, zB 1: one more in zA would make the skew 3.
    assert filter_reasons(plugin, pod("p", labels={"app": "web"}), infos) == {
        "n0": ERR_CONSTRAINTS, "n1": ERR_CONSTRAINTS, "n2": None, "n3": None}
    assert set(filter_reasons(plugin, pod("q", labels={"app": "db"}), infos).values()) == {None}


def test_queueing_events_are_kube_schedulers_pod_and_node_events():
    events = set(PodTopologySpread({}, None).events_to_register())
    assert events == {ClusterEvent.NODE_ADD, ClusterEvent.NODE_UPDATE, ClusterEvent.NODE_DELETE,
                      ClusterEvent.ASSIGNED_POD_ADD, ClusterEvent.ASSIGNED_POD_UPDATE, ClusterEvent.ASSIGNED_POD_DELETE}


SERVICE_SELECTORS = [{"app": "a"}, {"app": "b"}, {"app": "a", "tier": "x"}]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_defaults_match_the_reference(data):
    nodes = data.draw(nodes_strategy())
    placed = []
    for i in range(data.draw(st.integers(0, 8))):
        labels = {"app": data.draw(st.sampled_from(["a", "b"]))}
        if data.draw(st.booleans()):
            labels["tier"] = "x"
        placed.append(pod(f"e{i}", namespace=data.draw(st.sampled_from(["ns1", "ns2"])), labels=labels,
                          node_name=data.draw(st.sampled_from(nodes)).metadata.name))
    services = [service(f"s{i}", data.draw(st.sampled_from(SERVICE_SELECTORS)),
                        data.draw(st.sampled_from(["ns1", "ns2"]))) for i in range(data.draw(st.integers(0, 3)))]
    incoming = pod("p", namespace=data.draw(st.sampled_from(["ns1", "ns2"])),
                   labels={"app": data.draw(st.sampled_from(["a", "b"])), "tier": "x"})
    infos = node_infos(nodes, placed)
    by_name = {i.name: i for i in infos}
    plugin = PodTopologySpread({}, ListerHandle(infos, services))
    feasible_names = data.draw(st.sets(st.sampled_from([n.metadata.name for n in nodes]), min_size=1))
    feasible = [n for n in nodes if n.metadata.name in feasible_names]
    feasible_infos = [by_name[n.metadata.name] for n in feasible]
    expected = R.plugin_scores(incoming, R.Cluster(nodes, placed, selecting=services), feasible)["PodTopologySpread"]
    assert scores(plugin, incoming, feasible_infos) == expected
    state = CycleState()
    if not plugin.pre_score(state, incoming, feasible_infos):
        batch = plugin.normalized_scores(state, incoming, feasible_infos)
        assert dict(zip([i.name for i in feasible_infos], batch)) == expected


# ------------------------------------------------------------------------------- the docs' example, end to end
def _docs_nodes():
    return [node(name, labels={ZONE: zone}) for name, zone in
            (("node1", "zoneA"), ("node2", "zoneA"), ("node3", "zoneB"), ("node4", "zoneB"))]


def _service_pods(count):
    return [pod(f"web-{i}", labels={"app": "web"}) for i in range(count)]


def _spread_of(placements, nodes):
    zone_of = {n.metadata.name: n.metadata.labels[ZONE] for n in nodes}
    return Counter(placements.values()), Counter(zone_of[n] for n in placements.values())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_docs_example_pods_of_a_service_spread_by_hostname_and_zone_fed_directly(seed):
    nodes = _docs_nodes()
    scheduler = Scheduler(config={"profiles": [ONLY_SPREAD_SCORES]}, seed=seed)
    for n in nodes:
        scheduler.add_node(n)
    scheduler.add_object(service("web", {"app": "web"}))
    placements = {}
    for p in _service_pods(8):  # one at a time, as a ReplicaSet scaling up creates them
        scheduler.add_pod(p)
        (result,) = scheduler.schedule_pending()
        placements[p.metadata.name] = result.node_name
    per_node, per_zone = _spread_of(placements, nodes)
    assert per_node == {"node1": 2, "node2": 2, "node3": 2, "node4": 2}
    assert per_zone == {"zoneA": 4, "zoneB": 4}


def test_list_default_zone_constraint_balances_uneven_zones_fed_directly():
    # zoneA has three nodes, zoneB one: LeastAllocated alone spreads by node and puts 3 of 4 pods in zoneA.
    nodes = [node(f"a{i}", labels={ZONE: "zoneA"}) for i in range(3)] + [node("b0", labels={ZONE: "zoneB"})]
    config = {"profiles": [{"pluginConfig": [{"name": "PodTopologySpread", "args": {
        "defaultingType": "List",
        "defaultConstraints": [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway"}]}}]}]}
    scheduler = Scheduler(config=config)
    for n in nodes:
        scheduler.add_node(n)
    scheduler.add_object(service("web", {"app": "web"}))
    placements = {}
    for p in _service_pods(4):
        scheduler.add_pod(p)
        (result,) = scheduler.schedule_pending()
        placements[p.metadata.name] = result.node_name
    assert _spread_of(placements, nodes)[1] == {"zoneA": 2, "zoneB": 2}


def test_docs_example_through_a_registry(tmp_path: pathlib.Path):
    nodes = _docs_nodes()
    store = kvstore.open(str(tmp_path / "db"))
    try:
        registry = objects.Registry(store)
        for n in nodes:
            registry.create(n)
        registry.create(service("web", {"app": "web"}))
        scheduler = Scheduler(config={"profiles": [ONLY_SPREAD_SCORES]})
        for p in _service_pods(8):
            registry.create(p)
            assert scheduler.run(registry, until_idle=True, timeout=30) >= 1
        placements = {p.metadata.name: p.spec.node_name for p in registry.list("Pod", all_namespaces=True).items}
        per_node, per_zone = _spread_of(placements, nodes)
        assert per_node == {"node1": 2, "node2": 2, "node3": 2, "node4": 2}
        assert per_zone == {"zoneA": 4, "zoneB": 4}
    finally:
        store.close()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_exact_mode_picks_the_reference_best_for_pods_services_select(data):
    nodes = data.draw(nodes_strategy())
    services = [service(f"s{i}", data.draw(st.sampled_from(SERVICE_SELECTORS)),
                        data.draw(st.sampled_from(["ns1", "ns2"]))) for i in range(data.draw(st.integers(1, 3)))]
    scheduler = Scheduler(config=exact_config(), seed=data.draw(st.integers(0, 3)))
    for n in nodes:
        scheduler.add_node(n)
    for s in services:
        scheduler.add_object(s)
    bound: list = []
    for i in range(data.draw(st.integers(1, 8))):
        p = pod(f"p{i}", namespace=data.draw(st.sampled_from(["ns1", "ns2"])),
                labels={"app": data.draw(st.sampled_from(["a", "b"])), "tier": "x"})
        totals = R.total_scores(p, R.Cluster(nodes, bound, selecting=services))
        scheduler.add_pod(p)
        (result,) = [r for r in scheduler.schedule_pending() if r.pod.key == p.key]
        assert (result.node_name is None) == (not totals)
        if result.node_name is None:
            continue
        assert totals[result.node_name] == max(totals.values())
        bound.append(p.with_node_name(result.node_name))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_default_constraints_of_each_kind_are_built_from_the_selecting_objects(data):
    # constraints() returns at once when no default constraint has the asked whenUnsatisfiable (the system
    # defaults' DoNotSchedule), without reading the listers; against the definition: the defaults of that
    # kind, each with the selecting objects' merged selector, none when nothing selects the pod.
    whens = data.draw(st.lists(st.sampled_from(["DoNotSchedule", "ScheduleAnyway"]), max_size=3))
    args = {"defaultingType": "List", "defaultConstraints": [
        {"maxSkew": 1 + i, "topologyKey": ZONE if i % 2 else "kubernetes.io/hostname", "whenUnsatisfiable": w}
        for i, w in enumerate(whens)]} if data.draw(st.booleans()) else {}
    services = [service(f"s{i}", data.draw(st.sampled_from(SERVICE_SELECTORS)))
                for i in range(data.draw(st.integers(0, 2)))]
    handle = ListerHandle([], services)
    plugin = PodTopologySpread(args, handle)
    incoming = pod("p", labels={"app": data.draw(st.sampled_from(["a", "b"])), "tier": "x"})
    selector = default_selector(list(handle.selectors_for(incoming)))
    state = CycleState()
    for when in ("DoNotSchedule", "ScheduleAnyway"):
        got, defaulted = plugin.constraints(incoming, when, state)
        expected = [] if selector is None else [
            (c.max_skew, c.topology_key, selector.to_dict()) for c in plugin.default_constraints
            if c.when_unsatisfiable == when]
        assert defaulted and [(c.max_skew, c.topology_key, c.selector.to_dict()) for c in got] == expected
