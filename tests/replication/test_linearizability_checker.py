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


def lease(kind, result, start, end, arg=None):
    return Operation(("lease", 1), kind, arg, result, start, end)


def test_a_lease_read_that_misses_an_acknowledged_grant_or_revoke_is_rejected() -> None:
    granted = [lease("grant", True, 0, 1)]
    assert check_history(granted + [lease("alive", False, 2, 3)]) == ("lease", 1)
    assert check_history(granted + [lease("alive", True, 2, 3)]) is None
    revoked = granted + [lease("lput", True, 2, 3, b"v"), lease("revoke", True, 4, 5)]
    assert check_history(revoked + [lease("alive", True, 6, 7)]) == ("lease", 1)
    assert check_history(revoked + [lease("lget", b"v", 6, 7)]) == ("lease", 1)  # keys go with the lease
    assert check_history(revoked + [lease("lget", None, 6, 7), lease("alive", False, 6, 7)]) is None
    assert check_history(revoked + [lease("lput", True, 6, 7, b"w")]) == ("lease", 1)
    assert check_history(revoked + [lease("lput", False, 6, 7, b"w")]) is None


def test_lease_operations_concurrent_with_a_grant_or_revoke_may_see_either_side() -> None:
    for seen in (True, False):
        assert check_history([lease("grant", True, 0, 5), lease("alive", seen, 1, 2)]) is None
        assert check_history([lease("grant", True, 0, 1), lease("revoke", True, 2, 6),
                              lease("alive", seen, 3, 4)]) is None
    # two acknowledged grants of one ID: only one can have created it
    assert check_history([lease("grant", True, 0, 5), lease("grant", True, 1, 4)]) == ("lease", 1)


def test_a_lease_operation_with_unknown_outcome_may_or_may_not_have_happened() -> None:
    for seen in (True, False):
        assert check_history([lease("grant", True, 0, 1), lease("revoke", None, 2, I),
                              lease("alive", seen, 5, 6)]) is None
    assert check_history([lease("grant", None, 0, I), lease("lput", True, 2, 3, b"v"),
                          lease("lget", b"v", 4, 5)]) is None


@settings(max_examples=100, deadline=None)
@given(script=st.lists(st.tuples(st.sampled_from(["grant", "revoke", "alive", "lput", "lget"]),
                                 st.integers(0, 3)), max_size=12),
       stretch=st.lists(st.floats(0, 3), min_size=12, max_size=12))
def test_histories_of_a_real_lease_are_linearizable(script, stretch) -> None:
    """Run lease operations on a real lease object at instants t, each with an interval around t."""
    live, value, history = False, None, []
    for t, ((kind, number), extra) in enumerate(zip(script, stretch)):
        arg = None
        if kind == "grant":
            result, live, value = not live, True, (value if live else None)
        elif kind == "revoke":
            result, live, value = live, False, None
        elif kind == "alive":
            result = live
        elif kind == "lput":
            arg, result = number, live
            value = number if live else value
        else:
            result = value if live else None
        history.append(lease(kind, result, t - extra, t + extra, arg))
    assert check_history(history) is None
