"""ImageLocality (Score): prefer nodes that already hold the pod's images, weighted by how widely each
image is spread (so a rare image does not pull every pod to its one node).

``sum(size * nodes_with_image / all_nodes)`` over the pod's containers' images present on the node, clamped
to [23 MiB, 1000 MiB * containers] and scaled to 0..100, as kube-scheduler's ``imagelocality``. The score
reads the whole cluster (image spread, node count), so the equivalence key includes the cache's image
generation and the node count.
"""
from __future__ import annotations

from typing import Any, Hashable, Optional

from ..framework import CycleState, NodeInfo, Plugin, ScorePlugin, normalized_image_name

__all__ = ["ImageLocality"]

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def _images(pod: Any) -> tuple[str, ...]:
    spec = pod.spec
    containers = spec.containers
    if len(containers) == 1 and not spec.init_containers:  # most pods: no generator to run
        return (normalized_image_name(containers[0].image or ""),)
    return tuple(normalized_image_name(c.image or "") for c in (*spec.init_containers, *containers))


class ImageLocality(Plugin, ScorePlugin):
    """kube-scheduler's ``imagelocality`` plugin."""

    name = "ImageLocality"
    equivalence_key_volatile = True  # the key holds the image generation and the node count

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        snapshot = getattr(self.handle, "snapshot", None)
        if snapshot is None:
            return None
        return (_images(pod), snapshot.image_generation, snapshot.num_nodes())

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        total_nodes = self.handle.snapshot.num_nodes() if self.handle is not None else 1
        images = _images(pod)
        states = node_info.image_states
        total = 0
        if states and total_nodes:
            for image in images:
                summary = states.get(image)
                if summary is not None:
                    total += int(summary.size * (summary.num_nodes / total_nodes))
        max_threshold = MAX_CONTAINER_THRESHOLD * len(images)
        if total < MIN_THRESHOLD:
            total = MIN_THRESHOLD
        elif total > max_threshold:
            total = max_threshold
        if max_threshold <= MIN_THRESHOLD:
            return 0
        return 100 * (total - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)
