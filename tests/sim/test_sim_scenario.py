"""The cluster simulation at a tiny size, in-process: every phase of the density scenario runs for real
(store, Registry, scheduler, controller manager, hollow nodes) and leaves the cluster in the state it claims."""
from __future__ import annotations

import pytest

import borgsim
from borgsim import SimCluster, SimConfig, SimConfigError, StoreSpec, run_density
from borgsim.scenario import ROLLOUT_ANNOTATION


def tiny(**changes: object) -> SimConfig:
    base = dict(nodes=5, pods=40, deployments=4, heartbeat_interval=0.5, node_monitor_grace_period=2.0,
                node_monitor_period=0.5, toleration_seconds=1, failure_fraction=0.2, phase_timeout=120.0)
    base.update(changes)
    return SimConfig(**base)  # type: ignore[arg-type]


def running_pods(registry) -> list:
    return [p for p in registry.list("Pod", "density") if p.status.phase == "Running"
            and not p.metadata.deletion_timestamp]


def test_every_phase_runs_and_leaves_every_pod_running_on_a_live_node() -> None:
    seen: list[tuple[str, int, int]] = []
    with SimCluster(tiny()) as cluster:
        result = run_density(cluster, progress=lambda phase, done, total: seen.append((phase, done, total)))
        registry = cluster.registry
        pods = running_pods(registry)
        assert len(pods) == 40 == len(registry.list("Pod", "density"))
        templates = {d.metadata.name: d for d in registry.list("Deployment", "density")}
        assert sum(d.spec.replicas for d in templates.values()) == 40
        for d in templates.values():  # the rolling update reached every Deployment
            assert d.spec.template.metadata.annotations[ROLLOUT_ANNOTATION] == "1"
            assert d.status.updated_replicas == d.spec.replicas == d.status.available_replicas
        nodes = {n.metadata.name: n for n in registry.list("Node")}
        assert {p.spec.node_name for p in pods} <= set(nodes)
    names = [p.name for p in result.phases]
    density = result.phase("density")
    assert density is not None and density.ok and density.pods == 40
    assert 0 < density.p50_s <= density.p90_s <= density.p99_s  # type: ignore[operator]
    assert density.writes >= 40 * 3  # each pod: created, bound, status written
    assert len(density.startup_quantiles) == 101 and density.startup_quantiles == sorted(density.startup_quantiles)
    rolling = result.phase("rolling update")
    assert rolling is not None and rolling.ok and rolling.pods == 40  # every pod replaced once
    assert ("density", 40, 40) in seen and ("rolling update", 4, 4) in seen
    assert result.timeline and max(r for _, r, _ in result.timeline) >= 40
    assert result.peak_rss_mib > 0
    if not cluster.has_node_lifecycle:
        assert names[2:] == ["node failure"] and result.phases[2].skipped
        pytest.skip("no node lifecycle controller in this build: the failure phase was skipped")
    failure, back = result.phase("node failure"), result.phase("node recovery")
    assert failure is not None and failure.ok and back is not None and back.ok, (failure, back)
    assert failure.extra["failed_nodes"] == 1
    assert failure.pods >= failure.extra["pods_on_failed_nodes"] > 0  # the replacements were created then
    # not before the grace period (counted from the last heartbeat, up to 0.5 s before the pause) and the
    # toleration ran out
    assert failure.seconds >= 2.0 - 0.5 + 1


def test_bad_settings_are_refused_by_name_before_anything_starts() -> None:
    for changes, words in [({"nodes": 0}, "nodes: invalid value 0"), ({"deployments": 50}, "deployments"),
                           ({"failure_fraction": 1.0}, "failure_fraction"),
                           ({"heartbeat_interval": 1.5}, "heartbeat_interval")]:
        with pytest.raises(SimConfigError, match=words):
            SimCluster(tiny(**changes))


def test_the_replicas_are_spread_over_the_deployments() -> None:
    assert SimConfig(pods=10, deployments=3).replicas() == [4, 3, 3]
    assert SimConfig(nodes=5, failure_fraction=0.1).failed_nodes == 1
    assert SimConfig(nodes=5000, failure_fraction=0.1).failed_nodes == 500
    assert SimConfig(failure_fraction=0).failed_nodes == 0
    assert StoreSpec().label == "memory" and StoreSpec(cluster=True).label == "raft-3"
    assert borgsim.__all__


def test_a_paced_density_phase_creates_every_deployment_and_runs_only_the_phases_asked() -> None:
    config = tiny(pods=12, deployments=4, create_rate=40.0, rolling_update=False, failure_fraction=0.0)
    with SimCluster(config) as cluster:
        result = run_density(cluster)
        deployments = cluster.registry.list("Deployment", "density")
        assert sorted(d.metadata.name for d in deployments) == [f"density-{i}" for i in range(4)]
        assert len(running_pods(cluster.registry)) == 12
    assert [p.name for p in result.phases] == ["density"]
    assert result.phases[0].ok and result.phases[0].pods == 12
