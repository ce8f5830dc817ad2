"""Issue 6's correctness bar: in exact mode (percentageOfNodesToScore 100) every node the Scheduler picks has
the exhaustive reference's best total score, on random small clusters with every default plugin in play —
resources, ports, taints, node affinity, inter-pod (anti-)affinity, topology spread — as pods accumulate."""
from __future__ import annotations

import pathlib
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "plugins"))

from pluginharness import affinity_spec, node, nodes_strategy, pod, spread_spec  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling import reference as R  # noqa: E402
from scheduling.bench.run import exact_config  # noqa: E402


@st.composite
def incoming_pod(draw, index):
    spec: dict = {}
    kind = draw(st.integers(0, 5))
    if kind == 1:
        spec.update(draw(affinity_spec()))
    elif kind == 2:
        spec.update(draw(spread_spec()))
    elif kind == 3:
        spec["affinity"] = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": draw(st.integers(1, 100)), "preference": {"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["z1"]}]}}]}}
    if draw(st.booleans()):
        spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    if draw(st.integers(0, 4)) == 0:
        spec["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    return pod(f"p{index}", namespace=draw(st.sampled_from(["ns1", "ns2"])),
               labels={"app": draw(st.sampled_from(["a", "b"]))},
               cpu=draw(st.sampled_from(["100m", "500m", "1500m", None])),
               memory=draw(st.sampled_from(["100Mi", "2Gi", None])), **spec)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_chosen_node_has_the_reference_best_score(data):
    nodes = data.draw(nodes_strategy())
    if data.draw(st.booleans()):  # a PreferNoSchedule taint and an image somewhere make those scores vary
        nodes[0] = node(nodes[0].metadata.name, labels=dict(nodes[0].metadata.labels),
                        taints=[{"key": "soft", "value": "x", "effect": "PreferNoSchedule"}],
                        images=[{"names": ["pause:3.10"], "sizeBytes": 300 * 1024 * 1024}])
    scheduler = Scheduler(config=exact_config(), seed=data.draw(st.integers(0, 3)))
    for n in nodes:
        scheduler.add_node(n)
    bound: list = []
    for i in range(data.draw(st.integers(1, 10))):
        p = data.draw(incoming_pod(i))
        totals = R.total_scores(p, R.Cluster(nodes, bound))
        scheduler.add_pod(p)
        (result,) = [r for r in scheduler.schedule_pending() if r.pod.key == p.key]
        if result.node_name is None:
            assert not totals, f"{p.key} unschedulable but the reference fits it on {sorted(totals)}: {result.message}"
            continue
        assert totals, f"{p.key} bound to {result.node_name} but the reference fits it nowhere"
        assert totals.get(result.node_name) == max(totals.values()), (
            f"{p.key} on {result.node_name} scores {totals.get(result.node_name)}, best is "
            f"{max(totals.values())} on {[n for n, t in totals.items() if t == max(totals.values())]}")
        bound.append(result.pod if result.pod.spec.node_name else result.pod.with_node_name(result.node_name))
