"""kvstore commands (the lists ``kvstore.Op`` builds) to etcd protobuf requests, and etcd responses to
kvstore's response types. Field for field: etcd's numbering of sort orders, compare targets and results
and watch filters is kvstore's too."""
from __future__ import annotations

from typing import Any

from aetcd import rpc

from ..args import ALL_KEYS
from ..txn import Command
from ..types import DeleteResponse, Event, EventType, KeyValue, PutResponse, RangeResponse, TxnResponse

__all__ = ["wire_range_end", "put_request", "range_request", "delete_request", "txn_request", "request_op",
           "key_value", "put_response", "range_response", "delete_response", "txn_response", "event"]

_COMPARE_FIELDS = ("version", "create_revision", "mod_revision", "value", "lease")


def wire_range_end(end: bytes | None) -> bytes:
    """kvstore's normalised range end to etcd's: None (one key) -> empty, ALL_KEYS -> ``"\\0"``."""
    if end is None:
        return b""
    if end == ALL_KEYS:
        return b"\x00"
    return end


def put_request(command: Command) -> Any:
    _, key, value, lease, prev_kv, ignore_value, ignore_lease = command
    return rpc.PutRequest(key=key, value=value, lease=lease, prev_kv=prev_kv, ignore_value=ignore_value,
                          ignore_lease=ignore_lease)


def range_request(command: Command) -> Any:
    (_, key, end, revision, limit, sort_order, sort_target, keys_only, count_only, min_mod, max_mod, min_create,
     max_create) = command
    return rpc.RangeRequest(key=key, range_end=wire_range_end(end), revision=revision, limit=limit,
                            sort_order=sort_order, sort_target=sort_target, keys_only=keys_only,
                            count_only=count_only, min_mod_revision=min_mod, max_mod_revision=max_mod,
                            min_create_revision=min_create, max_create_revision=max_create)


def delete_request(command: Command) -> Any:
    _, key, end, prev_kv = command
    return rpc.DeleteRangeRequest(key=key, range_end=wire_range_end(end), prev_kv=prev_kv)


def txn_request(command: Command) -> Any:
    _, compares, success, failure = command
    return rpc.TxnRequest(compare=[_compare(c) for c in compares], success=[request_op(op) for op in success],
                          failure=[request_op(op) for op in failure])


def _compare(encoded: list[Any]) -> Any:
    target, result, key, end, operand = encoded
    return rpc.Compare(target=target, result=result, key=key, range_end=wire_range_end(end),
                       **{_COMPARE_FIELDS[target]: operand})


def request_op(op: Command) -> Any:
    name = op[0]
    if name == "put":
        return rpc.RequestOp(request_put=put_request(op))
    if name == "range":
        return rpc.RequestOp(request_range=range_request(op))
    if name == "delete":
        return rpc.RequestOp(request_delete_range=delete_request(op))
    return rpc.RequestOp(request_txn=txn_request(op))


# ---------------------------------------------------------------------------------------------- responses
def key_value(kv: Any) -> KeyValue:
    return KeyValue(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease)


def put_response(response: Any) -> PutResponse:
    return PutResponse(response.header.revision,
                       key_value(response.prev_kv) if response.HasField("prev_kv") else None)


def range_response(response: Any) -> RangeResponse:
    return RangeResponse([key_value(kv) for kv in response.kvs], response.count, response.more,
                         response.header.revision)


def delete_response(response: Any) -> DeleteResponse:
    return DeleteResponse(response.deleted, [key_value(kv) for kv in response.prev_kvs], response.header.revision)


def txn_response(response: Any) -> TxnResponse:
    responses: list[Any] = []
    for item in response.responses:
        kind = item.WhichOneof("response")
        if kind == "response_put":
            responses.append(put_response(item.response_put))
        elif kind == "response_range":
            responses.append(range_response(item.response_range))
        elif kind == "response_delete_range":
            responses.append(delete_response(item.response_delete_range))
        else:
            responses.append(txn_response(item.response_txn))
    return TxnResponse(response.succeeded, responses, response.header.revision)


def event(raw: Any) -> Event:
    return Event(EventType.DELETE if raw.type == 1 else EventType.PUT, key_value(raw.kv),
                 key_value(raw.prev_kv) if raw.HasField("prev_kv") else None)
