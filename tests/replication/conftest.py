from __future__ import annotations

from typing import Any, Iterator

import pytest

from .harness import ProcessCluster


@pytest.fixture
def cluster_factory(tmp_path) -> Iterator:
    """Builds ProcessClusters; every process and proxy is stopped at the end, even on failure."""
    made: list[ProcessCluster] = []

    def make(size: int, **options: Any) -> ProcessCluster:
        cluster = ProcessCluster(size, str(tmp_path), options=options)
        made.append(cluster)
        cluster.start_all()
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()
