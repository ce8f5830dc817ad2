"""The ReplicaSet controller's inlined per-pod passes (PodOwnerController.claim_pods, the status counts) give
exactly what the plain functions give (controllerref.candidates + claim, podstate.is_ready / is_available)
on random pod sets: the same pods claimed, the same adopt / release writes in the same order, the same
errors, the same counts (hypothesis)."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import objects
from objects import Conflict, NotFound
from controllers.controllerref import ClaimError, _by_controller, _orphan_namespace, candidates, claim
from controllers.podstate import format_time, is_active, is_available, is_ready
from controllers.replicaset import ReplicaSetController

NOW = 1_800_000_000.0
TEMPLATE_LABELS = {"app": "web", "tier": "fe"}
LABEL_SETS = [TEMPLATE_LABELS, {"app": "web"}, {"app": "web", "tier": "be"}, {"app": "db"}, {}]


class Lister:
    """by_index over a fixed list with the controller's real index functions."""

    def __init__(self, pods: list[Any]) -> None:
        self.pods = pods

    def by_index(self, index: str, value: str) -> list[Any]:
        fn = _by_controller if index == "controller-uid" else _orphan_namespace
        return [p for p in self.pods if value in fn(p)]


class Informer:
    def __init__(self, pods: list[Any]) -> None:
        self.lister = Lister(pods)


class Registry:
    """Records every write; pods named fail-* conflict, gone-* are not found."""

    def __init__(self) -> None:
        self.writes: list[tuple] = []

    def update(self, obj: Any) -> Any:
        self.writes.append((obj.metadata.name, [(r.uid, r.controller) for r in obj.metadata.owner_references]))
        if obj.metadata.name.startswith("fail-"):
            raise Conflict(f"{obj.metadata.name} changed")
        if obj.metadata.name.startswith("gone-"):
            raise NotFound(obj.metadata.name)
        return obj


def owner_set(deleting: bool, min_ready: int) -> Any:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 2}
    if deleting:
        meta["deletionTimestamp"] = format_time(NOW - 5)
    return objects.from_dict({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
                              "spec": {"replicas": 3, "minReadySeconds": min_ready,
                                       "selector": {"matchLabels": {"app": "web"}},
                                       "template": {"metadata": {"labels": TEMPLATE_LABELS},
                                                    "spec": {"containers": [{"name": "c", "image": "i"}]}}}})


pod_specs = st.fixed_dictionaries({
    "owner": st.sampled_from(["mine", "foreign", "none", "mine-not-controller"]),
    "labels": st.sampled_from(range(len(LABEL_SETS))),
    "phase": st.sampled_from(["Pending", "Running", "Succeeded", "Failed", None]),
    "deleting": st.booleans(),
    "ready": st.sampled_from([None, "True", "False", "True-twice"]),
    "since": st.integers(min_value=-40, max_value=5),
    "prefix": st.sampled_from(["p", "fail", "gone"]),
    "namespace": st.sampled_from(["default", "other"]),
})


def make_pod(i: int, spec: dict) -> Any:
    meta: dict[str, Any] = {"name": f"{spec['prefix']}-{i}", "namespace": spec["namespace"],
                            "uid": f"pod-{i}", "resourceVersion": str(i + 1), "labels": LABEL_SETS[spec["labels"]]}
    owner_uid = {"mine": "uid-web", "mine-not-controller": "uid-web", "foreign": "uid-other"}.get(spec["owner"])
    if owner_uid is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": owner_uid,
                                    "controller": spec["owner"] != "mine-not-controller"}]
    if spec["deleting"]:
        meta["deletionTimestamp"] = format_time(NOW - 1)
    status: dict[str, Any] = {"conditions": [{"type": "PodScheduled", "status": "True"}]}
    if spec["phase"]:
        status["phase"] = spec["phase"]
    if spec["ready"]:
        first = "True" if spec["ready"].startswith("True") else "False"
        status["conditions"].append({"type": "Ready", "status": first,
                                     "lastTransitionTime": format_time(NOW + spec["since"])})
        if spec["ready"] == "True-twice":  # only the first Ready condition counts
            status["conditions"].append({"type": "Ready", "status": "False"})
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                              "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": status})


def controller_over(pods: list[Any], registry: Registry, adopt_ok: bool) -> ReplicaSetController:
    c = ReplicaSetController.__new__(ReplicaSetController)  # only what claim_pods reads
    c.pods, c.registry = Informer(pods), registry
    c._still_there = lambda owner: adopt_ok  # type: ignore[method-assign]
    return c


def run(fn: Any) -> tuple:
    try:
        return ("ok", fn())
    except ClaimError as exc:
        return ("error", str(exc))


@settings(max_examples=300, deadline=None)
@given(st.lists(pod_specs, max_size=25), st.booleans(), st.sampled_from([0, 10]), st.booleans(), st.booleans())
def test_claim_and_status_equal_the_plain_functions(specs, deleting, min_ready, adopt_ok, active_only):
    pods = [make_pod(i, s) for i, s in enumerate(specs)]
    owner = owner_set(deleting, min_ready)
    selector = owner.spec.selector
    old_registry, new_registry = Registry(), Registry()

    def old() -> list[Any]:
        found = candidates(Informer(pods), owner)
        if active_only:
            found = [p for p in found if is_active(p)]
        return claim(old_registry, owner, lambda p: selector.matches(p.metadata.labels), found,
                     can_adopt=lambda: adopt_ok)

    old_result = run(old)
    new_result = run(lambda: controller_over(pods, new_registry, adopt_ok).claim_pods(owner, selector, active_only))
    assert new_result[0] == old_result[0]
    if old_result[0] == "ok":
        cached = {id(p) for p in pods}  # an adopted pod is the registry's new copy: compared by content

        def ident(p: Any) -> Any:
            return id(p) if id(p) in cached else (p.metadata.name, [r.uid for r in p.metadata.owner_references])
        assert [ident(p) for p in new_result[1]] == [ident(p) for p in old_result[1]]
    else:
        assert new_result[1] == old_result[1]
    assert new_registry.writes == old_registry.writes

    counted = ReplicaSetController._count(pods, TEMPLATE_LABELS, min_ready, NOW)
    assert counted == (sum(1 for p in pods if all(p.metadata.labels.get(k) == v for k, v in TEMPLATE_LABELS.items())),
                       sum(1 for p in pods if is_ready(p)),
                       sum(1 for p in pods if is_available(p, min_ready, NOW)))
    assert ReplicaSetController._count(pods, {}, min_ready, NOW)[0] == len(pods)
