"""Issue 5, requirement by requirement, where no other test proved it the way kube-scheduler users meet it:
config files as the Kubernetes docs write them (multiPoint overrides, RequestedToCapacityRatio with a shape,
a profile without scoring), the default weights, the backoff through the scheduler on its clock, the
fit-error message with preemption's suffix, NodeResourcesFit with sidecars / overhead / extended resources,
NoExecute taints and ImageLocality with init containers."""
from __future__ import annotations

import pathlib
import sys
from typing import Any, Optional

import objects
import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import Clock, node, pod  # noqa: E402

from scheduling import Scheduler, default_registry  # noqa: E402
from scheduling.framework import (ConfigError, FilterPlugin, NodeInfo, Plugin, PreBindPlugin,  # noqa: E402
                                  PreFilterPlugin, ReservePlugin, ScorePlugin, Status)

NO_PREEMPTION = {"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "DefaultPreemption"}]}}}]}
INFRA = [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
MB = 1024 * 1024


# -- what users see: the fit error -----------------------------------------------------------------------
def test_fit_error_with_preemption_suffix_exactly_as_kube_scheduler_words_it() -> None:
    s = Scheduler()
    for i in range(3):
        s.add_node(node(f"small-{i}", cpu="1"))
    for i in range(2):
        s.add_node(node(f"infra-{i}", cpu="8", taints=INFRA))
    s.add_pod(pod("big", cpu="2"))
    s.add_pod(pod("never", cpu="2", priority=10, preemptionPolicy="Never"))
    messages = {r.pod.metadata.name: r.message for r in s.schedule_pending()}
    big, never = messages["big"], messages["never"]
    filters = "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient cpu."
    # Tainted nodes are UnschedulableAndUnresolvable: preemption cannot help there.
    assert big == (filters + " preemption: 0/5 nodes are available: 2 Preemption is not helpful for "
                           "scheduling, 3 No preemption victims found for incoming pod.")
    # kube-scheduler appends PostFilter's message as it is (it ends with its own period).
    assert never == filters + " preemption: not eligible due to preemptionPolicy=Never."
    assert s.explain(pod("big", cpu="2")).message == filters


def test_a_post_filter_message_without_a_period_gets_one() -> None:
    from scheduling import fit_error_message
    statuses = {"a": Status.unschedulable("Insufficient cpu")}
    assert fit_error_message(1, statuses, post_filter_message="preemption: none") == \
        "0/1 nodes are available: 1 Insufficient cpu. preemption: none."
    assert fit_error_message(1, statuses, post_filter_message="preemption: none.") == \
        "0/1 nodes are available: 1 Insufficient cpu. preemption: none."


# -- config files as the docs write them ---------------------------------------------------------------
DEFAULT_SCORES = ["TaintToleration:3", "NodeAffinity:2", "NodeResourcesFit:1", "PodTopologySpread:2",
                  "InterPodAffinity:2", "NodeResourcesBalancedAllocation:1", "ImageLocality:1"]


def test_default_weights_are_kube_schedulers() -> None:
    assert Scheduler().framework().list_plugins()["score"] == DEFAULT_SCORES


class Labelled(Plugin, FilterPlugin, ScorePlugin):
    """Rejects nodes labelled ``full``; scores 10 per ``example.com/rank``."""

    name = "Labelled"

    def filter(self, state: Any, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        return Status.unschedulable("node(s) are full") if "full" in node_info.labels else None

    def score(self, state: Any, pod: Any, node_info: NodeInfo) -> int:
        return 10 * int(node_info.labels.get("example.com/rank", "0"))


MULTI_POINT = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: multipoint-scheduler
    plugins:
      multiPoint:
        enabled:
        - name: Labelled
          weight: 3
        - name: TaintToleration
      filter:
        disabled:
        - name: Labelled
      score:
        enabled:
        - name: NodeAffinity
          weight: 5
  - schedulerName: no-scoring-scheduler
    plugins:
      preScore:
        disabled:
        - name: '*'
      score:
        disabled:
        - name: '*'
"""


def test_multi_point_and_per_point_settings_merge_as_kube_scheduler() -> None:
    registry = default_registry()
    registry.register("Labelled", Labelled)
    s = Scheduler(yaml.safe_load(MULTI_POINT), registry=registry)
    multi = s.framework("multipoint-scheduler").list_plugins()
    # A default named again in multiPoint is replaced in place (no weight: 1); a point's own entry overrides
    # the multiPoint one and comes first; a plugin disabled at one point stays at the others.
    assert multi["score"] == ["NodeAffinity:5", "TaintToleration:1", "NodeResourcesFit:1", "PodTopologySpread:2",
                              "InterPodAffinity:2", "NodeResourcesBalancedAllocation:1", "ImageLocality:1",
                              "Labelled:3"]
    assert "Labelled" not in multi["filter"] and multi["filter"][0] == "NodeUnschedulable"
    none = s.framework("no-scoring-scheduler").list_plugins()
    assert none["score"] == [] and none["preScore"] == []
    assert none["filter"] == Scheduler().framework().list_plugins()["filter"]
    # Pods choose their profile by schedulerName: the full node passes where Labelled filters nothing.
    s.add_node(node("a", labels={"full": "1", "example.com/rank": "9"}))
    s.add_node(node("b", labels={"example.com/rank": "1"}))
    s.add_pod(pod("p", schedulerName="multipoint-scheduler"))
    (result,) = s.schedule_pending()
    assert result.node_name == "a"


def test_a_point_enabling_a_default_moves_it_first_in_that_point() -> None:
    config = {"profiles": [{"plugins": {"filter": {"enabled": [{"name": "NodeResourcesFit"}]}}}]}
    filters = Scheduler(config).framework().list_plugins()["filter"]
    assert filters[0] == "NodeResourcesFit" and filters.count("NodeResourcesFit") == 1
    s = Scheduler({**config, "profiles": [{**config["profiles"][0], "plugins": {
        **config["profiles"][0]["plugins"], "multiPoint": {"disabled": [{"name": "DefaultPreemption"}]}}}]})
    s.add_node(node("n", cpu="1", taints=INFRA))
    s.add_pod(pod("p", cpu="2"))
    # The first failing filter names the reason: now the resources, not the taint.
    assert s.schedule_pending()[0].message == "0/1 nodes are available: 1 Insufficient cpu."


BIN_PACKING = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - args:
      scoringStrategy:
        resources:
        - name: intel.com/foo
          weight: 5
        - name: memory
          weight: 1
        - name: cpu
          weight: 3
        requestedToCapacityRatio:
          shape:
          - utilization: 0
            score: 0
          - utilization: 100
            score: 10
        type: RequestedToCapacityRatio
    name: NodeResourcesFit
"""


def _foo_node(name: str, foo: str, memory: str, cpu: str) -> Any:
    alloc = {"intel.com/foo": foo, "memory": memory, "cpu": cpu, "pods": "110"}
    return objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                              "status": {"capacity": alloc, "allocatable": alloc}})


def _foo_pod(name: str, foo: str, memory: str, cpu: str, node_name: Optional[str] = None) -> Any:
    requests = {"intel.com/foo": foo, "memory": memory, "cpu": cpu}
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x",
                                            "resources": {"requests": requests, "limits": requests}}]}
    if node_name:
        spec["nodeName"] = node_name
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                              "spec": spec})


def test_docs_bin_packing_requested_to_capacity_ratio_scores_the_docs_example() -> None:
    s = Scheduler(yaml.safe_load(BIN_PACKING))
    s.add_node(_foo_node("node-1", "4", "1Gi", "8"))
    s.add_node(_foo_node("node-2", "8", "1Gi", "8"))
    s.add_pod(_foo_pod("used-1", "1", "256Mi", "1", node_name="node-1"))
    s.add_pod(_foo_pod("used-2", "2", "512Mi", "6", node_name="node-2"))
    raw = s.explain(_foo_pod("p", "2", "256Mi", "2")).raw_scores["NodeResourcesFit"]
    # The docs' worked example (scores on its 0..10 shape: node-1 5, node-2 7), with kube-scheduler's
    # arithmetic (shape scaled to 0..100, utilization truncated, weighted mean of positive scores rounded):
    # node-1: foo 3*100//4 = 75, memory 512Mi -> 50, cpu 3000*100//8000 = 37 -> (375 + 50 + 111) / 9 = 59.6
    # node-2: foo 4*100//8 = 50, memory 768Mi -> 75, cpu 100 -> (250 + 75 + 300) / 9 = 69.4
    assert raw == {"node-1": 60, "node-2": 69}


# -- the queue through the scheduler ---------------------------------------------------------------------
def _backoff_waits(config: dict, attempts: int) -> list[float]:
    """How long the pod waits in backoff after each of ``attempts`` failures, on the scheduler's clock."""
    clock = Clock()
    s = Scheduler(config, clock=clock)
    n = node("n", cpu="1")
    s.add_node(n)
    s.add_pod(pod("p", cpu="2"))
    waits = []
    for _ in range(attempts):
        (result,) = s.schedule_pending()
        assert result.node_name is None
        failed_at = clock.now
        s.update_node(n)  # an event NodeResourcesFit registered: the pod leaves unschedulable for backoff
        steps = 0
        while s.queue.flush_backoff_completed() == 0:  # bounded: 40 s at most, in 0.5 s steps
            assert s.queue.backoff_count == 1 and steps < 80
            clock.now += 0.5
            steps += 1
        waits.append(clock.now - failed_at)
    return waits


def test_backoff_through_the_scheduler_doubles_from_one_second_to_ten_on_its_clock() -> None:
    assert _backoff_waits(NO_PREEMPTION, 6) == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_pod_initial_and_max_backoff_seconds_are_honoured() -> None:
    config = {**NO_PREEMPTION, "podInitialBackoffSeconds": 3, "podMaxBackoffSeconds": 20}
    assert _backoff_waits(config, 5) == [3.0, 6.0, 12.0, 20.0, 20.0]


@pytest.mark.parametrize("config, fragment", [
    ({"podInitialBackoffSeconds": 0}, "podInitialBackoffSeconds: must be an integer greater than 0, got 0"),
    ({"podMaxBackoffSeconds": "10s"}, "podMaxBackoffSeconds: must be an integer greater than 0, got '10s'"),
    ({"podInitialBackoffSeconds": 5, "podMaxBackoffSeconds": 2},
     "podMaxBackoffSeconds: must be greater than or equal to podInitialBackoffSeconds (5), got 2"),
    ({"extenders": [{"urlPrefix": "http://127.0.0.1:8888/", "filterVerb": "filter"}]},
     "extenders: scheduler extenders (HTTP webhooks) are not supported, got 1"),
])
def test_bad_backoff_settings_and_extenders_name_the_field(config: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Scheduler(config)
    assert fragment in str(info.value)


# -- NodeResourcesFit ------------------------------------------------------------------------------------
def _container(name: str, cpu: str, **extra: Any) -> dict:
    return {"name": name, "image": "x", "resources": {"requests": {"cpu": cpu}}, **extra}


def test_sidecars_init_containers_and_overhead_as_the_kubernetes_docs_add_them() -> None:
    p = objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                           "spec": {"initContainers": [_container("sidecar-1", "500m", restartPolicy="Always"),
                                                       _container("init", "2"),
                                                       _container("sidecar-2", "250m", restartPolicy="Always")],
                                    "containers": [_container("app", "1"), _container("app-2", "500m")],
                                    "overhead": {"cpu": "250m"}}})
    # Running: 1.5 (apps) + 0.75 (sidecars) = 2.25; "init" runs beside sidecar-1: 2.5 -> max 2.5, + 0.25.
    assert p.requests["cpu"] == 2750
    s = Scheduler(NO_PREEMPTION)
    s.add_node(node("tight", cpu="2700m"))
    s.add_node(node("enough", cpu="2750m"))
    assert s.explain(p).nodes["tight"].reasons == ("Insufficient cpu",)
    s.add_pod(p)
    assert s.schedule_pending()[0].node_name == "enough"
    assert s.cache.get("enough").requested["cpu"] == 2750


def test_extended_resources_are_counted_and_named_in_the_message() -> None:
    s = Scheduler(NO_PREEMPTION)
    s.add_node(_foo_node("foo", "1", "4Gi", "4"))
    s.add_node(node("plain"))
    s.add_pod(_foo_pod("first", "1", "100Mi", "100m"))
    s.add_pod(_foo_pod("second", "1", "100Mi", "100m"))
    first, second = s.schedule_pending()
    assert first.node_name == "foo"
    assert second.message == "0/2 nodes are available: 2 Insufficient intel.com/foo."


# -- TaintToleration NoExecute ---------------------------------------------------------------------------
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}


def test_no_execute_taints_keep_out_pods_that_do_not_tolerate_them() -> None:
    s = Scheduler()
    s.add_node(node("not-ready", taints=[NOT_READY]))
    s.add_node(node("full", cpu="1"))
    s.add_pod(pod("p", cpu="2"))
    (result,) = s.schedule_pending()
    assert result.message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{node.kubernetes.io/not-ready: }. preemption: 0/2 nodes are available: 1 No preemption victims found "
        "for incoming pod, 1 Preemption is not helpful for scheduling.")
    # The docs' toleration with tolerationSeconds tolerates the taint for scheduling.
    tolerant = pod("t", cpu="2", tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                              "effect": "NoExecute", "tolerationSeconds": 300}])
    s.add_pod(tolerant)
    assert [r.node_name for r in s.schedule_pending() if r.pod.metadata.name == "t"] == ["not-ready"]
    # A NoSchedule toleration does not tolerate NoExecute.
    wrong = pod("w", tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                   "effect": "NoSchedule"}])
    assert s.explain(wrong).nodes["not-ready"].reasons == ("node(s) had untolerated taint "
                                                           "{node.kubernetes.io/not-ready: }",)


# -- ImageLocality ---------------------------------------------------------------------------------------
def test_image_locality_counts_init_container_images_and_scales_by_spread() -> None:
    s = Scheduler()
    s.add_node(node("both", images=[{"names": ["tools:1"], "sizeBytes": 300 * MB},
                                    {"names": ["registry.example/web:1"], "sizeBytes": 600 * MB}]))
    s.add_node(node("web-only", images=[{"names": ["registry.example/web:1"], "sizeBytes": 600 * MB}]))
    p = pod("p", image="registry.example/web:1",
            initContainers=[{"name": "tools", "image": "tools:1"}])
    raw = s.explain(p).raw_scores["ImageLocality"]
    # tools: 300 MiB on 1 of 2 nodes -> 150; web: 600 on 2 of 2 -> 600; two containers: max 2000 MiB.
    # both: 100 * (750 - 23) // (2000 - 23) = 36; web-only: 100 * (600 - 23) // 1977 = 29
    assert raw == {"both": 36, "web-only": 29}


# -- PreFilter results -----------------------------------------------------------------------------------
def test_nodes_a_prefilter_result_leaves_out_are_counted_as_kube_scheduler_words_it() -> None:
    """A DaemonSet-style pod pinned by ``matchFields metadata.name`` to a full node (a real kube event:
    "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]...")."""
    s = Scheduler()
    for i in range(4):
        s.add_node(node(f"n{i}", cpu="1"))
    pinned = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n0"]}]}]}}}}
    s.add_pod(pod("ds", cpu="2", **pinned))
    (result,) = s.schedule_pending()
    assert result.message == (
        "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
        "preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, "
        "3 Preemption is not helpful for scheduling.")
    verdict = s.explain(pod("ds", cpu="2", **pinned)).nodes["n1"]
    assert verdict.plugin == "NodeAffinity" and verdict.code == "UnschedulableAndUnresolvable"
    # NodeAffinity is among the plugins whose events retry the pod: a node update does.
    s.update_node(node("n0", cpu="4"))
    assert [r.node_name for r in s.schedule_pending(include_backoff=True)] == ["n0"]


class SaysNo(Plugin, PreFilterPlugin):
    """PreFilter: Unschedulable (preemption could help), so the later PreFilters still run."""

    name = "SaysNo"

    def pre_filter(self, state: Any, pod: Any, nodes: Any) -> tuple[None, Status]:
        return None, Status.unschedulable("quota exceeded")


class Records(Plugin, PreFilterPlugin):
    """PreFilter: records that it ran."""

    name = "Records"
    ran: list[str] = []

    def pre_filter(self, state: Any, pod: Any, nodes: Any) -> tuple[None, None]:
        self.ran.append(pod.metadata.name)
        return None, None


def test_an_unschedulable_prefilter_lets_the_later_prefilters_run() -> None:
    registry = default_registry()
    registry.register("SaysNo", SaysNo)
    registry.register("Records", Records)
    Records.ran = []
    config = {"profiles": [{"plugins": {"preFilter": {"enabled": [{"name": "SaysNo"}, {"name": "Records"}]},
                                        "multiPoint": {"disabled": [{"name": "DefaultPreemption"}]}}}]}
    s = Scheduler(config, registry=registry)
    s.add_node(node("n"))
    s.add_pod(pod("p"))
    (result,) = s.schedule_pending()
    assert result.message == "0/1 nodes are available: quota exceeded."
    assert Records.ran == ["p"]  # kube-scheduler runs every PreFilter after an Unschedulable one (#119770)


# -- PodTopologySpread: node inclusion policies and minDomains, as the docs describe them -----------------
def _spread_cluster(*, tainted_b: bool = False, ssd_a: bool = False) -> Scheduler:
    s = Scheduler(NO_PREEMPTION)
    s.add_node(node("a1", labels={"topology.kubernetes.io/zone": "a", **({"disk": "ssd"} if ssd_a else {})}))
    s.add_node(node("b1", labels={"topology.kubernetes.io/zone": "b"},
                    taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}] if tainted_b else []))
    s.add_pod(pod("old", labels={"app": "x"}, node_name="a1"))
    return s


def _spreading(max_skew: int = 1, **extra: Any) -> dict:
    return {"topologySpreadConstraints": [{"maxSkew": max_skew, "topologyKey": "topology.kubernetes.io/zone",
                                           "whenUnsatisfiable": "DoNotSchedule",
                                           "labelSelector": {"matchLabels": {"app": "x"}}, **extra}]}


def test_node_taints_policy_ignore_counts_a_tainted_zone_honor_leaves_it_out() -> None:
    s = _spread_cluster(tainted_b=True)
    s.add_pod(pod("new", labels={"app": "x"}, **_spreading()))  # default Ignore: zone b (0 pods) is the min
    assert s.schedule_pending()[0].message == (
        "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
        "1 node(s) had untolerated taint {k: v}.")
    s = _spread_cluster(tainted_b=True)
    s.add_pod(pod("new", labels={"app": "x"}, **_spreading(nodeTaintsPolicy="Honor")))
    assert s.schedule_pending()[0].node_name == "a1"


def test_min_domains_makes_the_global_minimum_zero_while_domains_are_fewer() -> None:
    s = _spread_cluster(tainted_b=True)
    s.add_pod(pod("new", labels={"app": "x"}, **_spreading(nodeTaintsPolicy="Honor", minDomains=2)))
    assert "1 node(s) didn't match pod topology spread constraints" in s.schedule_pending()[0].message


def test_node_affinity_policy_honor_counts_only_the_nodes_the_pod_may_use() -> None:
    for policy, placed in (({}, "a1"), ({"nodeAffinityPolicy": "Ignore"}, None)):
        s = _spread_cluster(ssd_a=True)
        s.add_pod(pod("new", labels={"app": "x"}, nodeSelector={"disk": "ssd"}, **_spreading(**policy)))
        assert s.schedule_pending()[0].node_name == placed, policy


# -- DefaultPreemption and PodDisruptionBudgets ----------------------------------------------------------
def _pdb(app: str, allowed: int, namespace: str = "default") -> Any:
    return objects.from_dict({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                              "metadata": {"name": app, "namespace": namespace},
                              "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}},
                              "status": {"disruptionsAllowed": allowed}})


def test_a_pdb_is_respected_when_possible_but_not_guaranteed() -> None:
    """The docs: "PodDisruptionBudget is supported, but not guaranteed" — with no other way, the protected
    pod is preempted; a PDB of another namespace protects nothing here."""
    s = Scheduler(seed=1)
    s.add_node(node("only", cpu="2"))
    s.add_pod(pod("guarded", cpu="1500m", priority=1, labels={"app": "db"}, node_name="only"))
    s.add_pdb(_pdb("db", 0))
    s.add_pod(pod("high", cpu="1", priority=100))
    first = s.schedule_pending()[0]
    assert first.nominated_node_name == "only" and [v.metadata.name for v in first.victims] == ["guarded"]
    assert s.metrics.preemptions == 1 and s.metrics.preemption_victims == 1
    assert [r.node_name for r in s.schedule_pending(include_backoff=True)] == ["only"]

    s = Scheduler(seed=1)
    for name in ("a", "b"):
        s.add_node(node(name, cpu="2"))
    s.add_pod(pod("db-a", cpu="1500m", priority=1, labels={"app": "db"}, node_name="a"))
    s.add_pod(pod("db-b", cpu="1500m", priority=1, labels={"app": "db"}, namespace="other", node_name="b"))
    s.add_pdb(_pdb("db", 0, namespace="other"))
    s.add_pod(pod("high", cpu="1", priority=100))
    assert s.schedule_pending()[0].nominated_node_name == "a"


# -- InterPodAffinity args -------------------------------------------------------------------------------
def _ipa_scheduler(args: Optional[dict] = None) -> Scheduler:
    config: dict = {"percentageOfNodesToScore": 100}
    if args is not None:
        config["profiles"] = [{"pluginConfig": [{"name": "InterPodAffinity", "args": args}]}]
    s = Scheduler(config)
    s.add_node(node("near"))
    s.add_node(node("far"))
    likes_web = {"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}},
                                            "topologyKey": "kubernetes.io/hostname"}}]}}}
    s.add_pod(pod("fan", labels={"app": "fan"}, node_name="near", **likes_web))
    return s


def test_ignore_preferred_terms_of_existing_pods() -> None:
    web = pod("web", labels={"app": "web"})
    # Default: the existing pod's preferred affinity toward app=web pulls the web pod to its node.
    assert _ipa_scheduler().explain(web).scores["InterPodAffinity"] == {"near": 200, "far": 0}
    ignoring = _ipa_scheduler({"ignorePreferredTermsOfExistingPods": True}).explain(web)
    assert "InterPodAffinity" in ignoring.skipped and "InterPodAffinity" not in ignoring.scores
    with pytest.raises(ConfigError, match="ignorePreferredTermsOfExistingPods: must be true or false, got 'yes'"):
        _ipa_scheduler({"ignorePreferredTermsOfExistingPods": "yes"})


# -- failures after the node was chosen ------------------------------------------------------------------
class Refuses(Plugin, ReservePlugin, PreBindPlugin):
    """Reserve / PreBind: rejects or fails as its args say (``{"point": ..., "code": ...}``)."""

    name = "Refuses"

    def _answer(self, point: str) -> Optional[Status]:
        if self.args.get("point") != point:
            return None
        if self.args["code"] == "Error":
            return Status.error("disk full")
        return Status.unschedulable("quota used up")

    def reserve(self, state: Any, pod: Any, node_name: str) -> Optional[Status]:
        return self._answer("reserve")

    def unreserve(self, state: Any, pod: Any, node_name: str) -> None:
        return None

    def pre_bind(self, state: Any, pod: Any, node_name: str) -> Optional[Status]:
        return self._answer("preBind")


@pytest.mark.parametrize("point, code, message", [
    ("reserve", "Unschedulable", "0/1 nodes are available: 1 quota used up."),  # a FitError over that node
    ("reserve", "Error", 'running Reserve plugin "Refuses": disk full'),
    ("preBind", "Unschedulable", "quota used up"),
    ("preBind", "Error", 'running PreBind plugin "Refuses": disk full'),
])
def test_failures_after_the_node_was_chosen_in_kube_scheduler_words(point: str, code: str, message: str) -> None:
    registry = default_registry()
    registry.register("Refuses", Refuses)
    config = {"profiles": [{"plugins": {point: {"enabled": [{"name": "Refuses"}]}},
                            "pluginConfig": [{"name": "Refuses", "args": {"point": point, "code": code}}]}]}
    s = Scheduler(config, registry=registry)
    s.add_node(node("n0"))
    s.add_pod(pod("p"))
    (result,) = s.schedule_pending()
    assert (result.node_name, result.message, result.error) == (None, message, code == "Error")
    assert s.cache.get("n0").pods == {}  # Unreserve ran and the assumed pod was forgotten


@pytest.mark.parametrize("config, fragment", [
    ({"profile": []}, "profile: unknown field (known: apiVersion, clientConnection, "),
    ({"profiles": [{"plugin": {}}]}, "profiles[0].plugin: unknown field (known: percentageOfNodesToScore, "
                                     "pluginConfig, plugins, schedulerName)"),
    ({"profiles": [{"plugins": {"score": {"enable": []}}}]},
     "profiles[0].plugins.score.enable: unknown field (known: disabled, enabled)"),
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "ImageLocality", "wieght": 2}]}}}]},
     "profiles[0].plugins.score.enabled[0].wieght: unknown field (known: name, weight)"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "arg": {}}]}]},
     "profiles[0].pluginConfig[0].arg: unknown field (known: args, name)"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategyy": {}}}]}]},
     "NodeResourcesFit.args.scoringStrategyy: unknown field (known: ignoredResourceGroups, ignoredResources, "
     "scoringStrategy)"),
    ({"profiles": [{"pluginConfig": [{"name": "InterPodAffinity", "args": {"hardPodAffinityWeigth": 5}}]}]},
     "InterPodAffinity.args.hardPodAffinityWeigth: unknown field"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeAffinity", "args": {"affinity": {}}}]}]},
     "NodeAffinity.args.affinity: unknown field (known: addedAffinity)"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesBalancedAllocation",
                                      "args": {"resource": []}}]}]},
     "NodeResourcesBalancedAllocation.args.resource: unknown field (known: resources)"),
    ({"profiles": [{"pluginConfig": [{"name": "PodTopologySpread", "args": {"defaultConstraint": []}}]}]},
     "PodTopologySpread.args.defaultConstraint: unknown field (known: defaultConstraints, defaultingType)"),
    ({"profiles": [{"pluginConfig": [{"name": "DefaultPreemption", "args": {"minCandidateNodesPercent": 5}}]}]},
     "DefaultPreemption.args.minCandidateNodesPercent: unknown field (known: minCandidateNodesAbsolute, "
     "minCandidateNodesPercentage)"),
])
def test_misspelt_config_fields_are_errors_as_kube_schedulers_strict_decoding(config: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Scheduler(config)
    assert fragment in str(info.value)
