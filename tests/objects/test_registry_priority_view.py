"""Priority admission on create sees every PriorityClass write at once, whoever made it, also when the
Registry skips reading the classes because the embedded store's revision says nothing changed
(objects.priorityclasses): each create stores the priority a Registry that never read the classes
before would store."""
from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

import kvstore
import objects
from objects import ValidationError
from objects.registry import Registry

CLOCK = 1_700_000_000.0
_CLASS_PREFIX = "/registry/priorityclasses/"


def _class(name: str, value: int, default: bool) -> Any:
    return objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                              "metadata": {"name": name}, "value": value, "globalDefault": default})


def _pod(name: str, class_name: str | None) -> Any:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "pause"}]}
    if class_name:
        spec["priorityClassName"] = class_name
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def _spec_stored(store: Any, name: str) -> Any:
    kv = store.get(f"/registry/pods/default/{name}")
    return None if kv is None else msgpack.unpackb(kv.value, raw=False)["spec"]


_steps = st.lists(st.one_of(
    st.tuples(st.just("create"), st.sampled_from([None, "high", "low"])),
    st.tuples(st.just("bind"), st.none()),
    st.tuples(st.just("class-here"), st.sampled_from(["high", "low"]), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("class-elsewhere"), st.sampled_from(["high", "low"]), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("class-raw"), st.sampled_from(["high", "low"]), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("delete-elsewhere"), st.sampled_from(["high", "low"])),
    st.tuples(st.just("other-key"), st.none()),
), min_size=1, max_size=25)


@settings(max_examples=80, deadline=None)
@given(steps=_steps)
def test_every_create_admits_with_the_classes_stored_at_that_moment(steps):
    with kvstore.open() as store:
        registry = Registry(store, clock=lambda: CLOCK)  # the one under test: it remembers the classes
        other = Registry(store, clock=lambda: CLOCK)  # another client of the same store
        created: list[str] = []
        for n, step in enumerate(steps):
            action = step[0]
            if action == "create":
                name = f"p{n}"
                reference = f"ref{n}"
                try:
                    registry.create(_pod(name, step[1]))
                    created.append(name)
                except ValidationError as e:  # a class that does not exist (now)
                    assert e.errors[0].path == "spec.priorityClassName"
                # a Registry that never read the classes, right after: the same admission
                try:
                    Registry(store, clock=lambda: CLOCK).create(_pod(reference, step[1]))
                except ValidationError:
                    assert _spec_stored(store, name) is None
                    continue
                assert _spec_stored(store, name) == _spec_stored(store, reference)
            elif action == "bind" and created:
                registry.bind(created.pop(0), "node-1", "default")
            elif action == "class-here":
                _, name, value, default = step
                _write_class(registry, name, value, default)
            elif action == "class-elsewhere":
                _, name, value, default = step
                _write_class(other, name, value, default)
            elif action == "class-raw":
                _, name, value, default = step
                doc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                       "metadata": {"name": name, "uid": "u", "creationTimestamp": "2023-11-14T22:13:20Z"},
                       "value": value, "globalDefault": default, "preemptionPolicy": "PreemptLowerPriority"}
                store.put(_CLASS_PREFIX + name, msgpack.packb(doc, use_bin_type=True))
            elif action == "delete-elsewhere":
                try:
                    other.delete("PriorityClass", step[1])
                except objects.NotFound:
                    pass
            elif action == "other-key":
                store.put("/unrelated/key", b"x")


def _write_class(registry: Registry, name: str, value: int, default: bool) -> None:
    try:
        registry.create(_class(name, value, default))
    except objects.AlreadyExists:
        current = registry.get("PriorityClass", name)
        registry.update(current.replace(value=value, global_default=default))
    except ValidationError:
        pass
