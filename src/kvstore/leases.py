"""The lease table inside the state machine: grant, keepalive, revoke and expiry with an explicit ``now``.

Time never comes from a clock here: every command carries the ``now`` its proposer decided (the embedded
store's clock, or the Raft leader's), so applying the same commands gives the same table everywhere.
Expiry instants are only meaningful for the process that granted them; like etcd's lessor on promotion,
the store calls :meth:`LeaseTable.refresh` after recovery so every lease gets its full TTL again.
"""
from __future__ import annotations

import math

__all__ = ["LeaseRecord", "LeaseTable", "MAX_LEASE_TTL"]

MAX_LEASE_TTL = 9_000_000_000  # etcd's MaxLeaseTTL, in seconds


class LeaseRecord:
    """One lease: its ``id``, granted ``ttl`` (seconds), ``expiry`` instant and attached ``keys``."""

    __slots__ = ("id", "ttl", "expiry", "keys")

    def __init__(self, lease_id: int, ttl: int, expiry: float) -> None:
        self.id = lease_id
        self.ttl = ttl
        self.expiry = expiry
        self.keys: set[bytes] = set()

    def remaining(self, now: float) -> int:
        """Whole seconds left (etcd truncates), never below 0 while the lease exists."""
        return max(0, int(self.expiry - now))


class LeaseTable:
    """Every live lease by ID (guarded by the store's lock, like the rest of the state machine)."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: dict[int, LeaseRecord] = {}

    def grant(self, lease_id: int, ttl: int, now: float) -> LeaseRecord:
        record = LeaseRecord(lease_id, ttl, now + ttl)
        self.records[lease_id] = record
        return record

    def keepalive(self, lease_id: int, now: float) -> LeaseRecord | None:
        record = self.records.get(lease_id)
        if record is not None:
            record.expiry = now + record.ttl
        return record

    def attach(self, lease_id: int, key: bytes) -> None:
        self.records[lease_id].keys.add(key)

    def detach(self, lease_id: int, key: bytes) -> None:
        record = self.records.get(lease_id)
        if record is not None:
            record.keys.discard(key)

    def due(self, now: float) -> list[int]:
        """IDs of the leases whose expiry is at or before ``now``, soonest first."""
        due = [record for record in self.records.values() if record.expiry <= now]
        due.sort(key=lambda record: (record.expiry, record.id))
        return [record.id for record in due]

    def next_expiry(self) -> float:
        """The earliest expiry instant (``inf`` without leases)."""
        return min((record.expiry for record in self.records.values()), default=math.inf)

    def refresh(self, now: float) -> None:
        """Give every lease its full TTL from ``now`` (after recovery or a leader change, as etcd)."""
        for record in self.records.values():
            record.expiry = now + record.ttl

    def __len__(self) -> int:
        return len(self.records)
