"""Derived values never go stale: models stay mutable, and every read reflects the fields as they are (#15)."""
import copy
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import objects
from objects import Container, ContainerPort, Quantity

MI = 1024 * 1024


def pod(**spec):
    body = {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "1"}}}], **spec}
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": body})


def test_editing_requests_in_place_is_seen_by_requests():
    p = pod()
    assert p.requests == {"cpu": 1000}
    p.spec.containers[0].resources.requests["cpu"] = Quantity("4")      # the trap: a 4-CPU pod
    assert p.requests == {"cpu": 4000}
    assert p.non_zero_requests == (4000, 200 * MI)
    p.spec.containers[0].resources.requests["memory"] = Quantity("1Gi")
    assert p.requests == {"cpu": 4000, "memory": 1024 * MI}
    del p.spec.containers[0].resources.requests["cpu"]
    assert p.requests == {"memory": 1024 * MI} and p.non_zero_requests == (100, 1024 * MI)
    assert p.spec.containers[0].resources.effective_requests == {"memory": 1024 * MI}


def test_limits_containers_init_containers_overhead_ports_and_host_network_are_followed():
    p = pod()
    p.spec.containers[0].resources.limits["nvidia.com/gpu"] = Quantity(2)  # a limit alone is the request
    assert p.requests == {"cpu": 1000, "nvidia.com/gpu": 2}
    p.spec.containers.append(Container.from_dict({"name": "d", "image": "i",
                                                  "resources": {"requests": {"cpu": "500m"}}}))
    assert p.requests["cpu"] == 1500
    p.spec.init_containers.append(Container.from_dict({"name": "init", "image": "i",
                                                       "resources": {"requests": {"cpu": "3"}}}))
    assert p.requests["cpu"] == 3000
    p.spec.init_containers[0].restart_policy = "Always"                # now a sidecar: adds to the sum
    assert p.requests["cpu"] == 4500
    p.spec.overhead["cpu"] = Quantity("250m")
    assert p.requests["cpu"] == 4750
    p.spec.containers[1].ports.append(ContainerPort.from_dict({"containerPort": 80}))
    assert p.host_ports == ()
    p.spec.host_network = True                                          # container ports become host ports
    assert p.host_ports == (("0.0.0.0", "TCP", 80),)
    p.spec.containers[1].ports[0].host_ip = "10.0.0.1"
    assert p.host_ports == (("10.0.0.1", "TCP", 80),)
    p.spec.containers = p.spec.containers[:1]
    assert p.requests["cpu"] == 1000 + 3000 + 250 and p.host_ports == ()   # the sidecar still counts


def test_an_equal_but_different_part_is_watched_from_then_on():
    p = pod()
    assert p.requests == {"cpu": 1000}
    p.spec.containers[0] = copy.deepcopy(p.spec.containers[0])         # equal value, another object
    assert p.requests == {"cpu": 1000}
    p.spec.containers[0].resources.requests["cpu"] = Quantity("2")      # an in-place edit of the new one
    assert p.requests == {"cpu": 2000}
    p.spec.containers = list(p.spec.containers)                         # an equal list, another object
    assert p.requests == {"cpu": 2000}
    p.spec.containers.append(Container.from_dict({"name": "d", "image": "i",
                                                  "resources": {"requests": {"cpu": "1"}}}))
    assert p.requests == {"cpu": 3000}
    p.spec = copy.deepcopy(p.spec)                                      # a whole new spec
    p.spec.overhead["cpu"] = Quantity("1")
    assert p.requests == {"cpu": 4000}
    node = objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                              "status": {"allocatable": {"cpu": "1"}}})
    assert node.allocatable_resources == {"cpu": 1000}
    node.status = copy.deepcopy(node.status)
    node.status.allocatable["cpu"] = Quantity("2")
    assert node.allocatable_resources == {"cpu": 2000}


def test_priority_key_and_node_allocatable_follow_their_fields():
    p = pod(priority=5)
    p.spec.priority = 7
    p.metadata.name, p.metadata.namespace = "q", "prod"
    assert (p.priority_value, p.key) == (7, "prod/q")
    node = objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                              "status": {"capacity": {"cpu": "8"}}})
    assert node.allocatable_resources == {"cpu": 8000}
    node.status.capacity["cpu"] = Quantity("16")                        # allocatable unset: capacity counts
    assert node.allocatable_resources == {"cpu": 16000}
    node.status.allocatable = {"cpu": Quantity("1"), "pods": Quantity(10)}
    assert node.allocatable_resources == {"cpu": 1000, "pods": 10}
    node.status.allocatable["cpu"] = Quantity("2")
    assert node.allocatable_resources == {"cpu": 2000, "pods": 10}


def test_derived_values_are_read_only_and_copies_are_independent():
    p = pod()
    with pytest.raises(AttributeError):
        p.requests = {"cpu": 1}
    assert p.requests == {"cpu": 1000}                                 # computed before the copies are made
    twin = copy.deepcopy(p)
    twin.spec.containers[0].resources.requests["cpu"] = Quantity("2")
    assert (p.requests, twin.requests) == ({"cpu": 1000}, {"cpu": 2000})
    twin.spec.containers[0].resources.requests["cpu"] = Quantity("3")
    assert twin.requests == {"cpu": 3000} and p.requests == {"cpu": 1000}
    node = objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                              "status": {"allocatable": {"cpu": "1"}}})
    assert node.allocatable_resources == {"cpu": 1000}
    other = copy.deepcopy(node)
    other.status.allocatable["cpu"] = Quantity("3")
    assert (node.allocatable_resources, other.allocatable_resources) == ({"cpu": 1000}, {"cpu": 3000})
    bound = p.with_node_name("n1")
    assert bound.requests == {"cpu": 1000}


CPU = st.integers(0, 4000).map(lambda m: Quantity(f"{m}m"))
EDITS = st.lists(st.tuples(st.sampled_from(["set", "del", "limit", "add", "pop", "init", "deepcopy", "port",
                                             "replace-resources", "bind", "recopy", "respec"]),
                           st.integers(0, 3), CPU),
                 max_size=12)


@settings(max_examples=60, deadline=None)
@given(EDITS)
def test_after_any_edits_derived_values_equal_a_fresh_read(edits):
    p = pod()
    host_ports = itertools.count(8000)
    for op, i, q in edits:
        p = _edit(p, op, i, q, host_ports)
        seen = (p.requests, p.non_zero_requests, p.host_ports)
        fresh = objects.from_dict(objects.to_dict(p))
        assert seen == (fresh.requests, fresh.non_zero_requests, fresh.host_ports)


def _edit(p, op, i, q, host_ports):
    """One of EDITS' edits of ``p``; the pod after it (some edits make a new one)."""
    containers = p.spec.containers
    c = containers[i % len(containers)] if containers else None
    if op == "set" and c is not None:
        c.resources.requests["cpu"] = q
    elif op == "del" and c is not None:
        c.resources.requests.pop("cpu", None)
    elif op == "limit" and c is not None:
        c.resources.limits["memory"] = q  # no memory request: the limit stands in
    elif op == "add":
        containers.append(Container.from_dict({"name": f"c{len(containers)}", "image": "i"}))
    elif op == "pop" and len(containers) > 1:
        containers.pop()
    elif op == "deepcopy":
        p = copy.deepcopy(p)
    elif op == "recopy" and c is not None:
        containers[i % len(containers)] = copy.deepcopy(c)
    elif op == "respec":
        p.spec = copy.deepcopy(p.spec)
    elif op == "bind":
        p = p.with_node_name(f"n{i}")
    elif op == "port" and c is not None:
        c.ports.append(ContainerPort(container_port=80, host_port=next(host_ports)))
    elif op == "replace-resources" and c is not None:
        c.resources = objects.ResourceRequirements(requests={"cpu": q})
    elif op == "init":
        p.spec.init_containers.append(Container(name=f"i{len(p.spec.init_containers)}", image="i",
                                                resources=objects.ResourceRequirements(requests={"cpu": q})))
    return p


def test_a_binding_or_status_version_derives_like_the_pod():
    p = pod(hostNetwork=True)
    for other in (p, p.with_node_name("n1"), p.with_nominated_node_name("n2"), p.with_metadata(resource_version="7")):
        assert p.derives_like(other) and other.derives_like(p)
    assert not p.derives_like(copy.deepcopy(p))  # equal values, other objects: says nothing
    bound = p.with_node_name("n1")
    bound.spec.host_network = False
    assert not p.derives_like(bound)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["same", "bind", "nominate", "metadata", "deepcopy"]), EDITS, EDITS, st.booleans())
def test_derives_like_means_equal_derived_values(relation, edits_p, edits_q, read_first):
    # derives_like is a shortcut of comparing the derived values (NodeInfo.replace_pod takes it): whenever it
    # says True, after any edits to either version, the values must be equal.
    p = pod()
    if read_first:
        assert p.requests is not None  # computed, then shared by the copies
    q = {"same": lambda: p, "bind": lambda: p.with_node_name("n1"),
         "nominate": lambda: p.with_nominated_node_name("n2"),
         "metadata": lambda: p.with_metadata(resource_version="9"), "deepcopy": lambda: copy.deepcopy(p)}[relation]()
    host_ports = itertools.count(8000)
    for (op_p, i_p, q_p), (op_q, i_q, q_q) in itertools.zip_longest(edits_p, edits_q, fillvalue=("none", 0, None)):
        p = _edit(p, op_p, i_p, q_p, host_ports)
        q = _edit(q, op_q, i_q, q_q, host_ports)
        if p.derives_like(q):
            assert (p.requests, p.non_zero_requests, p.host_ports) == (q.requests, q.non_zero_requests, q.host_ports)
