"""Run the store contract suites on ``kvstore.connect()`` to a real etcd as well as on the embedded store.

``BACKENDS`` parametrizes a fixture over ``"embedded"`` and ``"etcd"``; ``etcd_store()`` starts a fresh
single-member etcd on 127.0.0.1 (``--unsafe-no-fsync`` and a 50 ms election timeout so it is up in a
fraction of a second: durability is not what these suites test) and yields ``kvstore.connect()`` to it.
Each test gets its own etcd: the contract tests count revisions from an empty store (revision 1).
"""
from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

import kvstore
from etcd_server import SKIP_REASON, EtcdServer, etcd_installed

__all__ = ["BACKENDS", "FAST_ELECTION", "etcd_store", "etcd_usable", "SKIP_ETCD", "open_etcd_store", "open_store"]

FAST_ELECTION = ("--heartbeat-interval", "10", "--election-timeout", "50")


def etcd_usable() -> bool:
    """The etcd binary and the client extra (aetcd) are both installed."""
    return etcd_installed() and importlib.util.find_spec("aetcd") is not None


SKIP_ETCD = pytest.mark.skipif(not etcd_usable(), reason=SKIP_REASON + " (or borgkit[etcd] not installed)")
BACKENDS = ["embedded", pytest.param("etcd", marks=[pytest.mark.etcd, SKIP_ETCD])]


@contextlib.contextmanager
def etcd_store(**connect_options: Any) -> Iterator[Any]:
    """A fresh etcd on loopback and a client connected to it; both stopped at the end."""
    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as server:
        store = kvstore.connect(f"127.0.0.1:{server.client_port}", timeout=30.0, **connect_options)
        try:
            yield store
        finally:
            store.close()


def open_etcd_store(**connect_options: Any) -> Any:
    """Like :func:`etcd_store`, for code that closes the store itself: ``store.close()`` also stops etcd."""
    server = EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION).start()
    try:
        store = kvstore.connect(f"127.0.0.1:{server.client_port}", timeout=30.0, **connect_options)
    except BaseException:
        server.stop()
        raise
    close = store.close

    def close_and_stop() -> None:
        try:
            close()
        finally:
            server.stop()

    store.close = close_and_stop
    return store


def open_store(backend: str, **options: Any) -> Any:
    """A fresh store of ``backend`` ("embedded": ``kvstore.open(**options)``; "etcd": on a fresh etcd)."""
    if backend == "etcd":
        return open_etcd_store()
    return kvstore.open(**options)
