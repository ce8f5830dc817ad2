"""KubeSchedulerConfiguration-shaped dicts: defaults, multiPoint, per-point enable/disable, weights,
pluginConfig, profiles chosen by schedulerName, percentageOfNodesToScore, and errors naming the field."""
from __future__ import annotations

import pathlib
import sys

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.framework import ConfigError, load_config  # noqa: E402

KUBE_CONFIG = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: /etc/kubernetes/scheduler.conf
leaderElection:
  leaderElect: false
percentageOfNodesToScore: 30
profiles:
  - schedulerName: default-scheduler
    plugins:
      score:
        disabled:
          - name: ImageLocality
          - name: VolumeBinding
        enabled:
          - name: NodeResourcesFit
            weight: 5
  - schedulerName: bin-packing
    percentageOfNodesToScore: 100
    plugins:
      multiPoint:
        disabled:
          - name: NodeResourcesBalancedAllocation
    pluginConfig:
      - name: NodeResourcesFit
        args:
          apiVersion: kubescheduler.config.k8s.io/v1
          kind: NodeResourcesFitArgs
          scoringStrategy:
            type: MostAllocated
            resources:
              - name: cpu
                weight: 1
              - name: memory
                weight: 1
"""


def test_a_kube_scheduler_config_file_loads_as_it_is() -> None:
    s = Scheduler(yaml.safe_load(KUBE_CONFIG))
    default = s.framework("default-scheduler").list_plugins()
    assert "ImageLocality:1" not in default["score"]
    assert "NodeResourcesFit:5" in default["score"]
    assert "TaintToleration:3" in default["score"] and "NodeAffinity:2" in default["score"]
    assert default["queueSort"] == ["PrioritySort"] and default["bind"] == ["DefaultBinder"]
    assert default["preEnqueue"] == ["SchedulingGates"]
    assert s.framework("default-scheduler").percentage_of_nodes_to_score == 30
    packing = s.framework("bin-packing")
    assert packing.percentage_of_nodes_to_score == 100
    assert not any(n.startswith("NodeResourcesBalancedAllocation") for n in packing.list_plugins()["score"])
    assert packing.plugin("NodeResourcesFit").strategy == "MostAllocated"


def test_default_profile_has_kube_scheduler_default_filters_in_order() -> None:
    filters = Scheduler().framework().list_plugins()["filter"]
    node_local = [n for n in filters if n not in ("PodTopologySpread", "InterPodAffinity")]
    assert node_local == ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
                          "NodeResourcesFit"]


def test_profiles_are_chosen_by_scheduler_name() -> None:
    s = Scheduler(yaml.safe_load(KUBE_CONFIG))
    s.add_node(node("small", cpu="2"))
    s.add_node(node("big", cpu="8"))
    s.add_pod(pod("spread", cpu="1"))
    s.add_pod(pod("packed", cpu="1", schedulerName="bin-packing"))
    s.add_pod(pod("elsewhere", cpu="1", schedulerName="someone-else"))
    placed = {r.pod.metadata.name: r.node_name for r in s.schedule_pending()}
    # LeastAllocated prefers the emptier big node; MostAllocated the fuller small one.
    assert placed == {"spread": "big", "packed": "small"}
    assert s.pending == 0  # another scheduler's pod is not ours to queue


def test_star_disables_every_default_at_a_point() -> None:
    config = {"profiles": [{"plugins": {"score": {"disabled": [{"name": "*"}]}}}]}
    assert Scheduler(config).framework().list_plugins()["score"] == []


@pytest.mark.parametrize("config, fragment", [
    ({"kind": "Pod"}, "kind"),
    ({"apiVersion": "v1"}, "apiVersion"),
    ({"percentageOfNodesToScore": 101}, "percentageOfNodesToScore: must be an integer in 0..100, got 101"),
    ({"profiles": []}, "profiles: must be a non-empty list"),
    ({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]}, "duplicate profile name 'a'"),
    ({"profiles": [{"plugins": {"filters": {}}}]}, "unknown extension point 'filters'"),
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "X", "weight": -1}]}}}]},
     "profiles[0].plugins.score.enabled[0].weight"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {}},
                                     {"name": "NodeResourcesFit", "args": {}}]}]}, "configured twice"),
])
def test_malformed_configs_name_the_field(config: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert fragment in str(info.value)


@pytest.mark.parametrize("args, fragment", [
    ({"scoringStrategy": {"type": "Mystery"}}, "scoringStrategy.type"),
    ({"scoringStrategy": {"resources": [{"name": "cpu", "weight": 0}]}}, "resources[0].weight"),
    ({"scoringStrategy": {"type": "RequestedToCapacityRatio",
                          "requestedToCapacityRatio": {"shape": [{"utilization": 50, "score": 11}]}}},
     "shape[0].score"),
])
def test_bad_plugin_args_name_the_field(args: dict, fragment: str) -> None:
    config = {"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": args}]}]}
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        Scheduler(config)


def test_profiles_must_share_the_queue_sort() -> None:
    config = {"profiles": [{"schedulerName": "a"}, {"schedulerName": "b"}]}
    assert Scheduler(config).profiles == ["a", "b"]
