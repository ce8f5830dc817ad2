"""PodControl.create_pod hands the Registry the owner's template spec itself (no deep copy per pod): the
stored pod is the one pod_from_template's copy gave, and the template (shared by the informer cache) is
left exactly as it was."""
from __future__ import annotations

import copy

import objects
from controllers import EventRecorder
from controllers.podcontrol import PodControl, pod_from_template

from ctrl_helpers import replica_set

SYSTEM = ("name", "uid", "creationTimestamp", "resourceVersion")


def _rich_template_owner(registry):
    rs = replica_set("web", 0, labels={"app": "web"}, nodeSelector={"disk": "ssd"}, terminationGracePeriodSeconds=1,
                     containers=[{"name": "c", "image": "i", "resources": {"requests": {"cpu": "10m"}},
                                  "ports": [{"name": "http", "containerPort": 80}]}],
                     tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                   "effect": "NoExecute", "tolerationSeconds": 300}],
                     affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                         "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In",
                                                                      "values": ["a", "b"]}]}]}}})
    return registry.create(rs)


def _comparable(pod):
    d = pod.to_dict()
    for field in SYSTEM:
        d["metadata"].pop(field, None)
    return d


def test_create_pod_stores_what_the_copied_template_stores_and_leaves_the_template_alone(registry):
    owner = _rich_template_owner(registry)
    template = owner.spec.template
    before = copy.deepcopy(template.to_dict())
    control = PodControl(registry, EventRecorder(registry, "test", enabled=False))
    for options in ({}, {"generate_name": "web-0-"}, {"name": "web-fixed", "labels": {"extra": "1"}}):
        shared = control.create_pod(owner, template, **options)
        expected = registry.create(pod_from_template(template, owner, **{**options, **(
            {"name": "web-copied"} if "name" in options else {})}))
        assert _comparable(shared) == _comparable(expected)
        assert shared.spec == expected.spec
        assert template.to_dict() == before
        assert shared.spec is not template.spec
    stored = registry.get("ReplicaSet", "web", "default")
    assert stored.spec.template.to_dict() == before
