"""Issue 5, hypothesis: "every required constraint holds after every bind" for the constraints between pods.

Over random clusters (zones, hostnames) and pods with required pod affinity, required anti-affinity
(hostname or zone) and hard topology spread (zone, maxSkew 1..2), each bind is checked against the pods
bound before it, with the plain definitions:
* anti-affinity: no pod matching the term runs in the new pod's domain, and no pod already running has an
  anti-affinity term the new pod matches in that domain (the symmetric rule);
* affinity: a pod matching the term runs in the domain, unless none runs anywhere and the pod matches its
  own term (the first pod of a group);
* topology spread: matching pods in the chosen zone + 1 - the least loaded zone <= maxSkew.
"""
from __future__ import annotations

import pathlib
import sys
from dataclasses import dataclass
from typing import Any, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod, pod_affinity, spread, term  # noqa: E402

from scheduling import Scheduler  # noqa: E402

HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
NO_PREEMPTION = {"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "DefaultPreemption"}]}}}]}
APPS = ["web", "db", "cache"]


@dataclass(frozen=True)
class Shape:
    """What a generated pod asks for, kept beside the pod for the checks."""

    name: str
    app: str
    affinity: Optional[tuple[str, str]] = None  # (app it wants near, topology key)
    anti: Optional[tuple[str, str]] = None  # (app it avoids, topology key)
    max_skew: Optional[int] = None  # hard spread of its own app over zones

    def build(self) -> Any:
        spec: dict[str, Any] = {}
        affinity: dict[str, Any] = {}
        if self.affinity:
            affinity.update(pod_affinity(required=[term({"matchLabels": {"app": self.affinity[0]}},
                                                         self.affinity[1])])["affinity"])
        if self.anti:
            affinity.update(pod_affinity(required=[term({"matchLabels": {"app": self.anti[0]}}, self.anti[1])],
                                         anti=True)["affinity"])
        if affinity:
            spec["affinity"] = affinity
        if self.max_skew:
            spec["topologySpreadConstraints"] = [spread(self.max_skew, ZONE, {"matchLabels": {"app": self.app}})]
        return pod(self.name, cpu="100m", memory="64Mi", labels={"app": self.app}, **spec)


@st.composite
def shapes(draw: Any) -> list[Shape]:
    out = []
    for i in range(draw(st.integers(1, 14))):
        app = draw(st.sampled_from(APPS))
        kind = draw(st.integers(0, 3))
        key = draw(st.sampled_from([HOST, ZONE]))
        other = draw(st.sampled_from(APPS))
        out.append(Shape(f"p{i:02}", app,
                         affinity=(other, key) if kind == 1 else None,
                         anti=(other, key) if kind == 2 else None,
                         max_skew=draw(st.integers(1, 2)) if kind == 3 else None))
    return out


def _domain(labels: dict[str, str], key: str) -> Optional[str]:
    return labels.get(key)


def _check_bind(shape: Shape, node_name: str, placed: list[tuple[Shape, str]], labels: dict[str, dict]) -> None:
    here = labels[node_name]
    if shape.anti:
        app, key = shape.anti
        assert not [s.name for s, n in placed if s.app == app and _domain(labels[n], key) == here.get(key)], shape
    for other, where in placed:  # existing pods' anti-affinity toward the newcomer
        if other.anti and other.anti[0] == shape.app:
            key = other.anti[1]
            assert _domain(labels[where], key) != here.get(key), (shape, other)
    if shape.affinity:
        app, key = shape.affinity
        near = [s for s, n in placed if s.app == app and _domain(labels[n], key) == here.get(key)]
        anywhere = [s for s, _ in placed if s.app == app]
        assert near or (not anywhere and shape.app == app), shape
    if shape.max_skew:
        counts = {zone: 0 for zone in {lab[ZONE] for lab in labels.values()}}
        for other, where in placed:
            if other.app == shape.app:
                counts[labels[where][ZONE]] += 1
        assert counts[here[ZONE]] + 1 - min(counts.values()) <= shape.max_skew, (shape, counts)


@settings(max_examples=40, deadline=None)
@given(zones=st.lists(st.sampled_from(["z0", "z1", "z2"]), min_size=2, max_size=8), shapes=shapes(),
       seed=st.integers(0, 3))
def test_every_required_pod_constraint_holds_at_every_bind(zones: list[str], shapes: list[Shape],
                                                           seed: int) -> None:
    s = Scheduler(NO_PREEMPTION, seed=seed)
    labels: dict[str, dict] = {}
    for i, zone in enumerate(zones):
        n = node(f"n{i}", labels={ZONE: zone})
        labels[n.metadata.name] = dict(n.metadata.labels)
        s.add_node(n)
    by_name = {shape.name: shape for shape in shapes}
    for shape in shapes:
        s.add_pod(shape.build())
    placed: list[tuple[Shape, str]] = []
    for _ in range(3):  # bounded: pods that fit later (after a matching pod arrived) are retried
        for result in s.schedule_pending(include_backoff=True):
            if result.node_name is not None:
                shape = by_name[result.pod.metadata.name]
                _check_bind(shape, result.node_name, placed, labels)
                placed.append((shape, result.node_name))
    assert len(placed) + s.pending == len(shapes)
