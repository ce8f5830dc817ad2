"""`Cluster`: how a member finds its peers, proves it belongs, and times its Raft."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

from ..errors import InvalidArgument

MIN_SECRET_BYTES = 16


def _check_address(name: str, address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(f"{name}={address!r} is not a 'host:port' address with a port in 1..65535")


@dataclass(frozen=True)
class Cluster:
    """Membership, secret and tuning of one Raft member (like etcd's --initial-cluster flags).

    `self_address` is what peers dial ("host:port"); the member listens on `bind_address`, which
    defaults to `self_address` and never to 0.0.0.0. `peers` lists the other members (this member's
    own address may appear and is ignored). `secret` is shared by all members: every message is
    authenticated and encrypted with it before pysyncobj unpickles anything; there is no default.
    Timings are in seconds; the defaults give failover in about a second on a LAN:

    - heartbeat_interval: leader's AppendEntries period (etcd --heartbeat-interval, 100 ms there).
    - election_timeout_min/max: a follower without a heartbeat for a random time in this range
      starts an election (etcd --election-timeout, 1000 ms there).
    - leader_step_down_timeout: a leader that hears from no majority for this long steps down
      (pysyncobj's leaderFallbackTimeout, 30 s by default).
    - reconnect_interval: how often a lost peer connection is retried.
    - request_timeout: deadline of a write or linearizable read (etcd's request timeout).
    - read_index_timeout: how long a leader waits for a majority to confirm a linearizable read
      (ReadIndex) before it falls back to a barrier entry through the log.
    - lease_check_interval: how often the leader looks for expired leases.
    - snapshot_entries: log entries between Raft snapshots (etcd --snapshot-count).
    - snapshot_bytes: journal bytes that also trigger a snapshot (entries batch many requests).
    - max_batch_bytes: upper bound of one log entry batching many client requests.
    """

    self_address: str
    peers: Sequence[str]
    secret: Union[str, bytes]
    bind_address: Optional[str] = None
    heartbeat_interval: float = 0.05
    election_timeout_min: float = 0.5
    election_timeout_max: float = 1.0
    leader_step_down_timeout: float = 1.0
    reconnect_interval: float = 0.2
    request_timeout: float = 5.0
    read_index_timeout: float = 1.0
    lease_check_interval: float = 0.5
    snapshot_entries: int = 20000
    snapshot_bytes: int = 64 << 20
    max_batch_bytes: int = 512 * 1024

    def __post_init__(self) -> None:
        secret = self.secret.encode() if isinstance(self.secret, str) else self.secret
        if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
            size = len(secret) if isinstance(secret, bytes) else type(self.secret).__name__
            raise InvalidArgument(
                f"secret has {size} bytes: a cluster secret of at least {MIN_SECRET_BYTES} bytes is required "
                "(members authenticate and encrypt every message with it)")
        _check_address("self_address", self.self_address)
        if self.bind_address is not None:
            _check_address("bind_address", self.bind_address)
            if self.bind_address.rpartition(":")[0] in ("0.0.0.0", "::", ""):
                raise InvalidArgument(f"bind_address={self.bind_address!r} listens on every interface: "
                                      "give the one address peers use")
        for peer in self.peers:
            _check_address("peers[]", peer)
        if not 0 < self.heartbeat_interval * 3 < self.election_timeout_min < self.election_timeout_max:
            raise InvalidArgument(
                f"election_timeout_min={self.election_timeout_min} must exceed 3 x heartbeat_interval="
                f"{self.heartbeat_interval} and be below election_timeout_max={self.election_timeout_max}")
        if self.leader_step_down_timeout <= self.heartbeat_interval:
            raise InvalidArgument(f"leader_step_down_timeout={self.leader_step_down_timeout} must exceed "
                                  f"heartbeat_interval={self.heartbeat_interval}")
        if self.request_timeout <= 0:
            raise InvalidArgument(f"request_timeout={self.request_timeout} must be > 0")
        if self.read_index_timeout <= 0:
            raise InvalidArgument(f"read_index_timeout={self.read_index_timeout} must be > 0")
        if self.snapshot_entries < 2:
            raise InvalidArgument(f"snapshot_entries={self.snapshot_entries} must be >= 2")
        if self.snapshot_bytes < 1 << 16:
            raise InvalidArgument(f"snapshot_bytes={self.snapshot_bytes} must be >= {1 << 16}")

    @property
    def secret_bytes(self) -> bytes:
        """The secret as bytes."""
        return self.secret.encode() if isinstance(self.secret, str) else self.secret

    @property
    def other_members(self) -> list[str]:
        """Peers without this member, in a stable order."""
        return sorted({p for p in self.peers if p != self.self_address})
