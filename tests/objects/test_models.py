"""Models: derived values the scheduler reads, value semantics and cheap modified copies."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import objects
from objects import Container, ContainerPort, Node, Pod, PodSpec, Quantity, ResourceRequirements

from manifest_corpus import document

MI = 1024 * 1024


def pod(spec: dict, **meta) -> Pod:
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **meta}, "spec": spec})


def c(name: str, requests: dict | None = None, limits: dict | None = None, **extra) -> dict:
    res = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"name": name, "image": "i", **({"resources": res} if res else {}), **extra}


def test_requests_sum_containers_in_scheduler_units():
    p = pod({"containers": [c("a", {"cpu": "250m", "memory": "64Mi", "example.com/gpu": "1"}),
                            c("b", {"cpu": "1.5", "memory": "1Gi", "ephemeral-storage": "1G"})]})
    assert p.requests == {"cpu": 1750, "memory": 64 * MI + 1024 * MI, "example.com/gpu": 1,
                          "ephemeral-storage": 10**9}


def test_requests_round_up_fractions():
    p = pod({"containers": [c("a", {"cpu": "0.0001", "memory": "1.5"})]})
    assert p.requests == {"cpu": 1, "memory": 2}


def test_limits_stand_in_for_missing_requests():
    p = pod({"containers": [c("a", {"cpu": "100m"}, {"cpu": "2", "memory": "1Gi"})]})
    assert p.requests == {"cpu": 100, "memory": 1024 * MI}


def test_init_containers_count_as_their_peak():
    p = pod({"initContainers": [c("i1", {"cpu": "2", "memory": "10Mi"}), c("i2", {"cpu": "1", "memory": "3Gi"})],
             "containers": [c("a", {"cpu": "500m", "memory": "1Gi"}), c("b", {"cpu": "500m", "memory": "1Gi"})]})
    assert p.requests == {"cpu": 2000, "memory": 3 * 1024 * MI}


def test_sidecars_add_to_containers_and_later_init_containers():
    # kube-scheduler: a restartable init container runs alongside everything after it
    p = pod({"initContainers": [c("side", {"cpu": "200m"}, restartPolicy="Always"), c("init", {"cpu": "1"})],
             "containers": [c("a", {"cpu": "300m"})]})
    assert p.requests["cpu"] == max(200 + 300, 200 + 1000)
    q = pod({"initContainers": [c("init", {"cpu": "100m"}), c("side", {"cpu": "200m"}, restartPolicy="Always")],
             "containers": [c("a", {"cpu": "300m"})]})
    assert q.requests["cpu"] == 500


def test_overhead_is_added():
    p = pod({"containers": [c("a", {"cpu": "100m"})], "overhead": {"cpu": "250m", "memory": "120Mi"}})
    assert p.requests == {"cpu": 350, "memory": 120 * MI}
    assert p.non_zero_requests == (350, 200 * MI + 120 * MI)


def test_non_zero_requests_default_per_container():
    p = pod({"containers": [c("a"), c("b", {"cpu": "1"}), c("c", {"memory": "1Gi"})]})
    assert p.requests == {"cpu": 1000, "memory": 1024 * MI}
    assert p.non_zero_requests == (100 + 1000 + 100, 200 * MI * 2 + 1024 * MI)
    zero = pod({"containers": [c("a", {"cpu": "0", "memory": "0"})]})
    assert zero.non_zero_requests == (0, 0)  # an explicit zero is not missing


def test_host_ports_with_defaults_and_host_network():
    p = pod({"containers": [c("a", ports=[{"containerPort": 80, "hostPort": 8080},
                                         {"containerPort": 53, "hostPort": 53, "protocol": "UDP",
                                          "hostIP": "10.0.0.1"},
                                         {"containerPort": 9090}])]})
    assert p.host_ports == (("0.0.0.0", "TCP", 8080), ("10.0.0.1", "UDP", 53))
    h = pod({"hostNetwork": True, "containers": [c("a", ports=[{"containerPort": 9100}])]})
    assert h.host_ports == (("0.0.0.0", "TCP", 9100),)


def test_priority_value_and_key():
    assert pod({"containers": [c("a")]}).priority_value == 0
    assert pod({"containers": [c("a")], "priority": 7}).priority_value == 7
    assert pod({"containers": [c("a")]}).key == "default/p"
    assert pod({"containers": [c("a")]}, namespace="ns").key == "ns/p"


def test_corpus_pod_derived_values():
    p = objects.from_dict(document("Pod", "web-0"))
    # containers: web 500m + sidecar limits 250m + the log-shipper sidecar 50m; the migrate init container
    # runs before the log shipper starts, so its peak is 2 cpus; overhead 250m on top
    assert p.requests["cpu"] == max(500 + 250 + 50, 2000) + 250
    assert p.requests["example.com/gpu"] == 1
    assert p.host_ports == (("10.0.0.5", "TCP", 80),)
    assert p.priority_value == 1000000
    assert p.key == "shop/web-0"


def test_node_allocatable_resources():
    node = objects.from_dict(document("Node", "node-7"))
    assert node.allocatable_resources == {"cpu": 15500, "memory": 62 * 1024 * MI, "ephemeral-storage": 180 * 1024 * MI,
                                          "pods": 110, "example.com/gpu": 2}
    only_capacity = objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                                       "status": {"capacity": {"cpu": "4", "pods": "110"}}})
    assert only_capacity.allocatable_resources == {"cpu": 4000, "pods": 110}
    assert objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}).allocatable_resources == {}


def test_with_node_name_copies_without_changing_the_original():
    p = objects.from_dict(document("Pod", "web-0"))
    bound = p.with_node_name("node-1")
    assert bound.spec.node_name == "node-1" and p.spec.node_name == "node-7"
    assert bound.requests is p.requests and bound.key == p.key
    assert bound.spec.containers is p.spec.containers
    assert objects.to_dict(bound)["spec"]["nodeName"] == "node-1"
    assert bound.metadata.unknown_fields == p.metadata.unknown_fields
    nominated = p.with_nominated_node_name(None)
    assert nominated.status.nominated_node_name is None and p.status.nominated_node_name == "node-9"


def test_with_metadata_and_replace_recompute_derived_values():
    p = objects.from_dict(document("Pod", "web-0"))
    renamed = p.with_metadata(name="web-1", resource_version="77")
    assert renamed.key == "shop/web-1" and renamed.metadata.resource_version == "77"
    assert p.key == "shop/web-0" and p.metadata.resource_version == "12345"
    bigger = p.replace(spec=p.spec.replace(overhead={"cpu": Quantity("1")}))
    assert bigger.requests["cpu"] == p.requests["cpu"] - 250 + 1000
    with pytest.raises(TypeError):
        p.replace(no_such_field=1)


def test_models_built_in_python():
    spec = PodSpec(containers=[Container(name="a", image="i", resources=ResourceRequirements(
        requests={"cpu": Quantity("2")}), ports=[ContainerPort(container_port=80, host_port=80)])])
    p = Pod(api_version="v1", kind="Pod", metadata=objects.ObjectMeta(name="x", namespace="y"), spec=spec)
    assert p.requests == {"cpu": 2000} and p.host_ports == (("0.0.0.0", "TCP", 80),) and p.key == "y/x"
    assert objects.to_dict(p) == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "y"},
                                  "spec": {"containers": [{"name": "a", "image": "i",
                                                           "ports": [{"hostPort": 80, "containerPort": 80}],
                                                           "resources": {"requests": {"cpu": "2"}}}]}}
    objects.validate(p)
    with pytest.raises(objects.ValidationError, match="metadata.name"):
        objects.validate(p.with_metadata(name="Not_A_Name"))


def test_equality_is_by_value():
    a = objects.from_dict(document("Pod", "web-0"))
    b = objects.from_dict(document("Pod", "web-0"))
    assert a == b and a is not b
    assert a != a.with_node_name("other")
    assert a.spec != a.status


def test_node_with_spec():
    node = objects.from_dict(document("Node", "node-7"))
    free = node.with_spec(unschedulable=None, taints=[])
    assert free.spec.unschedulable is None and node.spec.unschedulable is True
    assert free.allocatable_resources == node.allocatable_resources


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 64000), st.integers(0, 2**40)), min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(0, 64000), st.integers(0, 2**40), st.booleans()), max_size=3))
def test_requests_match_a_direct_model_of_kube_scheduler(containers, inits):
    spec = {"containers": [c(f"c{i}", {"cpu": f"{m}m", "memory": str(b)}) for i, (m, b) in enumerate(containers)],
            "initContainers": [c(f"i{i}", {"cpu": f"{m}m", "memory": str(b)},
                                 **({"restartPolicy": "Always"} if side else {}))
                               for i, (m, b, side) in enumerate(inits)]}
    p = pod(spec)
    for dim, name in ((0, "cpu"), (1, "memory")):
        total = sum(x[dim] for x in containers) + sum(x[dim] for x in inits if x[2])
        peak, sidecars = 0, 0
        for x in inits:
            if x[2]:
                sidecars += x[dim]
                peak = max(peak, sidecars)
            else:
                peak = max(peak, sidecars + x[dim])
        assert p.requests[name] == max(total, peak)


def test_positional_arguments_follow_the_architecture_contract():
    meta = objects.ObjectMeta("web", None, "shop")
    assert (meta.name, meta.namespace) == ("web", "shop")
    port = ContainerPort(80, 8080, "UDP", "10.0.0.1")
    assert (port.container_port, port.host_port, port.protocol, port.host_ip) == (80, 8080, "UDP", "10.0.0.1")
    res = ResourceRequirements({"cpu": Quantity("1")}, {"cpu": Quantity("2")})
    assert res.requests == {"cpu": Quantity("1")} and res.limits == {"cpu": Quantity("2")}
    container = Container("a", "img", res, [port])
    spec = PodSpec([container], [], "node-1", {"disk": "ssd"})
    assert (spec.containers, spec.node_name, spec.node_selector) == ([container], "node-1", {"disk": "ssd"})
    p = Pod("v1", "Pod", meta, spec, objects.PodStatus("Pending", "node-2"))
    assert p.requests == {"cpu": 1000} and p.host_ports == (("10.0.0.1", "UDP", 8080),)
    assert p.status.nominated_node_name == "node-2"
    taint = objects.Taint("k", "v", "NoSchedule")
    node = Node("v1", "Node", objects.ObjectMeta("n"), objects.NodeSpec([taint], True),
                objects.NodeStatus({"cpu": Quantity("4")}, {"cpu": Quantity("3")}))
    assert node.spec.taints == [taint] and node.spec.unschedulable is True
    assert node.allocatable_resources == {"cpu": 3000}
    assert objects.ContainerImage(["img"], 10).size_bytes == 10


def test_absent_parts_are_not_shared_and_are_written_once_filled():
    a = pod({"containers": [c("a")]})
    b = pod({"containers": [c("b")]})
    assert a.status is not b.status and a.status.conditions is not b.status.conditions
    a.status.conditions.append(objects.Condition("PodScheduled", "False"))  # the creator may fill its own object
    assert b.status.conditions == []
    assert objects.to_dict(a)["status"] == {"conditions": [{"type": "PodScheduled", "status": "False"}]}
    assert "status" not in objects.to_dict(b)
    built = Pod(metadata=objects.ObjectMeta(name="x"))
    assert objects.to_dict(built) == {"metadata": {"name": "x"}}
    assert objects.to_dict(built.replace(status=built.status.replace(phase="Running")))["status"] == {"phase": "Running"}


def test_package_exports_every_kind_and_its_parts():
    for name in objects.__all__:
        assert getattr(objects, name) is not None, name
    for (group, kind), cls in objects.KINDS.items():
        assert cls.KIND == kind and cls.RESOURCE and cls.__name__ in objects.__all__
        assert objects.kind_class(cls.API_VERSION, kind) is cls


def test_objects_share_no_mutable_state_with_their_input_or_output():
    doc = document("Pod", "web-0")
    p = objects.from_dict(doc)
    doc["spec"]["volumes"][0]["name"] = "changed"
    doc["metadata"]["labels"]["app"] = "changed"
    assert p.spec.unknown_fields["volumes"][0]["name"] == "cache" and p.metadata.labels["app"] == "web"
    out = objects.to_dict(p)
    out["spec"]["volumes"][0]["name"] = "changed"
    out["metadata"]["labels"]["app"] = "changed"
    out["metadata"]["finalizers"].append("x/y")
    assert objects.to_dict(p) == objects.to_dict(objects.from_dict(document("Pod", "web-0")))
