"""DaemonSet eligibility against the scheduler's own reference filter (hypothesis): a node is eligible
(NodeShouldRunDaemonPod) exactly when kube-scheduler's filters would let the template, with the
DaemonSet's default tolerations, onto it; and the pod created for an eligible node fits that node only."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import objects
from controllers.daemonset import daemon_tolerations, pod_template_for_node, should_run
from controllers.podcontrol import pod_from_template
from scheduling.reference import Cluster, filter_node

from workload_helpers import daemon_set

TAINTS = [
    {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
    {"key": "broken", "effect": "NoExecute"},
    {"key": "soft", "effect": "PreferNoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"},
]
TOLERATIONS = [
    {"key": "dedicated", "operator": "Exists"},
    {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"},
    {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
    {"operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"},
]
SELECTORS = [None, {"zone": "a"}, {"zone": "b", "disk": "ssd"}]
AFFINITIES = [None,
              [{"key": "disk", "operator": "In", "values": ["ssd"]}],
              [{"key": "zone", "operator": "NotIn", "values": ["a"]}],
              [{"key": "gpu", "operator": "DoesNotExist"}]]


def _node(name, labels, taints, unschedulable):
    return objects.from_dict({"apiVersion": "v1", "kind": "Node",
                              "metadata": {"name": name, "labels": labels},
                              "spec": {"taints": taints, "unschedulable": unschedulable},
                              "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})


nodes = st.lists(st.tuples(st.fixed_dictionaries({}, optional={"zone": st.sampled_from(["a", "b"]),
                                                                "disk": st.sampled_from(["ssd", "hdd"]),
                                                                "gpu": st.just("yes")}),
                           st.lists(st.sampled_from(range(len(TAINTS))), max_size=3, unique=True),
                           st.booleans()), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(nodes=nodes, selector=st.sampled_from(SELECTORS), affinity=st.sampled_from(AFFINITIES),
       tolerations=st.lists(st.sampled_from(range(len(TOLERATIONS))), max_size=3, unique=True),
       host_network=st.booleans())
def test_eligible_exactly_where_the_scheduler_would_place_the_daemon(nodes, selector, affinity, tolerations,
                                                                    host_network):
    pod_spec: dict = {"tolerations": [TOLERATIONS[i] for i in tolerations], "hostNetwork": host_network}
    if selector:
        pod_spec["nodeSelector"] = selector
    if affinity:
        pod_spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": affinity}]}}}
    ds = objects.from_dict(objects.to_dict(daemon_set("agent", pod_spec=pod_spec)), defaults=True)
    built = [_node(f"n{i}", labels, [TAINTS[t] for t in taints], unschedulable)
             for i, (labels, taints, unschedulable) in enumerate(nodes)]
    cluster = Cluster(nodes=built)
    template = ds.spec.template
    as_scheduled = pod_from_template(template.replace(spec=template.spec.replace(
        tolerations=daemon_tolerations(template.spec))), ds)
    added = {(t.key, t.effect) for t in daemon_tolerations(template.spec)}
    assert (("node.kubernetes.io/network-unavailable", "NoSchedule") in added) == host_network
    for node in built:
        run, keep = should_run(ds, node)
        assert run == (filter_node(as_scheduled, node, cluster) is None), (node.to_dict(), pod_spec)
        assert keep >= run   # a node it should run on is one it may stay on
        if run:
            placed = pod_from_template(pod_template_for_node(template, node.metadata.name), ds)
            fits = [n.metadata.name for n in built if filter_node(placed, n, cluster) is None]
            assert fits == [node.metadata.name]
