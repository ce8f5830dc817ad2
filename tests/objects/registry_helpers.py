"""Shared builders for the registry tests (not a test module)."""
from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Callable

import msgpack

import kvstore
import objects
from objects.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the etcd helper modules
from etcd_store import open_store  # noqa: E402


def validation_problems(doc):
    """The messages of the ValidationError that reading ``doc`` raises (none if it reads)."""
    try:
        objects.from_dict(doc)
    except objects.ValidationError as e:
        return [str(err) for err in e.errors]
    return []


def pod(name=None, namespace=None, labels=None, node_name=None, generate_name=None, finalizers=None, **spec):
    meta = {}
    if name:
        meta["name"] = name
    if generate_name:
        meta["generateName"] = generate_name
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    if finalizers:
        meta["finalizers"] = finalizers
    body = {"containers": [{"name": "c", "image": "busybox"}], **spec}
    if node_name:
        body["nodeName"] = node_name
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body})


def config_map(name, data=None, namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}})


def new_registry(path=None, backend="embedded", **options):
    """A Registry on a fresh store: embedded (in memory, or durable at ``path``) or ``backend="etcd"``
    (kvstore.connect() to a fresh etcd that ``store.close()`` stops)."""
    if path is not None:
        store = kvstore.open(path, **options)
    else:
        store = open_store(backend, **options)
    return store, Registry(store, clock=lambda: 1_700_000_000.0)


DIFFERENTIAL_CLOCK = 1_700_000_000.0  # the clock of twin_registries: creationTimestamp 2023-11-14T22:13:20Z
DIFFERENTIAL_UID = "5f0c6b3a-0000-4000-8000-000000000001"


def twin_registries(flag: str, key: str | None, how: str, body: dict) -> tuple[Registry, Registry]:
    """Two registries on two stores holding the same object at the same revision, the first with the
    Registry attribute ``flag`` (a fast path's switch) off, the second with it on: a differential test
    writes the same to both. ``how``: "create" through the registry, or "put" of the codec's stored form
    straight into the store (for states a create cannot make, such as being deleted). ``key``: where the
    object is stored (None: where the registry keeps an object of its kind, name and namespace)."""
    regs = []
    for fast in (False, True):
        reg = Registry(kvstore.open(), clock=lambda: DIFFERENTIAL_CLOCK)
        setattr(reg, flag, fast)
        regs.append(reg)
    general, fast_reg = regs
    if key is None:
        info, meta = general.kind_info(body["kind"]), body["metadata"]
        key = info.key(meta["name"], (meta.get("namespace") or "default") if info.namespaced else None)
    if how == "create":
        fast_reg.create(objects.from_dict(copy.deepcopy(body)))
        value = fast_reg.store.get(key).value
    else:
        body = copy.deepcopy(body)
        body["metadata"].update(uid=DIFFERENTIAL_UID, creationTimestamp="2023-11-14T22:13:20Z", generation=1)
        value = msgpack.packb(objects.from_dict(body, defaults=True).to_dict(), use_bin_type=True)  # stored form
        fast_reg.store.put(key, value)
    general.store.put(key, value)
    assert general.store.revision == fast_reg.store.revision
    return general, fast_reg


def store_state(reg: Registry, key: str) -> tuple:
    """(the store's revision, (value, mod_revision) at ``key`` or None): what two registries must agree on."""
    kv = reg.store.get(key)
    return reg.store.revision, None if kv is None else (kv.value, kv.mod_revision)


def overtaken_write(flag: str, fast: bool, key: str, body: dict, kind: str,
                    other_write: Callable[[Registry], Any], run: Callable[[Registry, Any], Any]) -> tuple[Any, tuple]:
    """``run(reg, first)`` on a registry (its fast-path switch ``flag`` set to ``fast``) holding ``body``'s
    stored form at ``key`` as object "obj" of ``kind`` in "default", where ``first`` is that object as read
    and the registry's next read of the store is overtaken by ``other_write(reg)``, so that its CAS fails:
    what ``run`` returned, and the store_state after."""
    store = kvstore.open()
    reg = Registry(store, clock=lambda: DIFFERENTIAL_CLOCK)
    setattr(reg, flag, fast)
    store.put(key, msgpack.packb(objects.from_dict(body, defaults=True).to_dict(), use_bin_type=True))
    first = reg.get(kind, "obj", "default")
    read, armed = store.get, [True]

    def get(key, *args, **kwargs):
        kv = read(key, *args, **kwargs)
        if armed:
            armed.pop()
            other_write(reg)
        return kv  # what was read before the other write: stale now
    store.get = get
    try:
        return run(reg, first), store_state(reg, key)
    finally:
        store.close()
