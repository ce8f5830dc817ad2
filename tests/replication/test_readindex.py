"""ReadIndex bookkeeping: a read is confirmed only by a majority answering a later heartbeat."""
from __future__ import annotations

import time

from hypothesis import given, settings, strategies as st

from kvstore.replication.readindex import ReadIndex


@settings(max_examples=100, deadline=None)
@given(followers=st.integers(0, 6), acks=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 20)), max_size=30),
       start=st.integers(1, 20))
def test_confirmed_iff_a_majority_acknowledged_a_later_sequence(followers, acks, start) -> None:
    index = ReadIndex()
    nodes = {f"n{i}" for i in range(followers)}
    best: dict[str, int] = {}
    for node, sequence in acks:
        name = f"n{node}"
        index.acknowledged(name, sequence)
        best[name] = max(best.get(name, 0), sequence)
    later = sum(1 for n in nodes if best.get(n, 0) >= start)
    assert index.confirmed(nodes, start) == ((1 + later) * 2 > followers + 1)


def test_sequences_grow_and_next_sequence_is_ahead_of_every_stamp() -> None:
    index = ReadIndex()
    before = index.next_sequence()
    stamps = [index.stamp() for _ in range(5)]
    assert stamps == sorted(stamps) and stamps[0] >= before
    assert index.next_sequence() > stamps[-1]


def test_wait_is_bounded() -> None:
    index = ReadIndex()
    start = time.monotonic()
    assert index.wait(lambda: False, time.monotonic() + 0.2) is False
    assert time.monotonic() - start < 5
