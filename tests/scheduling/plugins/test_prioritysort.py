"""PrioritySort: higher priority first, then earlier arrival; the key agrees with less()."""
from __future__ import annotations

import pathlib
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import pod  # noqa: E402

from scheduling.plugins import PrioritySort  # noqa: E402
from scheduling.queue import QueuedPodInfo  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(st.integers(-5, 5), st.integers(-5, 5), st.floats(0, 10), st.floats(0, 10))
def test_sort_key_agrees_with_less(pa: int, pb: int, ta: float, tb: float) -> None:
    plugin = PrioritySort()
    a = QueuedPodInfo(pod("a", priority=pa), ta, 0)
    b = QueuedPodInfo(pod("b", priority=pb), tb, 1)
    assert plugin.less(a, b) == (plugin.sort_key(a) < plugin.sort_key(b))
    if pa != pb:
        assert plugin.less(a, b) == (pa > pb)
