"""Hypothesis: the Registry against a plain model (dict of name -> data, resourceVersion) and the
RFC 7386 merge-patch laws."""
import json

from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kvstore
from objects.errors import AlreadyExists, Conflict, NotFound
from objects.mergepatch import merge_patch
from objects.registry import Registry

from registry_helpers import config_map

names = st.sampled_from(["a", "b", "c"])
values = st.sampled_from(["0", "1", "2"])


class RegistryMachine(RuleBasedStateMachine):
    """Creates, CAS updates (fresh and stale), patches and deletes of ConfigMaps; revisions exact."""

    def __init__(self):
        super().__init__()
        self.store = kvstore.open()
        self.reg = Registry(self.store, clock=lambda: 0.0)
        self.model = {}        # name -> (data value, resourceVersion int)
        self.seen = {}         # name -> the last object the registry returned for it
        self.revision = 1
        self.stream = self.reg.watch("ConfigMap", all_namespaces=True, resource_version="1")
        self.mirror = {}       # name -> (data value, resourceVersion) rebuilt from watch events only
        self.mirror_revision = 1

    def teardown(self):
        self.stream.stop()
        self.store.close()

    @rule(name=names, value=values)
    def create(self, name, value):
        try:
            obj = self.reg.create(config_map(name, {"v": value}))
        except AlreadyExists:
            assert name in self.model
            return
        assert name not in self.model
        self.revision += 1
        assert obj.metadata.resource_version == str(self.revision)
        self.model[name] = (value, self.revision)
        self.seen[name] = obj

    @precondition(lambda self: self.seen)
    @rule(data=st.data(), value=values)
    def update_last_seen(self, data, value):
        name = data.draw(st.sampled_from(sorted(self.seen)))
        obj = self.seen[name]
        try:
            result = self.reg.update(obj.replace(data={"v": value}))
        except Conflict:
            assert name in self.model and self.model[name][1] != int(obj.metadata.resource_version)
            return
        except NotFound:
            assert name not in self.model
            return
        current_value, current_rv = self.model[name]
        assert current_rv == int(obj.metadata.resource_version)
        if value != current_value:
            self.revision += 1
        assert result.metadata.resource_version == str(self.revision if value != current_value else current_rv)
        self.model[name] = (value, int(result.metadata.resource_version))
        self.seen[name] = result

    @rule(name=names, value=st.one_of(st.none(), values))
    def patch(self, name, value):
        try:
            result = self.reg.patch("ConfigMap", name, {"data": {"v": value}})
        except NotFound:
            assert name not in self.model
            return
        old_value, old_rv = self.model[name]
        if value != old_value:
            self.revision += 1
        assert (result.data or {}).get("v") == value
        self.model[name] = (value, self.revision if value != old_value else old_rv)

    @rule(name=names)
    def delete(self, name):
        try:
            self.reg.delete("ConfigMap", name)
        except NotFound:
            assert name not in self.model
            return
        self.revision += 1
        del self.model[name]

    @invariant()
    def watch_mirror_matches_model(self):
        for _ in range(1000):                     # bounded: one event per changing step at most
            if self.mirror_revision >= self.revision:
                break
            event = self.stream.get(5.0)
            assert event is not None, "the watch stopped delivering"
            rv = int(event.resource_version)
            assert rv > self.mirror_revision      # strictly increasing, no duplicates
            name = event.object.metadata.name
            if event.type == "DELETED":
                assert name in self.mirror
                del self.mirror[name]
            else:
                assert (event.type == "ADDED") == (name not in self.mirror)
                self.mirror[name] = ((event.object.data or {}).get("v"), rv)
            self.mirror_revision = rv
        assert self.mirror == self.model

    @invariant()
    def list_matches_model(self):
        listed = self.reg.list("ConfigMap", all_namespaces=True)
        assert listed.resource_version == str(self.revision)
        got = {o.metadata.name: ((o.data or {}).get("v"), int(o.metadata.resource_version)) for o in listed.items}
        assert got == self.model


TestRegistryMachine = RegistryMachine.TestCase
TestRegistryMachine.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3)),
    max_leaves=10)
json_objects = st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, max_size=3)


def strip_nulls(value):
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    return value


@settings(max_examples=200, deadline=None)
@given(json_objects, json_objects)
def test_merge_patch_laws(target, patch):
    snapshot = json.dumps(target, sort_keys=True)
    once = merge_patch(target, patch)
    assert json.dumps(target, sort_keys=True) == snapshot               # inputs untouched
    assert merge_patch(once, patch) == once                              # idempotent
    for key, value in patch.items():
        if value is None:
            assert key not in once                                       # null removes
        elif not isinstance(value, dict):
            assert once[key] == strip_nulls(value)                       # non-objects replace
    for key in target:
        if key not in patch:
            assert once[key] == target[key]                              # untouched keys stay


def test_merge_patch_rfc7386_examples():
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch({"a": {"bb": {"ccc": None}}}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    assert merge_patch(["a"], {"a": {"b": None}}) == {"a": {}}
