"""Registry watch: replay from a resourceVersion then follow; selector transitions; bookmarks; expiry."""
import threading

import pytest

from objects.errors import Expired

from registry_helpers import new_registry, pod

WAIT = 5.0  # seconds; every wait in these tests is bounded


@pytest.fixture
def reg(kv_backend):
    store, registry = new_registry(backend=kv_backend)
    yield registry
    store.close()


def drain(stream, n):
    events = []
    for _ in range(n):
        event = stream.get(WAIT)
        assert event is not None, f"only {len(events)} of {n} events arrived"
        events.append(event)
    return events


def test_watch_from_resource_version_replays_then_follows(reg):
    a = reg.create(pod("a"))
    reg.create(pod("b"))
    reg.patch("Pod", "a", {"metadata": {"labels": {"x": "1"}}})
    reg.delete("Pod", "b")
    with reg.watch("Pod", all_namespaces=True, resource_version=a.metadata.resource_version) as stream:
        replayed = drain(stream, 3)
        assert [(e.type, e.object.metadata.name) for e in replayed] == [
            ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
        versions = [int(e.resource_version) for e in replayed]
        assert versions == sorted(versions) and versions[0] > int(a.metadata.resource_version)
        reg.create(pod("c"))
        live = drain(stream, 1)[0]
        assert (live.type, live.object.metadata.name) == ("ADDED", "c")
        assert live.object.metadata.resource_version == live.resource_version
        assert stream.get(0.05) is None


def test_watch_without_resource_version_starts_with_current_objects(reg):
    reg.create(pod("a"))
    reg.create(pod("b", namespace="other"))
    with reg.watch("Pod", namespace="default") as stream:
        first = drain(stream, 1)[0]
        assert (first.type, first.object.metadata.name) == ("ADDED", "a")
        reg.create(pod("c", namespace="other"))     # other namespace: not seen
        reg.create(pod("d"))
        assert drain(stream, 1)[0].object.metadata.name == "d"


def test_selector_transitions_are_added_and_deleted(reg):
    reg.create(pod("a", labels={"app": "db"}))
    start = reg.list("Pod", all_namespaces=True).resource_version
    with reg.watch("Pod", all_namespaces=True, resource_version=start, label_selector="app=web") as stream:
        reg.patch("Pod", "a", {"metadata": {"labels": {"app": "web"}}})      # starts matching
        reg.patch("Pod", "a", {"metadata": {"labels": {"v": "2"}}})          # still matching
        reg.patch("Pod", "a", {"metadata": {"labels": {"app": "api"}}})      # stops matching
        reg.patch("Pod", "a", {"metadata": {"labels": {"v": "3"}}})          # unseen
        reg.patch("Pod", "a", {"metadata": {"labels": {"app": "web"}}})
        reg.delete("Pod", "a")
        events = drain(stream, 5)
        assert [e.type for e in events] == ["ADDED", "MODIFIED", "DELETED", "ADDED", "DELETED"]
        assert events[2].object.metadata.labels["app"] == "web"            # last state that matched
        assert stream.get(0.05) is None


def test_field_selector_watch_sees_binding(reg):
    reg.create(pod("a"))
    with reg.watch("Pod", all_namespaces=True, field_selector="spec.nodeName=n1", resource_version="1") as stream:
        reg.patch("Pod", "a", {"spec": {"nodeName": "n1"}})
        event = drain(stream, 1)[0]
        assert event.type == "ADDED" and event.object.spec.node_name == "n1"


def test_bookmark_on_request(reg):
    reg.create(pod("a"))
    with reg.watch("Pod", all_namespaces=True, resource_version=str(reg.store.revision)) as stream:
        stream.request_bookmark()
        event = drain(stream, 1)[0]
        assert event.type == "BOOKMARK" and event.object is None
        assert int(event.resource_version) >= 2


def test_compacted_resource_version_is_expired(reg):
    reg.create(pod("a"))
    reg.create(pod("b"))
    reg.store.compact(reg.store.revision)
    with pytest.raises(Expired):
        reg.watch("Pod", all_namespaces=True, resource_version="1")


def test_iteration_ends_when_stopped(reg):
    stream = reg.watch("Pod", all_namespaces=True)
    got = []

    def consume():
        for event in stream:
            got.append(event)

    t = threading.Thread(target=consume)
    t.start()
    reg.create(pod("a"))
    for _ in range(500):
        if got:
            break
        t.join(0.01)
    stream.stop()
    t.join(WAIT)
    assert not t.is_alive()
    assert [e.object.metadata.name for e in got] == ["a"]


def test_watchers_get_the_object_the_write_returned(reg):
    with reg.watch("Pod", all_namespaces=True, resource_version=str(reg.store.revision)) as stream:
        created = reg.create(pod("a"))
        event = drain(stream, 1)[0]
        assert event.object is created              # decoded once per revision, shared (immutable values)


def test_recent_objects_are_bounded():
    from objects.recentobjects import RecentObjects
    recent = RecentObjects(capacity=3)
    for i in range(5):
        recent.put((b"k", i), i)
    assert len(recent) == 3 and recent.get((b"k", 0)) is None and recent.get((b"k", 4)) == 4


def test_recent_objects_find_an_evicted_object_while_it_is_held():
    import gc

    from objects.recentobjects import RecentObjects

    class Held:  # weakly referenceable, like every model of a kind
        pass

    recent = RecentObjects(capacity=1)
    kept, dropped = Held(), Held()
    recent.put((b"a", 1), kept)
    recent.put((b"b", 1), dropped)
    recent.put((b"c", 1), {"a plain dict": "held strongly only"})
    del dropped
    gc.collect()
    assert recent.get((b"a", 1)) is kept            # out of the strong window, still held by this test
    assert recent.get((b"b", 1)) is None            # held by nobody: gone
    assert recent.get((b"c", 1)) == {"a plain dict": "held strongly only"}
    recent.put((b"d", 1), Held(), strong=False)     # a reader far behind: never evicts the strong window
    assert len(recent) == 1 and recent.get((b"c", 1)) is not None


def test_recent_objects_hold_weakly_only_what_something_else_holds():
    from objects.recentobjects import RecentObjects

    class Held:
        pass

    recent = RecentObjects(capacity=1)
    kept = Held()
    recent.put((b"a", 1), kept)
    recent.put((b"b", 1), Held())       # evicts kept: still held by this test, so held weakly
    recent.put((b"c", 1), Held())       # evicts b's object, which nothing else holds: not held at all
    assert list(recent._held.keys()) == [(b"a", 1)]
    assert recent.get((b"a", 1)) is kept and recent.get((b"b", 1)) is None


def test_watchers_behind_the_remembered_window_share_one_object_per_revision(reg, monkeypatch):
    monkeypatch.setattr(reg._recent, "_capacity", 2)   # the window, made small enough to fall behind
    start = str(reg.store.revision)
    created = [reg.create(pod(f"p{i}")) for i in range(6)]
    del created
    with reg.watch("Pod", all_namespaces=True, resource_version=start) as first, \
            reg.watch("Pod", all_namespaces=True, resource_version=start) as second:
        a, b = drain(first, 6), drain(second, 6)
    assert [e.object.metadata.name for e in a] == [f"p{i}" for i in range(6)]
    assert all(x.object is y.object for x, y in zip(a, b))   # decoded once while the first still holds it
