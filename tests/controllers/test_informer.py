"""Informer on a real Registry on the embedded store: list + watch, handler order, indexes, late handlers,
relist after the watched revision was compacted."""
from __future__ import annotations

import copy
import threading

import pytest

from controllers import Informer, SharedInformers
from objects import UnknownResourceType

from ctrl_helpers import WAIT, config_map, pod, wait_for


class Recorder:
    """Handlers that log (event, key, resourceVersion) in the order they are called."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def handlers(self) -> dict:
        return {"on_add": lambda o: self._note("add", o),
                "on_update": lambda old, new: self._note("update", new, old),
                "on_delete": lambda o: self._note("delete", o)}

    def _note(self, what: str, obj, old=None) -> None:
        if old is not None:
            assert old.metadata.name == obj.metadata.name
        with self.lock:
            self.log.append((what, obj.key, obj.metadata.resource_version))

    def events(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(w, k) for w, k, _ in self.log]


@pytest.fixture
def informer(registry):
    informers = []

    def make(kind="Pod", **options):
        inf = Informer(registry, kind, **options)
        informers.append(inf)
        return inf
    yield make
    for inf in informers:
        inf.stop()
        assert not inf.running


def test_list_then_watch_in_event_order(registry, informer):
    registry.create(pod("a"))
    registry.create(pod("b", namespace="other"))
    inf = informer()
    rec = Recorder()
    inf.add_handler(**rec.handlers())
    inf.start()
    assert inf.wait_synced(WAIT)
    assert sorted(rec.events()) == [("add", "default/a"), ("add", "other/b")]
    a = registry.get("Pod", "a", "default")
    registry.update(a.replace(metadata=a.metadata.replace(labels={"x": "1"})))
    registry.create(pod("c"))
    registry.delete("Pod", "b", "other")
    registry.create(pod("b", namespace="other"))
    expected = [("update", "default/a"), ("add", "default/c"), ("delete", "other/b"), ("add", "other/b")]
    wait_for(lambda: len(rec.events()) >= 6, message="6 handler calls")
    assert rec.events()[2:] == expected
    versions = [int(rv) for _, _, rv in rec.log[2:]]
    assert versions == sorted(versions)  # handlers see the changes in revision order
    assert inf.resource_version >= versions[-1]
    assert {p.key for p in inf.lister.list()} == {"default/a", "default/c", "other/b"}
    assert [p.key for p in inf.lister.list(namespace="other")] == ["other/b"]
    assert [p.key for p in inf.lister.list(selector="x=1")] == ["default/a"]
    assert inf.lister.get("a", "default").metadata.labels == {"x": "1"}
    assert inf.lister.get("default/c") is not None and inf.lister.get("gone", "default") is None


def test_a_handler_added_late_first_sees_the_cache(registry, informer):
    for name in ("a", "b"):
        registry.create(config_map(name))
    inf = informer("ConfigMap")
    inf.start()
    assert inf.wait_synced(WAIT)
    late = Recorder()
    inf.add_handler(**late.handlers())
    assert sorted(late.events()) == [("add", "default/a"), ("add", "default/b")]
    registry.create(config_map("c"))
    wait_for(lambda: len(late.events()) == 3, message="the late handler's third call")
    assert late.events()[2] == ("add", "default/c")


def test_a_failing_handler_does_not_stop_the_others(registry, informer):
    inf = informer("ConfigMap")
    good = Recorder()
    inf.add_handler(on_add=lambda o: 1 / 0)
    inf.add_handler(**good.handlers())
    inf.start()
    registry.create(config_map("x"))
    registry.create(config_map("y"))
    wait_for(lambda: len(good.events()) == 2, message="both adds")
    assert inf.running


def test_indexes_follow_changes(registry, informer):
    inf = informer()
    inf.add_index("node", lambda p: [p.spec.node_name] if p.spec.node_name else [])
    registry.create(pod("a", node_name="n1"))
    inf.start()
    assert inf.wait_synced(WAIT)
    registry.create(pod("b", node_name="n1"))
    registry.create(pod("c", node_name="n2"))
    wait_for(lambda: len(inf.lister.by_index("node", "n1")) == 2, message="two pods on n1")
    registry.delete("Pod", "a", "default")
    wait_for(lambda: len(inf.lister.by_index("node", "n1")) == 1, message="one pod left on n1")
    assert [p.metadata.name for p in inf.lister.by_index("node", "n2")] == ["c"]
    with pytest.raises(ValueError, match="'node' already exists"):
        inf.add_index("node", lambda p: [])
    with pytest.raises(KeyError):
        inf.lister.by_index("zone", "z")


def test_relist_after_the_watched_revision_was_compacted(registry, informer):
    for name in ("keep", "change", "remove"):
        registry.create(pod(name))
    inf = informer()
    rec = Recorder()
    inf.add_handler(**rec.handlers())
    inf.start()
    assert inf.wait_synced(WAIT)
    assert inf.relists == 1
    inf.stop()  # the watch stops; cache and resourceVersion stay
    before = inf.resource_version
    changed = registry.get("Pod", "change", "default")
    registry.update(changed.replace(metadata=changed.metadata.replace(labels={"v": "2"})))
    registry.delete("Pod", "remove", "default")
    registry.create(pod("new"))
    registry.store.compact(registry.store.revision)  # the history after `before` is gone
    assert registry.store.revision > before
    del rec.log[:]
    inf.start()  # the watch from `before` is Expired: the informer lists again
    wait_for(lambda: inf.relists == 2 and len(rec.events()) == 3, message="relist and three handler calls")
    assert sorted(rec.events()) == [("add", "default/new"), ("delete", "default/remove"),
                                    ("update", "default/change")]
    assert {p.key for p in inf.lister.list()} == {p.key for p in registry.list("Pod", all_namespaces=True).items}
    assert inf.lister.get("change", "default").metadata.labels == {"v": "2"}
    registry.create(pod("after"))  # and it watches again from the new list
    wait_for(lambda: inf.lister.get("after", "default") is not None, message="a create after the relist")


def test_objects_are_shared_and_a_copy_can_be_written(registry, informer):
    registry.create(config_map("x", data={"a": "1"}))
    inf = informer("ConfigMap")
    inf.start()
    assert inf.wait_synced(WAIT)
    cached = inf.lister.get("x", "default")
    mine = copy.deepcopy(cached)
    mine.data["a"] = "2"
    assert cached.data == {"a": "1"}
    registry.update(mine)
    wait_for(lambda: inf.lister.get("x", "default").data == {"a": "2"}, message="the update")


def test_unknown_kind_is_refused(registry):
    with pytest.raises(UnknownResourceType, match="Widget"):
        Informer(registry, "Widget")


def test_shared_informers_share_one_informer_per_kind(registry):
    shared = SharedInformers(registry)
    try:
        pods = shared.informer("Pod")
        assert shared.informer("pods") is pods  # by resource name too
        shared.start()
        assert shared.wait_synced(WAIT)
        late = shared.informer("ConfigMap")  # asked for after start: started at once
        assert late.wait_synced(WAIT)
    finally:
        shared.stop()
    assert not pods.running and not late.running


def test_resync_calls_update_with_the_same_object(registry, informer):
    registry.create(config_map("x"))
    inf = informer("ConfigMap", resync_period=0.05)
    seen = []
    inf.add_handler(on_update=lambda old, new: seen.append(old is new))
    inf.start()
    wait_for(lambda: len(seen) >= 2, message="two resyncs")
    assert all(seen)
