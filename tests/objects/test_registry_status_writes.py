"""Registry status writes on the models encode only the status (objects.statuswrite): whatever the stored
object and the status write, valid or not, they store the same bytes at the same revisions, return the same
object and raise the same error as the general path (whole-object validation and defaulting), which a
registry with ``_status_fast = False`` takes, reading as before the fast reads of statuses too (conditions
remembered by content, raw JSON copied without paths: ``reading_helpers.reference_reads``)."""
from __future__ import annotations

import copy
import math
import pathlib

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
import objects
from objects import ObjectsError
from objects.registry import Registry
from reading_helpers import reference_reads
from registry_helpers import overtaken_write, store_state, twin_registries
from objects.schema import absent

CLOCK = 1_700_000_000.0
STAMP = "2023-11-14T22:13:20Z"
KEYS = {"Pod": "/registry/pods/default/obj", "Node": "/registry/minions/obj",
        "Deployment": "/registry/deployments/default/obj"}

# ------------------------------------------------------------------------------------------------ values

timestamps = st.sampled_from([STAMP, "2024-01-01T00:00:00Z", "yesterday"])
ips = st.sampled_from(["10.0.0.1", "fd00::1", "not-an-ip"])
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("ab", max_size=2))
json_values = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=2), st.dictionaries(st.text("xyz", min_size=1, max_size=2), inner, max_size=2)),
    max_leaves=4)
conditions = st.lists(st.fixed_dictionaries({"type": st.sampled_from(["Ready", "Available", "Progressing"])}, optional={
    "status": st.sampled_from(["True", "False", "Unknown", "Maybe"]),
    "lastTransitionTime": timestamps, "lastHeartbeatTime": timestamps, "reason": st.sampled_from(["R", 7]),
    "observedGeneration": st.integers(-1, 3)}), max_size=3)
quantities = st.dictionaries(st.sampled_from(["cpu", "memory", "pods"]), st.sampled_from(["4", "32Gi", "110", "x"]),
                             max_size=3)
counts = st.one_of(st.integers(-1, 5), st.just("3"))

pod_status = st.fixed_dictionaries({}, optional={
    "phase": st.sampled_from(["Pending", "Running", "Succeeded", "Bogus"]), "conditions": conditions,
    "hostIP": ips, "podIP": ips, "startTime": timestamps, "nominatedNodeName": st.just("n1"),
    "message": st.text("m", max_size=1), "containerStatuses": st.lists(json_values, max_size=2),
    "qosClass": json_values})
node_status = st.fixed_dictionaries({}, optional={
    "capacity": quantities, "allocatable": quantities, "conditions": conditions,
    "phase": st.sampled_from(["Running", "Gone"]), "addresses": st.lists(st.fixed_dictionaries(
        {"type": st.just("InternalIP")}, optional={"address": st.just("10.0.0.1")}), max_size=2),
    "daemonEndpoints": json_values})
deployment_status = st.fixed_dictionaries({}, optional={
    "observedGeneration": counts, "replicas": counts, "updatedReplicas": counts, "readyReplicas": counts,
    "availableReplicas": counts, "unavailableReplicas": counts, "collisionCount": counts,
    "conditions": conditions, "extra": json_values})
STATUSES = {"Pod": pod_status, "Node": node_status, "Deployment": deployment_status}


def status_patches(kind):
    """A merge patch of the status: a status (keys may be null, deleting them), null, or not an object."""
    with_nulls = STATUSES[kind].flatmap(lambda s: st.fixed_dictionaries(
        {k: st.sampled_from([v, None]) for k, v in s.items()}))
    return st.one_of(with_nulls, st.none(), st.sampled_from([[], "Running", 3]))


# ------------------------------------------------------------------------------------------------ objects

def _pod(labels, status, deleting, host_network):
    container = {"name": "c", "image": "pause", "resources": {"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}},
                 "ports": [{"containerPort": 80}]}
    spec = {"containers": [container], "hostNetwork": host_network}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "obj", "labels": labels, **deleting},
            "spec": spec, **status}


def _node(labels, status, deleting, unschedulable):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "obj", "labels": labels, **deleting},
            "spec": {"unschedulable": unschedulable}, **status}


def _deployment(labels, status, deleting, recreate):
    labels = {"app": "a", **labels}
    spec = {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": labels}, "spec": {
        "containers": [{"name": "c", "image": "pause"}]}}}
    if recreate:
        spec["strategy"] = {"type": "Recreate"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "obj", "labels": labels, **deleting},
            "spec": spec, **status}


BUILDERS = {"Pod": _pod, "Node": _node, "Deployment": _deployment}
deletions = st.sampled_from([{}, {"finalizers": ["example.com/f"]},
                             {"deletionTimestamp": STAMP, "finalizers": ["example.com/f"],
                              "deletionGracePeriodSeconds": 0},
                             {"deletionTimestamp": STAMP}, {"deletionTimestamp": STAMP, "deletionGracePeriodSeconds": 30}])


@st.composite
def stored_objects(draw, kind):
    """(kind, how it gets into the store, its dict): created through the registry, or, for states a create
    cannot make (being deleted), the codec's stored form put into the store directly."""
    status = draw(STATUSES[kind].filter(lambda s: _valid(kind, s)))
    body = BUILDERS[kind](draw(st.dictionaries(st.sampled_from(["x", "y"]), st.just("1"), max_size=1)),
                          {"status": status} if draw(st.booleans()) else {}, draw(deletions), draw(st.booleans()))
    return kind, "put" if body["metadata"].get("deletionTimestamp") else draw(st.sampled_from(["create", "put"])), body


def _valid(kind, status):
    try:
        objects.from_dict(BUILDERS[kind]({}, {"status": status}, {}, False))
    except objects.ValidationError:
        return False
    return True


def _store_pair(kind, how, body):
    return twin_registries("_status_fast", KEYS[kind], how, body)


def _outcome(action):
    try:
        return "ok", action().to_dict()
    except ObjectsError as e:
        return type(e), str(e)


def _state(reg, kind):
    return store_state(reg, KEYS[kind])


def _same(general, fast, kind, write):
    with reference_reads():
        expected = _outcome(lambda: write(general))
    got = _outcome(lambda: write(fast))
    assert got == expected
    assert _state(fast, kind) == _state(general, kind)
    if got[0] == "ok" and fast.store.get(KEYS[kind]) is not None:
        stored = msgpack.unpackb(fast.store.get(KEYS[kind]).value, raw=False)
        assert objects.from_dict(stored, defaults=True).to_dict() == stored  # the codec's own form
        assert fast.get(kind, "obj", "default").to_dict() == got[1]


# ------------------------------------------------------------------------------------------------ patch_status

def _precondition(reg, kind, choice):
    kv = reg.store.get(KEYS[kind])
    revision = kv.mod_revision if kv is not None else 7  # deleted by an earlier write: NotFound comes first
    return {"current": str(revision), "stale": str(revision - 1 or 99), "bad": "v1"}[choice]


@st.composite
def patch_cases(draw):
    kind = draw(st.sampled_from(sorted(BUILDERS)))
    stored = draw(stored_objects(kind))
    patches = draw(st.lists(st.tuples(
        status_patches(kind), st.sampled_from([None, "current", "current", "stale", "bad"]),
        st.sampled_from(["status", "status", "status", "no status", "labels too", "other name"])),
        min_size=1, max_size=3))
    return stored, patches


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(patch_cases())
def test_patch_status_is_the_general_path(case):
    (kind, how, body), patches = case
    general, fast = _store_pair(kind, how, body)
    try:
        for status, precondition, shape in patches:
            def write(reg):
                patch = {} if shape == "no status" else {"status": copy.deepcopy(status)}
                if precondition is not None:
                    patch["metadata"] = {"resourceVersion": _precondition(reg, kind, precondition)}
                if shape == "labels too":
                    patch.setdefault("metadata", {})["labels"] = {"z": "1"}
                name = "other" if shape == "other name" else "obj"
                return reg.patch_status(kind, name, patch, "default" if kind != "Node" else None)
            _same(general, fast, kind, write)
    finally:
        general.store.close()
        fast.store.close()


# ------------------------------------------------------------------------------------------------ update_status

@st.composite
def update_cases(draw):
    kind = draw(st.sampled_from(sorted(BUILDERS)))
    stored = draw(stored_objects(kind))
    updates = draw(st.lists(st.tuples(
        st.one_of(STATUSES[kind], st.none()), st.sampled_from([None, "current", "current", "stale"]),
        st.sampled_from(["as read", "as read", "status only", "status only", "earlier read", "other uid",
                         "new spec", "other name"])),
        min_size=1, max_size=3))
    return stored, updates


def _status_object(obj, raw):
    """``raw`` as the kind's status model, as a client may build it: not validated (``_read`` keeps invalid
    values it can type, and drops the rest); None: the status left out."""
    cls = type(obj)._by_key["status"].type.cls
    if raw is None:
        return absent(cls)
    return cls._read(raw, "", "status", []) or absent(cls)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(update_cases())
def test_update_status_is_the_general_path(case):
    (kind, how, body), updates = case
    general, fast = _store_pair(kind, how, body)
    namespace = "default" if kind != "Node" else None
    earlier = {reg: reg.get(kind, "obj", namespace) for reg in (general, fast)}
    try:
        for raw, precondition, shape in updates:
            def write(reg):
                try:
                    current = reg.get(kind, "obj", namespace)
                except objects.NotFound:  # deleted by an earlier write (being deleted, no finalizers)
                    current = earlier[reg]
                read, earlier[reg] = earlier[reg], current
                if shape == "status only":  # a controller's obj.replace(status=...) of what it read
                    return reg.update_status(current.replace(status=_status_object(current, raw)))
                if shape == "earlier read":
                    return reg.update_status(read.replace(status=_status_object(read, raw)))
                meta = current.metadata.replace(
                    resource_version=None if precondition is None else _precondition(reg, kind, precondition))
                if shape == "other uid":
                    meta = meta.replace(uid="5f0c6b3a-0000-4000-8000-00000000000f")
                if shape == "other name":
                    meta = meta.replace(name="other")
                obj = current.replace(metadata=meta, status=_status_object(current, raw))
                if shape == "new spec":
                    obj = obj.replace(spec=type(obj.spec)())
                return reg.update_status(obj)
            _same(general, fast, kind, write)
    finally:
        general.store.close()
        fast.store.close()


# ------------------------------------------------------------------------------------------------ kubelet statuses

def _kubelet_status(phase, since, now, ip, bad):
    """A status as a hollow kubelet writes it (controllers.kubeletstatus), the same conditions for every
    pod of a second; ``bad`` spoils one value of the same shape (what was remembered must not answer)."""
    ready = phase == "Running"
    conditions = [{"type": kind, "status": "True" if ok else "False", "lastTransitionTime": when}
                  for kind, ok, when in (("PodReadyToStartContainers", True, since), ("Initialized", True, since),
                                         ("Ready", ready, now), ("ContainersReady", ready, now),
                                         ("PodScheduled", True, since))]
    for c in conditions[2:4]:
        if not ready:
            c.update(reason="ContainersNotReady", message="containers with unready status: [c]")
    statuses = [{"name": "c", "image": "pause", "imageID": "", "ready": ready, "restartCount": 0, "started": ready,
                 "state": {"running": {"startedAt": now}} if ready else {"waiting": {"reason": "ContainerCreating"}}}]
    status = {"phase": phase, "hostIP": "172.16.0.1", "hostIPs": [{"ip": "172.16.0.1"}], "podIP": ip,
              "podIPs": [{"ip": ip}], "startTime": since, "qosClass": "Burstable", "conditions": conditions,
              "containerStatuses": statuses}
    if bad == "condition status":
        conditions[2]["status"] = "Maybe"
    elif bad == "condition time":
        conditions[0]["lastTransitionTime"] = "yesterday"
    elif bad == "condition reason":
        conditions[3]["reason"] = 7
    elif bad == "condition type":
        del conditions[4]["type"]
    elif bad == "restart count":
        statuses[0]["restartCount"] = 2**64
    elif bad == "started at":
        statuses[0]["state"] = {"running": {"startedAt": math.inf}}
    elif bad == "pod IP":
        status["podIPs"] = [{1: ip}]
    elif bad == "host IP":
        status["hostIP"] = "172.16.0.01"
    return status


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(st.sampled_from(["Pending", "Running"]), st.sampled_from([STAMP, "2023-11-14T22:13:21Z"]),
                          st.sampled_from(["10.0.0.2", "10.0.0.3", "10.0.0.300"]),
                          st.sampled_from([None, None, None, "condition status", "condition time", "condition reason",
                                           "condition type", "restart count", "started at", "pod IP", "host IP"])),
                min_size=1, max_size=5))
def test_kubelet_statuses_write_as_the_general_path(writes):
    """The kubelet's statuses again and again (the conditions and raw fields remembered or copied fast),
    good and bad: the same as the general path reading as before."""
    general, fast = _store_pair("Pod", "create", _pod({}, {}, {}, False))
    try:
        for phase, now, ip, bad in writes:
            status = _kubelet_status(phase, STAMP, now, ip, bad)
            _same(general, fast, "Pod", lambda reg: reg.patch_status("Pod", "obj", {"status": copy.deepcopy(status)},
                                                                     "default"))
    finally:
        general.store.close()
        fast.store.close()


# ------------------------------------------------------------------------------------------------ the fast path is taken

@pytest.fixture
def registry():
    with kvstore.open() as store:
        yield Registry(store, clock=lambda: CLOCK)


def _no_whole_object_encode(registry, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the whole object was encoded again")
    monkeypatch.setattr(registry, "_encode", refuse)
    monkeypatch.setattr(registry, "_model_dict", refuse)  # a controller's update_status: no to_dict of it all


def test_kubelet_and_controller_status_writes_encode_only_the_status(registry, monkeypatch):
    pod = registry.create(objects.from_dict(_pod({}, {}, {}, False)))
    node = registry.create(objects.from_dict(_node({}, {"status": {"capacity": {"cpu": "4"}}}, {}, False)))
    deploy = registry.create(objects.from_dict(_deployment({}, {}, {}, False)))
    _no_whole_object_encode(registry, monkeypatch)
    running = registry.patch_status("Pod", "obj", {"metadata": {"resourceVersion": pod.metadata.resource_version},
                                                   "status": {"phase": "Running", "podIP": "10.0.0.2",
                                                              "containerStatuses": [{"name": "c", "ready": True}]}},
                                    "default")
    assert running.status.phase == "Running" and running.status.unknown_fields["containerStatuses"][0]["ready"]
    assert running is registry.get("Pod", "obj", "default")  # remembered for readers and watchers
    assert running.requests == {"cpu": 1000, "memory": 1 << 30}  # derived values carried over
    ready = registry.patch_status("Node", "obj", {"status": {"capacity": {"cpu": "8"}, "allocatable": None}})
    assert ready.status.allocatable == ready.status.capacity  # Node defaulting still applies
    assert ready.allocatable_resources["cpu"] == 8000
    counted = registry.update_status(deploy.replace(status=deploy.status.replace(replicas=1, observed_generation=1)))
    assert counted.status.replicas == 1 and counted.metadata.generation == 1
    same = registry.update_status(counted)
    assert same.metadata.resource_version == counted.metadata.resource_version  # no-op: no new revision
    with pytest.raises(objects.ValidationError, match=r'Deployment "obj" is invalid: status.replicas: Invalid value: '
                                                      r'-1: must be greater than or equal to 0'):
        registry.update_status(counted.replace(status=counted.status.replace(replicas=-1)))
    with pytest.raises(objects.Conflict):
        registry.update_status(deploy.replace(status=deploy.status.replace(replicas=2)))
    with pytest.raises(objects.NotFound):
        registry.patch_status("Pod", "nope", {"status": {"phase": "Running"}}, "default")


def test_a_status_write_deletes_an_object_being_deleted_without_finalizers(registry):
    body = objects.from_dict(_pod({}, {}, {"uid": "u", "deletionTimestamp": STAMP}, False), defaults=True).to_dict()
    registry.store.put(KEYS["Pod"], msgpack.packb(body, use_bin_type=True))
    gone = registry.patch_status("Pod", "obj", {"status": {"phase": "Failed"}}, "default")
    assert gone.status.phase == "Failed"
    assert registry.store.get(KEYS["Pod"]) is None


def test_the_written_status_shares_nothing_with_the_patch(registry):
    registry.create(objects.from_dict(_pod({}, {}, {}, False)))
    statuses = [{"name": "c", "state": {"running": {}}}]
    conditions = [{"type": "Ready", "status": "True"}]
    written = registry.patch_status("Pod", "obj", {"status": {"conditions": conditions,
                                                              "containerStatuses": statuses}}, "default")
    statuses[0]["name"], conditions[0]["status"] = "changed", "False"
    conditions.append({"type": "Initialized", "status": "True"})
    for pod in (written, registry.get("Pod", "obj", "default")):
        assert pod.status.unknown_fields["containerStatuses"] == [{"name": "c", "state": {"running": {}}}]
        assert [(c.type, c.status) for c in pod.status.conditions] == [("Ready", "True")]
    stored = msgpack.unpackb(registry.store.get(KEYS["Pod"]).value, raw=False)
    assert stored["status"] == {"conditions": [{"type": "Ready", "status": "True"}],
                                "containerStatuses": [{"name": "c", "state": {"running": {}}}]}


# ------------------------------------------------------------------------------------------------ every kind of the corpus

MANIFESTS = pathlib.Path(__file__).parent / "manifests"
CORPUS = [obj.to_dict() for path in sorted(MANIFESTS.iterdir()) for obj in objects.load(path)
          if obj.kind not in ("CronTab",)]  # a custom resource would need its kind registered first
STATUS_WRITES = [
    lambda reg, kind, name, ns: reg.patch_status(kind, name, {"status": {"conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": STAMP}]}}, ns),
    lambda reg, kind, name, ns: reg.patch_status(kind, name, {"status": {"observedGeneration": -1}}, ns),
    lambda reg, kind, name, ns: reg.patch_status(kind, name, {"status": None}, ns),
    lambda reg, kind, name, ns: reg.patch_status(kind, name, {"status": {"phase": "Bogus"}}, ns),
    lambda reg, kind, name, ns: reg.update_status(reg.get(kind, name, ns)),
    lambda reg, kind, name, ns: reg.update_status(_with_status(reg.get(kind, name, ns), {"conditions": [
        {"type": "Available", "status": "Maybe"}]})),
]


def _with_status(obj, raw):
    field = type(obj)._by_key.get("status")
    if field is None or not hasattr(field.type, "cls"):
        return obj
    return obj.replace(status=field.type.cls._read(raw, "", "status", []))


@pytest.mark.parametrize("body", CORPUS, ids=lambda d: f"{d['kind']}-{d['metadata'].get('name')}")
def test_every_kind_of_the_corpus_writes_status_as_the_general_path(body):
    general, fast = twin_registries("_status_fast", None, "put", body)
    info = general.kind_info(body["kind"])
    name, ns = body["metadata"]["name"], body["metadata"].get("namespace", "default") if info.namespaced else None
    key = info.key(name, ns)
    try:
        for write in STATUS_WRITES:
            with reference_reads():
                expected = _outcome(lambda: write(general, body["kind"], name, ns))
            assert _outcome(lambda: write(fast, body["kind"], name, ns)) == expected
            assert fast.store.get(key).value == general.store.get(key).value
            assert fast.store.get(key).mod_revision == general.store.get(key).mod_revision
    finally:
        general.store.close()
        fast.store.close()


# ------------------------------------------------------------------------------------------------ concurrent writes

def _racing(fast, write):
    """``write`` on a registry whose first read of the pod is overtaken by another status write (the CAS
    fails): the outcome and what is stored after."""
    body = _pod({}, {}, {"uid": "u", "creationTimestamp": STAMP, "generation": 1}, False)
    return overtaken_write(
        "_status_fast", fast, KEYS["Pod"], body, "Pod",
        lambda reg: reg.patch_status("Pod", "obj", {"status": {"message": "the other writer"}}, "default"),
        lambda reg, first: _outcome(lambda: write(reg, first)))


@pytest.mark.parametrize("write", [
    lambda reg, first: reg.patch_status("Pod", "obj", {"status": {"phase": "Running"}}, "default"),
    lambda reg, first: reg.patch_status("Pod", "obj", {"metadata": {"resourceVersion": first.metadata.resource_version},
                                                       "status": {"phase": "Running"}}, "default"),
    lambda reg, first: reg.update_status(first.replace(status=first.status.replace(phase="Running"))),
    lambda reg, first: reg.update_status(first.replace(metadata=first.metadata.replace(resource_version=None),
                                                       status=first.status.replace(phase="Running"))),
], ids=["patch", "patch with precondition", "update as read", "unconditional update"])
def test_a_status_write_overtaken_by_another_retries_or_conflicts_as_the_general_path(write):
    outcome, state = _racing(True, write)
    assert (outcome, state) == _racing(False, write)
    assert outcome[0] in ("ok", objects.Conflict)
