"""Validation on every read: API-server messages with field paths, every problem listed, any input shape."""
from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import objects
from objects import FieldError, ValidationError

from manifest_corpus import corpus_documents, document


def problems(data: Any) -> list[str]:
    with pytest.raises(ValidationError) as info:
        objects.from_dict(data)
    assert info.value.errors, "a ValidationError lists its problems"
    return [str(e) for e in info.value.errors]


def pod_with(**spec: Any) -> dict:
    base = {"containers": [{"name": "c", "image": "i"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": base}


def test_the_issue_example_is_worded_as_the_api_server():
    doc = pod_with(containers=[{"name": "c", "image": "i", "resources": {"requests": {"cpu": "12x"}}}])
    assert problems(doc) == ['spec.containers[0].resources.requests.cpu: Invalid value: "12x": must be a quantity']


def test_every_problem_is_listed_with_its_path():
    doc = document("Pod", "web-0")
    doc["metadata"]["name"] = "Web_0"
    doc["metadata"]["labels"]["bad key"] = "v"
    doc["spec"]["restartPolicy"] = "Sometimes"
    doc["spec"]["containers"][0]["ports"][0]["containerPort"] = 70000
    doc["spec"]["tolerations"][1]["operator"] = "Maybe"
    doc["spec"]["topologySpreadConstraints"][0]["whenUnsatisfiable"] = "Never"
    doc["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] = 0
    found = problems(doc)
    paths = {p.split(":")[0] for p in found}
    assert paths == {
        "metadata.name", "metadata.labels", "spec.restartPolicy", "spec.containers[0].ports[0].containerPort",
        "spec.tolerations[1].operator", "spec.topologySpreadConstraints[0].whenUnsatisfiable",
        "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
    }
    assert 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"' in found
    assert ("spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, "
            "inclusive") in found
    with pytest.raises(ValidationError) as info:
        objects.from_dict(doc)
    assert str(info.value).startswith('Pod "Web_0" is invalid: ')
    assert info.value.kind == "Pod" and info.value.name == "Web_0"


@pytest.mark.parametrize("field, value, message", [
    ("restartPolicy", "Sometimes", 'spec.restartPolicy: Unsupported value: "Sometimes"'),
    ("preemptionPolicy", "Always", 'spec.preemptionPolicy: Unsupported value: "Always"'),
    ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "z", "whenUnsatisfiable": "Maybe"}],
     'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe"'),
    ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "z", "whenUnsatisfiable": "DoNotSchedule",
                                    "nodeAffinityPolicy": "Sometimes"}],
     'spec.topologySpreadConstraints[0].nodeAffinityPolicy: Unsupported value: "Sometimes"'),
    ("tolerations", [{"key": "k", "operator": "Like"}], 'spec.tolerations[0].operator: Unsupported value: "Like"'),
    ("tolerations", [{"key": "k", "operator": "Exists", "effect": "Evict"}],
     'spec.tolerations[0].effect: Unsupported value: "Evict"'),
    ("nodeName", "Node_1", 'spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain'),
    ("nodeSelector", {"-bad": "x"}, 'spec.nodeSelector: Invalid value: "-bad"'),
    ("priority", 2**31, "spec.priority: Invalid value: 2147483648: must be between -2147483648 and 2147483647"),
    ("priority", "high", 'spec.priority: Invalid value: "string": must be of type integer'),
    ("priority", True, 'spec.priority: Invalid value: "boolean": must be of type integer'),
    ("hostNetwork", "yes", 'spec.hostNetwork: Invalid value: "string": must be of type boolean'),
    ("containers", [], "spec.containers: Required value"),
    ("containers", "c", 'spec.containers: Invalid value: "string": must be of type array'),
    ("containers", [{"name": "c"}], "spec.containers[0].image: Required value"),
    ("containers", [{"image": "i"}], "spec.containers[0].name: Required value"),
    ("containers", [{"name": "c", "image": "i"}, {"name": "c", "image": "j"}],
     'spec.containers[1].name: Duplicate value: "c"'),
    ("containers", [{"name": "c", "image": "i", "restartPolicy": "Always"}],
     "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"),
    ("containers", [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "-1"}}}],
     'spec.containers[0].resources.requests.cpu: Invalid value: "-1": must be greater than or equal to 0'),
    ("containers", [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}],
     'spec.containers[0].resources.requests.cpu: Invalid value: "2": must be less than or equal to cpu limit of 1'),
    ("containers", [{"name": "c", "image": "i", "resources": {"requests": {"gpu": "1"}}}],
     'spec.containers[0].resources.requests.gpu: Invalid value: "gpu": must be a standard resource type or fully '
     'qualified'),
    ("containers", [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}],
     'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'),
    ("containers", [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostIP": "1.2.3"}]}],
     'spec.containers[0].ports[0].hostIP: Invalid value: "1.2.3": must be a valid IP address'),
    ("schedulingGates", [{"name": "g"}, {"name": "g"}], 'spec.schedulingGates[1].name: Duplicate value: "g"'),
    ("containers", [{"name": "a", "image": "i", "ports": [{"containerPort": 80, "hostPort": 80}]},
                    {"name": "b", "image": "i", "ports": [{"containerPort": 81, "hostPort": 80, "protocol": "TCP"}]}],
     'spec.containers[1].ports[0].hostPort: Duplicate value: "/TCP/80"'),
    ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "z", "whenUnsatisfiable": "DoNotSchedule"},
                                   {"maxSkew": 2, "topologyKey": "z", "whenUnsatisfiable": "DoNotSchedule"}],
     'spec.topologySpreadConstraints[1]: Duplicate value: "{z, DoNotSchedule}"'),
    ("overhead", {"cpu": "lots"}, 'spec.overhead.cpu: Invalid value: "lots"'),
    ("affinity", {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {}}]}},
     "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value"),
    ("affinity", {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 500, "podAffinityTerm": {"topologyKey": "zone"}}]}},
     "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 500: "
     "must be between 1 and 100, inclusive"),
    ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "z", "whenUnsatisfiable": "ScheduleAnyway",
                                    "minDomains": 2}],
     "spec.topologySpreadConstraints[0].minDomains: Invalid value: 2: can only use minDomains if "
     "whenUnsatisfiable=DoNotSchedule"),
])
def test_pod_field_rules(field, value, message):
    found = problems(pod_with(**{field: value}))
    assert any(p.startswith(message) for p in found), found


def test_names_and_metadata_rules():
    assert problems({"apiVersion": "v1", "kind": "Pod", "spec": pod_with()["spec"]}) == [
        "metadata.name: Required value: name or generateName is required"]
    ok = objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-"},
                            "spec": pod_with()["spec"]})
    assert ok.metadata.generate_name == "web-"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}
    assert problems(namespace)[0].startswith('metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label')
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"}}
    assert problems(service)[0].startswith('metadata.name: Invalid value: "1web": a DNS-1035 label')
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "namespace": "x"}}
    assert problems(node) == ["metadata.namespace: Forbidden: not allowed on this type"]
    long_name = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a" * 254}}
    assert problems(long_name)[0] == 'metadata.name: Invalid value: "' + "a" * 254 + \
        '": must be no more than 253 characters'
    meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "m", "finalizers": ["bad/final/izer"], "generation": -1, "creationTimestamp": "yesterday",
        "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "a", "uid": "1", "controller": True},
                            {"apiVersion": "v1", "kind": "Y", "name": "b", "uid": "2", "controller": True},
                            {"kind": "Z"}]}}
    paths = sorted(p.split(": ")[0] for p in problems(meta))
    assert paths == ["metadata.creationTimestamp", "metadata.finalizers[0]", "metadata.generation",
                     "metadata.ownerReferences", "metadata.ownerReferences[2].apiVersion",
                     "metadata.ownerReferences[2].name", "metadata.ownerReferences[2].uid"]


def test_type_meta_rules():
    assert problems({"metadata": {"name": "x"}}) == ["apiVersion: Required value", "kind: Required value"]
    assert problems({"apiVersion": 1, "kind": ["Pod"]}) == ['apiVersion: Invalid value: "integer": must be of type '
                                                             'string', 'kind: Invalid value: "array": must be of type '
                                                             'string']
    for junk in (None, 3, "Pod", [1], b"x"):
        assert problems(junk)


@pytest.mark.parametrize("kind, name, mutate, message", [
    ("Deployment", "web", lambda d: d["spec"].update(selector={"matchLabels": {"app": "other"}}),
     "spec.template.metadata.labels: Invalid value"),
    ("Deployment", "web", lambda d: d["spec"]["strategy"]["rollingUpdate"].update(maxSurge="many"),
     'spec.strategy.rollingUpdate.maxSurge: Invalid value: "many": a valid percent string'),
    ("Deployment", "web", lambda d: d["spec"].update(replicas=-1),
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ("Deployment", "web", lambda d: d["spec"].pop("selector"), "spec.selector: Required value"),
    ("DaemonSet", "node-exporter", lambda d: d["spec"]["updateStrategy"].update(type="Sometimes"),
     'spec.updateStrategy.type: Unsupported value: "Sometimes"'),
    ("ReplicaSet", "web-7d4b9c", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(name="Web"),
     'spec.template.spec.containers[0].name: Invalid value: "Web"'),
    ("PodDisruptionBudget", "web", lambda d: d["spec"].update(maxUnavailable=1),
     "spec: Invalid value: \"2, 1\": minAvailable and maxUnavailable cannot be both set"),
    ("PodDisruptionBudget", "db", lambda d: d["spec"].update(maxUnavailable="150%"),
     'spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%'),
    ("PriorityClass", "high-priority", lambda d: d.update(value=2000000000),
     "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"),
    ("PriorityClass", "high-priority", lambda d: d.pop("value"), "value: Required value"),
    ("PriorityClass", "high-priority", lambda d: d.update(preemptionPolicy="Sometimes"),
     'preemptionPolicy: Unsupported value: "Sometimes"'),
    ("Lease", "kube-scheduler", lambda d: d["spec"].update(renewTime="noon"),
     'spec.renewTime: Invalid value: "noon": must be an RFC 3339 timestamp'),
    ("ConfigMap", "web-config", lambda d: d["data"].update({"bad key": "v"}),
     'data: Invalid value: "bad key": a valid config key'),
    ("Service", "web", lambda d: d["spec"].update(type="Magic"), 'spec.type: Unsupported value: "Magic"'),
    ("Service", "payments", lambda d: d["spec"].pop("externalName"), "spec.externalName: Required value"),
    ("Endpoints", "web", lambda d: d["subsets"][0]["addresses"][0].update(ip="999.1.1.1"),
     'subsets[0].addresses[0].ip: Invalid value: "999.1.1.1": must be a valid IP address'),
    ("Node", "node-7", lambda d: d["status"]["allocatable"].update(cpu="4 cores"),
     'status.allocatable.cpu: Invalid value: "4 cores"'),
    ("Node", "node-7", lambda d: d["spec"]["taints"][0].update(effect="Sometimes"),
     'spec.taints[0].effect: Unsupported value: "Sometimes"'),
    ("Node", "node-7", lambda d: d["status"]["conditions"][0].update(status="Yes"),
     'status.conditions[0].status: Unsupported value: "Yes": supported values: "False", "True", "Unknown"'),
    ("Namespace", "shop", lambda d: d["status"].update(phase="Gone"), 'status.phase: Unsupported value: "Gone"'),
])
def test_rules_of_other_kinds(kind, name, mutate, message):
    doc = document(kind, name)
    mutate(doc)
    found = problems(doc)
    assert any(p.startswith(message) for p in found), found


def test_unknown_fields_must_be_plain_json():
    doc = pod_with()
    doc["spec"]["volumes"] = [{"name": "v", "weird": {1, 2}}]
    doc["spec"]["huge"] = 2**70
    doc["spec"]["nan"] = math.nan
    doc["spec"][3] = "int key"
    found = problems(doc)
    assert 'spec.volumes[0].weird: Invalid value: "set": must be a JSON value' in found
    assert any(p.startswith("spec.huge: Invalid value: 1180591620717411303424") for p in found)
    assert 'spec.nan: Invalid value: "nan": must be a finite number' in found
    assert 'spec: Invalid value: "3": keys must be strings' in found


@pytest.mark.parametrize("spec", [
    {"tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2**70}]},
    {"tolerations": [{"key": "k", "operator": "Exists", "extra": {1, 2}}]},
    {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "z", "labelSelector": {"matchLabels": {"a": "b"}, "junk": float("nan")}}]}}},
])
def test_values_inside_value_classes_must_be_plain_json(spec):
    assert problems(pod_with(**spec))


def test_deep_nesting_is_refused_not_crashing():
    deep: Any = "x"
    for _ in range(5000):
        deep = {"a": deep}
    doc = pod_with()
    doc["spec"]["deep"] = deep
    assert any("nested at most" in p for p in problems(doc))
    deep_list: Any = []
    for _ in range(5000):
        deep_list = [deep_list]
    assert problems(pod_with(tolerations=deep_list))


def test_bad_input_changes_nothing():
    doc = document("Pod", "web-0")
    doc["spec"]["priority"] = "high"
    before = copy.deepcopy(doc)
    problems(doc)
    assert doc == before


def test_validate_checks_objects_built_in_python():
    pod = objects.from_dict(pod_with())
    objects.validate(pod)
    broken = pod.replace(spec=pod.spec.replace(restart_policy="Sometimes"))
    with pytest.raises(ValidationError, match='spec.restartPolicy: Unsupported value: "Sometimes"'):
        objects.validate(broken)
    with pytest.raises(ValidationError):
        objects.validate(pod.replace(spec=pod.spec.replace(priority="high")))


def test_field_error_rendering():
    assert str(FieldError("a.b", "must be x", 3)) == "a.b: Invalid value: 3: must be x"
    assert str(FieldError("a.b", "", None, "Required value")) == "a.b: Required value"


# ---------------------------------------------------------------------------------------------------------
# Fuzzing: bad input of any shape gives ValidationError and never another exception.

LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["", "0", "-1", "100m", "1.5Gi", "12E", "1e3", "Always", "Exists", "NoSchedule", "In",
                     "DoNotSchedule", "a/b", "x" * 300, "99999999999999999999", "2024-05-01T10:00:00Z"]),
    st.binary(max_size=4), st.just(()), st.just(frozenset({1})), st.just(object()),
)
JSONISH = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=8), st.integers(), st.none()), inner,
                                            max_size=4)),
    max_leaves=12,
)
CORPUS = corpus_documents()


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, prefix + (i,)))
    return out


def _replace(doc: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    doc = copy.copy(doc)
    doc[path[0]] = _replace(doc[path[0]], path[1:], new)
    return doc


def _outcome(data: Any) -> None:
    try:
        obj = objects.from_dict(data)
    except ValidationError as e:
        assert e.errors and all(isinstance(x, FieldError) for x in e.errors)
        str(e)
        return
    # whatever was accepted can be written and read back
    again = objects.from_msgpack(objects.to_msgpack(obj))
    assert again == obj


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_corpus_documents_with_junk_anywhere(data):
    doc = data.draw(st.sampled_from(CORPUS))
    paths = _paths(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        doc = _replace(doc, path, data.draw(JSONISH))
        paths = _paths(doc)
    _outcome(doc)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(objects.KINDS)), st.dictionaries(
    st.sampled_from(["metadata", "spec", "status", "data", "value", "subsets", "binaryData", "immutable",
                     "globalDefault", "preemptionPolicy", "other"]), JSONISH, max_size=4))
def test_fuzz_any_kind_with_junk_fields(kind_key, fields):
    group, kind = kind_key
    _outcome({"apiVersion": f"{group}/v1" if group else "v1", "kind": kind, **fields})


@settings(max_examples=100, deadline=None)
@given(JSONISH)
def test_fuzz_anything_at_all(value):
    _outcome(value)


# ---------------------------------------------------------------------------------------------------------
# Uniqueness rules, as the API server's: what it rejects as "Duplicate value", and what it allows.

@pytest.mark.parametrize("kind, name, mutate, message", [
    ("Node", "node-7", lambda d: d["spec"]["taints"].append({"key": "dedicated", "value": "other",
                                                             "effect": "NoSchedule"}),
     'spec.taints[2]: Duplicate value: "dedicated=other:NoSchedule": taints must be unique by key and effect pair'),
    ("Service", "web", lambda d: d["spec"]["ports"][1].update(name="http"),
     'spec.ports[1].name: Duplicate value: "http"'),
    ("Service", "web", lambda d: d["spec"]["ports"][1].update(port=80),
     'spec.ports[1]: Duplicate value: "{Protocol:TCP, Port:80}"'),
    ("Service", "web", lambda d: d["spec"]["ports"][1].update(nodePort=30080),
     "spec.ports[1].nodePort: Duplicate value: 30080"),
    ("Service", "web", lambda d: d["spec"]["ports"][1].update(targetPort="8080"),
     'spec.ports[1].targetPort: Invalid value: "8080": must contain at least one letter (a-z)'),
    ("Service", "web", lambda d: d["spec"]["ports"][1].update(targetPort=70000),
     "spec.ports[1].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
])
def test_duplicates_the_api_server_rejects(kind, name, mutate, message):
    doc = document(kind, name)
    mutate(doc)
    found = problems(doc)
    assert message in found, found


@pytest.mark.parametrize("ports, message", [
    ([{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}],
     'spec.containers[0].ports[1].name: Duplicate value: "http"'),
    ([{"containerPort": 80, "name": "HTTP"}],
     'spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, '
     '0-9), and hyphens (-)'),
    ([{"containerPort": 80, "name": "8080"}],
     'spec.containers[0].ports[0].name: Invalid value: "8080": must contain at least one letter (a-z)'),
    ([{"containerPort": 80, "name": "a--b"}],
     'spec.containers[0].ports[0].name: Invalid value: "a--b": must not contain consecutive hyphens'),
    ([{"containerPort": 80, "name": "a-very-long-port-name"}],
     'spec.containers[0].ports[0].name: Invalid value: "a-very-long-port-name": must be no more than 15 characters'),
])
def test_container_port_names(ports, message):
    found = problems(pod_with(containers=[{"name": "c", "image": "i", "ports": ports}]))
    assert message in found, found


def test_what_the_api_server_allows_twice():
    # ValidateTolerations has no uniqueness rule; one taint key may carry different effects; two containers
    # may use the same port name; one containerPort may be listed twice (the API server only warns).
    toleration = {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}
    objects.from_dict(pod_with(tolerations=[toleration, dict(toleration)]))
    objects.from_dict(pod_with(containers=[
        {"name": "a", "image": "i", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 80}]},
        {"name": "b", "image": "i", "ports": [{"containerPort": 81, "name": "http"}]}]))
    node = document("Node", "node-7")
    node["spec"]["taints"].append({"key": "dedicated", "value": "shop", "effect": "NoExecute"})
    objects.from_dict(node)
