"""The density scenario, as Kubernetes' clusterloader2 runs it on kubemark: hollow nodes, Deployments
totalling many replicas until every pod is Running; a rolling update of all of them; a failure of a tenth
of the nodes (their kubelets frozen) until their pods run elsewhere; the nodes' return."""
from __future__ import annotations

import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import objects

from .cluster import SimCluster
from .config import SimConfig
from .observe import PodObserver, peak_rss_mib, quantile, quantiles

__all__ = ["PhaseResult", "SimResult", "run_density", "deployment_manifest", "SLO_SECONDS", "ROLLOUT_ANNOTATION"]

SLO_SECONDS = 5.0            # Kubernetes' pod startup SLO: p99 create -> Running <= 5 s (image pulls excluded)
ROLLOUT_ANNOTATION = "borgkit.io/rollout"
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
Progress = Callable[[str, int, int], None]   # (phase, done, total)


@dataclass
class PhaseResult:
    """One row of the table. ``pods``: the pods this phase brought to Running; ``seconds``: from its first
    write to its end condition; latencies in seconds (created -> Running, of the pods created in the
    phase); ``writes``: store revisions the phase added (every API write is one)."""

    name: str
    pods: int = 0
    seconds: float = 0.0
    pods_per_s: float | None = None
    p50_s: float | None = None
    p90_s: float | None = None
    p99_s: float | None = None
    writes: int = 0
    writes_per_s: float | None = None
    ok: bool = True
    skipped: bool = False
    note: str = ""
    started_at: float = 0.0
    startup_quantiles: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def measure(self, latencies: list[float], writes: int) -> None:
        ordered = sorted(latencies)
        self.p50_s, self.p90_s, self.p99_s = (quantile(ordered, q) for q in (0.5, 0.9, 0.99))
        self.startup_quantiles = quantiles(ordered)
        self.writes = writes
        if self.seconds > 0:
            self.writes_per_s = writes / self.seconds
            self.pods_per_s = self.pods / self.seconds if self.pods else None


@dataclass
class SimResult:
    """A whole run: its settings, the phases, pods Running over time, peak RSS and the machine's load."""

    config: dict[str, Any]
    store: str
    phases: list[PhaseResult] = field(default_factory=list)
    timeline: list[tuple[float, int, int]] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mib: float = 0.0
    load_average: tuple[float, float, float] | None = None
    slo_seconds: float = SLO_SECONDS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def phase(self, name: str) -> PhaseResult | None:
        return next((p for p in self.phases if p.name == name), None)


def deployment_manifest(config: SimConfig, index: int, replicas: int) -> dict[str, Any]:
    """clusterloader2's density Deployment: pause pods with small requests; the pods tolerate an
    unreachable or not-ready node for ``toleration_seconds``."""
    name = f"density-{index}"
    tolerations = [{"key": key, "operator": "Exists", "effect": "NoExecute",
                    "tolerationSeconds": config.toleration_seconds} for key in (UNREACHABLE, NOT_READY)]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": config.namespace, "labels": {"group": "density"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"name": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"name": name, "group": "density"}},
                "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                         "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}],
                         "terminationGracePeriodSeconds": 1, "tolerations": tolerations}}}}


def _load() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


class _Run:
    def __init__(self, cluster: SimCluster, observer: PodObserver, progress: Progress | None) -> None:
        self.cluster = cluster
        self.cfg = cluster.config
        self.registry = cluster.registry
        self.observer = observer
        self.progress = progress
        self.clock = observer.clock

    def _show(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, min(done, total), total)

    def _begin(self, name: str) -> tuple[PhaseResult, float, int]:
        now = self.clock()
        return PhaseResult(name, started_at=now - self.observer.started), now, self.cluster.store.revision

    def _end(self, phase: PhaseResult, started: float, revision: int, ok: bool, pods: int | None = None) -> None:
        ended = self.clock()
        phase.seconds = ended - started
        phase.ok = ok
        uids = self.observer.uids_created_between(started, ended)
        phase.pods = len(uids) if pods is None else pods
        phase.measure(self.observer.latencies(uids), self.cluster.store.revision - revision)
        if not ok and not phase.note:
            phase.note = f"did not finish within --phase-timeout {self.cfg.phase_timeout:g} s"

    def density(self) -> PhaseResult:
        cfg = self.cfg
        total = cfg.pods
        phase, started, revision = self._begin("density")
        created = 0
        for i, replicas in enumerate(cfg.replicas()):
            if cfg.create_rate > 0:  # pods arrive at create_rate: this Deployment's turn comes when the
                due = started + created / cfg.create_rate   # previous ones' pods have had their time
                while self.clock() < due:
                    self._show("density", self.observer.running_count(), total)
                    time.sleep(min(0.05, max(0.0, due - self.clock())))
            self.registry.create(objects.from_dict(deployment_manifest(cfg, i, replicas)))
            created += replicas
        ok = self.observer.wait(lambda o: o.running_count() >= total, cfg.phase_timeout,
                                lambda o: self._show("density", o.running_count(), total))
        self._end(phase, started, revision, ok)
        return phase

    def _rolled_out(self) -> int:
        """How many Deployments have finished their rollout (kubectl rollout status' test)."""
        done = 0
        for d in self.registry.list("Deployment", self.cfg.namespace):
            s, want = d.status, d.spec.replicas
            if s is not None and (s.observed_generation or 0) >= (d.metadata.generation or 0) and \
                    s.updated_replicas == want and s.replicas == want and s.available_replicas == want:
                done += 1
        return done

    def rolling_update(self) -> PhaseResult:
        cfg = self.cfg
        phase, started, revision = self._begin("rolling update")
        for i in range(cfg.deployments):
            self.registry.patch("Deployment", f"density-{i}", {"spec": {"template": {"metadata": {
                "annotations": {ROLLOUT_ANNOTATION: "1"}}}}}, namespace=cfg.namespace)
        deadline = self.clock() + cfg.phase_timeout
        ok = False
        while self.clock() < deadline:
            rolled = self._rolled_out()
            self._show("rolling update", rolled, cfg.deployments)
            # done when every rollout is complete and the old pods are gone (their graceful deletion ended)
            if rolled == cfg.deployments and len(self.observer.existing) == cfg.pods:
                ok = True
                break
            time.sleep(0.25)
        self._end(phase, started, revision, ok)
        return phase

    def node_failure(self) -> list[PhaseResult]:
        cfg = self.cfg
        if cfg.failed_nodes == 0:
            return []
        phase, started, revision = self._begin("node failure")
        if not self.cluster.has_node_lifecycle:
            phase.skipped = True
            phase.note = "skipped: this build has no node lifecycle controller"
            return [phase]
        names = sorted(self.cluster.hollow.names)
        failed = sorted(random.Random(cfg.seed).sample(names, cfg.failed_nodes))
        on_failed = sum(1 for node in self.observer.running.values() if node in set(failed))
        for name in failed:
            self.cluster.hollow.node(name).pause()
        bound = cfg.node_monitor_grace_period + cfg.node_monitor_period + cfg.toleration_seconds
        phase.extra = {"failed_nodes": len(failed), "pods_on_failed_nodes": on_failed,
                       "eviction_bound_s": bound, "target_s": bound + SLO_SECONDS}
        ok = self.observer.wait(lambda o: o.running_count(failed) >= cfg.pods, cfg.phase_timeout,
                                lambda o: self._show("node failure", o.running_count(failed) - (cfg.pods - on_failed),
                                                     on_failed))
        self._end(phase, started, revision, ok)
        phase.extra["recovery_s"] = phase.seconds
        phase.note = (f"{len(failed)} nodes paused, their {on_failed} pods Running elsewhere after "
                      f"{phase.seconds:.1f} s (target: node grace {cfg.node_monitor_grace_period:g} s + monitor "
                      f"period {cfg.node_monitor_period:g} s + tolerationSeconds {cfg.toleration_seconds} s + 5 s "
                      f"= {bound + SLO_SECONDS:g} s)") if ok else phase.note
        back, started, revision = self._begin("node recovery")
        for name in failed:
            self.cluster.hollow.node(name).resume()
        deadline = self.clock() + cfg.phase_timeout
        ok = False
        while self.clock() < deadline:
            healthy = sum(1 for name in failed if _healthy(self.registry.get("Node", name)))
            self._show("node recovery", healthy, len(failed))
            if healthy == len(failed) and len(self.observer.existing) == cfg.pods:
                ok = True
                break
            time.sleep(0.25)
        self._end(back, started, revision, ok, pods=0)
        if ok:
            back.note = (f"{len(failed)} nodes Ready and untainted again, the pods evicted from them deleted, "
                         f"after {back.seconds:.1f} s")
        return [phase, back]


def _healthy(node: Any) -> bool:
    ready = any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
    taints = {t.key for t in (node.spec.taints or [])}
    return ready and not taints & {UNREACHABLE, NOT_READY}


def run_density(cluster: SimCluster, progress: Progress | None = None) -> SimResult:
    """Run the scenario on a started cluster; returns the measurements (a phase that timed out is
    reported with ``ok=False`` and the later phases are not run)."""
    cfg = cluster.config
    result = SimResult(config=cfg.to_dict(), store=cluster.spec.label)
    try:
        cluster.registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": cfg.namespace}}))
    except objects.AlreadyExists:
        pass
    observer = PodObserver(cluster.registry, cfg.namespace)
    observer.start()
    run = _Run(cluster, observer, progress)
    try:
        result.phases.append(run.density())
        if result.phases[-1].ok and cfg.rolling_update:
            result.phases.append(run.rolling_update())
        if result.phases[-1].ok:
            result.phases.extend(run.node_failure())
    finally:
        observer.stop()
        result.timeline = list(observer.timeline)
        result.seconds = observer.clock() - observer.started
        result.peak_rss_mib = peak_rss_mib()
        result.load_average = _load()
    return result
