"""The gRPC transport of tests/etcd_client.py: the same gateway-shaped JSON in and out, over etcd's gRPC API.

etcd's JSON gateway is protobuf's JSON mapping of the v3 messages (base64 bytes, int64 as strings, proto
field names, zero values left out), so a request body is parsed into its protobuf message with
``json_format.ParseDict`` and the reply turned back with ``MessageToDict``: the differential tests and
benches keep their requests and decoders and reach etcd the way users do, over one long-lived gRPC
channel per client (the stubs ``kvstore.connect()`` uses, from aetcd).
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any

import grpc
from aetcd import rpc
from google.protobuf import json_format

__all__ = ["GrpcTransport", "GrpcWatch", "RpcFailure"]


class RpcFailure(Exception):
    """An etcd error over gRPC: ``code`` (the gRPC status number) and etcd's ``message``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _to_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class GrpcTransport:
    """``call(path, body)`` for the gateway paths the tests use, over one channel to ``host:port``."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.timeout = timeout
        self.channel = grpc.insecure_channel(f"{host}:{port}")
        kv, lease = rpc.KVStub(self.channel), rpc.LeaseStub(self.channel)
        maintenance = rpc.MaintenanceStub(self.channel)
        self.routes: dict[str, tuple[Any, Any]] = {
            "/v3/kv/put": (kv.Put, rpc.PutRequest),
            "/v3/kv/range": (kv.Range, rpc.RangeRequest),
            "/v3/kv/deleterange": (kv.DeleteRange, rpc.DeleteRangeRequest),
            "/v3/kv/txn": (kv.Txn, rpc.TxnRequest),
            "/v3/kv/compaction": (kv.Compact, rpc.CompactionRequest),
            "/v3/lease/grant": (lease.LeaseGrant, rpc.LeaseGrantRequest),
            "/v3/lease/revoke": (lease.LeaseRevoke, rpc.LeaseRevokeRequest),
            "/v3/lease/timetolive": (lease.LeaseTimeToLive, rpc.LeaseTimeToLiveRequest),
            "/v3/lease/leases": (lease.LeaseLeases, rpc.LeaseLeasesRequest),
            "/v3/maintenance/status": (maintenance.Status, rpc.StatusRequest),
        }
        self.lease = lease
        self.watch_stub = rpc.WatchStub(self.channel)

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/v3/lease/keepalive":  # a stream on gRPC: one round, shaped as the gateway's reply
            request = json_format.ParseDict(body, rpc.LeaseKeepAliveRequest())
            stream = self.lease.LeaseKeepAlive(iter((request,)), timeout=self.timeout)
            try:
                return {"result": _to_dict(next(stream))}
            except grpc.RpcError as error:
                raise RpcFailure(error.code().value[0], error.details() or "") from None
            finally:
                stream.cancel()
        method, request_type = self.routes[path]
        try:
            return _to_dict(method(json_format.ParseDict(body, request_type()), timeout=self.timeout))
        except grpc.RpcError as error:
            raise RpcFailure(error.code().value[0], error.details() or "") from None

    def watch(self, creates: list[dict[str, Any]], timeout: float) -> GrpcWatch:
        return GrpcWatch(self.watch_stub, creates, timeout)

    def close(self) -> None:
        self.channel.close()


class GrpcWatch:
    """A gRPC watch stream whose responses come out as the gateway's ``{"result": ...}`` objects; a reader
    thread feeds a queue so a read can time out and resume."""

    def __init__(self, stub: Any, creates: list[dict[str, Any]], timeout: float) -> None:
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for create in creates:
            self._requests.put(rpc.WatchRequest(
                create_request=json_format.ParseDict(create, rpc.WatchCreateRequest())))
        self._responses: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._call = stub.Watch(iter(self._requests.get, None))
        self._thread = threading.Thread(target=self._read, name="etcd-test-watch", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self._responses.put({"result": _to_dict(response)})
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self._responses.put({"error": {"grpc_code": error.code().value[0], "message": error.details()}})
        self._responses.put(None)

    def next_object(self, deadline: float) -> dict[str, Any] | None:
        try:
            return self._responses.get(timeout=max(0.0, deadline - time.monotonic()))  # type: ignore
        except queue.Empty:
            return None

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()
        self._thread.join(timeout=10)
