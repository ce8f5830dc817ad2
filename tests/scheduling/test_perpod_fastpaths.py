"""The per-pod fast paths of a cycle against the general paths they stand in for (hypothesis):
``Profile.keys_for`` (bound calls, Plugin's own key left out) against every plugin's ``equivalence_key``;
``ResourceAllocationScorer.pod_requests`` for cpu and memory against the general formula; ImageLocality's
one-container ``_images`` against the general expression; ``DomainCounter.move`` of an unordered counter
against an ordered one (which takes the general ``_shift``)."""
from __future__ import annotations

import pathlib
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # refbuilders

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.framework import NodeInfo, Plugin, normalized_image_name  # noqa: E402
from scheduling.cycle.selection import _key_call  # noqa: E402
from scheduling.plugins.imagelocality import _images  # noqa: E402
from scheduling.plugins.noderesources import ResourceAllocationScorer  # noqa: E402
from scheduling.plugins.podcounts import DomainCounter  # noqa: E402
from scheduling.queue import QueuedPodInfo  # noqa: E402

images = st.sampled_from(["pause", "pause:3.10", "registry.k8s.io/pause:3.10", "host:5000/img", "x@sha256:ab"])
quantities = st.sampled_from([None, "0", "10m", "1", "2500m"])
memories = st.sampled_from([None, "0", "10Mi", "1Gi"])


@st.composite
def pods(draw):
    def container(i: int, prefix: str) -> dict:
        c: dict = {"name": f"{prefix}{i}", "image": draw(images)}
        requests = {k: v for k, v in (("cpu", draw(quantities)), ("memory", draw(memories)),
                                      ("example.com/gpu", draw(st.sampled_from([None, "1"])))) if v is not None}
        if requests:
            c["resources"] = {"requests": requests}
        if draw(st.booleans()):
            c["ports"] = [{"containerPort": 80, "hostPort": draw(st.sampled_from([0, 8080 + i]))}]
        return c

    spec: dict = {"containers": [container(i, "c") for i in range(draw(st.integers(1, 3)))]}
    inits = draw(st.integers(0, 2))
    if inits:
        spec["initContainers"] = [container(10 + i, "i") for i in range(inits)]
    if draw(st.booleans()):
        spec["tolerations"] = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                "effect": "NoSchedule"}]
    if draw(st.booleans()):
        spec["nodeSelector"] = {"zone": draw(st.sampled_from(["a", "b"]))}
    if draw(st.booleans()):
        spec["overhead"] = {"cpu": "5m"}
    import objects
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": "p", "namespace": "default"}, "spec": spec})


def _scheduler() -> Scheduler:
    s = Scheduler(seed=0)
    for i in range(3):
        s.add_node(node(f"n{i}", labels={"zone": "a"}))
    return s


@settings(max_examples=150, deadline=None)
@given(p=pods(), more_nodes=st.integers(0, 2))
def test_keys_for_equals_every_plugins_equivalence_key(p, more_nodes):
    s = _scheduler()
    for prof in s._profiles.values():
        info = QueuedPodInfo(p, 0.0, 0)
        plugins = prof.plugins_by_name
        assert prof.keys_for(info) == {n: plugins[n].equivalence_key(p) for n in prof.keyed_names}
        assert list(prof.keys_for(info)) == list(prof.keyed_names)
        for i in range(more_nodes):  # the volatile keys (ImageLocality's node count) are computed again
            s.add_node(node(f"m{i}", labels={"zone": "b"}))
        assert prof.keys_for(info) == {n: plugins[n].equivalence_key(p) for n in prof.keyed_names}


def test_key_call_leaves_out_only_plugins_own_key():
    class Keyless(Plugin):
        name = "Keyless"

    class Keyed(Plugin):
        name = "Keyed"

        def equivalence_key(self, pod):
            return "k"

    keyless, keyed, patched = Keyless(), Keyed(), Keyless()
    patched.equivalence_key = lambda p: "patched"  # type: ignore[method-assign]
    assert _key_call(keyless) is None and keyless.equivalence_key(pod("p")) is None
    assert _key_call(keyed)(pod("p")) == "k"
    assert _key_call(patched)(pod("p")) == "patched"


def _general_pod_requests(scorer: ResourceAllocationScorer, p) -> tuple[int, ...]:
    requests = p.requests
    if scorer.use_requested:
        return tuple(requests.get(n, 0) for n in scorer.names)
    cpu, memory = p.non_zero_requests
    return tuple(cpu if n == "cpu" else memory if n == "memory" else requests.get(n, 0) for n in scorer.names)


@settings(max_examples=150, deadline=None)
@given(p=pods(), names=st.sampled_from([("cpu", "memory"), ("memory", "cpu"), ("cpu",),
                                        ("cpu", "memory", "example.com/gpu"), ("example.com/gpu",)]),
       use_requested=st.booleans())
def test_pod_requests_equals_the_general_formula(p, names, use_requested):
    scorer = ResourceAllocationScorer([(n, 1) for n in names], use_requested, lambda *a: 0)
    fast = scorer.pod_requests(p)
    assert fast == _general_pod_requests(scorer, p)
    assert type(fast) is tuple


@settings(max_examples=150, deadline=None)
@given(p=pods())
def test_images_equals_the_general_expression(p):
    assert _images(p) == tuple(normalized_image_name(c.image or "")
                               for c in (*p.spec.init_containers, *p.spec.containers))


ops = st.lists(st.tuples(st.sampled_from(["move", "move", "move", "update", "remove", "relabel"]),
                         st.integers(0, 4), st.sampled_from([1, -1]),
                         st.sampled_from(["z1", "z2", None]), st.sampled_from(["r1", None])), max_size=40)


@settings(max_examples=150, deadline=None)
@given(ops=ops, independent=st.booleans())
def test_unordered_move_equals_the_general_shift(ops, independent):
    keys = ("zone", "rack")
    infos = {f"n{i}": NodeInfo(node(f"n{i}", labels={"zone": f"z{i % 2 + 1}", "rack": "r1"})) for i in range(3)}
    fast = DomainCounter(lambda p: True, keys, ordered=False, independent=independent).rebuild(infos.values())
    general = DomainCounter(lambda p: True, keys, ordered=True, independent=independent).rebuild(infos.values())
    serial = 0
    for op, index, amount, zone, rack in ops:
        serial += 1
        name = f"n{index}"
        if op == "move":
            for c in (fast, general):
                c.move(name, amount)
        elif op == "update":
            ni = infos.setdefault(name, NodeInfo(node(name, labels={"zone": "z1"})))
            ni.add_pod(pod(f"p{serial}", node_name=name))
            for c in (fast, general):
                c.update(ni)
        elif op == "remove":
            infos.pop(name, None)
            for c in (fast, general):
                c.remove(name)
        else:
            labels = {k: v for k, v in (("zone", zone), ("rack", rack)) if v}
            ni = infos.setdefault(name, NodeInfo(node(name, labels=labels)))
            ni.set_node(node(name, labels=labels))
            for c in (fast, general):
                c.update(ni)
        assert fast.node_count == general.node_count
        assert fast.total == general.total
        assert fast.sums == general.sums
        assert fast.totals == general.totals
        assert fast._members == general._members
        assert fast.touched == general.touched and fast.epoch == general.epoch
