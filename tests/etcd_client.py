"""A small etcd v3 client for the differential tests and benches, in the JSON gateway's request format.

It speaks the gateway's JSON: base64 keys and values, int64 fields as JSON strings, fields left out
when zero. Results are plain dicts/lists with the JSON decoded (bytes for keys and values, ints for
revisions), so tests can compare them with borgkit's typed responses. Errors come back as
:class:`EtcdError` carrying etcd's gRPC code and message.

Transport: etcd's native gRPC API when the ``etcd`` extra (aetcd's generated stubs) is installed, one
long-lived channel per client (tests/etcd_grpc.py turns the same JSON into protobuf messages and back);
otherwise HTTP/1.1 to the gateway with keep-alive. ``transport="http"`` forces the gateway.

One ``EtcdClient`` is not thread-safe: give each thread its own.
"""
from __future__ import annotations

import base64
import http.client
import importlib.util
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["EtcdClient", "EtcdError", "EtcdWatch", "decode_kv", "b64", "prefix_end"]

# gRPC status codes etcd uses for the errors the differential tests meet
CODE_INVALID_ARGUMENT = 3
CODE_NOT_FOUND = 5
CODE_OUT_OF_RANGE = 11


def b64(data: bytes) -> str:
    """bytes -> the base64 text the gateway expects for ``bytes`` fields."""
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: bytes) -> bytes:
    """The exclusive end of the range of keys starting with ``prefix`` (etcd's ``GetPrefixRangeEnd``)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\0"


def decode_kv(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """A gateway ``mvccpb.KeyValue`` as a dict with bytes and ints (zeros filled in)."""
    if raw is None:
        return None
    return {
        "key": _unb64(raw.get("key")),
        "value": _unb64(raw.get("value")),
        "create_revision": int(raw.get("create_revision", 0)),
        "mod_revision": int(raw.get("mod_revision", 0)),
        "version": int(raw.get("version", 0)),
        "lease": int(raw.get("lease", 0)),
    }


class EtcdError(Exception):
    """An error response: ``code`` (gRPC status), ``message`` (etcd's text); ``status`` is the gateway's
    HTTP status (0 over gRPC)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"etcd {'gRPC' if status == 0 else f'HTTP {status}'}, code {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def kind(self) -> str:
        """A short name for the error, comparable with borgkit's exception class names."""
        for needle, name in _ERROR_KINDS:
            if needle in self.message:
                return name
        return f"code{self.code}"


_ERROR_KINDS = (
    ("required revision has been compacted", "Compacted"),
    ("required revision is a future revision", "FutureRevision"),
    ("duplicate key given in txn request", "DuplicateKey"),
    ("too many operations in txn request", "TooManyOps"),
    ("key is not provided", "EmptyKey"),
    ("requested lease not found", "LeaseNotFound"),
    ("lease already exists", "LeaseExists"),
    ("request is too large", "ValueTooLarge"),
    ("value is provided", "ValueProvided"),
    ("lease is provided", "LeaseProvided"),
    ("key not found", "KeyNotFound"),
)


def _range_fields(key: bytes, range_end: bytes | None) -> dict[str, Any]:
    body: dict[str, Any] = {"key": b64(key)}
    if range_end is not None:
        body["range_end"] = b64(range_end)
    return body


class EtcdClient:
    """Requests to one etcd member's gateway at ``host:port`` (``/v3/...`` paths, etcd >= 3.4)."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0, transport: str = "auto") -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._grpc: Any = None
        if transport not in ("auto", "grpc", "http"):
            raise ValueError(f"transport={transport!r}: expected auto, grpc or http")
        if transport != "http" and (transport == "grpc" or importlib.util.find_spec("aetcd") is not None):
            from etcd_grpc import GrpcTransport

            self._grpc = GrpcTransport(host, port, timeout)

    @property
    def transport(self) -> str:
        """``"grpc"`` or ``"http"`` (the JSON gateway)."""
        return "http" if self._grpc is None else "grpc"

    # -- transport -------------------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._conn.connect()
            # small request/response pairs: do not let Nagle hold them back
            assert self._conn.sock is not None
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._conn

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send ``body`` (gateway JSON) to ``path``; the decoded reply, or :class:`EtcdError`."""
        if self._grpc is not None:
            from etcd_grpc import RpcFailure

            try:
                return self._grpc.call(path, body)  # type: ignore[no-any-return]
            except RpcFailure as failure:
                raise EtcdError(0, failure.code, failure.message) from None
        payload = json.dumps(body).encode()
        for attempt in (0, 1):  # a keep-alive connection the server closed is reopened once
            conn = self._connection()
            try:
                conn.request("POST", path, body=payload, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        reply = json.loads(data) if data else {}
        if response.status != 200:
            raise EtcdError(response.status, int(reply.get("code", -1)), str(reply.get("message", data)))
        return reply

    def close(self) -> None:
        """Close the keep-alive connection (a later call opens a new one); a gRPC client is closed for good."""
        if self._grpc is not None:
            self._grpc.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> EtcdClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- KV --------------------------------------------------------------------------------------------
    @staticmethod
    def put_request(key: bytes, value: bytes, *, lease: int = 0, prev_kv: bool = False,
                    ignore_value: bool = False, ignore_lease: bool = False) -> dict[str, Any]:
        """The JSON of a ``PutRequest``."""
        body: dict[str, Any] = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        if prev_kv:
            body["prev_kv"] = True
        if ignore_value:
            body["ignore_value"] = True
        if ignore_lease:
            body["ignore_lease"] = True
        return body

    @staticmethod
    def range_request(key: bytes, range_end: bytes | None = None, *, limit: int = 0, revision: int = 0,
                      sort_order: int = 0, sort_target: int = 0, keys_only: bool = False,
                      count_only: bool = False, min_mod_revision: int = 0, max_mod_revision: int = 0,
                      min_create_revision: int = 0, max_create_revision: int = 0) -> dict[str, Any]:
        """The JSON of a ``RangeRequest`` (enums as their numbers)."""
        body = _range_fields(key, range_end)
        for name, value in (("limit", limit), ("revision", revision), ("min_mod_revision", min_mod_revision),
                            ("max_mod_revision", max_mod_revision),
                            ("min_create_revision", min_create_revision),
                            ("max_create_revision", max_create_revision)):
            if value:
                body[name] = str(value)
        if sort_order:
            body["sort_order"] = int(sort_order)
        if sort_target:
            body["sort_target"] = int(sort_target)
        if keys_only:
            body["keys_only"] = True
        if count_only:
            body["count_only"] = True
        return body

    @staticmethod
    def delete_request(key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False) -> dict[str, Any]:
        """The JSON of a ``DeleteRangeRequest``."""
        body = _range_fields(key, range_end)
        if prev_kv:
            body["prev_kv"] = True
        return body

    def put(self, key: bytes, value: bytes, **options: Any) -> dict[str, Any]:
        """``/v3/kv/put`` -> ``{"revision", "prev_kv"}``."""
        reply = self.call("/v3/kv/put", self.put_request(key, value, **options))
        return decode_put(reply)

    def range(self, key: bytes, range_end: bytes | None = None, **options: Any) -> dict[str, Any]:
        """``/v3/kv/range`` -> ``{"kvs", "count", "more", "revision"}``."""
        return decode_range(self.call("/v3/kv/range", self.range_request(key, range_end, **options)))

    def get(self, key: bytes, *, revision: int = 0) -> dict[str, Any] | None:
        """The KeyValue of one key, or None."""
        kvs = self.range(key, revision=revision)["kvs"]
        return kvs[0] if kvs else None

    def delete(self, key: bytes, range_end: bytes | None = None, *, prev_kv: bool = False) -> dict[str, Any]:
        """``/v3/kv/deleterange`` -> ``{"deleted", "prev_kvs", "revision"}``."""
        return decode_delete(self.call("/v3/kv/deleterange", self.delete_request(key, range_end, prev_kv=prev_kv)))

    def txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]],
            failure: list[dict[str, Any]]) -> dict[str, Any]:
        """``/v3/kv/txn`` with requests already in gateway JSON (see :meth:`compare_json`, ``op_*``)."""
        body = {"compare": compare, "success": success, "failure": failure}
        return decode_txn(self.call("/v3/kv/txn", body))

    @staticmethod
    def compare_json(target: str, result: str, key: bytes, range_end: bytes | None, operand: Any) -> dict[str, Any]:
        """A ``Compare``: target VERSION/CREATE/MOD/VALUE/LEASE, result EQUAL/GREATER/LESS/NOT_EQUAL."""
        body = _range_fields(key, range_end)
        body["target"] = target
        body["result"] = result
        field = {"VERSION": "version", "CREATE": "create_revision", "MOD": "mod_revision",
                 "VALUE": "value", "LEASE": "lease"}[target]
        body[field] = b64(operand) if target == "VALUE" else str(operand)
        return body

    @staticmethod
    def op_put(request: dict[str, Any]) -> dict[str, Any]:
        return {"request_put": request}

    @staticmethod
    def op_range(request: dict[str, Any]) -> dict[str, Any]:
        return {"request_range": request}

    @staticmethod
    def op_delete(request: dict[str, Any]) -> dict[str, Any]:
        return {"request_delete_range": request}

    @staticmethod
    def op_txn(compare: list[dict[str, Any]], success: list[dict[str, Any]],
               failure: list[dict[str, Any]]) -> dict[str, Any]:
        return {"request_txn": {"compare": compare, "success": success, "failure": failure}}

    def compact(self, revision: int, *, physical: bool = False) -> int:
        """``/v3/kv/compaction``; returns the header revision."""
        body: dict[str, Any] = {"revision": str(revision)}
        if physical:
            body["physical"] = True
        return _revision(self.call("/v3/kv/compaction", body))

    def revision(self) -> int:
        """The store's current revision (a count-only range of one key reads the header)."""
        return self.range(b"\0", count_only=True)["revision"]

    # -- leases ----------------------------------------------------------------------------------------
    def grant(self, ttl: int, lease_id: int = 0) -> dict[str, Any]:
        """``/v3/lease/grant`` -> ``{"id", "ttl"}``."""
        body: dict[str, Any] = {"TTL": str(ttl)}
        if lease_id:
            body["ID"] = str(lease_id)
        reply = self.call("/v3/lease/grant", body)
        if reply.get("error"):
            raise EtcdError(200, -1, reply["error"])
        return {"id": int(reply.get("ID", 0)), "ttl": int(reply.get("TTL", 0))}

    def revoke(self, lease_id: int) -> int:
        """``/v3/lease/revoke``; returns the header revision."""
        return _revision(self.call("/v3/lease/revoke", {"ID": str(lease_id)}))

    def time_to_live(self, lease_id: int, *, keys: bool = False) -> dict[str, Any]:
        """``/v3/lease/timetolive`` -> ``{"id", "ttl", "granted_ttl", "keys"}``."""
        reply = self.call("/v3/lease/timetolive", {"ID": str(lease_id), "keys": keys})
        return {"id": int(reply.get("ID", 0)), "ttl": int(reply.get("TTL", 0)),
                "granted_ttl": int(reply.get("grantedTTL", 0)),
                "keys": [_unb64(k) for k in reply.get("keys", [])]}

    def keepalive(self, lease_id: int) -> int:
        """One ``/v3/lease/keepalive`` round; returns the new TTL."""
        reply = self.call("/v3/lease/keepalive", {"ID": str(lease_id)})
        return int(reply.get("result", {}).get("TTL", 0))

    # -- watch -----------------------------------------------------------------------------------------
    def watch(self, key: bytes, range_end: bytes | None = None, *, start_revision: int = 0,
              prev_kv: bool = False, filters: tuple[int, ...] = (), progress_notify: bool = False) -> EtcdWatch:
        """Open a ``/v3/watch`` stream on its own connection; see :class:`EtcdWatch`."""
        request = _range_fields(key, range_end)
        if start_revision:
            request["start_revision"] = str(start_revision)
        if prev_kv:
            request["prev_kv"] = True
        if filters:
            request["filters"] = [int(f) for f in filters]
        if progress_notify:
            request["progress_notify"] = True
        return EtcdWatch(self.host, self.port, [{"create_request": request}], self.timeout, self._grpc)

    def watch_many(self, requests: list[dict[str, Any]]) -> EtcdWatch:
        """Open one stream carrying several ``WatchCreateRequest`` bodies (already in gateway JSON)."""
        return EtcdWatch(self.host, self.port, [{"create_request": r} for r in requests], self.timeout, self._grpc)


class EtcdWatch:
    """One streaming watch. ``next_response(timeout)`` returns each decoded ``WatchResponse`` as a dict
    ``{"events": [...], "revision", "watch_id", "created", "canceled", "compact_revision", "cancel_reason"}``,
    ``events`` items ``{"type": "PUT"|"DELETE", "kv", "prev_kv"}``.

    The gateway answers with one JSON object per response on a chunked HTTP body. It is read from a raw
    socket with a small chunked-encoding parser of our own: http.client loses its place in the chunk
    framing when a read times out, and a watch read must be able to time out and resume. The request
    body may carry several create requests: the gateway feeds them all into one gRPC watch stream."""

    def __init__(self, host: str, port: int, creates: list[dict[str, Any]], timeout: float,
                 grpc_transport: Any = None) -> None:
        self._grpc_watch = None
        if grpc_transport is not None:  # one gRPC watch stream carrying every create request
            self._grpc_watch = grpc_transport.watch([c["create_request"] for c in creates], timeout)
            return
        body = "".join(json.dumps(create) for create in creates).encode()
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (f"POST /v3/watch HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self._sock.sendall(head + body)
        self._raw = b""          # bytes from the socket not yet de-chunked
        self._headers_done = False
        self._chunk_left = 0     # payload bytes left in the current chunk
        self._text = ""          # de-chunked JSON text not yet decoded
        self._decoder = json.JSONDecoder()
        self._ended = False

    def _dechunk(self) -> None:
        raw = self._raw
        if not self._headers_done:
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                return
            status = raw.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                raise EtcdError(int(status.split()[1]), -1, raw[:end].decode("latin-1"))
            raw = raw[end + 4:]
            self._headers_done = True
        out = []
        while raw:
            if self._chunk_left > 0:
                take = raw[: self._chunk_left]
                out.append(take)
                self._chunk_left -= len(take)
                raw = raw[len(take):]
                if self._chunk_left == 0:
                    self._chunk_left = -2  # the CRLF after the chunk
                continue
            if self._chunk_left < 0:
                skip = min(-self._chunk_left, len(raw))
                raw = raw[skip:]
                self._chunk_left += skip
                continue
            line_end = raw.find(b"\r\n")
            if line_end < 0:
                break
            size = int(raw[:line_end].split(b";")[0], 16)
            raw = raw[line_end + 2:]
            if size == 0:
                self._ended = True
                raw = b""
                break
            self._chunk_left = size
        self._raw = raw
        self._text += b"".join(out).decode("utf-8")

    def _next_object(self, deadline: float) -> dict[str, Any] | None:
        while True:
            text = self._text.lstrip()
            if text:
                try:
                    obj, end = self._decoder.raw_decode(text)
                except json.JSONDecodeError:
                    pass
                else:
                    self._text = text[end:]
                    return obj  # type: ignore[no-any-return]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._ended:
                return None
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(1 << 16)
            except (socket.timeout, TimeoutError):
                return None
            if not data:
                self._ended = True
                return None
            self._raw += data
            self._dechunk()

    def next_response(self, timeout: float) -> dict[str, Any] | None:
        """The next WatchResponse, or None after ``timeout`` seconds (or at the end of the stream)."""
        if self._grpc_watch is not None:
            obj = self._grpc_watch.next_object(time.monotonic() + timeout)
        else:
            obj = self._next_object(time.monotonic() + timeout)
        if obj is None:
            return None
        if "error" in obj:
            error = obj["error"]
            raise EtcdError(200, int(error.get("grpc_code", error.get("code", -1))),
                            str(error.get("message", error)))
        return decode_watch_response(obj.get("result", {}))

    def responses(self, timeout: float) -> Iterator[dict[str, Any]]:
        """WatchResponses until none arrives for ``timeout`` seconds."""
        while True:
            response = self.next_response(timeout)
            if response is None:
                return
            yield response

    def close(self) -> None:
        """Drop the stream (etcd cancels its watches when the stream or connection closes)."""
        if self._grpc_watch is not None:
            self._grpc_watch.close()
            return
        self._sock.close()

    def __enter__(self) -> EtcdWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- decoders of gateway replies -------------------------------------------------------------------------
def _revision(reply: dict[str, Any]) -> int:
    return int(reply.get("header", {}).get("revision", 0))


def decode_put(reply: dict[str, Any]) -> dict[str, Any]:
    return {"revision": _revision(reply), "prev_kv": decode_kv(reply.get("prev_kv"))}


def decode_range(reply: dict[str, Any]) -> dict[str, Any]:
    return {"kvs": [decode_kv(kv) for kv in reply.get("kvs", [])], "count": int(reply.get("count", 0)),
            "more": bool(reply.get("more", False)), "revision": _revision(reply)}


def decode_delete(reply: dict[str, Any]) -> dict[str, Any]:
    return {"deleted": int(reply.get("deleted", 0)),
            "prev_kvs": [decode_kv(kv) for kv in reply.get("prev_kvs", [])], "revision": _revision(reply)}


def decode_txn(reply: dict[str, Any]) -> dict[str, Any]:
    responses: list[tuple[str, dict[str, Any]]] = []
    for item in reply.get("responses", []):
        if "response_put" in item:
            responses.append(("put", decode_put(item["response_put"])))
        elif "response_range" in item:
            responses.append(("range", decode_range(item["response_range"])))
        elif "response_delete_range" in item:
            responses.append(("delete", decode_delete(item["response_delete_range"])))
        elif "response_txn" in item:
            responses.append(("txn", decode_txn(item["response_txn"])))
        else:
            raise ValueError(f"unknown txn response item {item!r}")
    return {"succeeded": bool(reply.get("succeeded", False)), "responses": responses,
            "revision": _revision(reply)}


def decode_event(raw: dict[str, Any]) -> dict[str, Any]:
    return {"type": raw.get("type", "PUT"), "kv": decode_kv(raw.get("kv", {})),
            "prev_kv": decode_kv(raw.get("prev_kv"))}


def decode_watch_response(result: dict[str, Any]) -> dict[str, Any]:
    return {"events": [decode_event(e) for e in result.get("events", [])], "revision": _revision(result),
            "watch_id": int(result.get("watch_id", 0)), "created": bool(result.get("created", False)),
            "canceled": bool(result.get("canceled", False)),
            "compact_revision": int(result.get("compact_revision", 0)),
            "cancel_reason": result.get("cancel_reason", "")}
