"""NodeResourcesBalancedAllocation: 100 * (1 - |cpu fraction - memory fraction| / 2), best-effort skip."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling.framework import CycleState, NodeInfo  # noqa: E402
from scheduling.plugins import NodeResourcesBalancedAllocation  # noqa: E402
from scheduling.plugins.balancedallocation import balanced_resource_score  # noqa: E402


def test_score_by_hand() -> None:
    plugin = NodeResourcesBalancedAllocation()
    info = NodeInfo(node("n", cpu="4", memory="8Gi"))
    info.add_pod(pod("a", cpu="1", memory="1Gi", node_name="n"))
    p = pod("p", cpu="1", memory="1Gi")
    state = CycleState()
    assert plugin.pre_score(state, p, [info]) is None
    # cpu 2/4 = 0.5, memory 2/8 = 0.25: std = 0.125 -> 87
    assert plugin.score(state, p, info) == 87


def test_three_resources_use_the_standard_deviation_and_fractions_cap_at_one() -> None:
    assert balanced_resource_score([1, 1, 1], [2, 2, 2], (1, 1, 1)) == 100
    assert balanced_resource_score([3, 0], [2, 2], (1, 1)) == 50


def test_best_effort_pods_skip() -> None:
    assert NodeResourcesBalancedAllocation().pre_score(CycleState(), pod("p", cpu=None, memory=None), []).is_skip
