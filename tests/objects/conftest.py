"""The Registry suites run on the embedded store and on kvstore.connect() to a real etcd (``kv_backend``)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the etcd helper modules
from etcd_store import BACKENDS  # noqa: E402


@pytest.fixture(params=BACKENDS)
def kv_backend(request: pytest.FixtureRequest) -> str:
    """"embedded" or "etcd": the store a Registry test builds its Registry on."""
    return str(request.param)
