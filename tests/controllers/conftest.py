import pytest

from ctrl_helpers import new_registry


@pytest.fixture
def registry():
    store, registry = new_registry()
    yield registry
    store.close()
