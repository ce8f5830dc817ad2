"""The workload loader reads the shared files unchanged, expands names and labels as their README says,
scales, and rejects malformed files with a message naming the field."""
import json
import pathlib

import pytest
from hypothesis import given, settings, strategies as st

from scheduling.bench.workload import (NodeStep, PodStep, WorkloadError, builtin_workload_names, builtin_workloads,
                                 load_workload, parse_workload)

SHARED = pathlib.Path("/work/shared/workloads")
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"generateName": "node-"},
        "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "pod-"},
       "spec": {"containers": [{"name": "c", "image": "i"}]}}


def _doc(*steps: dict, threshold: float | None = 100) -> dict:
    return {"name": "w", "reference": {"kube_scheduler_threshold_pods_per_s": threshold}, "steps": list(steps)}


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared workloads not on this machine")
@pytest.mark.parametrize("path", sorted(SHARED.glob("*.json")) if SHARED.is_dir() else [], ids=lambda p: p.stem)
def test_every_shared_file_loads_unchanged(path: pathlib.Path) -> None:
    raw = json.loads(path.read_text())
    w = load_workload(path)
    assert w.name == raw["name"]
    assert w.threshold == raw["reference"]["kube_scheduler_threshold_pods_per_s"]
    assert len(w.steps) == len(raw["steps"])
    assert w.node_count == sum(s["count"] for s in raw["steps"] if s["op"] == "createNodes")
    assert w.measured_pod_count == sum(s["count"] for s in raw["steps"] if s.get("measure"))


def test_builtin_set_has_the_shared_shapes_and_scaling_rows() -> None:
    names = builtin_workload_names()
    for shape in ["SchedulingBasic_5000Nodes_10000Pods", "SchedulingNodeAffinity", "SchedulingPodAffinity",
                  "SchedulingPodAntiAffinity", "SchedulingPreferredPodAffinity",
                  "SchedulingPreferredPodAntiAffinity", "TopologySpreading", "PreferredTopologySpreading",
                  "TaintsAndTolerations", "Preemption", "Unschedulable", "SchedulingBasic_5000Nodes_50000Pods"]:
        assert any(n.startswith(shape) for n in names), shape
    scaling = [w.node_count for w in builtin_workloads() if w.name.startswith("Scaling_")]
    assert scaling == [500, 5000, 15000]
    assert names[0].startswith("SchedulingBasic_5000Nodes_10000")


def test_node_names_run_on_across_steps_and_labels_cycle_or_are_unique() -> None:
    w = parse_workload(_doc(
        {"op": "createNodes", "count": 3, "template": NODE, "labels": {"zone": {"cycle": ["a", "b"]}}},
        {"op": "createNodes", "count": 2, "template": NODE, "labels": {"kubernetes.io/hostname": {"unique": True}}},
    ))
    nodes = [m for _, ms in w.expand() for m in ms]
    assert [n["metadata"]["name"] for n in nodes] == ["node-0", "node-1", "node-2", "node-3", "node-4"]
    assert [n["metadata"]["labels"].get("zone") for n in nodes[:3]] == ["a", "b", "a"]
    assert [n["metadata"]["labels"]["kubernetes.io/hostname"] for n in nodes[3:]] == ["node-3", "node-4"]
    assert all("generateName" not in n["metadata"] for n in nodes)
    assert "labels" not in NODE["metadata"], "the template itself is never changed"


def test_pods_get_namespace_and_names_unique_per_namespace() -> None:
    w = parse_workload(_doc(
        {"op": "createPods", "count": 2, "namespace": "a", "template": POD},
        {"op": "createPods", "count": 2, "namespace": "b", "template": POD, "measure": True},
        {"op": "createPods", "count": 1, "namespace": "a", "template": POD, "measure": True},
    ))
    steps = list(w.expand())
    keys = [f'{m["metadata"]["namespace"]}/{m["metadata"]["name"]}' for _, ms in steps for m in ms]
    assert keys == ["a/pod-0", "a/pod-1", "b/pod-0", "b/pod-1", "a/pod-2"]
    assert [s.measure for s, _ in steps] == [False, True, True]
    assert w.measured_pod_count == 3 and w.setup_pod_count == 2


@settings(max_examples=50, deadline=None)
@given(counts=st.lists(st.integers(0, 5000), min_size=1, max_size=4), factor=st.floats(0.001, 3))
def test_scaling_multiplies_counts_and_keeps_every_step(counts: list[int], factor: float) -> None:
    w = parse_workload(_doc(*({"op": "createPods", "count": c, "template": POD} for c in counts)))
    scaled = w.scaled(factor)
    assert [s.count for s in scaled.steps] == [max(1, round(c * factor)) if c else 0 for c in counts]
    assert [type(s) for s in scaled.steps] == [PodStep] * len(counts)


@pytest.mark.parametrize("doc, fragment", [
    ({"steps": []}, "name"),
    (_doc(), "steps"),
    (_doc({"op": "createWidgets", "count": 1}), "steps[0].op"),
    (_doc({"op": "createNodes", "count": -1, "template": NODE}), "steps[0].count"),
    (_doc({"op": "createNodes", "count": True, "template": NODE}), "steps[0].count"),
    (_doc({"op": "createNodes", "count": 1, "template": POD}), "steps[0].template.kind"),
    (_doc({"op": "createNodes", "count": 1, "template": NODE, "labels": {"z": {"cycle": []}}}), "labels['z']"),
    (_doc({"op": "createPods", "count": 1, "template": POD, "namespace": ""}), "steps[0].namespace"),
    (_doc({"op": "createPods", "count": 1, "template": POD, "measure": "yes"}), "steps[0].measure"),
    (_doc({"op": "createPods", "count": 1, "template": POD}, threshold=-3), "kube_scheduler_threshold"),
])
def test_malformed_workloads_name_the_field(doc: dict, fragment: str) -> None:
    with pytest.raises(WorkloadError) as e:
        parse_workload(doc, "f.json")
    assert fragment in str(e.value) and "f.json" in str(e.value)


def test_unreadable_and_non_json_files(tmp_path: pathlib.Path) -> None:
    with pytest.raises(WorkloadError, match="cannot read"):
        load_workload(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(WorkloadError, match="line 1"):
        load_workload(bad)
    with pytest.raises(WorkloadError, match="unknown built-in"):
        builtin_workloads(["NoSuchWorkload"])


def test_scale_must_be_positive() -> None:
    w = parse_workload(_doc({"op": "createNodes", "count": 1, "template": NODE}))
    with pytest.raises(WorkloadError, match="scale"):
        w.scaled(0)
    assert isinstance(w.steps[0], NodeStep)


def test_measured_pod_keys_are_the_names_expand_gives_the_timed_pods() -> None:
    for w in builtin_workloads():
        small = w.scaled(0.01)
        expanded = {f'{m["metadata"]["namespace"]}/{m["metadata"]["name"]}'
                    for step, ms in small.expand() if isinstance(step, PodStep) and step.measure for m in ms}
        assert small.measured_pod_keys() == expanded, w.name
    shared_prefix = parse_workload(_doc(
        {"op": "createPods", "count": 2, "namespace": "a", "template": POD},
        {"op": "createPods", "count": 2, "namespace": "a", "template": POD, "measure": True}))
    assert shared_prefix.measured_pod_keys() == {"a/pod-2", "a/pod-3"}


def test_a_builtin_workload_holds_5000_nodes_and_60000_pods_for_the_memory_target() -> None:
    (w,) = builtin_workloads(["Memory_5000Nodes_60000Pods"])
    assert (w.node_count, w.setup_pod_count + w.measured_pod_count) == (5000, 60000)
    assert w.threshold is None
