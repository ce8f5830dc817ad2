"""Endpoints and EndpointSlice controllers: Services' selectors over pods, ready and not ready, ports
resolved by name, slices of at most N endpoints, placeholder slice, cleanup when the Service goes."""
from __future__ import annotations

import pytest

import objects
from objects.discovery import MANAGED_BY_LABEL, SERVICE_NAME_LABEL

from ctrl_helpers import WAIT, pod, started_managers, wait_for


@pytest.fixture
def manager(registry):
    with started_managers(registry, ("endpoint", "endpointslice")) as make:
        yield make


def service(name, selector, ports=None, **spec):
    ports = ports if ports is not None else [{"name": "http", "port": 80, "targetPort": "web"},
                                             {"name": "metrics", "port": 9090}]
    return objects.from_dict({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"team": "a"}},
                              "spec": {"selector": selector, "ports": ports, **spec}})


def running_pod(registry, name, ip, ready=True, labels=None, port_name="web", port=8080, node="n1"):
    p = pod(name, labels=labels or {"app": "web"}, node_name=node,
            containers=[{"name": "c", "image": "i", "ports": [{"name": port_name, "containerPort": port}]}])
    created = registry.create(p)
    status = created.status.replace(phase="Running", pod_ip=ip, conditions=[
        objects.Condition(type="Ready", status="True" if ready else "False")])
    return registry.update_status(created.replace(status=status))


def slices_of(registry, name):
    return [s for s in registry.list("EndpointSlice", "default").items
            if s.metadata.labels.get(SERVICE_NAME_LABEL) == name]


def slice_view(registry, name):
    out = {}
    for s in slices_of(registry, name):
        for e in s.endpoints:
            out[e.addresses[0]] = (e.conditions.ready, e.conditions.serving, e.conditions.terminating,
                                   tuple((p.name, p.port) for p in s.ports))
    return out


def test_endpoints_follow_pods(registry, manager):
    m = manager()
    running_pod(registry, "a", "10.0.0.1")
    running_pod(registry, "b", "10.0.0.2", ready=False)
    running_pod(registry, "other", "10.0.0.9", labels={"app": "db"})
    registry.create(pod("no-ip", labels={"app": "web"}))  # not running yet: no IP, left out
    registry.create(service("web", {"app": "web"}))
    assert m.wait_idle(WAIT)
    ep = registry.get("Endpoints", "web", "default")
    [subset] = ep.subsets
    assert [a.ip for a in subset.addresses] == ["10.0.0.1"]
    assert [a.ip for a in subset.not_ready_addresses] == ["10.0.0.2"]
    assert {(p.name, p.port) for p in subset.ports} == {("http", 8080), ("metrics", 9090)}
    assert subset.addresses[0].target_ref["name"] == "a" and subset.addresses[0].node_name == "n1"
    assert ep.metadata.labels == {"team": "a", "endpointslice.kubernetes.io/skip-mirror": "true"}
    # b becomes ready, a is deleted
    b = registry.get("Pod", "b", "default")
    registry.update_status(b.replace(status=b.status.replace(conditions=[objects.Condition(type="Ready", status="True")])))
    registry.delete("Pod", "a", "default")
    assert m.wait_idle(WAIT)
    [subset] = registry.get("Endpoints", "web", "default").subsets
    assert [a.ip for a in subset.addresses] == ["10.0.0.2"] and subset.not_ready_addresses == []
    registry.delete("Service", "web", "default")
    assert m.wait_idle(WAIT)
    with pytest.raises(objects.NotFound):
        registry.get("Endpoints", "web", "default")
    assert slices_of(registry, "web") == []


def test_named_ports_resolve_per_pod(registry, manager):
    m = manager()
    running_pod(registry, "a", "10.0.0.1", port=8080)
    running_pod(registry, "b", "10.0.0.2", port=9000)
    running_pod(registry, "c", "10.0.0.3", port_name="other")  # no "web" port: only the numeric one
    registry.create(service("web", {"app": "web"}))
    assert m.wait_idle(WAIT)
    subsets = registry.get("Endpoints", "web", "default").subsets
    by_ports = {tuple(sorted((p.name, p.port) for p in s.ports)): [a.ip for a in s.addresses] for s in subsets}
    assert by_ports == {(("http", 8080), ("metrics", 9090)): ["10.0.0.1"],
                        (("http", 9000), ("metrics", 9090)): ["10.0.0.2"],
                        (("metrics", 9090),): ["10.0.0.3"]}
    view = slice_view(registry, "web")
    assert view["10.0.0.1"][3] == (("http", 8080), ("metrics", 9090))
    assert view["10.0.0.2"][3] == (("http", 9000), ("metrics", 9090))
    assert view["10.0.0.3"][3] == (("metrics", 9090),)


def test_slices_are_owned_labelled_and_hold_conditions(registry, manager):
    m = manager()
    running_pod(registry, "a", "10.0.0.1")
    running_pod(registry, "b", "10.0.0.2", ready=False)
    svc = registry.create(service("web", {"app": "web"}))
    assert m.wait_idle(WAIT)
    [s] = slices_of(registry, "web")
    assert s.metadata.labels[MANAGED_BY_LABEL] == "endpointslice-controller.k8s.io"
    assert s.metadata.name.startswith("web-") and s.address_type == "IPv4"
    ref = s.metadata.owner_references[0]
    assert (ref.kind, ref.uid, ref.controller) == ("Service", svc.metadata.uid, True)
    assert slice_view(registry, "web") == {
        "10.0.0.1": (True, True, False, (("http", 8080), ("metrics", 9090))),
        "10.0.0.2": (False, False, False, (("http", 8080), ("metrics", 9090)))}


def test_many_endpoints_split_into_slices_that_stay_put(registry, manager):
    m = manager(("endpointslice",))
    m.controllers["endpointslice"].max_endpoints_per_slice = 3
    for i in range(7):
        running_pod(registry, f"p{i}", f"10.0.1.{i + 1}")
    registry.create(service("web", {"app": "web"}))
    assert m.wait_idle(WAIT)
    slices = slices_of(registry, "web")
    assert sorted(len(s.endpoints) for s in slices) == [1, 3, 3]
    where = {e.addresses[0]: s.metadata.name for s in slices for e in s.endpoints}
    registry.delete("Pod", "p0", "default")
    running_pod(registry, "p9", "10.0.1.99")
    assert m.wait_idle(WAIT)
    slices = slices_of(registry, "web")
    now = {e.addresses[0]: s.metadata.name for s in slices for e in s.endpoints}
    assert len(slices) == 3 and len(now) == 7 and "10.0.1.1" not in now
    assert all(now[ip] == where[ip] for ip in now if ip in where)  # endpoints that stayed did not move


def test_a_service_without_pods_keeps_one_placeholder_slice(registry, manager):
    m = manager(("endpointslice",))
    registry.create(service("empty", {"app": "nothing"}))
    assert m.wait_idle(WAIT)
    [placeholder] = slices_of(registry, "empty")
    assert placeholder.endpoints == [] and placeholder.ports == []
    running_pod(registry, "x", "10.0.2.1", labels={"app": "nothing"})
    assert m.wait_idle(WAIT)
    [s] = slices_of(registry, "empty")
    assert [e.addresses[0] for e in s.endpoints] == ["10.0.2.1"]


def test_terminating_pods(registry, manager):
    m = manager()
    p = running_pod(registry, "t", "10.0.3.1")
    registry.update(p.replace(metadata=p.metadata.replace(finalizers=["example.com/hold"])))
    registry.create(service("web", {"app": "web"}))
    assert m.wait_idle(WAIT)
    registry.delete("Pod", "t", "default")  # marked: terminating while the finalizer holds it
    assert m.wait_idle(WAIT)
    assert slice_view(registry, "web")["10.0.3.1"][:3] == (False, True, True)
    assert registry.get("Endpoints", "web", "default").subsets == []  # Endpoints leave terminating pods out


def test_a_service_without_selector_is_left_alone(registry, manager):
    m = manager()
    manual = registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
                                                "subsets": [{"addresses": [{"ip": "192.0.2.1"}],
                                                             "ports": [{"port": 443}]}]}))
    registry.create(service("ext", {}, ports=[{"port": 443}]))
    assert m.wait_idle(WAIT)
    assert registry.get("Endpoints", "ext", "default").subsets == manual.subsets
    assert slices_of(registry, "ext") == []
