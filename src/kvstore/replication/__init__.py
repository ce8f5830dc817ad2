"""Raft replication of the kvstore on pysyncobj 0.3.17 (pinned): a Store that is a cluster member.

    import kvstore
    member = kvstore.open("/var/lib/kv", cluster=kvstore.Cluster(
        self_address="10.0.0.1:7001", peers=["10.0.0.2:7001", "10.0.0.3:7001"], secret=SECRET))
    member.wait_ready(10)
    member.put(b"k", b"v")          # committed by a majority, applied here, with its revision

See docs/replication.md for the guarantees, the pysyncobj settings and the guards.
"""
from __future__ import annotations

from .cluster import Cluster
from .member import Member, open

__all__ = ["Cluster", "Member", "open"]
