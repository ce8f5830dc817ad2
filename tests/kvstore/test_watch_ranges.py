"""The hub's range index (which range watchers a put reaches) against testing every range, and range
watchers coming and going while writes go on."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.watch import RangeIndex

KEY = st.binary(max_size=3).map(lambda b: bytes(x % 4 + 0x61 for x in b))  # keys over "abcd": many ties
RANGE = st.tuples(KEY, st.one_of(st.just(b""), KEY))


def brute_force(ranges, key):
    return [group for (start, end), group in ranges.items() if start <= key and (not end or key < end)]


@settings(max_examples=300, deadline=None)
@given(st.lists(RANGE, max_size=8, unique=True), st.lists(KEY, max_size=20))
def test_the_index_finds_the_ranges_that_hold_a_key_in_the_order_they_came(ranges, keys):
    groups = {r: {object()} for r in ranges}  # a group stands for a set of watchers
    index = RangeIndex(groups)  # type: ignore[arg-type]
    for key in keys + [start for start, _ in ranges] + [end for _, end in ranges]:
        assert [id(g) for g in index.groups(key)] == [id(g) for g in brute_force(groups, key)], key


def test_range_watchers_added_and_canceled_between_writes_each_see_their_range_only():
    with kvstore.open() as store:
        opened = []
        for round_ in range(6):
            start, end = b"k%d" % round_, b"k%d" % (round_ + 3)
            opened.append((start, end, store.watch(start, end)))
            if round_ == 3:
                opened[0][2].cancel()
            store.put(b"k%d/x" % round_, b"%d" % round_)
        everything = store.watch(b"\0", b"\0")
        store.put(b"k5/y", b"last")
        written = [b"k%d/x" % n for n in range(6)] + [b"k5/y"]
        for round_, (start, end, watcher) in enumerate(opened):
            if round_ == 0:
                continue  # canceled
            keys = []
            while (event := watcher.get(0.05)) is not None:
                keys.append(event.kv.key)
            assert keys == [k for k in written[round_:] if start <= k < end], (start, end, keys)
        assert everything.get(5.0).kv.key == b"k5/y"
