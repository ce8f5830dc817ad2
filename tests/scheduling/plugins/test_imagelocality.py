"""ImageLocality: image size scaled by spread, clamped to [23 MiB, 1000 MiB x containers], 0..100."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402

MB = 1024 * 1024


def test_score_by_hand_and_spread_scaling() -> None:
    s = Scheduler()
    s.add_node(node("has", images=[{"names": ["registry.example/web:1"], "sizeBytes": 500 * MB}]))
    s.add_node(node("not"))
    raw = s.explain(pod("p", image="registry.example/web:1")).raw_scores["ImageLocality"]
    # 500 MiB * (1 node of 2) = 250 MiB -> 100 * (250 - 23) / (1000 - 23) = 23
    assert raw == {"has": 23, "not": 0}
    s.add_node(node("also", images=[{"names": ["registry.example/web:1"], "sizeBytes": 500 * MB}]))
    raw = s.explain(pod("p", image="registry.example/web:1")).raw_scores["ImageLocality"]
    # now 2 of 3 nodes: 500 * 2/3 = 333 MiB -> 100 * (333.3 - 23) / 977 = 31
    assert raw["has"] == raw["also"] == 31 and raw["not"] == 0


def test_untagged_images_mean_latest() -> None:
    s = Scheduler()
    s.add_node(node("has", images=[{"names": ["web:latest"], "sizeBytes": 1000 * MB}]))  # 500 MiB after spread -> 48
    s.add_node(node("not"))
    assert s.explain(pod("p", image="web")).raw_scores["ImageLocality"]["has"] == 48
