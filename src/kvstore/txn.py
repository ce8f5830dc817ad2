"""Transaction builders, ``Compare`` and ``Op``, and the static checks etcd runs on a txn request.

Builders validate their own arguments and encode to plain lists (the commands the state machine applies,
and the WAL / Raft log stores with msgpack)::

    put     ["put", key, value, lease, prev_kv, ignore_value, ignore_lease]
    range   ["range", key, end, revision, limit, sort_order, sort_target, keys_only, count_only,
             min_mod_revision, max_mod_revision, min_create_revision, max_create_revision]
    delete  ["delete", key, end, prev_kv]
    txn     ["txn", [compare, ...], [op, ...], [op, ...]]
    compare [target, result, key, end, operand]

``end`` is ``None`` for a single key, ``b""`` for "every key >= key", else an exclusive end.

Usage, as python-etcd3 users know it::

    store.txn(compare=[Compare.version(b"k") == 0],
              success=[Op.put(b"k", b"v")], failure=[Op.get(b"k")])
"""
from __future__ import annotations

from typing import Any

from .args import range_end_for, to_bool, to_bytes, to_int, to_key, to_lease_id
from .commands import check_command
from .errors import DuplicateKey, InvalidArgument, InvalidType, KeyTooLarge, RequestTooLarge, TooManyOps, \
    ValueProvided, LeaseProvided, ValueTooLarge
from .types import SortOrder, SortTarget

__all__ = ["Compare", "Op", "CompareTarget", "CompareResult", "check_txn_command", "check_txn_request", "flat_txn_ok",
           "Command"]

Command = list  # a msgpack-able list, first item the operation name

# etcd's Compare.CompareTarget and Compare.CompareResult numbering
CompareTarget_VERSION, CompareTarget_CREATE, CompareTarget_MOD, CompareTarget_VALUE, CompareTarget_LEASE = range(5)
EQUAL, GREATER, LESS, NOT_EQUAL = range(4)


class CompareTarget:
    """etcd's ``Compare.CompareTarget`` numbering."""

    VERSION = CompareTarget_VERSION
    CREATE = CompareTarget_CREATE
    MOD = CompareTarget_MOD
    VALUE = CompareTarget_VALUE
    LEASE = CompareTarget_LEASE


class CompareResult:
    """etcd's ``Compare.CompareResult`` numbering."""

    EQUAL = EQUAL
    GREATER = GREATER
    LESS = LESS
    NOT_EQUAL = NOT_EQUAL


_TARGET_NAMES = {0: "version", 1: "create_revision", 2: "mod_revision", 3: "value", 4: "lease"}
_RESULT_SYMBOLS = {EQUAL: "==", GREATER: ">", LESS: "<", NOT_EQUAL: "!="}


class Compare:
    """One txn guard. Build it with ``Compare.value(key) == b"v"``, ``Compare.version(key) > 0``, ...

    As in etcd, a guard on a key that does not exist compares version/create/mod/lease against 0, and a
    ``value`` guard on a missing key is always false. With ``range_end`` or ``prefix=True`` every key in
    the range must satisfy the guard.
    """

    __slots__ = ("target", "key", "range_end", "result", "operand")

    def __init__(self, target: int, key: bytes, range_end: bytes | None, result: int | None = None,
                 operand: Any = None) -> None:
        self.target = target
        self.key = key
        self.range_end = range_end
        self.result = result
        self.operand = operand

    @classmethod
    def _make(cls, target: int, key: Any, range_end: Any, prefix: bool) -> Compare:
        if range_end is None and prefix is False and key:
            # the common guard on one key: what range_end_for gives for it, without its calls
            if type(key) is bytes:
                return cls(target, key, None)
            if type(key) is str:
                return cls(target, key.encode("utf-8"), None)
        key_bytes, end = range_end_for(key, range_end, to_bool("prefix", prefix))
        return cls(target, key_bytes, end)

    @classmethod
    def value(cls, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False) -> Compare:
        """Guard on the value (bytes or str operand)."""
        return cls._make(CompareTarget_VALUE, key, range_end, prefix)

    @classmethod
    def version(cls, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False) -> Compare:
        """Guard on the version (0 for a missing key)."""
        return cls._make(CompareTarget_VERSION, key, range_end, prefix)

    @classmethod
    def create_revision(cls, key: bytes | str, range_end: bytes | str | None = None, *,
                        prefix: bool = False) -> Compare:
        """Guard on the create revision (0 for a missing key)."""
        return cls._make(CompareTarget_CREATE, key, range_end, prefix)

    @classmethod
    def mod_revision(cls, key: bytes | str, range_end: bytes | str | None = None, *,
                     prefix: bool = False) -> Compare:
        """Guard on the mod revision (0 for a missing key)."""
        return cls._make(CompareTarget_MOD, key, range_end, prefix)

    @classmethod
    def lease(cls, key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False) -> Compare:
        """Guard on the attached lease ID (0 for none or a missing key)."""
        return cls._make(CompareTarget_LEASE, key, range_end, prefix)

    def _with(self, result: int, operand: Any) -> Compare:
        if type(operand) is int and self.result is None and self.target != CompareTarget_VALUE:
            return Compare(self.target, self.key, self.range_end, result, operand)  # what to_int gives back
        if self.result is not None:
            raise InvalidArgument(f"compare on {self.key!r} already has an operator")
        if self.target == CompareTarget_VALUE:
            operand = to_bytes("compare value", operand)
        else:
            operand = to_int(f"compare {_TARGET_NAMES[self.target]}", operand)
        return Compare(self.target, self.key, self.range_end, result, operand)

    def __eq__(self, operand: Any) -> Compare:  # type: ignore[override]
        return self._with(EQUAL, operand)

    def __ne__(self, operand: Any) -> Compare:  # type: ignore[override]
        return self._with(NOT_EQUAL, operand)

    def __lt__(self, operand: Any) -> Compare:
        return self._with(LESS, operand)

    def __gt__(self, operand: Any) -> Compare:
        return self._with(GREATER, operand)

    def __ge__(self, operand: Any) -> Compare:
        raise self._no_operator(">=", operand, ">", -1)

    def __le__(self, operand: Any) -> Compare:
        raise self._no_operator("<=", operand, "<", 1)

    def _no_operator(self, symbol: str, operand: Any, instead: str, shift: int) -> InvalidArgument:
        """etcd's Compare has EQUAL, NOT_EQUAL, GREATER and LESS only: a KVError that says what to write."""
        target = _TARGET_NAMES[self.target]
        hint = (f"Compare.{target}({self.key!r}) {instead} {operand + shift}"
                if type(operand) is int else f"Compare.{target}(key) {instead} operand")
        return InvalidArgument(f"compare {target} {symbol} {operand!r:.40}: etcd compares with ==, !=, < and > "
                               f"only; write {hint}")

    __hash__ = None  # type: ignore[assignment]

    def encode(self) -> list[Any]:
        """The compare as a command fragment ``[target, result, key, end, operand]``."""
        if self.result is None:
            raise InvalidArgument(f"compare on {self.key!r} has no operator: write e.g. "
                                  f"Compare.{_TARGET_NAMES[self.target]}(key) == operand")
        return [self.target, self.result, self.key, self.range_end, self.operand]

    def __repr__(self) -> str:
        op = "?" if self.result is None else _RESULT_SYMBOLS[self.result]
        return f"Compare.{_TARGET_NAMES[self.target]}({self.key!r}) {op} {self.operand!r}"


class Op:
    """Builders of txn operations; each returns the encoded command (a plain list)."""

    @staticmethod
    def put(key: bytes | str, value: bytes | str | None = None, *, lease: Any = None, prev_kv: bool = False,
            ignore_value: bool = False, ignore_lease: bool = False) -> Command:
        """A put, with the same arguments as ``Store.put`` (``lease``: an ID or a :class:`Lease`)."""
        if type(value) is bytes and lease is None and prev_kv is False and ignore_value is False \
                and ignore_lease is False and key:
            # the common put: the list the checks below build for it
            if type(key) is bytes:
                return ["put", key, value, 0, False, False, False]
            if type(key) is str:
                return ["put", key.encode("utf-8"), value, 0, False, False, False]
        key_bytes = to_key("key", key)
        if value is None and ignore_value is True:
            value = b""  # python-etcd3 style: keep the value, none needed
        value_bytes = to_bytes("value", value)
        lease_id = 0 if lease is None else to_lease_id(lease)
        if to_bool("ignore_value", ignore_value) and value_bytes:
            raise ValueProvided(key_bytes)
        if to_bool("ignore_lease", ignore_lease) and lease_id:
            raise LeaseProvided(key_bytes, lease_id)
        return ["put", key_bytes, value_bytes, lease_id, to_bool("prev_kv", prev_kv), ignore_value, ignore_lease]

    @staticmethod
    def range(key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False, limit: int = 0,
              revision: int | None = None, sort_order: SortOrder = SortOrder.NONE,
              sort_target: SortTarget = SortTarget.KEY, keys_only: bool = False, count_only: bool = False,
              min_mod_revision: int = 0, max_mod_revision: int = 0, min_create_revision: int = 0,
              max_create_revision: int = 0) -> Command:
        """A range read, with the same arguments as ``Store.range``."""
        key_bytes, end = range_end_for(key, range_end, to_bool("prefix", prefix))
        try:
            order = SortOrder(sort_order)
        except ValueError:
            raise InvalidArgument(f"sort_order={sort_order!r} is not a SortOrder") from None
        try:
            target = SortTarget(sort_target)
        except ValueError:
            raise InvalidArgument(f"sort_target={sort_target!r} is not a SortTarget") from None
        return ["range", key_bytes, end, 0 if revision is None else to_int("revision", revision),
                to_int("limit", limit, minimum=0), int(order), int(target), to_bool("keys_only", keys_only),
                to_bool("count_only", count_only), to_int("min_mod_revision", min_mod_revision, minimum=0),
                to_int("max_mod_revision", max_mod_revision, minimum=0),
                to_int("min_create_revision", min_create_revision, minimum=0),
                to_int("max_create_revision", max_create_revision, minimum=0)]

    @staticmethod
    def get(key: bytes | str, *, revision: int | None = None, keys_only: bool = False) -> Command:
        """A single-key range read."""
        return Op.range(key, revision=revision, keys_only=keys_only)

    @staticmethod
    def delete(key: bytes | str, range_end: bytes | str | None = None, *, prefix: bool = False,
               prev_kv: bool = False) -> Command:
        """A delete of one key or a range, with the same arguments as ``Store.delete``."""
        key_bytes, end = range_end_for(key, range_end, to_bool("prefix", prefix))
        return ["delete", key_bytes, end, to_bool("prev_kv", prev_kv)]

    @staticmethod
    def txn(compare: list[Compare] = (), success: list[Command] = (),  # type: ignore[assignment]
            failure: list[Command] = ()) -> Command:  # type: ignore[assignment]
        """A nested transaction."""
        return build_txn(compare, success, failure)


def build_txn(compare: Any, success: Any, failure: Any) -> Command:
    """Encode a txn from its three lists (validating the types of their items)."""
    compares = []
    for item in compare or ():
        if not isinstance(item, Compare):
            raise InvalidType("compare item", item, "kvstore.Compare")
        compares.append(item.encode())
    return ["txn", compares, _ops("success", success), _ops("failure", failure)]


_OP_NAMES = frozenset(("put", "range", "delete", "txn"))


def _ops(field: str, ops: Any) -> list[Command]:
    result = []
    for op in ops or ():
        if not isinstance(op, list) or not op or op[0] not in _OP_NAMES:
            raise InvalidType(f"{field} op", op, "an operation built by kvstore.Op")
        result.append(op)
    return result


def check_txn_command(command: Command, max_txn_ops: int, max_value_bytes: int, max_key_bytes: int | None = None,
                      max_request_bytes: int | None = None) -> Exception | None:
    """etcd's static txn checks, returned as a value: list lengths, value sizes, and the rule that the
    same key is not put twice nor put and deleted in one request (``checkIntervals`` in etcd's v3rpc);
    with ``max_key_bytes`` / ``max_request_bytes`` also every key's length and the request's size."""
    try:
        for branch in (command[2], command[3]):
            _check_intervals(branch)
        error = _check_sizes(command, max_txn_ops, max_value_bytes)
    except DuplicateKey as error_value:
        return error_value
    if error is None and (max_key_bytes is not None or max_request_bytes is not None):
        size, longest = _request_size(command)
        if max_key_bytes is not None and longest > max_key_bytes:
            return KeyTooLarge(longest, max_key_bytes, "txn key")
        if max_request_bytes is not None and size > max_request_bytes:
            return RequestTooLarge(size, max_request_bytes, "txn request")
    return error


def check_txn_request(command: Command, max_txn_ops: int, max_value_bytes: int, max_key_bytes: int,
                      max_request_bytes: int) -> Exception | None:
    """Every check a txn request passes before a store applies it, as a value: ``check_txn_command`` with the
    store's limits, then the state machine's shape check (``commands.check_command``), in that order. A
    command that passes is one the state machine would not refuse for its form or its size, so a state
    machine with the same limits may apply it without checking again (``StateMachine.apply_checked``)."""
    try:
        error = check_txn_command(command, max_txn_ops, max_value_bytes, max_key_bytes, max_request_bytes)
    except (IndexError, TypeError, AttributeError):
        # an op list written by hand, too short or with a wrong type: the shape check names it
        shape = check_command(command)
        if shape is None:
            raise
        return shape
    return error if error is not None else check_command(command)


def flat_txn_ok(command: Command, max_txn_ops: int, max_value_bytes: int, max_key_bytes: int,
                max_request_bytes: int) -> bool:
    """True when ``check_txn_request`` would pass ``command`` with these limits, found in one walk for the
    txn a Registry write sends (single-key compares, single-key puts and deletes, no nested txn, no range,
    no key written twice in a branch). False says only that the full checks must decide."""
    if type(command) is not list or len(command) != 4:
        return False
    _, compares, success, failure = command
    if type(compares) is not list or type(success) is not list or type(failure) is not list \
            or len(compares) > max_txn_ops or len(success) > max_txn_ops or len(failure) > max_txn_ops:
        return False
    size = 0
    for compare in compares:
        if type(compare) is not list or len(compare) != 5:
            return False
        target, result, key, end, operand = compare
        if end is not None or type(key) is not bytes or not key or len(key) > max_key_bytes \
                or type(result) is not int or not 0 <= result <= 3 or type(target) is not int:
            return False
        if target == CompareTarget_VALUE:
            if type(operand) is not bytes:
                return False
            size += len(operand)
        elif type(operand) is not int or not 0 <= target <= 4:
            return False
        size += len(key)
    for ops in (success, failure):
        written: set[bytes] = set()
        for op in ops:
            if type(op) is not list or not op:
                return False
            kind = op[0]
            if kind == "put":
                if len(op) != 7:
                    return False
                key, value, lease = op[1], op[2], op[3]
                if type(value) is not bytes or len(value) > max_value_bytes or type(lease) is not int or lease < 0:
                    return False
                size += len(value)
            elif kind == "delete":
                if len(op) != 4 or op[2] is not None:
                    return False
                key = op[1]
            else:
                return False
            if type(key) is not bytes or not key or len(key) > max_key_bytes or key in written:
                return False
            written.add(key)
            size += len(key)
    return size <= max_request_bytes


def _request_size(command: Command) -> tuple[int, int]:
    """(bytes of every key, value, range end and compare operand, the longest key or range end) of a txn."""
    size = longest = 0
    for compare in command[1]:
        for part in (compare[2], compare[3]):
            if part:
                size += len(part)
                longest = max(longest, len(part))
        if type(compare[4]) is bytes:
            size += len(compare[4])
    for op in (*command[2], *command[3]):
        if op[0] == "txn":
            inner, inner_longest = _request_size(op)
            size, longest = size + inner, max(longest, inner_longest)
            continue
        for part in (op[1], op[2] if op[0] != "put" else None):
            if part:
                size += len(part)
                longest = max(longest, len(part))
        if op[0] == "put":
            size += len(op[2])
    return size, longest


def _check_sizes(command: Command, max_txn_ops: int, max_value_bytes: int, path: str = "") -> Exception | None:
    for field, items in (("compare", command[1]), ("success", command[2]), ("failure", command[3])):
        if len(items) > max_txn_ops:
            return TooManyOps(path + field, len(items), max_txn_ops)
    for field, ops in (("success", command[2]), ("failure", command[3])):
        for number, op in enumerate(ops):
            if op[0] == "put" and len(op[2]) > max_value_bytes:
                return ValueTooLarge(len(op[2]), max_value_bytes, f"{path}{field}[{number}].value")
            if op[0] == "txn":
                error = _check_sizes(op, max_txn_ops, max_value_bytes, f"{path}{field}[{number}].")
                if error is not None:
                    return error
    return None


def _in_deletes(key: bytes, deletes: list[tuple[bytes, bytes | None]]) -> bool:
    for start, end in deletes:
        if end is None:
            if key == start:
                return True
        elif end == b"":
            # etcd 3.4 builds the interval [key, "\0") for a from-key delete, which contains nothing,
            # so a put overlapping it is accepted; we keep that behaviour
            continue
        elif start <= key < end:
            return True
    return False


def _check_intervals(ops: list[Command]) -> tuple[set[bytes], list[tuple[bytes, bytes | None]]]:
    """Puts and delete ranges of one branch; raises DuplicateKey on an overlap (mirrors etcd)."""
    deletes: list[tuple[bytes, bytes | None]] = [(op[1], op[2]) for op in ops if op[0] == "delete"]
    puts: set[bytes] = set()
    for op in ops:
        if op[0] != "txn":
            continue
        puts_then, dels_then = _check_intervals(op[2])
        puts_else, dels_else = _check_intervals(op[3])
        for key in puts_then:
            if key in puts or _in_deletes(key, deletes):
                raise DuplicateKey(key)
            puts.add(key)
        for key in puts_else:
            # then/else are exclusive, so the same key in both is fine
            if (key in puts and key not in puts_then) or _in_deletes(key, deletes):
                raise DuplicateKey(key)
            puts.add(key)
        deletes.extend(dels_then)
        deletes.extend(dels_else)
    for op in ops:
        if op[0] != "put":
            continue
        key = op[1]
        if key in puts or _in_deletes(key, deletes):
            raise DuplicateKey(key)
        puts.add(key)
    return puts, deletes
