"""The checker accepts what a register can do and rejects what it cannot."""
from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from .linearizability import Operation, check_history

I = math.inf


def op(kind, arg, result, start, end, key="k"):
    return Operation(key, kind, arg, result, start, end)


def test_stale_read_after_acknowledged_write_is_rejected() -> None:
    history = [op("put", 1, None, 0, 1), op("put", 2, None, 2, 3), op("get", None, 1, 4, 5)]
    assert check_history(history) == "k"


def test_concurrent_read_may_see_either_value() -> None:
    for seen in (1, 2):
        history = [op("put", 1, None, 0, 1), op("put", 2, None, 2, 5), op("get", None, seen, 3, 4)]
        assert check_history(history) is None


def test_two_successful_cas_from_the_same_value_are_rejected() -> None:
    history = [op("put", 0, None, 0, 1), op("cas", (0, 1), True, 2, 5), op("cas", (0, 2), True, 2, 5)]
    assert check_history(history) == "k"


def test_unknown_write_may_or_may_not_have_happened() -> None:
    assert check_history([op("put", 7, None, 0, I), op("get", None, 7, 5, 6)]) is None
    assert check_history([op("put", 7, None, 0, I), op("get", None, None, 5, 6)]) is None
    assert check_history([op("put", 7, None, 0, I), op("get", None, 8, 5, 6)]) == "k"


steps = st.lists(st.tuples(st.sampled_from(["put", "get", "cas"]), st.integers(0, 3), st.integers(0, 3)),
                 max_size=12)


@settings(max_examples=100, deadline=None)
@given(script=steps, stretch=st.lists(st.floats(0, 3), min_size=12, max_size=12))
def test_histories_of_a_real_register_are_linearizable(script, stretch) -> None:
    """Run ops on a real register at instants t; give each an interval around t: always accepted."""
    state, history = None, []
    for t, ((kind, a, b), extra) in enumerate(zip(script, stretch)):
        if kind == "put":
            state, result, arg = a, None, a
        elif kind == "get":
            result, arg = state, None
        else:
            arg, result = (a, b), state == a
            state = b if result else state
        history.append(op(kind, arg, result, t - extra, t + extra))
    assert check_history(history) is None
