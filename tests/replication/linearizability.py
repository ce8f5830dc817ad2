"""A Wing & Gong linearizability checker for histories of registers (put, get, compare-and-swap)
and of leases.

A lease object is one lease and the key attached to it: its state is None (not granted, or revoked
or expired, its key deleted with it) or ("live", value of its key or None). Its operations are
grant (True, or False for LeaseExists), revoke (True, or False for LeaseNotFound), alive (a read:
does time_to_live / leases() know it), lput (put the key with the lease: True, or False for
LeaseNotFound) and lget (a read of the key). Leases in the histories have TTLs far longer than a
test, so expiry is not modelled.

Objects are independent, so a history is checked key by key (P-compositionality, as Porcupine
does). For one key the search tries, among the operations not yet linearized, every one whose call
precedes the earliest pending return, memoizing (linearized set, register value) to prune. An
operation whose outcome is unknown (the client timed out or lost its member) has no return: it
may take effect at any point after its call, or never.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Optional

UNKNOWN = object()


READS = frozenset(("get", "alive", "lget"))


@dataclass(frozen=True)
class Operation:
    """One client operation: kind is 'put' (arg value), 'get' or 'cas' (arg (expected, new)) on a
    register, or 'grant', 'revoke', 'alive', 'lput' (arg value) or 'lget' on a lease object."""

    key: Any
    kind: str
    arg: Any
    result: Any
    start: float
    end: float  # math.inf when the outcome is unknown

    @property
    def unknown(self) -> bool:
        return self.end == math.inf


class CheckTimeout(Exception):
    """The search did not finish within its time budget."""


def _lease_outcomes(state: Any, op: Operation) -> list[Any]:
    """Lease-object states after `op` consistent with its result ([] if impossible)."""
    live = state is not None
    if op.kind in ("alive", "lget"):
        seen = live if op.kind == "alive" else (state[1] if live else None)
        return [state] if op.unknown or op.result == seen else []
    if op.kind == "grant":
        after = ("live", None) if not live else state
    elif op.kind == "revoke":
        after = None if live else state
    else:  # lput
        after = ("live", op.arg) if live else state
    can = live if op.kind != "grant" else not live  # whether the call succeeds from `state`
    if op.unknown:
        return [after, state] if can else [state]
    return [after] if op.result is can else []


def _outcomes(state: Any, op: Operation) -> list[Any]:
    """Register values after applying `op` to `state` consistently with its result ([] if impossible)."""
    if op.kind in ("grant", "revoke", "alive", "lput", "lget"):
        return _lease_outcomes(state, op)
    if op.kind == "put":
        return [op.arg] + ([state] if op.unknown else [])
    if op.kind == "get":
        return [state] if op.unknown or op.result == state else []
    expected, new = op.arg
    if op.unknown:
        return [new, state] if state == expected else [state]
    if op.result:
        return [new] if state == expected else []
    return [state] if state != expected else []


def check_register(ops: list[Operation], initial: Any = None, deadline: float = math.inf) -> bool:
    """Whether one register's history is linearizable."""
    ops = sorted(ops, key=lambda o: o.start)
    full = (1 << len(ops)) - 1
    seen: set[tuple[int, Any]] = set()
    stack: list[tuple[int, Any]] = [(0, initial)]
    steps = 0
    while stack:
        done, state = stack.pop()
        if done == full:
            return True
        steps += 1
        if steps % 1000 == 0 and time.monotonic() > deadline:
            raise CheckTimeout(f"linearizability search gave up after {steps} steps")
        pending = [i for i in range(len(ops)) if not done >> i & 1]
        horizon = min(ops[i].end for i in pending)
        for i in pending:
            op = ops[i]
            if op.start > horizon:
                break
            for after in _outcomes(state, op):
                node = (done | 1 << i, after)
                if node not in seen:
                    seen.add(node)
                    stack.append(node)
    return False


def check_history(ops: Iterable[Operation], timeout: float = 30.0) -> Optional[Any]:
    """None when linearizable; otherwise the first key whose history is not."""
    deadline = time.monotonic() + timeout
    by_key: dict[Any, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.kind in READS and op.unknown:
            continue  # a read without an answer constrains nothing
        by_key[op.key].append(op)
    for key, key_ops in by_key.items():
        if not check_register(key_ops, deadline=deadline):
            return key
    return None
