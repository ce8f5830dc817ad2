"""Defaulting as the API server does it, applied as a separate step (reading keeps objects as written)."""
from __future__ import annotations

import pytest

import objects
from objects import PriorityClass, Quantity, ValidationError, apply_defaults

from manifest_corpus import document


def pod(**spec):
    base = {"containers": [{"name": "c", "image": "i"}]}
    base.update(spec)
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": base})


def priority_class(name, value, global_default=None, policy=None):
    doc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value}
    if global_default is not None:
        doc["globalDefault"] = global_default
    if policy:
        doc["preemptionPolicy"] = policy
    return objects.from_dict(doc)


def test_reading_does_not_default():
    p = pod()
    assert p.metadata.namespace is None and p.spec.scheduler_name is None and p.spec.restart_policy is None


def test_pod_defaults():
    p = pod(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 80}],
                         "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m"}}}],
            tolerations=[{"key": "k", "value": "v"}])
    d = apply_defaults(p)
    assert d.metadata.namespace == "default"
    assert d.spec.scheduler_name == "default-scheduler"
    assert d.spec.restart_policy == "Always"
    assert d.spec.containers[0].resources.requests == {"cpu": Quantity("100m"), "memory": Quantity("1Gi")}
    assert d.spec.containers[0].ports[0].protocol == "TCP"
    assert d.spec.tolerations[0].operator == "Equal"
    assert d.requests == p.requests == {"cpu": 100, "memory": 1024**3}
    # the original is untouched, and defaulting twice changes nothing more
    assert p.metadata.namespace is None and p.spec.containers[0].resources.requests == {"cpu": Quantity("100m")}
    assert apply_defaults(d) == d
    objects.validate(d)


def test_defaults_keep_what_is_set():
    p = objects.from_dict(document("Pod", "web-0"))
    d = apply_defaults(p)
    assert d.metadata.namespace == "shop" and d.spec.scheduler_name == "default-scheduler"
    assert d.spec.containers[0].resources.requests["cpu"] == Quantity("500m")
    assert d.spec.containers[1].resources.requests == d.spec.containers[1].resources.limits


def test_host_network_defaults_host_port():
    d = apply_defaults(pod(hostNetwork=True, containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 9100}]}]))
    assert d.spec.containers[0].ports[0].host_port == 9100


def test_from_dict_and_load_can_default():
    p = objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                           "spec": {"containers": [{"name": "c", "image": "i"}]}}, defaults=True)
    assert p.metadata.namespace == "default" and p.key == "default/p"
    [node] = objects.load('{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, '
                          '"status": {"capacity": {"cpu": "2"}}}', defaults=True)
    assert node.metadata.namespace is None  # cluster-scoped
    assert node.status.allocatable == {"cpu": Quantity("2")}


def test_priority_from_priority_class_name():
    classes = {"high": priority_class("high", 1000, policy="Never"), "low": priority_class("low", 10)}
    d = apply_defaults(pod(priorityClassName="high"), priority_classes=classes)
    assert (d.spec.priority, d.priority_value, d.spec.preemption_policy) == (1000, 1000, "Never")
    low = apply_defaults(pod(priorityClassName="low"), priority_classes=classes.get)  # a callable works too
    assert (low.spec.priority, low.spec.preemption_policy) == (10, "PreemptLowerPriority")
    none = apply_defaults(pod(), priority_classes=classes)
    assert none.spec.priority == 0 and none.spec.priority_class_name is None
    system = apply_defaults(pod(priorityClassName="system-node-critical"), priority_classes={})
    assert system.spec.priority == 2000001000
    untouched = apply_defaults(pod(priorityClassName="high"))
    assert untouched.spec.priority is None


def test_global_default_priority_class():
    classes = {"std": priority_class("std", 100, global_default=True), "x": priority_class("x", 5)}
    d = apply_defaults(pod(), priority_classes=classes)
    assert (d.spec.priority, d.spec.priority_class_name) == (100, "std")


def test_priority_errors():
    with pytest.raises(ValidationError, match="spec.priorityClassName: Not found: \"missing\": no PriorityClass"):
        apply_defaults(pod(priorityClassName="missing"), priority_classes={})
    with pytest.raises(ValidationError, match="spec.priority: Forbidden"):
        apply_defaults(pod(priorityClassName="high", priority=5),
                       priority_classes={"high": priority_class("high", 1000)})


def test_workload_defaults():
    deploy = objects.from_dict({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                "spec": {"selector": {"matchLabels": {"a": "b"}},
                                         "template": {"metadata": {"labels": {"a": "b"}},
                                                      "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    d = apply_defaults(deploy)
    assert d.spec.replicas == 1 and d.spec.revision_history_limit == 10 and d.spec.progress_deadline_seconds == 600
    assert d.spec.strategy.type == "RollingUpdate"
    assert (d.spec.strategy.rolling_update.max_unavailable, d.spec.strategy.rolling_update.max_surge) == ("25%", "25%")
    assert d.spec.template.spec.scheduler_name == "default-scheduler"
    objects.validate(d)
    ds = apply_defaults(objects.from_dict(document("DaemonSet", "node-exporter")))
    assert ds.spec.update_strategy.rolling_update.max_unavailable == "10%"
    assert ds.spec.template.spec.containers[0].ports[0].host_port == 9100
    rs = apply_defaults(objects.from_dict(document("ReplicaSet", "web-7d4b9c")))
    assert rs.spec.replicas == 3


def test_service_and_priority_class_defaults():
    svc = apply_defaults(objects.from_dict(document("Service", "web")))
    assert [p.protocol for p in svc.spec.ports] == ["TCP", "TCP"] and svc.spec.type == "NodePort"
    bare = apply_defaults(objects.from_dict({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                                             "spec": {"ports": [{"port": 80}]}}))
    assert (bare.spec.type, bare.spec.session_affinity, bare.spec.ports[0].target_port) == ("ClusterIP", "None", 80)
    pc = apply_defaults(priority_class("p", 1))
    assert pc.preemption_policy == "PreemptLowerPriority"


def test_generic_objects_are_left_alone():
    crd = objects.from_dict({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {}})
    assert apply_defaults(crd) is crd
