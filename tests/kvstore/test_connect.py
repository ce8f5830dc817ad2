"""kvstore.connect(): arguments, endpoint failover, errors without gRPC, auth and TLS against a real etcd.

The store contract itself (put/range/txn/watch/leases on etcd) runs in test_kv/test_txn/test_watch/... through
the parametrized ``store`` fixture; this module covers what only a remote client has.
"""
from __future__ import annotations

import datetime
import ipaddress
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kvstore
import sys as _sys
_sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from etcd_server import EtcdServer  # noqa: E402
from etcd_store import FAST_ELECTION, SKIP_ETCD, etcd_store

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


def test_the_embedded_store_never_imports_grpc():
    code = ("import sys, kvstore\n"
            "with kvstore.open() as s:\n"
            "    s.put(b'k', b'v')\n"
            "assert 'grpc' not in sys.modules and 'aetcd' not in sys.modules, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("endpoints, message", [
    ("", "names no endpoint"),
    ([], "names no endpoint"),
    ("ftp://127.0.0.1:1", "unknown scheme"),
    ("127.0.0.1:notaport", "port"),
    ("http://127.0.0.1:2379/v3", "path"),
    (b"127.0.0.1:2379", "not bytes"),
])
def test_bad_endpoints_are_refused_by_name(endpoints, message):
    pytest.importorskip("aetcd")
    with pytest.raises(kvstore.InvalidArgument, match=message):
        kvstore.connect(endpoints)


def test_bad_options_are_refused_by_name():
    pytest.importorskip("aetcd")
    with pytest.raises(kvstore.InvalidArgument, match="timeout"):
        kvstore.connect("127.0.0.1:2379", timeout=0)
    with pytest.raises(kvstore.InvalidArgument, match="username and password"):
        kvstore.connect("127.0.0.1:2379", username="root")
    with pytest.raises(kvstore.InvalidArgument, match="cert and key"):
        kvstore.connect("127.0.0.1:2379", ca_cert=b"x", cert=b"y")
    with pytest.raises(kvstore.InvalidArgument, match="ca_cert="):
        kvstore.connect("127.0.0.1:2379", ca_cert="/nonexistent/ca.pem")


def test_endpoints_accept_a_list_urls_and_a_comma_separated_string():
    pytest.importorskip("aetcd")
    from kvstore.remote.endpoints import parse_endpoints

    assert [repr(e) for e in parse_endpoints("127.0.0.1:1, http://127.0.0.1:2,127.0.0.1:1")] == \
        ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    assert [repr(e) for e in parse_endpoints(["https://127.0.0.1:3"])] == ["https://127.0.0.1:3"]
    assert [repr(e) for e in parse_endpoints("127.0.0.1:4", tls_default=True)] == ["https://127.0.0.1:4"]


def test_no_reachable_endpoint_is_a_timeout_not_a_grpc_error():
    pytest.importorskip("aetcd")
    with kvstore.connect([f"127.0.0.1:{_closed_port()}", f"127.0.0.1:{_closed_port()}"], timeout=0.5) as store:
        started = time.monotonic()
        with pytest.raises(kvstore.Timeout, match="no answer within 0.5 s"):
            store.put(b"k", b"v")
        with pytest.raises(kvstore.Timeout):
            store.get(b"k")
        assert time.monotonic() - started < 30  # bounded by the timeout, not by gRPC's reconnect backoff


@pytest.mark.etcd
@SKIP_ETCD
def test_a_dead_first_endpoint_fails_over_to_the_live_one():
    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as server:
        with kvstore.connect([f"127.0.0.1:{_closed_port()}", f"127.0.0.1:{server.client_port}"],
                             timeout=30) as store:
            assert store.put(b"k", b"v").revision == 2  # never applied on the dead one: safe to resend
            with store.watch(b"k") as watcher:
                store.put(b"k", b"w")
                assert watcher.get(30).kv.value == b"w"


@pytest.mark.etcd
@SKIP_ETCD
def test_closed_client_refuses_requests():
    with etcd_store() as store:
        watcher = store.watch(b"k")
        store.close()
        store.close()
        assert watcher.canceled
        with pytest.raises(kvstore.StoreClosed):
            store.put(b"k", b"v")


@pytest.mark.etcd
@SKIP_ETCD
def test_username_and_password_against_etcd_with_auth_enabled():
    import grpc
    from aetcd import rpc

    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as server:
        channel = grpc.insecure_channel(f"127.0.0.1:{server.client_port}")
        try:
            auth = rpc.AuthStub(channel)
            auth.UserAdd(rpc.AuthUserAddRequest(name="root", password="root-secret"))
            auth.RoleAdd(rpc.AuthRoleAddRequest(name="root"))
            auth.UserGrantRole(rpc.AuthUserGrantRoleRequest(user="root", role="root"))
            auth.AuthEnable(rpc.AuthEnableRequest())
        finally:
            channel.close()
        endpoint = f"127.0.0.1:{server.client_port}"
        with kvstore.connect(endpoint, timeout=30) as anonymous:
            with pytest.raises(kvstore.AuthFailed, match="user name is empty"):
                anonymous.put(b"k", b"v")
        with kvstore.connect(endpoint, timeout=30, username="root", password="wrong") as wrong:
            with pytest.raises(kvstore.AuthFailed, match="authentication failed"):
                wrong.get(b"k")
        with kvstore.connect(endpoint, timeout=30, username="root", password="root-secret") as store:
            assert store.put(b"k", b"v").revision == 2
            with store.watch(b"k", start_revision=2) as watcher:
                assert watcher.get(30).kv.value == b"v"
            assert store.get(b"k").value == b"v"


def _write_certificates(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    paths: dict[str, Path] = {}

    def save(name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        paths[name + "_key"] = directory / f"{name}.key"
        paths[name + "_key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
        paths[name] = directory / f"{name}.pem"
        paths[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "borgkit test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    save("ca", ca_key, ca)
    for name, usages in (("server", [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                         ("client", [ExtendedKeyUsageOID.CLIENT_AUTH])):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"borgkit {name}")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                .sign(ca_key, hashes.SHA256()))
        save(name, key, cert)
    return paths


@pytest.mark.etcd
@SKIP_ETCD
def test_tls_with_client_certificates(tmp_path):
    certs = _write_certificates(tmp_path)
    tls = (str(certs["server"]), str(certs["server_key"]), str(certs["ca"]))
    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION, tls=tls) as server:
        endpoint = f"127.0.0.1:{server.client_port}"
        with kvstore.connect(endpoint, timeout=30, ca_cert=certs["ca"], cert=certs["client"],
                             key=certs["client_key"]) as store:  # no scheme + certificates: TLS, as etcdctl
            assert store.put(b"k", b"v").revision == 2
            with store.watch(b"k", start_revision=2) as watcher:
                assert watcher.get(30).kv.value == b"v"
        with kvstore.connect(f"https://{endpoint}", timeout=1, ca_cert=certs["ca"]) as no_client_cert:
            with pytest.raises((kvstore.Timeout, kvstore.KVError)):
                no_client_cert.get(b"k")  # the server requires a client certificate


@pytest.mark.etcd
@SKIP_ETCD
def test_serializable_reads_as_on_a_raft_member():
    with etcd_store() as store:
        store.put(b"k", b"v")
        assert store.get(b"k", serializable=True).value == b"v"
        assert store.range(b"k", prefix=True, serializable=True).count == 1
        with pytest.raises(kvstore.InvalidType, match="serializable"):
            store.get(b"k", serializable=1)


@pytest.mark.etcd
@SKIP_ETCD
def test_a_slow_watch_consumer_holds_the_stream_back_and_still_gets_every_event_in_order():
    from kvstore.remote import connect as remote_connect

    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as server:
        with remote_connect(f"127.0.0.1:{server.client_port}", timeout=30, watch_queue_size=4) as store:
            with store.watch(b"k", prefix=True) as watcher:
                revisions = [store.put(b"k%03d" % i, b"v").revision for i in range(60)]
                deadline = time.monotonic() + 1.0  # unbounded, the reader would queue all 60 well within it
                while time.monotonic() < deadline:
                    assert len(watcher._queue) <= 4  # the reader waits for room instead of buffering it all
                    time.sleep(0.01)
                seen = [watcher.get(30).kv.mod_revision for _ in range(60)]
            assert seen == revisions


@pytest.mark.etcd
@SKIP_ETCD
def test_a_thousand_watchers_share_one_stream_and_cost_no_more_threads_than_one():
    import threading

    with etcd_store() as store:
        seen: list[bytes] = []
        lock = threading.Lock()
        done = threading.Event()

        def callback(event):
            with lock:
                seen.append(event.kv.value)
                if len(seen) == 2001:
                    done.set()

        first = store.watch(b"k", callback=callback)
        store.put(b"k", b"0")  # the first delivery starts the callback thread
        deadline = time.monotonic() + 60
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        with_one = threading.active_count()
        watchers = [first] + [store.watch(b"k", callback=callback) for _ in range(999)]
        store.put(b"k", b"1")
        store.put(b"k", b"2")
        assert done.wait(60)
        assert threading.active_count() <= with_one
        assert seen.count(b"1") == seen.count(b"2") == 1000
        for watcher in watchers:
            watcher.cancel()


@pytest.mark.etcd
@SKIP_ETCD
def test_a_request_over_etcd_s_limit_is_request_too_large_before_or_after_sending():
    from kvstore.remote import connect as remote_connect

    with EtcdServer(unsafe_no_fsync=True, extra_args=FAST_ELECTION) as server:
        endpoint = f"127.0.0.1:{server.client_port}"
        with kvstore.connect(endpoint, timeout=30) as store:
            with pytest.raises(kvstore.RequestTooLarge, match="max_request_bytes=1572864"):
                store.put(b"k", b"x" * (1536 * 1024))  # refused here: key + value over the limit
            with pytest.raises(kvstore.RequestTooLarge, match="txn request"):
                store.txn([], [kvstore.Op.put(b"a%d" % i, b"x" * (1024 * 1024)) for i in range(2)])
        # a client told of a larger limit than the server's: etcd refuses, with the same error class
        with remote_connect(endpoint, timeout=30, max_request_bytes=4 << 20, max_value_bytes=4 << 20) as store:
            with pytest.raises(kvstore.RequestTooLarge):
                store.put(b"k", b"x" * (1536 * 1024))
            assert store.revision == 1
