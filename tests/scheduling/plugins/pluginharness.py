"""Drive one plugin directly over NodeInfos (no Scheduler), and random small clusters for hypothesis."""
from __future__ import annotations

import pathlib
import sys
from typing import Any, Sequence

from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # refbuilders

from refbuilders import node, pod, pod_affinity  # noqa: E402

from scheduling.framework import CycleState, NodeInfo, NodeScore  # noqa: E402

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


class Snapshot:
    """The SnapshotLister the plugins read."""

    def __init__(self, infos: Sequence[NodeInfo]) -> None:
        self.infos = list(infos)

    def list(self) -> list[NodeInfo]:
        return self.infos

    def get(self, name: str) -> NodeInfo:
        return next(i for i in self.infos if i.name == name)

    def have_pods_with_affinity_list(self) -> list[NodeInfo]:
        return [i for i in self.infos if i.pods_with_affinity]

    def have_pods_with_required_anti_affinity_list(self) -> list[NodeInfo]:
        return [i for i in self.infos if i.pods_with_required_anti_affinity]

    def num_nodes(self) -> int:
        return len(self.infos)


class Handle:
    """Just enough of the scheduler's Handle."""

    def __init__(self, infos: Sequence[NodeInfo], namespaces: dict | None = None) -> None:
        self.snapshot = Snapshot(infos)
        self.namespaces = namespaces or {}

    def namespace_labels(self, name: str) -> dict:
        return self.namespaces.get(name, {})


def node_infos(nodes: Sequence[Any], pods: Sequence[Any]) -> list[NodeInfo]:
    infos = {n.metadata.name: NodeInfo(n) for n in nodes}
    for p in pods:
        infos[p.spec.node_name].add_pod(p)
    return list(infos.values())


def filter_reasons(plugin: Any, p: Any, infos: Sequence[NodeInfo]) -> dict[str, str | None]:
    state = CycleState()
    _, status = plugin.pre_filter(state, p, infos)
    if status is not None and status.is_skip:
        return {i.name: None for i in infos}
    out = {}
    for i in infos:
        s = plugin.filter(state, p, i)
        out[i.name] = None if s is None or s.is_success else s.reasons[0]
    return out


def scores(plugin: Any, p: Any, feasible: Sequence[NodeInfo]) -> dict[str, int]:
    state = CycleState()
    status = plugin.pre_score(state, p, feasible)
    if status is not None and status.is_skip:
        return {i.name: 0 for i in feasible}
    raw = [NodeScore(i.name, plugin.score(state, p, i)) for i in feasible]
    plugin.normalize_score(state, p, raw)
    return {s.name: s.score for s in raw}


# ---------------------------------------------------------------------------------------------- strategies
LABEL_VALUES = ["a", "b"]
NAMESPACES = ["ns1", "ns2"]
selectors = st.sampled_from([
    {"matchLabels": {"app": "a"}}, {"matchLabels": {"app": "b"}},
    {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
    {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}, {},
])
keys = st.sampled_from([ZONE, HOST, "rack"])


@st.composite
def nodes_strategy(draw: Any) -> list[Any]:
    count = draw(st.integers(1, 6))
    out = []
    for i in range(count):
        labels = {}
        zone = draw(st.sampled_from(["z1", "z2", "z3", None]))
        if zone:
            labels[ZONE] = zone
        if draw(st.booleans()):
            labels["rack"] = draw(st.sampled_from(["r1", "r2"]))
        taints = [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}] if draw(st.integers(0, 5)) == 0 else []
        out.append(node(f"n{i}", labels=labels, taints=taints))
    return out


@st.composite
def affinity_term(draw: Any) -> dict:
    term: dict = {"labelSelector": draw(selectors), "topologyKey": draw(keys)}
    choice = draw(st.integers(0, 3))
    if choice == 1:
        term["namespaces"] = draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=2, unique=True))
    elif choice == 2:
        term["namespaceSelector"] = draw(st.sampled_from([{}, {"matchLabels": {"team": "x"}}]))
    return term


@st.composite
def affinity_spec(draw: Any) -> dict:
    aff: dict = {}
    for kind in ("podAffinity", "podAntiAffinity"):
        required = draw(st.lists(affinity_term(), max_size=2 if kind == "podAntiAffinity" else 1))
        preferred = draw(st.lists(st.tuples(st.integers(1, 100), affinity_term()), max_size=2))
        if required or preferred:
            aff.update(pod_affinity(required, preferred, anti=kind == "podAntiAffinity")["affinity"])
    return {"affinity": aff} if aff else {}


@st.composite
def spread_spec(draw: Any, when: str | None = None) -> dict:
    constraints = []
    for _ in range(draw(st.integers(1, 2))):
        c = {"maxSkew": draw(st.integers(1, 3)), "topologyKey": draw(keys),
             "whenUnsatisfiable": when or draw(st.sampled_from(["DoNotSchedule", "ScheduleAnyway"])),
             "labelSelector": draw(selectors)}
        if c["whenUnsatisfiable"] == "DoNotSchedule" and draw(st.booleans()):
            c["minDomains"] = draw(st.integers(1, 4))
        if draw(st.integers(0, 3)) == 0:
            c["nodeTaintsPolicy"] = "Honor"
        constraints.append(c)
    if len({c["topologyKey"] for c in constraints}) != len(constraints):
        constraints = constraints[:1]
    spec: dict = {"topologySpreadConstraints": constraints}
    if draw(st.integers(0, 3)) == 0:
        spec["nodeSelector"] = {ZONE: "z1"}
    return spec


@st.composite
def pods_strategy(draw: Any, nodes: Sequence[Any], with_affinity: bool) -> list[Any]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        labels = {"app": draw(st.sampled_from(LABEL_VALUES))} if draw(st.integers(0, 4)) else {}
        extra = draw(affinity_spec()) if with_affinity and draw(st.booleans()) else {}
        out.append(pod(f"e{i}", namespace=draw(st.sampled_from(NAMESPACES)), labels=labels,
                       node_name=draw(st.sampled_from(nodes)).metadata.name, **extra))
    return out


def bind_and_maybe_delete(data: Any, nodes: Sequence[Any], placed: list[Any], by_name: dict[str, NodeInfo],
                          incoming: Any) -> list[Any]:
    """The cluster moves on: ``incoming`` lands on a drawn node, and sometimes a drawn pod leaves; the
    NodeInfos follow. Returns the new list of placed pods."""
    target = data.draw(st.sampled_from(nodes)).metadata.name
    bound = incoming.with_node_name(target)
    placed = placed + [bound]
    by_name[target].add_pod(bound)
    if placed and data.draw(st.booleans()):
        gone = placed.pop(data.draw(st.integers(0, len(placed) - 1)))
        by_name[gone.spec.node_name].remove_pod(gone)
    return placed
