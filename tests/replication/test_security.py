"""Issue 3 point 1: pysyncobj unpickles what it receives; a member must not run a stranger's pickle."""
from __future__ import annotations

import pickle
import socket
import struct
import zlib

import pytest
from pysyncobj import SyncObj, SyncObjConf

from kvstore.errors import InvalidArgument
from kvstore.replication.cluster import Cluster
from kvstore.replication.machine import BatchApplier
from kvstore.replication.proposer import Proposer
from kvstore.replication.raftnode import RaftNode

from .support import SECRET, WAIT, CounterMachine, free_ports, wait_until


class _CreateFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # what an attacker sends: unpickling calls open(path, "w")
        return (open, (self.path, "w"))


def _send_malicious_pickle(port: int, path: str) -> None:
    body = zlib.compress(pickle.dumps(_CreateFile(path), protocol=2))
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(struct.pack("i", len(body)) + body)
        conn.settimeout(2)
        try:
            conn.recv(1)  # the member hangs up (or says nothing): either way it has parsed the frame
        except (socket.timeout, ConnectionError):
            pass


def test_plain_pysyncobj_runs_the_pickle(tmp_path) -> None:
    """The hazard is real: without a password pysyncobj executes the payload."""
    port, = free_ports(1)
    target = tmp_path / "owned-plain"
    node = SyncObj(f"127.0.0.1:{port}", [], SyncObjConf(bindAddress=f"127.0.0.1:{port}"))
    try:
        node.waitBinded()
        _send_malicious_pickle(port, str(target))
        wait_until(target.exists, WAIT, "the unprotected node to run the payload")
    finally:
        node.destroy_synchronous()


def test_member_ignores_the_pickle_and_keeps_serving(tmp_path) -> None:
    port, = free_ports(1)
    target = tmp_path / "owned-member"
    cluster = Cluster(self_address=f"127.0.0.1:{port}", peers=[], secret=SECRET)
    node = RaftNode(cluster, str(tmp_path / "data"), BatchApplier(CounterMachine()))
    proposer = Proposer(node, cluster.max_batch_bytes)
    try:
        node.waitBinded()
        wait_until(lambda: node.is_leader, WAIT, "the single member to lead")
        for _ in range(3):
            _send_malicious_pickle(port, str(target))
        assert proposer.propose(["after", 1], timeout=5) == 1
        assert not target.exists()
    finally:
        proposer.close()
        node.destroy_synchronous()


def test_pysyncobj_admin_commands_that_change_the_cluster_are_disabled(tmp_path) -> None:
    port, = free_ports(1)
    cluster = Cluster(self_address=f"127.0.0.1:{port}", peers=[], secret=SECRET)
    node = RaftNode(cluster, str(tmp_path), BatchApplier(CounterMachine()))
    try:
        accepted = set(node._SyncObj__transport._onUtilityMessageCallbacks)
        assert accepted == {"status"}
    finally:
        node.destroy_synchronous()


def test_member_binds_only_its_address(tmp_path) -> None:
    port, = free_ports(1)
    cluster = Cluster(self_address=f"127.0.0.1:{port}", peers=[], secret=SECRET)
    node = RaftNode(cluster, str(tmp_path), BatchApplier(CounterMachine()))
    try:
        node.waitBinded()
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        # 127.0.0.2 is loopback too: a socket bound to 0.0.0.0 would accept there as well.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", port), timeout=2).close()
    finally:
        node.destroy_synchronous()


@pytest.mark.parametrize("secret", ["", "short", b"", None])
def test_no_member_without_a_secret(secret: object) -> None:
    with pytest.raises(InvalidArgument, match="secret"):
        Cluster(self_address="127.0.0.1:7001", peers=[], secret=secret)  # type: ignore[arg-type]


def test_wildcard_bind_address_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="bind_address"):
        Cluster(self_address="10.0.0.1:7001", peers=[], secret=SECRET, bind_address="0.0.0.0:7001")


def test_another_pysyncobj_version_is_refused() -> None:
    from kvstore.errors import KVError
    from kvstore.replication._pin import UnsupportedPysyncobj, check_pinned_version

    check_pinned_version("0.3.17")
    with pytest.raises(UnsupportedPysyncobj, match="0.3.17") as raised:
        check_pinned_version("0.3.18")
    assert isinstance(raised.value, KVError)
