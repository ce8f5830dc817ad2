"""A Raft member in its own OS process, serving a tiny msgpack RPC on 127.0.0.1 for the tests.

usage: python member_main.py DATA_DIR SELF_ADDRESS BIND_ADDRESS RPC_PORT PEER [PEER ...]
Frames are `u32 length | msgpack`; a request is [op, *args], a reply [ok, result-or-error-name].
MEMBER_CLUSTER_OPTIONS in the environment (JSON) sets further `Cluster` fields.
"""
from __future__ import annotations

import json
import os
import socket
import socketserver
import struct
import sys
import threading
from typing import Any, Callable

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "src"))

import kvstore  # noqa: E402
from kvstore.errors import Compacted  # noqa: E402
from kvstore.replication import Cluster  # noqa: E402
from kvstore.txn import Compare, Op  # noqa: E402

SECRET = "replication-test-secret-0123456789"


def serve(member: Any, port: int) -> None:
    def handle(op: str, args: list) -> Any:
        if op == "put":
            return member.put(args[0], args[1]).revision
        if op == "get":
            kv = member.get(args[0], serializable=bool(args[1]))
            return None if kv is None else [kv.value, kv.mod_revision]
        if op == "cas":  # put args[2] if the value is args[1] (None: key absent)
            key, expected, new = args
            compare = (Compare.version(key) == 0) if expected is None else (Compare.value(key) == expected)
            return member.txn([compare], [Op.put(key, new)], []).succeeded
        if op == "hash":
            with member._raft.serializable():
                revision = member.revision
                return [revision, member.hash_kv(revision)]
        if op == "status":
            node = member._raft.node
            return {"leader": member.leader, "is_leader": member.is_leader, "revision": member.revision,
                    "applied": node.raftLastApplied, "commit": node.raftCommitIndex, "members": member.members(),
                    "term": node.raftCurrentTerm, "read_wanted": node.read_index.wanted,
                    "read_indexes_failed": node.read_index.read_indexes_failed,
                    "slow_read_indexes": node.read_index.slow_read_indexes}
        if op == "wait_ready":
            member.wait_ready(args[0])
            return True
        if op == "add_member":
            member.add_member(args[0], timeout=5)
            return True
        if op == "transfer":
            member.move_leader(args[0], timeout=5)
            return True
        if op == "keys":
            with member._raft.serializable():
                return [[kv.key, kv.value] for kv in member.range(b"\0", b"\0").kvs]
        if op == "grant":  # [ttl, id]
            return member.grant(args[0], id=args[1]).id
        if op == "revoke":
            return member.revoke(args[0])
        if op == "lput":  # put args[1] at args[0] attached to lease args[2]
            return member.put(args[0], args[1], lease=args[2]).revision
        if op == "ttl":  # [id, keys, serializable]
            answer = member.time_to_live(args[0], keys=bool(args[1]), serializable=bool(args[2]))
            return [answer.ttl, answer.granted_ttl, answer.keys]
        if op == "leases":
            return [lease.id for lease in member.leases(serializable=bool(args[0]))]
        if op == "lease_expiry":  # the wall-clock instant in this member's table (None: no such lease)
            with member._lock:
                record = member._state.leases.records.get(args[0])
                return None if record is None else record.expiry
        if op == "compact":
            return member.compact(args[0])
        if op == "watch_from":  # [key, start_revision, timeout]: what the watch delivers first
            with member.watch(args[0], start_revision=args[1]) as watcher:
                try:
                    event = watcher.get(timeout=args[2])
                except Compacted as exc:
                    return ["compacted", exc.compact_revision]
                return ["none"] if event is None else ["event", event.kv.mod_revision]
        raise ValueError(f"unknown op {op}")

    serve_rpc(handle, port)


def serve_rpc(handle: Callable[[str, list], Any], port: int) -> None:
    """Answer the framed msgpack RPC on 127.0.0.1:``port`` with ``handle(op, args)``, forever (a thread
    per connection); bench_replication serves pysyncobj's ReplDict through it too."""
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                head = _recv(conn, 4)
                body = None if head is None else _recv(conn, struct.unpack("<I", head)[0])
                if body is None:
                    return
                request = msgpack.unpackb(body, raw=False)
                try:
                    reply = [True, handle(request[0], request[1:])]
                except Exception as exc:  # the client records the error type
                    reply = [False, type(exc).__name__]
                data = msgpack.packb(reply, use_bin_type=True)
                conn.sendall(struct.pack("<I", len(data)) + data)

    socketserver.ThreadingTCPServer.allow_reuse_address = True  # restarts reuse the port at once
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def _recv(conn: socket.socket, size: int) -> Any:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main() -> None:
    data_dir, self_address, bind_address, rpc_port, *peers = sys.argv[1:]
    options = json.loads(os.environ.get("MEMBER_CLUSTER_OPTIONS", "{}"))
    cluster = Cluster(self_address=self_address, peers=peers, secret=SECRET, bind_address=bind_address,
                      **options)
    member = kvstore.replication.open(data_dir, cluster=cluster)
    threading.Thread(target=serve, args=(member, int(rpc_port)), daemon=True).start()
    print("serving", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
