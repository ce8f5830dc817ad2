"""The exhaustive reference, on cases from the Kubernetes documentation with hand-computed answers."""
from refbuilders import node, pod, pod_affinity, spread, term

from scheduling import reference as R

ZONE = "topology.kubernetes.io/zone"


def _bound(p, node_name):
    return p.with_node_name(node_name)


def test_least_allocated_and_balanced_allocation_by_hand() -> None:
    # 4 cpu / 32Gi node, a pod asking 100m / 500Mi: LeastAllocated (97 + 98) // 2 = 97, balanced
    # int((1 - |0.025 - 0.01526| / 2) * 100) = 99, TaintToleration 100 * 3: total 496.
    c = R.Cluster([node("n1")])
    p = pod("p", cpu="100m", memory="500Mi")
    scores = R.plugin_scores(p, c)
    assert scores["NodeResourcesFit"] == {"n1": 97}
    assert scores["NodeResourcesBalancedAllocation"] == {"n1": 99}
    assert R.total_scores(p, c) == {"n1": 496}


def test_least_allocated_prefers_the_emptier_node() -> None:
    busy = pod("busy", cpu="2", memory="1Gi", node_name="n1")
    c = R.Cluster([node("n1"), node("n2")], [busy])
    assert R.best_score(pod("p"), c)[1] == ["n2"]


def test_resources_pods_count_and_extended_resources() -> None:
    c = R.Cluster([node("n1", cpu="1", pods=2)], [pod("a", cpu="600m", node_name="n1")])
    assert R.filter_node(pod("p", cpu="500m"), c.nodes[0], c) == "Insufficient cpu"
    assert R.filter_node(pod("p", cpu="400m"), c.nodes[0], c) is None
    c.pods = list(c.pods) + [pod("b", cpu="0", memory="0", node_name="n1")]
    assert R.filter_node(pod("p", cpu="1m"), c.nodes[0], c) == "Too many pods"
    gpu = pod("g", **{"containers": [{"name": "c", "image": "i", "resources": {"requests": {"example.com/gpu": "1"}}}]})
    assert R.filter_node(gpu, node("n2"), R.Cluster([node("n2")])) == "Insufficient example.com/gpu"


def test_taints_and_tolerations_doc_example() -> None:
    # kubectl taint nodes node1 key1=value1:NoSchedule; a pod tolerating key1=value1 (Equal) or key1 (Exists)
    tainted = node("node1", taints=[{"key": "key1", "value": "value1", "effect": "NoSchedule"}])
    c = R.Cluster([tainted])
    assert R.filter_node(pod("p"), tainted, c) == "node(s) had untolerated taint {key1: value1}"
    equal = pod("p", tolerations=[{"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"}])
    exists = pod("q", tolerations=[{"key": "key1", "operator": "Exists", "effect": "NoSchedule"}])
    assert R.filter_node(equal, tainted, c) is None and R.filter_node(exists, tainted, c) is None
    soft = node("soft", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}])
    c2 = R.Cluster([soft, node("plain")])
    assert R.plugin_scores(pod("p"), c2)["TaintToleration"] == {"soft": 0, "plain": 100}


def test_node_affinity_required_and_preferred_doc_example() -> None:
    # The docs' pod: required zone In [antarctica-east1, antarctica-west1], preferred another-node-label-key.
    affinity = {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": ZONE, "operator": "In", "values": ["antarctica-east1", "antarctica-west1"]}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchExpressions": [
            {"key": "another-node-label-key", "operator": "In", "values": ["another-node-label-value"]}]}}]}}
    nodes = [node("east", labels={ZONE: "antarctica-east1"}),
             node("west", labels={ZONE: "antarctica-west1", "another-node-label-key": "another-node-label-value"}),
             node("north", labels={ZONE: "arctic-1"})]
    c = R.Cluster(nodes)
    p = pod("with-node-affinity", affinity=affinity)
    assert R.filter_node(p, nodes[2], c) == "node(s) didn't match Pod's node affinity/selector"
    assert R.plugin_scores(p, c)["NodeAffinity"] == {"east": 0, "west": 100}
    assert R.best_score(p, c)[1] == ["west"]


def test_host_ports_conflict_with_wildcard() -> None:
    used = pod("a", node_name="n1", ports=[{"containerPort": 80, "hostPort": 8080}])
    c = R.Cluster([node("n1")], [used])
    want = pod("b", ports=[{"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.1"}])
    assert R.filter_node(want, c.nodes[0], c) == "node(s) didn't have free ports for the requested pod ports"
    udp = pod("u", ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}])
    assert R.filter_node(udp, c.nodes[0], c) is None


def test_unschedulable_node_and_its_toleration() -> None:
    n = node("n1", unschedulable=True)
    c = R.Cluster([n])
    assert R.filter_node(pod("p"), n, c) == "node(s) were unschedulable"
    tol = pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                 "effect": "NoSchedule"}])
    assert R.filter_node(tol, n, c) is None


def _zones(count_per_zone: dict[str, int]) -> list:
    nodes = []
    for zone, count in count_per_zone.items():
        nodes += [node(f"{zone}-{i}", labels={ZONE: zone}) for i in range(count)]
    return nodes


def test_topology_spread_doc_example_max_skew_1() -> None:
    # The docs' example: zoneA has 2 "foo: bar" pods (node1, node2), zoneB has 1 (node3); maxSkew 1 on zone:
    # the incoming pod can only go to zoneB.
    nodes = [node("node1", labels={ZONE: "zoneA"}), node("node2", labels={ZONE: "zoneA"}),
             node("node3", labels={ZONE: "zoneB"}), node("node4", labels={ZONE: "zoneB"})]
    existing = [pod(f"e{i}", labels={"foo": "bar"}, node_name=n) for i, n in enumerate(["node1", "node2", "node3"])]
    c = R.Cluster(nodes, existing)
    p = pod("mypod", labels={"foo": "bar"},
            topologySpreadConstraints=[spread(1, ZONE, {"matchLabels": {"foo": "bar"}})])
    reasons = R.filter_reasons(p, c)
    assert reasons["node1"] == reasons["node2"] == "node(s) didn't match pod topology spread constraints"
    assert reasons["node3"] is None and reasons["node4"] is None
    # A node without the zone label can never take the pod.
    c.nodes = nodes + [node("nolabel")]
    assert R.filter_node(p, c.nodes[-1], c) == ("node(s) didn't match pod topology spread constraints "
                                                "(missing required label)")


def test_topology_spread_min_domains_treats_missing_domains_as_zero() -> None:
    # minDomains 3 with only 2 zones: the global minimum is 0, so a zone with 1 matching pod is full at maxSkew 1.
    nodes = _zones({"a": 1, "b": 1})
    c = R.Cluster(nodes, [pod("e1", labels={"app": "x"}, node_name="a-0"),
                          pod("e2", labels={"app": "x"}, node_name="b-0")])
    p = pod("p", labels={"app": "x"},
            topologySpreadConstraints=[spread(1, ZONE, {"matchLabels": {"app": "x"}}, minDomains=3)])
    assert all(r is not None for r in R.filter_reasons(p, c).values())
    q = pod("q", labels={"app": "x"}, topologySpreadConstraints=[spread(1, ZONE, {"matchLabels": {"app": "x"}})])
    assert all(r is None for r in R.filter_reasons(q, c).values())


def test_soft_spread_prefers_the_emptier_zone() -> None:
    nodes = _zones({"a": 2, "b": 2})
    existing = [pod(f"e{i}", labels={"app": "x"}, node_name="a-0") for i in range(3)]
    c = R.Cluster(nodes, existing)
    p = pod("p", labels={"app": "x"},
            topologySpreadConstraints=[spread(1, ZONE, {"matchLabels": {"app": "x"}}, when="ScheduleAnyway")])
    s = R.plugin_scores(p, c)["PodTopologySpread"]
    assert s["b-0"] == s["b-1"] == 100 and s["a-0"] == s["a-1"] < 100


def test_pod_affinity_and_anti_affinity_doc_example() -> None:
    # The docs' pod: required affinity to security=S1 in a zone, preferred anti-affinity to security=S2 per zone.
    nodes = _zones({"z1": 2, "z2": 2})
    s1 = pod("s1", labels={"security": "S1"}, node_name="z1-0")
    s2 = pod("s2", labels={"security": "S2"}, node_name="z1-1")
    c = R.Cluster(nodes, [s1, s2])
    spec = pod_affinity(required=[term({"matchExpressions": [
        {"key": "security", "operator": "In", "values": ["S1"]}]}, ZONE)])
    spec["affinity"].update(pod_affinity(preferred=[(100, term({"matchExpressions": [
        {"key": "security", "operator": "In", "values": ["S2"]}]}, ZONE))], anti=True)["affinity"])
    p = pod("with-pod-affinity", **spec)
    reasons = R.filter_reasons(p, c)
    assert reasons["z1-0"] is None and reasons["z1-1"] is None
    assert reasons["z2-0"] == "node(s) didn't match pod affinity rules"
    # Move the S2 pod to z2: z1 keeps the affinity and loses the anti-affinity penalty.
    c.pods = [s1, s2.with_node_name("z2-0")]
    assert R.plugin_scores(p, c)["InterPodAffinity"] == {"z1-0": 0, "z1-1": 0}


def test_first_pod_with_affinity_to_itself_may_go_anywhere() -> None:
    nodes = _zones({"z1": 1, "z2": 1})
    spec = pod_affinity(required=[term({"matchLabels": {"app": "web"}}, ZONE)])
    first = pod("web-0", labels={"app": "web"}, **spec)
    assert all(r is None for r in R.filter_reasons(first, R.Cluster(nodes)).values())
    stranger = pod("other", labels={"app": "db"}, **spec)
    assert all(r is not None for r in R.filter_reasons(stranger, R.Cluster(nodes)).values())


def test_existing_pods_anti_affinity_keeps_the_new_pod_away() -> None:
    nodes = [node("n1"), node("n2")]
    guard = pod("guard", node_name="n1", **pod_affinity(
        required=[term({"matchLabels": {"app": "web"}}, "kubernetes.io/hostname")], anti=True))
    c = R.Cluster(nodes, [guard])
    reasons = R.filter_reasons(pod("web", labels={"app": "web"}), c)
    assert reasons == {"n1": "node(s) didn't satisfy existing pods anti-affinity rules", "n2": None}
    # Other namespaces are not affected: the guard's term means its own namespace.
    assert R.filter_reasons(pod("web", namespace="other", labels={"app": "web"}), c)["n1"] is None


def test_namespace_selector_and_hard_pod_affinity_weight() -> None:
    nodes = [node("n1"), node("n2")]
    target = pod("t", namespace="team-a", labels={"app": "db"}, node_name="n1")
    sel_term = term({"matchLabels": {"app": "db"}}, "kubernetes.io/hostname",
                    namespaceSelector={"matchLabels": {"team": "a"}})
    p = pod("p", **pod_affinity(required=[sel_term]))
    c = R.Cluster(nodes, [target], namespace_labels={"team-a": {"team": "a"}})
    assert R.filter_reasons(p, c) == {"n1": None, "n2": "node(s) didn't match pod affinity rules"}
    # An existing pod's required affinity toward the incoming pod adds hardPodAffinityWeight on its domain.
    lover = pod("l", node_name="n2", **pod_affinity(required=[term({"matchLabels": {"app": "web"}},
                                                                    "kubernetes.io/hostname")]))
    c2 = R.Cluster(nodes, [lover])
    assert R.plugin_scores(pod("w", labels={"app": "web"}), c2)["InterPodAffinity"] == {"n1": 0, "n2": 100}
    c2.hard_pod_affinity_weight = 0
    assert R.plugin_scores(pod("w", labels={"app": "web"}), c2)["InterPodAffinity"] == {"n1": 0, "n2": 0}


def test_image_locality_scores_nodes_with_the_image() -> None:
    nodes = [node("n1", images=[{"names": ["registry/app:1.0"], "sizeBytes": 500 * 1024 * 1024}]), node("n2")]
    c = R.Cluster(nodes)
    s = R.plugin_scores(pod("p", image="registry/app:1.0"), c)["ImageLocality"]
    # 500 MiB * (1 of 2 nodes) = 250 MiB; (250 - 23) * 100 // (1000 - 23) = 23
    assert s == {"n1": 23, "n2": 0}
