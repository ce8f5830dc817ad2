"""WatchStream.take (every ready event at once) against WatchStream.get (one at a time): the same events,
in the same order, for unfiltered and selected streams, bookmarks included."""
from __future__ import annotations

import pytest
from hypothesis import given, settings

import kvstore
from hypothesis import strategies as st

from objects.errors import Expired
from objects.registry import Registry

from registry_helpers import new_registry, pod

WAIT = 5.0  # seconds; every wait in these tests is bounded

NAMES = ("a", "b", "c")
ACTIONS = st.lists(st.tuples(st.sampled_from(("create", "label", "bind", "delete", "bookmark", "take")),
                             st.sampled_from(NAMES), st.sampled_from(("web", "db"))), max_size=25)
FILTERS = ({}, {"label_selector": "app=web"}, {"field_selector": "spec.nodeName=n1"})


def summary(event):
    obj = event.object
    if obj is None:
        return (event.type, event.resource_version)
    return (event.type, obj.metadata.name, dict(obj.metadata.labels or {}), obj.spec.node_name,
            event.resource_version, obj.metadata.resource_version)


def take_all(stream, wanted):
    seen = []
    while len(seen) < wanted:
        batch = stream.take(WAIT)
        assert batch, f"only {len(seen)} of {wanted} events arrived"
        seen.extend(batch)
    return seen


@settings(max_examples=40, deadline=None)
@given(ACTIONS)
def test_take_hands_out_what_get_hands_out(actions):
    store, reg = new_registry()
    try:
        start = reg.list("Pod", all_namespaces=True).resource_version
        pairs = [(reg.watch("Pod", all_namespaces=True, resource_version=start, **f),
                  reg.watch("Pod", all_namespaces=True, resource_version=start, **f)) for f in FILTERS]
        by_get = [[] for _ in pairs]
        by_take = [[] for _ in pairs]
        live = set()
        for action, name, app in actions:
            if action == "create" and name not in live:
                reg.create(pod(name, labels={"app": app}))
                live.add(name)
            elif action == "label" and name in live:
                reg.patch("Pod", name, {"metadata": {"labels": {"app": app}}})
            elif action == "bind" and name in live:
                reg.patch("Pod", name, {"spec": {"nodeName": "n1" if app == "web" else "n2"}})
            elif action == "delete" and name in live:
                reg.delete("Pod", name)
                live.discard(name)
            elif action == "bookmark":
                for one, other in pairs:
                    one.request_bookmark()
                    other.request_bookmark()
            elif action == "take":  # part way: take what is ready, get as many
                for i, (one, other) in enumerate(pairs):
                    batch = other.take(0)
                    by_take[i].extend(batch)
                    for _ in batch:
                        event = one.get(WAIT)
                        assert event is not None
                        by_get[i].append(event)
        for i, (one, other) in enumerate(pairs):
            while True:
                event = one.get(0.01)
                if event is None:
                    break
                by_get[i].append(event)
            wanted = len(by_get[i]) - len(by_take[i])
            if wanted > 0:
                by_take[i].extend(take_all(other, wanted))
            assert other.take(0.01) == []
            assert [summary(e) for e in by_take[i]] == [summary(e) for e in by_get[i]]
            one.stop()
            other.stop()
            assert other.take(0.01) == []
    finally:
        store.close()


def test_take_after_get_starts_with_what_get_left(kv_backend):
    store, reg = new_registry(backend=kv_backend)
    try:
        start = reg.list("Pod", all_namespaces=True).resource_version
        with reg.watch("Pod", all_namespaces=True, resource_version=start) as stream:
            for name in NAMES:
                reg.create(pod(name))
            first = stream.get(WAIT)
            names = [first.object.metadata.name] + [e.object.metadata.name for e in take_all(stream, 2)]
            assert names == list(NAMES)
            assert stream.take(0.05) == []
    finally:
        store.close()


def test_take_of_a_compacted_watch_is_expired():
    with kvstore.open(watch_queue_size=2) as store:
        reg = Registry(store)
        stream = reg.watch("Pod", all_namespaces=True, resource_version="0")
        for name in ("a", "b", "c", "d", "e"):
            reg.create(pod(name))
        store.compact(store.revision)
        assert [e.object.metadata.name for e in stream.take(WAIT)] == ["a", "b"]
        with pytest.raises(Expired):
            stream.take(WAIT)
