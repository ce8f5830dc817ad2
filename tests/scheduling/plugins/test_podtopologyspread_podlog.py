"""PodTopologySpread's default constraints in a scheduler whose counters follow the cache's pod change log
(``podcounts``: pivoted counters move by each bind and removal) score every node as the exhaustive
reference does, while pods of several ReplicaSets are bound, deleted, marked terminating and nodes
relabelled between cycles — the shape of the cluster simulation, where most counters are never recounted."""
from __future__ import annotations

import objects
from hypothesis import given, settings, strategies as st
from pluginharness import ZONE, node, pod

from scheduling import Scheduler
from scheduling import reference as R
from scheduling.bench.run import exact_config
from scheduling.cycle.classindex import runs_of
from scheduling.cycle.selection import Window
from scheduling.framework import CycleState, NodeScore

SELECTORS = [
    {"matchLabels": {"app": "a", "hash": "1"}},
    {"matchLabels": {"app": "b"}},
    {"matchExpressions": [{"key": "app", "operator": "In", "values": ["c", "a"]}]},
    {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a", "b"]}]},  # no pivot
]
LABELS = [{"app": "a", "hash": "1"}, {"app": "b"}, {"app": "c"}, {"app": "d"}]


def _replica_set(i: int) -> objects.ReplicaSet:
    return objects.from_dict({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                              "metadata": {"name": f"rs{i}", "namespace": "default", "uid": f"uid-rs{i}"},
                              "spec": {"selector": SELECTORS[i], "template": {
                                  "metadata": {"labels": LABELS[i]},
                                  "spec": {"containers": [{"name": "c", "image": "pause:3.10"}]}}}})


def _owned_pod(name: str, i: int) -> objects.Pod:
    return pod(name, labels=LABELS[i], cpu="10m", memory="10Mi", metadata={"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs{i}", "uid": f"uid-rs{i}",
         "controller": True}]})


def _spread_scores(scheduler: Scheduler, p: objects.Pod) -> dict[str, int] | None:
    """PodTopologySpread's normalized scores over every node of the live scheduler, None when it skips."""
    plugin = scheduler._profiles["default-scheduler"].framework.plugins["PodTopologySpread"]
    infos = scheduler._cache.list()
    state = CycleState()
    if plugin.pre_score(state, p, infos) is not None:
        return None
    return dict(zip([ni.name for ni in infos], plugin.normalized_scores(state, p, infos)))


def _exact_scheduler(nodes: list) -> tuple[Scheduler, list]:
    """An exact-scoring scheduler over `nodes` that knows one ReplicaSet per selector."""
    scheduler = Scheduler(config=exact_config(), seed=0)
    for n in nodes:
        scheduler.add_node(n)
    sets = [_replica_set(i) for i in range(len(SELECTORS))]
    for rs in sets:
        scheduler.add_object(rs)
    return scheduler, sets


step = st.tuples(st.sampled_from(["schedule", "schedule", "schedule", "delete", "terminate", "relabel"]),
                 st.integers(0, 3), st.integers(0, 99))


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(step, min_size=5, max_size=40), zones=st.lists(st.sampled_from(["z1", "z2", None]),
                                                                     min_size=2, max_size=5))
def test_spread_scores_equal_the_reference_across_binds_deletes_and_relabels(steps, zones):
    nodes = [node(f"n{i}", labels={ZONE: z} if z else {}) for i, z in enumerate(zones)]
    scheduler, sets = _exact_scheduler(nodes)
    bound: dict[str, objects.Pod] = {}
    for serial, (op, i, pick) in enumerate(steps):
        keys = sorted(bound)
        if op == "delete" and keys:
            scheduler.remove_pod(bound.pop(keys[pick % len(keys)]))
            continue
        if op == "terminate" and keys:
            d = objects.to_dict(bound[keys[pick % len(keys)]])
            d["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            gone = objects.from_dict(d)
            scheduler.update_pod(gone)
            bound[gone.key] = gone
            continue
        if op == "relabel":
            k = pick % len(nodes)
            zone = ["z1", "z2", "z3", None][pick % 4]
            nodes[k] = node(f"n{k}", labels={ZONE: zone} if zone else {})
            scheduler.update_node(nodes[k])
            continue
        p = _owned_pod(f"p{serial}", i)
        cluster = R.Cluster(nodes, list(bound.values()), selecting=sets)
        expected = R.plugin_scores(p, cluster, nodes)["PodTopologySpread"]
        assert _spread_scores(scheduler, p) == expected
        totals = R.total_scores(p, cluster)
        scheduler.add_pod(p)
        (result,) = [r for r in scheduler.schedule_pending() if r.pod.key == p.key]
        assert (result.node_name is None) == (not totals)
        if result.node_name is not None:
            assert totals[result.node_name] == max(totals.values())
            bound[p.key] = p.with_node_name(result.node_name)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_spread_scores_of_a_window_equal_the_reference_and_the_per_node_path(data):
    """Scored over a window of the cache's node list (the scheduler's sampling window), with nodes lacking the
    zone or hostname label or all sharing one zone (the batch then reads no per-node column), the batch
    scores equal the reference's and Score + NormalizeScore node by node."""
    zones = data.draw(st.lists(st.sampled_from(["z1", "z2", None]), min_size=1, max_size=6))
    hostless = data.draw(st.sets(st.integers(0, len(zones) - 1), max_size=2))
    nodes = [node(f"n{i}", labels={ZONE: z} if z else {}) for i, z in enumerate(zones)]
    for i in hostless:
        d = objects.to_dict(nodes[i])
        del d["metadata"]["labels"]["kubernetes.io/hostname"]
        nodes[i] = objects.from_dict(d)
    scheduler, sets = _exact_scheduler(nodes)
    bound = []
    for serial in range(data.draw(st.integers(0, 12))):
        p = _owned_pod(f"e{serial}", data.draw(st.integers(0, 3)))
        scheduler.add_pod(p.with_node_name(nodes[data.draw(st.integers(0, len(nodes) - 1))].metadata.name))
        bound.append(scheduler._cache.get_pod(p.key))
    plugin = scheduler._profiles["default-scheduler"].framework.plugins["PodTopologySpread"]
    infos = scheduler._cache.list()
    for attempt in range(3):
        if data.draw(st.booleans()):
            positions = data.draw(st.lists(st.integers(0, len(infos) - 1), min_size=1, unique=True))
            window = Window(infos, positions)
        else:  # runs of consecutive nodes, as the class index finds them: counts read as a bytearray slice
            start, length = data.draw(st.integers(0, len(infos) - 1)), data.draw(st.integers(1, len(infos)))
            positions = [(start + k) % len(infos) for k in range(length)]
            window = Window(infos, positions, runs_of(positions, len(infos)))
        p = _owned_pod(f"p{attempt}", data.draw(st.integers(0, 3)))
        state = CycleState()
        if plugin.pre_score(state, p, window) is not None:
            continue
        batch = plugin.normalized_scores(state, p, window)
        scores = [NodeScore(ni.name, plugin.score(state, p, ni)) for ni in window]
        plugin.normalize_score(state, p, scores)
        assert batch == [x.score for x in scores]
        feasible = [nodes[i] for i in positions]
        expected = R.plugin_scores(p, R.Cluster(nodes, bound, selecting=sets), feasible)["PodTopologySpread"]
        assert dict(zip([ni.name for ni in window], batch)) == expected
