"""The kubelet's times: rfc3339 remembers the last second it wrote, and writes every time as it always did."""
from __future__ import annotations

import datetime
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.kubeletstatus import rfc3339

times = st.one_of(st.floats(-1e10, 1e10, allow_nan=False), st.integers(-10**10, 10**10),
                  st.sampled_from([0, 0.5, -0.5, 1_700_000_000, 1_700_000_000.999, 1_700_000_001.0]))


@settings(max_examples=300, deadline=None)
@given(st.lists(times, min_size=1, max_size=8))
def test_rfc3339_writes_whole_utc_seconds(sequence):
    """Times one after the other (the same second again, other seconds, earlier ones)."""
    for seconds in sequence + sequence[::-1]:
        expected = datetime.datetime.fromtimestamp(math.floor(seconds), tz=datetime.timezone.utc)
        assert rfc3339(seconds) == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
