"""pysyncobj's TCP transport, with the journal made durable before anything is acknowledged.

A follower acknowledges entries with `next_node_idx` and grants votes with `response_vote`; both go
through `send`, so syncing the journal there orders "on disk" before "told anyone" (the vote itself
is already durable: `setCurrentTerm` writes it synchronously). Consecutive sends share one fsync.
A leader does not need its copy on disk before sending AppendEntries (Raft thesis §10.2.1): it only
must not count itself towards a commit before its fsync. The first AppendEntries carrying new
entries starts the leader's fsync on its own thread (`LeaderSync`), unless a caller appended them
(it fsyncs them itself once they are sent: `RaftNode.propose_now`), and the member syncs (waiting
for that one) at the top of every tick, before it computes a commit. So the leader's fsync overlaps
the encoding and sending of its AppendEntries and the followers' work instead of following them.

The transport also carries the read-confirmation sequence (`ReadIndex`): a leader stamps each
AppendEntries with a sequence number and a follower echoes the last one it received in its reply,
and its connections frame messages without compressing them (`frames.CompactConnection`).
"""
from __future__ import annotations

from typing import Any

from pysyncobj.transport import TCPTransport

from .frames import CompactConnection

ACKNOWLEDGEMENTS = ("next_node_idx", "response_vote")


class DurableTransport(TCPTransport):
    """TCPTransport that fsyncs the member's journal before acknowledging, and stamps heartbeats."""

    def addNode(self, node: Any) -> None:  # noqa: N802 - pysyncobj's name
        """Add a peer as pysyncobj does; its outgoing connection frames without compression."""
        super().addNode(node)
        connection = self._connections.get(node)
        if connection is not None:
            connection.__class__ = CompactConnection

    def _onNewIncomingConnection(self, conn: Any) -> None:  # noqa: N802 - pysyncobj's name
        conn.__class__ = CompactConnection  # pysyncobj's server builds plain TcpConnections
        super()._onNewIncomingConnection(conn)

    def send(self, node: Any, message: Any) -> bool:
        """Sync the journal before an acknowledgement, stamp read sequences, then send as pysyncobj."""
        kind = message.get("type") if isinstance(message, dict) else None
        member = self._syncObj
        if kind in ACKNOWLEDGEMENTS:
            member.journal.sync()
            if kind == "next_node_idx" and member.echo_sequence is not None:
                message["read_seq"] = member.echo_sequence
        elif kind == "append_entries":
            if message.get("entries") and not member.journal.durable and not member.caller_syncs:
                member.leader_sync.start()  # the leader's own fsync, while this is encoded and sent
            sequence = message["read_seq"] = member.read_index.stamp()
            sent = bool(super().send(node, message))
            if sent:
                member.read_index.mark_sent(node, sequence)
            return sent
        elif kind == "apply_command_response" and "log_idx" in message:
            member.forwarded_upto = max(member.forwarded_upto, message["log_idx"])
        return bool(super().send(node, message))
