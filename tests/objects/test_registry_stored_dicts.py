"""The dicts create and bind stored, remembered for the next write (Registry._stored_fast): the same
results, errors and stored bytes as unpacking every time, and a remembered dict is never changed."""
from __future__ import annotations

import itertools
from unittest import mock

import hypothesis.strategies as st
from hypothesis import given, settings

import kvstore
import objects
from objects.errors import ObjectsError
from objects.registry import Registry
from objects.registrytypes import unpack

from registry_helpers import DIFFERENTIAL_CLOCK, pod

NAMES = ("p0", "p1")
CONDITION = {"type": "Ready", "status": "True", "lastTransitionTime": "2023-11-14T22:13:20Z"}

creates = st.builds(lambda name, status, labels, node: ("create", name, status, labels, node), st.sampled_from(NAMES),
                    st.sampled_from([None, {"phase": "Pending"}, {"conditions": [CONDITION]}]),
                    st.sampled_from([None, {"app": "x"}]), st.sampled_from([None, "node-9"]))
binds = st.builds(lambda name, node: ("bind", name, node), st.sampled_from(NAMES), st.sampled_from(["node-1", "node-2"]))
status_patches = st.builds(
    lambda name, body: ("patch_status", name, body), st.sampled_from(NAMES),
    st.sampled_from([{"status": {"phase": "Running"}}, {"status": {"conditions": [CONDITION], "podIP": "10.0.0.1"}},
                     {"status": None}, {"status": {"phase": 5}}, {"metadata": {"labels": {"a": "b"}}},
                     {"metadata": {"resourceVersion": "CURRENT"}, "status": {"phase": "Succeeded"}},
                     {"metadata": {"resourceVersion": "3"}, "status": {"phase": "Failed"}},
                     {"status": {"containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "image": "b",
                                                        "imageID": "", "state": {"running": {}}}],
                                 "hostIP": "172.16.0.1", "x-unknown": {"k": [1, 2]}}}]))
status_updates = st.builds(lambda name, phase: ("update_status", name, phase), st.sampled_from(NAMES),
                           st.sampled_from(["Running", "Succeeded", "Bogus"]))
patches = st.builds(lambda name, body: ("patch", name, body), st.sampled_from(NAMES),
                    st.sampled_from([{"metadata": {"labels": {"b": "c"}}}, {"spec": {"activeDeadlineSeconds": 5}}]))
deletes = st.builds(lambda name: ("delete", name), st.sampled_from(NAMES))
actions = st.lists(st.one_of(creates, binds, status_patches, status_updates, patches, deletes), min_size=1,
                   max_size=12)


def _run(reg: Registry, action: tuple) -> object:
    kind, name = action[0], action[1]
    try:
        if kind == "create":
            status, labels, node = action[2:]
            body = pod(name, "ns", labels=labels, node_name=node).to_dict()
            if status is not None:
                body["status"] = status
            result = reg.create(objects.from_dict(body))
        elif kind == "bind":
            result = reg.bind(name, action[2], "ns")
        elif kind == "update_status":
            current = reg.get("Pod", name, "ns")
            result = reg.update_status(current.replace(status=current.status.replace(phase=action[2])))
        elif kind in ("patch_status", "patch"):
            body = action[2]
            if body.get("metadata", {}).get("resourceVersion") == "CURRENT":
                kv = reg.store.get(f"/registry/pods/ns/{name}")
                body = {**body, "metadata": {"resourceVersion": str(kv.mod_revision if kv else 1)}}
            result = getattr(reg, kind)("Pod", name, body, "ns")
        else:
            result = reg.delete("Pod", name, "ns")
    except ObjectsError as error:
        return type(error), str(error)
    return "ok", result.to_dict()


@settings(max_examples=150, deadline=None)
@given(actions)
def test_remembered_stored_dicts_write_what_unpacking_writes(steps):
    registries = []
    for fast in (False, True):
        reg = Registry(kvstore.open(), clock=lambda: DIFFERENTIAL_CLOCK)
        reg._stored_fast = fast
        registries.append(reg)
    general, fast = registries
    for step in steps:
        outcomes = []
        for reg in registries:
            uids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count())
            with mock.patch("objects.registry.new_uid", lambda: next(uids)):
                outcomes.append(_run(reg, step))
        assert outcomes[0] == outcomes[1], step
        assert general.store.revision == fast.store.revision
        for name in NAMES:
            a, b = (reg.store.get(f"/registry/pods/ns/{name}") for reg in registries)
            assert (a and (a.value, a.mod_revision)) == (b and (b.value, b.mod_revision)), (step, name)
    # what is remembered is what was stored, unchanged by every write after it
    for (key, revision), remembered in list(fast._stored._items.items()):
        assert remembered == unpack(fast.store.get(key, revision=revision).value)
    general.store.close()
    fast.store.close()


def test_a_bind_after_a_create_and_a_status_after_the_bind_read_the_remembered_dict():
    reg = Registry(kvstore.open(), clock=lambda: DIFFERENTIAL_CLOCK)
    created = reg.create(pod("p", "ns"))
    key = b"/registry/pods/ns/p"
    assert reg._stored.get((key, int(created.metadata.resource_version))) is not None
    with mock.patch("objects.registry.unpack", side_effect=AssertionError("unpacked")):
        bound = reg.bind("p", "node-1", "ns")
        pending = reg.patch_status("Pod", "p", {"status": {"phase": "Pending"}}, "ns")
        running = reg.patch_status("Pod", "p", {"status": {"phase": "Running"}}, "ns")
        reg.update_status(running.replace(status=running.status.replace(phase="Succeeded")))
    assert pending.status.phase == "Pending"
    assert reg._stored.get((key, int(bound.metadata.resource_version)))["spec"]["nodeName"] == "node-1"
    reg.store.close()
