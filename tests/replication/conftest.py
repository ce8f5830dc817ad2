from __future__ import annotations

from typing import Iterator

import pytest

from .harness import ProcessCluster


@pytest.fixture
def cluster_factory(tmp_path) -> Iterator:
    """Builds ProcessClusters; every process and proxy is stopped at the end, even on failure."""
    made: list[ProcessCluster] = []

    def make(size: int) -> ProcessCluster:
        cluster = ProcessCluster(size, str(tmp_path))
        made.append(cluster)
        cluster.start_all()
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()
