"""Shape checks of state machine commands, so ``apply`` rejects a malformed command before any change.

Commands normally come from :mod:`kvstore.txn` builders and the store, already valid; these checks are
the state machine's own guard (a Raft log or a WAL is input too). Each returns an
:class:`~kvstore.errors.InvalidArgument` value, or None when the command is well formed.
"""
from __future__ import annotations

from typing import Any

from .errors import EmptyKey, InvalidArgument

__all__ = ["check_command"]

_NUMBER = (int, float)


def _bad(command: Any, why: str) -> InvalidArgument:
    return InvalidArgument(f"command={command!r:.80} is malformed: {why}")


def _is_int(value: Any) -> bool:
    return type(value) is int


def _key_error(command: Any, key: Any) -> InvalidArgument | None:
    if type(key) is not bytes:
        return _bad(command, "the key is not bytes")
    if not key:
        return EmptyKey()
    return None


def _end_ok(end: Any) -> bool:
    return end is None or type(end) is bytes


def _check_put(command: list[Any]) -> InvalidArgument | None:
    if len(command) != 7:
        return _bad(command, "put takes 6 arguments")
    error = _key_error(command, command[1])
    if error is not None:
        return error
    if type(command[2]) is not bytes or not _is_int(command[3]) or command[3] < 0:
        return _bad(command, "put needs a bytes value and a lease ID >= 0")
    return None


def _check_delete(command: list[Any]) -> InvalidArgument | None:
    if len(command) != 4:
        return _bad(command, "delete takes 3 arguments")
    return _key_error(command, command[1]) or (None if _end_ok(command[2]) else _bad(command, "bad range end"))


def _check_range(command: list[Any]) -> InvalidArgument | None:
    if len(command) != 13:
        return _bad(command, "range takes 12 arguments")
    error = _key_error(command, command[1])
    if error is not None:
        return error
    if not _end_ok(command[2]) or not all(_is_int(item) and item >= 0 for item in command[4:7]):
        return _bad(command, "bad range end, limit or sort")
    if command[5] > 2 or command[6] > 4 or not all(_is_int(item) and item >= 0 for item in command[9:13]):
        return _bad(command, "bad sort or revision filter")
    if not _is_int(command[3]):
        return _bad(command, "the revision is not an int")
    return None


def _check_compare(compare: Any) -> bool:
    if type(compare) is not list or len(compare) != 5:
        return False
    target, result, key, end, operand = compare
    if not (_is_int(target) and 0 <= target <= 4 and _is_int(result) and 0 <= result <= 3):
        return False
    if type(key) is not bytes or not key or not _end_ok(end):
        return False
    return type(operand) is bytes if target == 3 else _is_int(operand)


def _check_txn(command: list[Any]) -> InvalidArgument | None:
    if len(command) != 4 or not all(type(part) is list for part in command[1:]):
        return _bad(command, "txn takes three lists")
    if not all(_check_compare(compare) for compare in command[1]):
        return _bad(command, "a compare is malformed")
    for op in (*command[2], *command[3]):
        if type(op) is not list or not op or op[0] not in _OPS:
            return _bad(command, "an op is not put, delete, range or txn")
        error = _CHECKS[op[0]](op)
        if error is not None:
            return error
    return None


def _ints(count: int, numbers_from: int) -> Any:
    def check(command: list[Any]) -> InvalidArgument | None:
        if len(command) != count + 1:
            return _bad(command, f"{command[0]} takes {count} arguments")
        for position, item in enumerate(command[1:], start=1):
            ok = isinstance(item, _NUMBER) and not isinstance(item, bool) if position >= numbers_from \
                else _is_int(item) and item > 0
            if not ok:
                return _bad(command, f"argument {position} is not valid")
        return None
    return check


_OPS = frozenset(("put", "delete", "range", "txn"))
_CHECKS = {
    "put": _check_put, "delete": _check_delete, "range": _check_range, "txn": _check_txn,
    "compact": _ints(1, 2), "grant": _ints(3, 3), "keepalive": _ints(2, 2), "revoke": _ints(1, 2),
    "expire": _ints(2, 2), "promote": _ints(2, 1),
}


def check_command(command: Any) -> InvalidArgument | None:
    """None if ``command`` is a well-formed state machine command, else the error as a value."""
    if type(command) is not list or not command or type(command[0]) is not str or command[0] not in _CHECKS:
        return InvalidArgument(f"command={command!r:.80} is not a known state machine command")
    return _CHECKS[command[0]](command)
