"""Shared builders for the registry tests (not a test module)."""
from __future__ import annotations

import sys
from pathlib import Path

import kvstore
import objects
from objects.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the etcd helper modules
from etcd_store import open_store  # noqa: E402


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
