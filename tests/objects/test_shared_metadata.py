"""SharedSpecs reads the rest of a pod (apiVersion, kind, metadata) once per content but for the name, uid
and creationTimestamp each create sets (objects.sharedspecs): what it gives is what from_dict gives (equal
object, same dict in the same order, the same errors), with lists and maps of its own."""
from __future__ import annotations

import copy
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
import objects
from objects import ValidationError
from objects.registry import Registry
from objects.sharedspecs import SharedSpecs

_owner = st.fixed_dictionaries({"apiVersion": st.just("apps/v1"), "kind": st.just("ReplicaSet"),
                                "name": st.sampled_from(["rs", "other"]), "uid": st.sampled_from(["u1", "u2"])},
                               optional={"controller": st.booleans(), "blockOwnerDeletion": st.booleans(),
                                         "extra": st.just(1)})
_shared = st.fixed_dictionaries({}, optional={
    "generateName": st.sampled_from(["rs-", "Bad_", "x" * 70, 5]),
    "namespace": st.sampled_from(["default", "team-a", "Bad_NS", None]),
    "generation": st.sampled_from([1, -1, "1"]),
    "labels": st.dictionaries(st.sampled_from(["app", "tier", "bad key!"]), st.sampled_from(["web", "db", "x" * 70]),
                              max_size=2),
    "annotations": st.dictionaries(st.sampled_from(["note", "a/b"]), st.sampled_from(["x", ""]), max_size=2),
    "ownerReferences": st.lists(_owner, max_size=2),
    "finalizers": st.lists(st.sampled_from(["example.com/f", "bad finalizer"]), max_size=2),
    "resourceVersion": st.just("5"),
    "someUnknownField": st.just({"a": 1}),
})
_valid_shared = st.fixed_dictionaries({"generateName": st.just("rs-"), "namespace": st.just("team-a")}, optional={
    "labels": st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", "db"]), max_size=2),
    "ownerReferences": st.lists(_owner.filter(lambda o: "extra" not in o), max_size=1),
    "generation": st.just(1),
})
_per_pod = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["p-abcde", "q", "Bad_Name", "", None, 7, "x" * 300]),
    "uid": st.sampled_from(["0b5c-1", "", None, 3]),
    "creationTimestamp": st.sampled_from(["2026-01-01T00:00:00Z", "yesterday", None, 1.5]),
})


def _rest(shared: dict[str, Any], per_pod: dict[str, Any], kind: str = "Pod") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {**copy.deepcopy(shared), **per_pod}}


def _read(fn: Any, rest: dict[str, Any]) -> Any:
    try:
        return fn(rest), None
    except ValidationError as e:
        return None, [(f.path, f.message, f.value, f.type) for f in e.errors]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shared=st.one_of(_valid_shared, _shared), twin=_per_pod, mine=_per_pod)
def test_the_remembered_rest_of_a_pod_reads_as_from_dict_reads_it(shared, twin, mine):
    specs = SharedSpecs()

    def partial(rest: dict[str, Any]) -> Any:
        return specs._partial(rest)[0]
    _read(partial, _rest(shared, twin))  # remembered when it read whole
    rest = _rest(shared, mine)
    got, got_error = _read(partial, copy.deepcopy(rest))
    want, want_error = _read(objects.from_dict, copy.deepcopy(rest))
    assert got_error == want_error
    if want_error is not None:
        return
    assert type(got) is type(want) and got == want
    assert msgpack.packb(got.to_dict()) == msgpack.packb(want.to_dict())  # same keys in the same order
    again, _ = _read(partial, copy.deepcopy(rest))
    meta, other = got.metadata, again.metadata
    for attr in ("labels", "annotations", "owner_references", "finalizers"):
        assert getattr(meta, attr) is not getattr(other, attr)  # each read has its own
    for mine_ref, other_ref in zip(meta.owner_references, other.owner_references):
        assert mine_ref is not other_ref
    assert got.status is not again.status  # a stand-in of its own (the spec's is the caller's to replace)


def test_a_pod_whose_metadata_is_not_read_whole_is_never_remembered():
    specs = SharedSpecs()
    specs._partial(_rest({"labels": {"a": "b"}, "someUnknownField": 1}, {"name": "p"}))
    specs._partial(_rest({"ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u", "z": 1}]},
                         {"name": "p"}))
    assert not specs._partials
    specs._partial(_rest({"labels": {"a": "b"}}, {"name": "p"}))
    assert len(specs._partials) == 1


def test_pods_created_from_one_template_store_what_a_cold_registry_stores():
    template = {"generateName": "rs-", "namespace": "team-a", "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1",
                                     "controller": True}]}
    spec = {"containers": [{"name": "c", "image": "pause"}]}

    def pod(name: str) -> Any:
        return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {**copy.deepcopy(template),
                                                                                "name": name}, "spec": spec})

    with kvstore.open() as warm_store:
        warm = Registry(warm_store, clock=lambda: 1_700_000_000.0)
        created = [warm.create(pod(name)) for name in ("a", "b", "c")]
        assert warm._specs._partials  # the second and third read their metadata from the first's
        for name, obj in zip("abc", created):
            with kvstore.open() as cold_store:
                cold = Registry(cold_store, clock=lambda: 1_700_000_000.0)
                fresh = cold.create(pod(name))
                key = f"/registry/pods/team-a/{name}"
                assert warm_store.get(key).value.replace(obj.metadata.uid.encode(), b"-") == \
                    cold_store.get(key).value.replace(fresh.metadata.uid.encode(), b"-")
        try:
            warm.create(pod("Bad_Name"))
        except ValidationError as e:
            assert [f.path for f in e.errors] == ["metadata.name"]
        else:
            raise AssertionError("a bad name was created")


def _create(registry: Registry, meta: dict[str, Any], name: Any) -> Any:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {**copy.deepcopy(meta), "name": name},
            "spec": {"containers": [{"name": "c", "image": "pause"}]}}
    try:
        pod = objects.from_dict(body)
    except ValidationError:
        pod = objects.from_dict({**body, "metadata": {"name": "x"}})
        pod.metadata.name = name  # models are not validated when edited: the registry reports it
    try:
        created = registry.create(pod)
    except ValidationError as e:
        return None, [(f.path, f.message, f.value, f.type) for f in e.errors]
    key = f"/registry/pods/{created.metadata.namespace}/{created.metadata.name}"
    value = registry.store.get(key).value.replace(created.metadata.uid.encode(), b"-" * 36)
    return (value, created.with_metadata(uid="-", resource_version="1").to_dict()), None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shared=st.one_of(_valid_shared, _shared), names=st.lists(st.sampled_from(["a", "b", "Bad_Name", "c"]),
                                                                 min_size=3, max_size=4, unique=True))
def test_pods_of_one_template_created_after_the_first_store_what_a_cold_registry_stores(shared, names):
    shared = {k: v for k, v in shared.items() if k != "resourceVersion"}  # refused at create either way
    with kvstore.open() as warm_store:
        warm = Registry(warm_store, clock=lambda: 1_700_000_000.0)
        for name in names:  # the second and later read their rest from the first's, when it was remembered
            got = _create(warm, shared, name)
            with kvstore.open() as cold_store:
                want = _create(Registry(cold_store, clock=lambda: 1_700_000_000.0), shared, name)
            assert got == want
