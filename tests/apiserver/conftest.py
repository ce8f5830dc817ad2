"""One API server per test module, on 127.0.0.1, over an in-memory Registry."""
from __future__ import annotations

from typing import Iterator

import pytest

pytest.importorskip("aiohttp")

import apiserver  # noqa: E402
import kvstore  # noqa: E402
import objects  # noqa: E402
from apiclient import Client  # noqa: E402


@pytest.fixture(scope="module")
def registry() -> Iterator[objects.Registry]:
    store = kvstore.open()
    yield objects.Registry(store)
    store.close()


@pytest.fixture(scope="module")
def server(registry: objects.Registry) -> Iterator[apiserver.Server]:
    with apiserver.serve(registry, bookmark_interval=0.5) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: apiserver.Server) -> Client:
    return Client(server.url)
