"""pysyncobj's TCP transport, with the journal made durable before any message leaves.

Every Raft message that reflects local state (an AppendEntries acknowledgement, a vote, a leader's
AppendEntries carrying entries it counts as its own copy) goes through `send`, so syncing the
journal there is the single point that orders "on disk" before "told anyone". Consecutive sends
share one fsync: `sync()` is a no-op when nothing new was appended.
"""
from __future__ import annotations

from typing import Any

from pysyncobj.transport import TCPTransport


class DurableTransport(TCPTransport):
    """TCPTransport that fsyncs the member's journal before sending."""

    def send(self, node: Any, message: Any) -> bool:
        """Sync the journal, then send as pysyncobj does."""
        self._syncObj.journal.sync()
        return bool(super().send(node, message))
