"""Plain updates and patches on the models skip the general path's whole-object deepcopy and second unpack
(``Registry._update_fast``): whatever the stored object and the write, valid or not, they store the same
bytes at the same revisions, return the same object and raise the same error as a registry with
``_update_fast = False``."""
from __future__ import annotations

import copy

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
import objects
from objects import ObjectsError
from objects.registry import Registry
from registry_helpers import overtaken_write, store_state, twin_registries

CLOCK = 1_700_000_000.0
STAMP = "2023-11-14T22:13:20Z"
MICRO = "2023-11-14T22:13:20.000000Z"
UID = "5f0c6b3a-0000-4000-8000-000000000001"
KEYS = {"Lease": "/registry/leases/default/obj", "ConfigMap": "/registry/configmaps/default/obj",
        "Node": "/registry/minions/obj", "Deployment": "/registry/deployments/default/obj",
        "Pod": "/registry/pods/default/obj"}
NAMESPACED = {"Lease": True, "ConfigMap": True, "Node": False, "Deployment": True, "Pod": True}

# ------------------------------------------------------------------------------------------------ values

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-2, 2), st.text("ab", max_size=2))
json_values = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=2), st.dictionaries(st.text("xyz", min_size=1, max_size=2), inner, max_size=2)),
    max_leaves=4)
lease_spec = st.fixed_dictionaries({}, optional={
    "holderIdentity": st.sampled_from(["obj", "other", 7]), "leaseDurationSeconds": st.sampled_from([40, 1, 0, -1, 40.0]),
    "renewTime": st.sampled_from([MICRO, "2023-11-14T22:13:30.000001Z", STAMP, "soon"]),
    "acquireTime": st.sampled_from([MICRO, "then"]), "leaseTransitions": st.sampled_from([0, 1, -1, True]),
    "extra": json_values})
config_data = st.dictionaries(st.sampled_from(["a", "b", "c.d", "bad key!"]), st.sampled_from(["1", "", 2]), max_size=2)
node_spec = st.fixed_dictionaries({}, optional={
    "unschedulable": st.sampled_from([True, False, "yes"]), "podCIDR": st.sampled_from(["10.0.0.0/24", "nope"]),
    "taints": st.lists(st.fixed_dictionaries({"key": st.sampled_from(["k", ""])}, optional={
        "effect": st.sampled_from(["NoSchedule", "NoExecute", "Bogus"]), "value": st.just("v")}), max_size=2),
    "providerID": json_values})
deployment_spec = st.fixed_dictionaries({
    "selector": st.sampled_from([{"matchLabels": {"app": "a"}}, {"matchLabels": {"app": "b"}}]),
    "template": st.sampled_from([
        {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}},
        {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "pause"}],
                                                         "terminationGracePeriodSeconds": 30}}])},
    optional={"replicas": st.sampled_from([1, 3, -1]), "paused": st.booleans(),
              "strategy": st.sampled_from([{"type": "Recreate"}, {"type": "RollingUpdate"}, {"type": "Sideways"}])})
pod_spec = st.fixed_dictionaries({"containers": st.sampled_from([
    [{"name": "c", "image": "pause"}], [{"name": "c", "image": "pause:2"}], [], [{"name": "c"}]])},
    optional={"nodeName": st.sampled_from(["n1", "Bad_Name"]), "activeDeadlineSeconds": st.sampled_from([5, -5]),
              "tolerations": st.just([{"key": "k", "operator": "Exists"}]), "priority": st.sampled_from([0, 7])})
BODIES = {"Lease": lease_spec, "ConfigMap": config_data, "Node": node_spec, "Deployment": deployment_spec,
          "Pod": pod_spec}
FIELD = {"Lease": "spec", "ConfigMap": "data", "Node": "spec", "Deployment": "spec", "Pod": "spec"}
API = {"Lease": "coordination.k8s.io/v1", "ConfigMap": "v1", "Node": "v1", "Deployment": "apps/v1", "Pod": "v1"}
BASE = {"Lease": {"holderIdentity": "obj", "leaseDurationSeconds": 40, "renewTime": MICRO},
        "ConfigMap": {"a": "1"}, "Node": {"podCIDR": "10.0.0.0/24"},
        "Deployment": {"selector": {"matchLabels": {"app": "a"}}, "template": {
            "metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}},
        "Pod": {"containers": [{"name": "c", "image": "pause"}]}}
deletions = st.sampled_from([{}, {"finalizers": ["example.com/f"]},
                             {"deletionTimestamp": STAMP, "finalizers": ["example.com/f"], "deletionGracePeriodSeconds": 0},
                             {"deletionTimestamp": STAMP}, {"deletionTimestamp": STAMP, "deletionGracePeriodSeconds": 30}])
metadata_changes = st.fixed_dictionaries({}, optional={
    "labels": st.sampled_from([{"x": "1"}, {}, {"bad label": "1"}]), "finalizers": st.sampled_from([[], ["example.com/g"]]),
    "annotations": st.just({"a": "b"}), "uid": st.sampled_from([UID, "5f0c6b3a-0000-4000-8000-00000000000f"]),
    "generation": st.sampled_from([1, 9]), "creationTimestamp": st.just("2020-01-01T00:00:00Z"),
    "name": st.sampled_from(["obj", "other"]), "ownerReferences": st.just([
        {"apiVersion": "v1", "kind": "Node", "name": "obj", "uid": UID}])})


def _body(kind, field_value, meta):
    body = {"apiVersion": API[kind], "kind": kind, "metadata": {"name": "obj", **meta}}
    if NAMESPACED[kind]:
        body["metadata"]["namespace"] = "default"
    body[FIELD[kind]] = field_value
    return body


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(sorted(BODIES)))
    meta = {"labels": draw(st.sampled_from([{}, {"x": "1"}])), **draw(deletions)}
    how = "put" if meta.get("deletionTimestamp") else draw(st.sampled_from(["create", "put"]))
    writes = draw(st.lists(st.tuples(
        st.sampled_from(["update", "update", "update from dict", "patch", "replace", "replace"]), BODIES[kind],
        metadata_changes,
        st.sampled_from([None, "current", "current", "stale", "bad"]), st.sampled_from(["spec", "spec", "same", "unknown"])),
        min_size=1, max_size=3))
    return kind, how, _body(kind, BASE[kind], meta), writes


def _pair(kind, how, body):
    return twin_registries("_update_fast", KEYS[kind], how, body)


def _outcome(action):
    try:
        return "ok", action().to_dict()
    except (ObjectsError, AttributeError) as e:  # AttributeError: a client's model to_dict cannot write
        return type(e), str(e)


def _state(reg, kind):
    return store_state(reg, KEYS[kind])


def _precondition(reg, kind, choice):
    kv = reg.store.get(KEYS[kind])
    revision = kv.mod_revision if kv is not None else 7  # deleted by an earlier write: NotFound comes first
    return {"current": str(revision), "stale": str(revision - 1 or 99), "bad": "v1"}[choice]


def _write(reg, kind, op, raw, meta, precondition, shape, earlier):
    namespace = "default" if NAMESPACED[kind] else None
    try:
        current = reg.get(kind, "obj", namespace)
    except objects.NotFound:  # deleted by an earlier write (being deleted, no finalizers)
        current = earlier
    if op == "replace":
        return reg.update(_replaced(kind, current if precondition != "stale" else earlier, raw, shape))
    body = current.to_dict()
    body["metadata"].update(copy.deepcopy(meta))
    body["metadata"].pop("resourceVersion", None)
    if precondition is not None:
        body["metadata"]["resourceVersion"] = _precondition(reg, kind, precondition)
    if shape == "spec":
        body[FIELD[kind]] = copy.deepcopy(raw)
    elif shape == "unknown":
        body["extraField"] = {"x": [1, 2]}
    if op == "patch":
        patch = {"metadata": body["metadata"]}
        if shape == "spec":
            patch[FIELD[kind]] = copy.deepcopy(raw)
        return reg.patch(kind, "obj", patch, namespace)
    if op == "update from dict":  # as the kubelet renews its Lease: a validated model from the client's dict
        return reg.update(objects.from_dict(body))
    # a client's model built without validation: _read keeps invalid values it can type, and drops the rest
    cls = objects.codec.kind_class(API[kind], kind)
    return reg.update(cls._read(body, "", "", []) or current)


def _replaced(kind, read, raw, shape):
    """The object as read with a new spec (``read.replace(spec=...)``, as a kubelet renews its Lease): the
    stored object's own parts, its resourceVersion the precondition (objects.specwrite's case). The spec is
    the client's model, built without validation (``_read`` keeps invalid values it can type)."""
    attr = FIELD[kind]
    if shape == "same":
        return read
    if shape == "unknown":
        return read.replace(unknown_fields={"extraField": {"x": [1, 2]}})
    if attr == "spec":
        value = type(read.spec)._read(copy.deepcopy(raw), "", "spec", []) or read.spec
    else:
        value = copy.deepcopy(raw)
    return read.replace(**{attr: value})


def _same_writes(general, fast, kind, writes, earlier):
    """Each write on both registries, checked to end alike (the same outcome, the same stored state after
    it); yields the fast registry's outcome of each."""
    for op, raw, meta, precondition, shape in writes:
        expected = _outcome(lambda: _write(general, kind, op, raw, meta, precondition, shape, earlier[general]))
        got = _outcome(lambda: _write(fast, kind, op, raw, meta, precondition, shape, earlier[fast]))
        assert got == expected
        assert _state(fast, kind) == _state(general, kind)
        yield got


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_update_and_patch_are_the_general_path(case):
    kind, how, body, writes = case
    general, fast = _pair(kind, how, body)
    namespace = "default" if NAMESPACED[kind] else None
    earlier = {reg: reg.get(kind, "obj", namespace) for reg in (general, fast)}
    try:
        for got in _same_writes(general, fast, kind, writes, earlier):
            if got[0] == "ok" and fast.store.get(KEYS[kind]) is not None:
                assert fast.get(kind, "obj", namespace).to_dict() == got[1]
    finally:
        general.store.close()
        fast.store.close()


def test_a_lease_renewal_bumps_generation_once_per_spec_change():
    with kvstore.open() as store:
        reg = Registry(store, clock=lambda: CLOCK)
        lease = reg.create(objects.from_dict(_body("Lease", BASE["Lease"], {})))
        renewed = reg.update(lease.replace(spec=lease.spec.replace(renew_time="2023-11-14T22:13:30.000000Z")))
        assert renewed.metadata.generation == lease.metadata.generation + 1
        assert int(renewed.metadata.resource_version) > int(lease.metadata.resource_version)
        same = reg.update(renewed)
        assert same.metadata.resource_version == renewed.metadata.resource_version  # no-op: no new revision
        assert same.metadata.generation == renewed.metadata.generation
        stored = msgpack.unpackb(store.get(KEYS["Lease"]).value, raw=False)
        assert stored["spec"]["renewTime"] == "2023-11-14T22:13:30.000000Z"
        assert stored["metadata"]["generation"] == renewed.metadata.generation
        assert reg.get("Lease", "obj", "default").to_dict() == renewed.to_dict()


def _racing(fast, write):
    """``write`` on a registry whose first read of the Lease is overtaken by another writer's renewal (the
    CAS fails): the outcome and what is stored after."""
    def other_write(reg):
        other = reg.get("Lease", "obj", "default")
        reg.update(other.replace(metadata=other.metadata.replace(labels={"y": "2"}, finalizers=["example.com/f"]),
                                 spec=other.spec.replace(holder_identity="other", lease_transitions=1)))
    body = _body("Lease", BASE["Lease"], {"labels": {"x": "1"}, "uid": UID, "creationTimestamp": STAMP, "generation": 1})
    return overtaken_write("_update_fast", fast, KEYS["Lease"], body, "Lease", other_write,
                           lambda reg, first: _outcome(lambda: write(reg, first)))


@pytest.mark.parametrize("write", [
    lambda reg, first: reg.update(first.replace(metadata=first.metadata.replace(resource_version=None),
                                                spec=first.spec.replace(renew_time="2023-11-14T22:13:30.000000Z"))),
    lambda reg, first: reg.update(first.replace(metadata=first.metadata.replace(resource_version=None, generation=5,
                                                                                uid=None, labels=None),
                                                spec=first.spec.replace(renew_time="2023-11-14T22:13:30.000000Z"))),
    lambda reg, first: reg.update(first.replace(spec=first.spec.replace(renew_time="2023-11-14T22:13:30.000000Z"))),
    lambda reg, first: reg.patch("Lease", "obj", {"spec": {"renewTime": "2023-11-14T22:13:30.000000Z"}}, "default"),
], ids=["unconditional update", "unconditional update without system fields", "update with precondition", "patch"])
def test_an_update_overtaken_by_another_retries_or_conflicts_as_the_general_path(write):
    outcome, state = _racing(True, write)
    assert (outcome, state) == _racing(False, write)
    assert outcome[0] in ("ok", objects.Conflict)


@st.composite
def lease_renewals(draw):
    """A Lease (being deleted or not) and a run of writes, most of them the object as read with a new spec."""
    meta = {"labels": draw(st.sampled_from([{}, {"x": "1"}])),
            **draw(st.sampled_from([{}, {}, {}, {"finalizers": ["example.com/f"]},
                                    {"deletionTimestamp": STAMP, "finalizers": ["example.com/f"]}]))}
    how = "put" if meta.get("deletionTimestamp") else draw(st.sampled_from(["create", "put"]))
    writes = draw(st.lists(st.tuples(
        st.sampled_from(["replace", "replace", "replace", "update from dict"]), lease_spec, st.just({}),
        st.sampled_from(["current", "current", "current", "stale"]), st.sampled_from(["spec", "spec", "spec", "same", "unknown"])),
        min_size=1, max_size=4))
    return "Lease", how, _body("Lease", draw(st.sampled_from([BASE["Lease"], {}])), meta), writes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lease_renewals())
def test_a_lease_updated_as_read_is_the_general_path(case):
    """objects.specwrite's case: the stored object with a new spec, valid or not, stores, returns and raises
    what the general path does; every watcher sees the same events."""
    kind, how, body, writes = case
    general, fast = _pair(kind, how, body)
    earlier = {reg: reg.get(kind, "obj", "default") for reg in (general, fast)}
    watches = {reg: reg.store.watch(KEYS[kind], start_revision=reg.store.revision + 1) for reg in (general, fast)}
    try:
        list(_same_writes(general, fast, kind, writes, earlier))
        seen = {reg: _drained(watches[reg]) for reg in (general, fast)}
        assert seen[fast] == seen[general]
        assert len(seen[fast]) == fast.store.revision - int(earlier[fast].metadata.resource_version)  # one per write
    finally:
        general.store.close()
        fast.store.close()


def _drained(watch):
    """(type, key, value, mod_revision) of every event the store watcher has queued."""
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision)
            for response in watch.next_responses(0) for e in response.events]
