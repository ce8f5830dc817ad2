"""The simulation's settings, checked before anything starts (bad input changes nothing)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["SimConfig", "SimConfigError"]


class SimConfigError(ValueError):
    """A setting out of range; the message names the setting, the value and the limit."""


@dataclass
class SimConfig:
    """What one run does. The defaults finish in about a minute on a small shared machine.

    ``nodes`` hollow nodes; ``pods`` replicas in total over ``deployments`` Deployments (the remainder goes to
    the first ones); ``create_rate``: Deployments are created so that their pods arrive at this many pods per
    second (0: all at once, the saturation test); ``failure_fraction`` of the nodes is paused in the failure
    phase (10 %, at least one node). Node health follows kube-controller-manager's flags, shortened so a run
    is short: the hollow kubelets renew their Lease every ``heartbeat_interval``; a node whose heartbeat has
    not moved for ``node_monitor_grace_period`` is Unknown and tainted unreachable; its pods tolerate that
    for ``toleration_seconds`` (written in the pod template, as a pod that sets its own tolerations; the API
    server's DefaultTolerationSeconds would give 300 s). The store's history is compacted every
    ``compaction_interval`` seconds (kube-apiserver: 5 minutes), to the revision of one interval earlier.
    """

    nodes: int = 100
    pods: int = 3000
    deployments: int = 30
    create_rate: float = 0.0
    rolling_update: bool = True
    failure_fraction: float = 0.1
    heartbeat_interval: float = 2.0
    node_monitor_grace_period: float = 8.0
    node_monitor_period: float = 1.0
    toleration_seconds: int = 5
    compaction_interval: float = 60.0
    phase_timeout: float = 600.0
    seed: int = 0
    namespace: str = "density"

    def check(self) -> None:
        """Raise :class:`SimConfigError` for the first setting out of range."""
        for name, low in (("nodes", 1), ("pods", 1), ("deployments", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SimConfigError(f"{name}: invalid value {value!r}: must be an integer >= {low}")
        if self.deployments > self.pods:
            raise SimConfigError(f"deployments: invalid value {self.deployments}: must be at most pods "
                                 f"({self.pods}), every Deployment has at least one replica")
        if not 0 <= self.failure_fraction < 1:
            raise SimConfigError(f"failure_fraction: invalid value {self.failure_fraction}: must be in [0, 1)")
        if self.create_rate < 0:
            raise SimConfigError(f"create_rate: invalid value {self.create_rate}: must be >= 0 (0: all at once)")
        for name in ("heartbeat_interval", "node_monitor_grace_period", "node_monitor_period",
                     "compaction_interval", "phase_timeout"):
            if not getattr(self, name) > 0:
                raise SimConfigError(f"{name}: invalid value {getattr(self, name)}: must be > 0")
        if self.heartbeat_interval * 2 > self.node_monitor_grace_period:
            raise SimConfigError(f"heartbeat_interval: invalid value {self.heartbeat_interval}: must be at most "
                                 f"half of node_monitor_grace_period ({self.node_monitor_grace_period}), or "
                                 "healthy nodes would be marked Unknown")
        if self.toleration_seconds < 0:
            raise SimConfigError(f"toleration_seconds: invalid value {self.toleration_seconds}: must be >= 0")

    @property
    def failed_nodes(self) -> int:
        """How many nodes the failure phase pauses (0 when ``failure_fraction`` is 0)."""
        if self.failure_fraction == 0:
            return 0
        return max(1, round(self.nodes * self.failure_fraction))

    def replicas(self) -> list[int]:
        """Replicas of each Deployment: ``pods`` spread over ``deployments``."""
        base, extra = divmod(self.pods, self.deployments)
        return [base + (1 if i < extra else 0) for i in range(self.deployments)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
