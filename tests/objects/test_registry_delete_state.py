"""Registry.delete returns the object's last state at the deletion's resourceVersion: the same whether the
registry still remembers the decoded object (it then moves that one to the new revision instead of decoding
again) or must decode the stored bytes; watchers get the same object in the DELETED event."""
from __future__ import annotations

import objects
from objects.registry import Registry

from registry_helpers import new_registry, pod


def _without_version(obj) -> dict:
    d = objects.to_dict(obj)
    d["metadata"].pop("resourceVersion")
    return d


def test_the_last_state_is_the_same_remembered_or_decoded() -> None:
    store, reg = new_registry()
    try:
        reg.create(pod("remembered", labels={"app": "a"}))
        reg.create(pod("decoded", labels={"app": "a"}))
        before = {name: reg.get("Pod", name) for name in ("remembered", "decoded")}
        fresh = Registry(store, clock=lambda: 1_700_000_000.0)  # nothing decoded yet
        stream = reg.watch("Pod", all_namespaces=True, resource_version=before["decoded"].metadata.resource_version)
        try:
            gone = {"remembered": reg.delete("Pod", "remembered"), "decoded": fresh.delete("Pod", "decoded")}
            events = [stream.get(5.0) for _ in range(2)]
        finally:
            stream.stop()
        for name, last in gone.items():
            assert _without_version(last) == _without_version(before[name])
            assert int(last.metadata.resource_version) > int(before[name].metadata.resource_version)
        assert [(e.type, e.object.metadata.name) for e in events] == [("DELETED", "remembered"),
                                                                        ("DELETED", "decoded")]
        for event in events:
            assert objects.to_dict(event.object) == objects.to_dict(gone[event.object.metadata.name])
        assert gone["remembered"].metadata.resource_version == str(store.status().revision - 1)
        assert gone["decoded"].metadata.resource_version == str(store.status().revision)
    finally:
        store.close()


def test_a_watcher_behind_the_remembered_window_decodes_each_event_once() -> None:
    from objects.recentobjects import RecentObjects

    store, reg = new_registry()
    try:
        reg._recent = RecentObjects(4)  # a small window: what a long lag is against the default one
        start = reg.create(pod("first")).metadata.resource_version
        stream = reg.watch("Pod", all_namespaces=True, resource_version=start)
        try:
            # only their dict forms kept: a written object still held is shared, not decoded (weak layer)
            written = [objects.to_dict(reg.create(pod(f"p{i}", labels={"i": str(i)}))) for i in range(10)]
            decoded = []
            decode = reg._codec.from_dict
            # the codec is the objects.codec module: its from_dict is put back for the tests that follow
            reg._codec.from_dict = lambda d, **kw: decoded.append(d["metadata"]["name"]) or decode(d, **kw)
            try:
                events = [stream.get(5.0) for _ in written]
            finally:
                reg._codec.from_dict = decode
        finally:
            stream.stop()
        assert [objects.to_dict(e.object) for e in events] == written
        # The six older than the window are decoded; the four it still holds are not (each decoded miss
        # remembered would have evicted the next one read, and every read would have been a miss).
        assert decoded == [f"p{i}" for i in range(6)]
    finally:
        store.close()
