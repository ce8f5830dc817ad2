"""kvstore.connect()'s resend rules, against a gRPC server on 127.0.0.1 that answers with etcd's error
texts on cue (a real etcd cannot be made to fail a given request deterministically).

A write is sent again only when etcd certainly did not apply it (the member refused it before proposing,
e.g. ``etcdserver: no leader``); after an error that leaves its fate open (``request timed out``, a
connection lost mid-call) it raises Timeout and is not resent. A read is resent on any transient error.
"""
from __future__ import annotations

import threading
from concurrent import futures

import pytest

pytest.importorskip("aetcd")

import grpc  # noqa: E402
from aetcd import rpc  # noqa: E402
from aetcd.rpc import rpc_pb2_grpc  # noqa: E402

import kvstore  # noqa: E402


class ScriptedKV(rpc_pb2_grpc.KVServicer):
    """Answers Put/Range with the next scripted error (a (code, text) pair), then with success."""

    def __init__(self) -> None:
        self.script: list[tuple[grpc.StatusCode, str]] = []
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def _answer(self, name: str, context: grpc.ServicerContext) -> None:
        with self.lock:
            self.calls.append(name)
            failure = self.script.pop(0) if self.script else None
        if failure is not None:
            context.abort(*failure)

    def Put(self, request, context):  # noqa: N802 (gRPC's method name)
        self._answer("put", context)
        return rpc.PutResponse(header=rpc.ResponseHeader(revision=7))

    def Range(self, request, context):  # noqa: N802
        self._answer("range", context)
        return rpc.RangeResponse(header=rpc.ResponseHeader(revision=7), count=0)


@pytest.fixture
def scripted():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = ScriptedKV()
    rpc_pb2_grpc.add_KVServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    store = kvstore.connect(f"127.0.0.1:{port}", timeout=10)
    try:
        yield servicer, store
    finally:
        store.close()
        server.stop(grace=None)


def test_a_write_refused_before_proposing_is_sent_again(scripted):
    servicer, store = scripted
    servicer.script = [(grpc.StatusCode.UNAVAILABLE, "etcdserver: no leader")] * 2
    assert store.put(b"k", b"v").revision == 7
    assert servicer.calls == ["put", "put", "put"]


@pytest.mark.parametrize("failure", [
    (grpc.StatusCode.UNAVAILABLE, "etcdserver: request timed out"),
    (grpc.StatusCode.UNAVAILABLE, "etcdserver: leader changed"),
    (grpc.StatusCode.UNAVAILABLE, "Connection reset by peer"),
    # etcd answers ErrStopped also after proposing, when the member stops while waiting for the apply
    (grpc.StatusCode.UNAVAILABLE, "etcdserver: server stopped"),
])
def test_a_write_whose_fate_is_open_raises_timeout_and_is_not_resent(scripted, failure):
    servicer, store = scripted
    servicer.script = [failure]
    with pytest.raises(kvstore.Timeout, match="may or may not have been applied"):
        store.put(b"k", b"v")
    assert servicer.calls == ["put"]


def test_a_read_is_resent_after_any_transient_error(scripted):
    servicer, store = scripted
    servicer.script = [(grpc.StatusCode.UNAVAILABLE, "etcdserver: request timed out"),
                       (grpc.StatusCode.UNAVAILABLE, "etcdserver: leader changed")]
    assert store.get(b"k") is None
    assert servicer.calls == ["range", "range", "range"]


def test_no_leader_until_the_deadline_is_no_leader(scripted):
    servicer, store = scripted
    servicer.script = [(grpc.StatusCode.UNAVAILABLE, "etcdserver: no leader")] * 10_000
    store._connection.timeout = 0.5
    with pytest.raises(kvstore.NoLeader, match="no leader within 0.5 s"):
        store.put(b"k", b"v")


def test_an_unknown_server_error_is_a_kverror_naming_etcd_s_text_never_a_grpc_error(scripted):
    servicer, store = scripted
    servicer.script = [(grpc.StatusCode.INTERNAL, "etcdserver: something new")]
    with pytest.raises(kvstore.KVError, match="something new") as caught:
        store.put(b"k", b"v")
    assert not isinstance(caught.value, grpc.RpcError)
