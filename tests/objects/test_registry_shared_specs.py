"""Registry.create validates and defaults a pod spec once per content (objects.sharedspecs): a create whose
spec was seen before stores the same bytes, returns an equal object and refuses bad input with the same
typed error (field paths included, nothing written) as a registry that never saw that spec."""
from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
import objects
from objects import ValidationError
from objects.registry import Registry

CLOCK = 1_700_000_000.0

_containers = st.lists(st.fixed_dictionaries({
    "name": st.sampled_from(["a", "b"]),
    "image": st.sampled_from(["pause", "nginx:1.25"]),
}, optional={
    "resources": st.fixed_dictionaries({}, optional={
        "requests": st.dictionaries(st.sampled_from(["cpu", "memory"]), st.sampled_from(["100m", "1", "500Mi"])),
        "limits": st.dictionaries(st.sampled_from(["cpu", "memory"]), st.sampled_from(["200m", "2", "1Gi"])),
    }),
    "ports": st.lists(st.fixed_dictionaries({"containerPort": st.sampled_from([80, 443])},
                                            optional={"protocol": st.sampled_from(["TCP", "UDP"]),
                                                      "hostPort": st.sampled_from([0, 8080])}), max_size=2),
    "command": st.just(["sleep", "1"]),  # a field the model keeps as unknown
}), min_size=1, max_size=2)

_specs = st.fixed_dictionaries({"containers": _containers}, optional={
    "priorityClassName": st.sampled_from(["high", "default-low", "system-node-critical"]),
    "priority": st.sampled_from([0, 1000]),
    "preemptionPolicy": st.sampled_from(["Never", "PreemptLowerPriority"]),
    "nodeSelector": st.dictionaries(st.sampled_from(["zone", "disk"]), st.sampled_from(["a", "ssd"]), max_size=2),
    "tolerations": st.lists(st.fixed_dictionaries({"key": st.sampled_from(["", "node.kubernetes.io/not-ready", "x"])},
                                                  optional={"effect": st.sampled_from(["NoExecute", "NoSchedule"]),
                                                            "operator": st.just("Exists")}), max_size=2),
    "nodeName": st.just("node-1"),
    "schedulerName": st.sampled_from(["default-scheduler", "other"]),
    "restartPolicy": st.sampled_from(["Always", "Never"]),
    "hostNetwork": st.booleans(),
    "dnsPolicy": st.just("ClusterFirst"),  # unknown to the model, kept
})

_metas = st.fixed_dictionaries({"name": st.sampled_from(["p", "q"])}, optional={
    "namespace": st.sampled_from(["default", "team-a"]),
    "labels": st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", "db"]), max_size=2),
    "annotations": st.dictionaries(st.just("note"), st.just("x"), max_size=1),
})

# Ways to make a valid pod invalid after it was built (models are not validated when built or edited).


def _bad_label(pod: Any) -> None:
    pod.metadata.labels = {**pod.metadata.labels, "bad key!": "x"}


def _bad_name(pod: Any) -> None:
    pod.metadata.name = "Bad_Name"


def _bad_container_name(pod: Any) -> None:
    pod.spec.containers[0].name = "Bad_Name"


def _bad_phase(pod: Any) -> None:
    pod.status.phase = "Bogus"


def _missing_class(pod: Any) -> None:
    pod.spec.priority_class_name = "missing"


def _wrong_priority(pod: Any) -> None:
    pod.spec.priority = 12345


def _not_json_field(pod: Any) -> None:
    pod.unknown_fields = {"extra": {1, 2}}


def _tuple_in_spec(pod: Any) -> None:
    pod.spec.unknown_fields = {**(pod.spec.unknown_fields or {}), "dnsConfig": ("a", "b")}


_CORRUPTIONS = [None, None, None, _bad_label, _bad_name, _bad_container_name, _bad_phase, _missing_class,
                _wrong_priority, _not_json_field, _tuple_in_spec]


def _registry(store: Any) -> Registry:
    registry = Registry(store, clock=lambda: CLOCK)
    for name, value, default in (("high", 1000, False), ("default-low", 0, True)):
        registry.create(objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                           "metadata": {"name": name}, "value": value, "globalDefault": default}))
    return registry


def _pod(meta: dict[str, Any], spec: dict[str, Any], phase: str | None) -> Any:
    manifest: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": copy.deepcopy(meta),
                                "spec": copy.deepcopy(spec)}
    if phase:
        manifest["status"] = {"phase": phase}
    return objects.from_dict(manifest)


def _create(registry: Registry, pod: Any) -> tuple[Any, Any]:
    """(the created object, or the error's type and its (path, message, value, type) list)."""
    try:
        return registry.create(pod), None
    except ValidationError as e:
        return None, (type(e), [(f.path, f.message, f.value, f.type) for f in e.errors], e.kind, e.name)


def _stored(registry: Registry, created: Any) -> bytes:
    kv = registry.store.get(f"/registry/pods/{created.metadata.namespace}/{created.metadata.name}")
    return kv.value.replace(created.metadata.uid.encode(), b"-" * 36)


def _normal(created: Any) -> Any:
    return created.with_metadata(uid="-", resource_version="1")


def _spec_is_valid(spec: dict[str, Any]) -> bool:
    try:
        objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"}, "spec": spec})
        return True
    except ValidationError:
        return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meta=_metas, spec=_specs, phase=st.sampled_from([None, "Pending"]), corrupt=st.sampled_from(_CORRUPTIONS))
def test_a_remembered_spec_gives_what_the_full_path_gives(meta, spec, phase, corrupt):
    if not _spec_is_valid(spec):
        spec = {"containers": [{"name": "a", "image": "pause"}]}
    with kvstore.open() as warm_store, kvstore.open() as cold_store:
        warm, cold = _registry(warm_store), _registry(cold_store)
        # The same spec, created once before under another name: the warm registry remembers it if valid.
        _create(warm, _pod({"name": "twin", "namespace": meta.get("namespace", "default")}, spec, phase))
        pod = _pod(meta, spec, phase)
        if corrupt is not None:
            corrupt(pod)
        revision = warm_store.revision
        warm_result, warm_error = _create(warm, copy.deepcopy(pod))
        cold_result, cold_error = _create(cold, copy.deepcopy(pod))
        assert warm_error == cold_error
        if warm_error is not None:
            assert warm_store.revision == revision  # bad input changes nothing
            assert warm_store.get(f"/registry/pods/{pod.metadata.namespace or 'default'}/{pod.metadata.name}") is None
            return
        assert _stored(warm, warm_result) == _stored(cold, cold_result)
        assert _normal(warm_result) == _normal(cold_result)
        assert warm_result.to_dict() | {"metadata": None} == cold_result.to_dict() | {"metadata": None}
        assert (warm_result.requests, warm_result.priority_value) == (cold_result.requests, cold_result.priority_value)


def test_pods_of_one_spec_share_it_and_a_priority_class_change_is_seen_at_once():
    with kvstore.open() as store:
        registry = Registry(store, clock=lambda: CLOCK)
        spec = {"containers": [{"name": "c", "image": "pause"}]}
        first = registry.create(_pod({"name": "a"}, spec, None))
        second = registry.create(_pod({"name": "b"}, spec, None))
        assert second.spec is first.spec and first.spec.priority == 0
        registry.create(objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                           "metadata": {"name": "everyone"}, "value": 7, "globalDefault": True}))
        third = registry.create(_pod({"name": "c"}, spec, None))
        assert third.spec.priority == 7 and third.spec.priority_class_name == "everyone"
        assert objects.from_msgpack(store.get("/registry/pods/default/c").value).spec.priority == 7
        registry.delete("PriorityClass", "everyone")
        fourth = registry.create(_pod({"name": "d"}, spec, None))
        assert fourth.spec.priority == 0 and fourth.spec.priority_class_name is None
