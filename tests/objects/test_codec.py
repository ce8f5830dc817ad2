"""Reading and writing objects: round trips of the corpus, manifests (YAML, JSON, Lists), msgpack."""
from __future__ import annotations

import copy
import json

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

import objects
from objects import (ConfigMap, DaemonSet, Deployment, Endpoints, GenericObject, Lease, Namespace, Node, Pod,
                     PodDisruptionBudget, PriorityClass, Quantity, ReplicaSet, ReplicationController, Service,
                     StatefulSet, ValidationError)

from manifest_corpus import corpus_documents, corpus_files, document

ALL_KINDS = {Pod, Node, Namespace, Service, Endpoints, ConfigMap, ReplicaSet, Deployment, DaemonSet, StatefulSet,
             ReplicationController, PodDisruptionBudget, PriorityClass, Lease}


@pytest.mark.parametrize("doc", corpus_documents(), ids=lambda d: f"{d['kind']}-{d['metadata'].get('name')}")
def test_corpus_round_trips_unchanged(doc):
    original = copy.deepcopy(doc)
    obj = objects.from_dict(doc)
    assert objects.to_dict(obj) == original
    assert doc == original  # reading does not touch its input


def test_corpus_covers_every_modelled_kind():
    kinds = {type(objects.from_dict(d)) for d in corpus_documents()}
    assert ALL_KINDS <= kinds
    assert GenericObject in kinds


@pytest.mark.parametrize("doc", corpus_documents(), ids=lambda d: f"{d['kind']}-{d['metadata'].get('name')}")
def test_msgpack_round_trip(doc):
    obj = objects.from_dict(doc)
    data = objects.to_msgpack(obj)
    assert msgpack.unpackb(data) == doc
    again = objects.from_msgpack(data)
    assert again == obj
    assert type(again) is type(obj)


def test_damaged_msgpack_is_a_validation_error():
    with pytest.raises(ValidationError, match="msgpack"):
        objects.from_msgpack(b"\xc1\xff\x00")
    with pytest.raises(ValidationError, match="must be of type object"):
        objects.from_msgpack(msgpack.packb([1, 2]))


def test_unknown_fields_are_kept_at_every_level():
    pod = objects.from_dict(document("Pod", "web-0"))
    assert pod.metadata.unknown_fields == {"managedFields": [{"manager": "kubectl", "operation": "Update"}]}
    web = pod.spec.containers[0]
    assert web.unknown_fields["imagePullPolicy"] == "IfNotPresent"
    assert web.unknown_fields["readinessProbe"] == {"httpGet": {"path": "/healthz", "port": 8080}}
    assert pod.spec.unknown_fields["volumes"] == [{"name": "cache", "emptyDir": {}}]
    assert pod.status.unknown_fields == {"qosClass": "Burstable"}
    node = objects.from_dict(document("Node", "node-7"))
    assert node.status.unknown_fields["nodeInfo"]["kubeletVersion"] == "v1.30.1"


def test_attributes_are_snake_case_of_camel_case_fields():
    pod = objects.from_dict(document("Pod", "web-0"))
    assert pod.spec.node_name == "node-7"
    assert pod.spec.priority_class_name == "high-priority"
    assert pod.metadata.owner_references[0].block_owner_deletion is True
    assert pod.spec.containers[0].ports[0].host_ip == "10.0.0.5"
    term = pod.spec.affinity.pod_affinity.preferred[0]
    assert term.weight == 50 and term.pod_affinity_term.topology_key == "kubernetes.io/hostname"
    assert pod.spec.affinity.node_affinity.required.node_selector_terms[0].match_fields
    tsc = pod.spec.topology_spread_constraints[0]
    assert (tsc.max_skew, tsc.min_domains, tsc.node_taints_policy) == (1, 3, "Ignore")
    assert [g.name for g in pod.spec.scheduling_gates] == ["example.com/quota-check", "example.com/image-warmup"]
    assert pod.spec.containers[0].resources.requests["cpu"] == Quantity("500m")
    assert pod.status.nominated_node_name == "node-9"


def test_unset_fields_are_none_or_empty_and_not_written():
    pod = objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert pod.spec.node_name is None and pod.spec.affinity is None and pod.spec.priority is None
    assert pod.spec.tolerations == [] and pod.spec.node_selector == {} and pod.metadata.labels == {}
    assert pod.spec.containers[0].resources.requests == {}
    assert "status" not in objects.to_dict(pod)
    assert "resources" not in objects.to_dict(pod)["spec"]["containers"][0]


def test_present_empty_objects_are_written_back_but_empty_lists_are_dropped():
    doc = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {}, "status": {}}
    assert objects.to_dict(objects.from_dict(doc)) == doc
    with_empties = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {}},
                    "spec": {"containers": [{"name": "c", "image": "i", "resources": {}}],
                             "tolerations": [], "nodeName": None}}
    assert objects.to_dict(objects.from_dict(with_empties)) == {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": {}}]}}


def test_quantities_are_written_in_canonical_form():
    pod = objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"containers": [{"name": "c", "image": "i", "resources": {
                                 "requests": {"cpu": 0.5, "memory": "1024Mi"}, "limits": {"cpu": 2}}}]}})
    resources = objects.to_dict(pod)["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2"}}
    assert pod.requests == {"cpu": 500, "memory": 1024**3}


def test_workload_templates_load_as_they_are():
    for path in sorted(__import__("pathlib").Path("/work/shared/workloads").glob("*.json")):
        workload = json.loads(path.read_text())
        for step in workload["steps"]:
            template = step.get("template")
            if template is None:
                continue
            obj = objects.from_dict(template)
            assert type(obj) is {"Pod": Pod, "Node": Node}[template["kind"]]
            assert objects.to_dict(obj) == canonical_quantities(template)


def canonical_quantities(value):
    """``value`` with resource lists in the canonical form the API server writes ("3000m" -> "3")."""
    if isinstance(value, list):
        return [canonical_quantities(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {k: ({n: str(Quantity(q)) for n, q in v.items()}
                if k in ("requests", "limits", "capacity", "allocatable", "overhead") else canonical_quantities(v))
            for k, v in value.items()}


def test_generic_object_keeps_every_field():
    docs = [d for d in corpus_documents() if d["kind"] == "CronTab"]
    crontab = objects.from_dict(docs[0])
    assert isinstance(crontab, GenericObject)
    assert crontab.spec["nested"] == {"a": [1, 2.5, True, None, {"b": "c"}]}
    assert crontab.status == {"lastRun": "2024-05-01T02:00:00Z"}
    assert crontab.key == "shop/nightly"
    assert crontab.metadata.labels == {"app": "reports"}


def test_kind_is_chosen_by_group_as_well_as_name():
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l", "namespace": "x"}}
    other = dict(lease, apiVersion="example.com/v1")
    assert type(objects.from_dict(lease)) is Lease
    assert type(objects.from_dict(other)) is GenericObject
    beta = {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "b"}}
    assert type(objects.from_dict(beta)) is PodDisruptionBudget


def test_load_reads_yaml_multi_document_json_and_lists(tmp_path):
    docs = objects.load(corpus_files()[0])  # a Path
    assert docs
    text = (tmp_path / "m.yaml")
    text.write_text("---\n# comment only\n---\n" + yaml.safe_dump(document("Node", "node-7")) + "---\n")
    [node] = objects.load(str(text))  # a path given as a string
    assert isinstance(node, Node)
    listed = objects.load((corpus_files()[0].parent / "pod-list.json").read_text())  # JSON text
    assert [p.metadata.name for p in listed] == ["a", "b"]
    as_yaml_list = yaml.safe_dump({"apiVersion": "v1", "kind": "PodList",
                                   "items": [document("Pod", "web-0")]})
    [pod] = objects.load(as_yaml_list)
    assert pod.key == "shop/web-0"


def test_load_reads_a_stream_of_json_objects_and_yaml_flow_style():
    node = json.dumps(document("Node", "node-7"))
    pods = json.dumps([document("Pod", "web-0")])
    assert [type(o) for o in objects.load(node + "\n" + pods + "\n")] == [Node, Pod]
    [ns] = objects.load("{apiVersion: v1, kind: Namespace, metadata: {name: flow}}")
    assert ns.metadata.name == "flow"


def test_load_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError):
        objects.load(str(tmp_path / "missing.yaml"))
    with pytest.raises(FileNotFoundError):
        objects.load(tmp_path / "missing.yaml")


def test_load_keeps_unquoted_timestamps_as_strings():
    text = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  creationTimestamp: 2024-05-01T10:00:00Z\n"
            "  annotations:\n    when: 2024-05-01\nspec:\n  containers: [{name: c, image: i}]\n")
    [pod] = objects.load(text)
    assert pod.metadata.creation_timestamp == "2024-05-01T10:00:00Z"
    assert pod.metadata.annotations == {"when": "2024-05-01"}
    objects.to_msgpack(pod)


def test_load_reports_every_bad_document_with_its_position():
    good = yaml.safe_dump(document("Node", "node-7"))
    bad = ("apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  containers:\n"
           "  - name: c\n    image: i\n    resources: {requests: {cpu: 12x}}\n")
    with pytest.raises(ValidationError) as info:
        objects.load(good + "---\n" + bad + "---\n" + bad)
    paths = [e.path for e in info.value.errors]
    assert "[1].metadata.name" in paths and "[2].spec.containers[0].resources.requests.cpu" in paths
    assert not any(p.startswith("[0]") for p in paths)


def test_load_rejects_broken_yaml_as_validation_error():
    with pytest.raises(ValidationError, match="invalid YAML"):
        objects.load("a: [unclosed\n")
    with pytest.raises(ValidationError):
        objects.load("- just\n- a list\n")


def test_dumps_yaml_reads_back():
    objs = objects.load(corpus_files()[-1])
    again = objects.load(objects.dumps_yaml(objs))
    assert again == objs


# ---------------------------------------------------------------------------------------------------------
# Property: any valid pod written as the API server writes it round-trips exactly, unknown fields included.

NAME = st.builds(lambda head, rest: head + rest, st.sampled_from("abcxyz"), st.text("abz019-", max_size=8)).filter(
    lambda n: not n.endswith("-"))
LABEL_VALUE = st.one_of(st.just(""), NAME, st.builds(lambda a, b: a + "_." + b, NAME, NAME))
QUANTITY = st.one_of(st.integers(0, 64000).map(lambda m: str(Quantity(f"{m}m"))),
                     st.integers(0, 2**40).map(lambda b: str(Quantity(b))),
                     st.integers(0, 512).map(lambda g: f"{g}Gi" if g else "0"))
RESOURCES = st.dictionaries(st.sampled_from(["cpu", "memory", "ephemeral-storage", "example.com/gpu"]), QUANTITY,
                            min_size=1, max_size=3)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(max_size=6),
                      st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                    max_leaves=8)
UNKNOWN = st.dictionaries(st.text("abcz", min_size=1, max_size=5).map(lambda k: "x" + k.capitalize()), JSON,
                          max_size=2)


@st.composite
def containers(draw, count):
    names = draw(st.lists(NAME, min_size=count, max_size=count, unique=True))
    out = []
    for name in names:
        c = {"name": name, "image": draw(st.sampled_from(["nginx", "registry.k8s.io/pause:3.10"]))}
        requests = draw(st.none() | RESOURCES)
        if requests:
            c["resources"] = {"requests": requests}
        ports = draw(st.lists(st.fixed_dictionaries({"containerPort": st.integers(1, 65535)},
                                                    optional={"hostPort": st.integers(1, 65535),
                                                              "protocol": st.sampled_from(["TCP", "UDP", "SCTP"])}),
                              max_size=2))
        if ports:
            c["ports"] = ports
        c.update(draw(UNKNOWN))
        out.append(c)
    return out


@st.composite
def pods(draw):
    meta = {"name": draw(NAME)}
    if draw(st.booleans()):
        meta["namespace"] = draw(NAME)
    labels = draw(st.dictionaries(NAME, LABEL_VALUE, max_size=3))
    if labels:
        meta["labels"] = labels
    spec = {"containers": draw(containers(draw(st.integers(1, 3))))}
    claimed = set()
    for port in (p for c in spec["containers"] for p in c.get("ports", []) if "hostPort" in p):
        claim = (port.get("protocol", "TCP"), port.get("hostPort"))
        if claim in claimed:
            port.pop("hostPort")  # a valid pod claims each host port once
        claimed.add(claim)
    optional = {
        "nodeName": NAME, "priority": st.integers(-2**31, 2**31 - 1), "schedulerName": NAME,
        "nodeSelector": st.dictionaries(NAME, LABEL_VALUE, min_size=1, max_size=2),
        "tolerations": st.lists(st.fixed_dictionaries(
            {"key": NAME, "operator": st.just("Equal"), "value": NAME,
             "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"])}), min_size=1, max_size=2),
        "preemptionPolicy": st.sampled_from(["Never", "PreemptLowerPriority"]),
        "topologySpreadConstraints": st.lists(st.fixed_dictionaries(
            {"maxSkew": st.integers(1, 5), "topologyKey": NAME,
             "whenUnsatisfiable": st.sampled_from(["DoNotSchedule", "ScheduleAnyway"]),
             "labelSelector": st.fixed_dictionaries(
                 {"matchLabels": st.dictionaries(NAME, LABEL_VALUE, min_size=1, max_size=2)})}),
            min_size=1, max_size=2, unique_by=lambda t: (t["topologyKey"], t["whenUnsatisfiable"])),
        "schedulingGates": st.lists(NAME, min_size=1, max_size=2, unique=True).map(
            lambda ns: [{"name": n} for n in ns]),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            spec[key] = draw(strategy)
    spec.update(draw(UNKNOWN))
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if draw(st.booleans()):
        doc["status"] = {"phase": draw(st.sampled_from(["Pending", "Running"]))}
    return doc


@settings(max_examples=150, deadline=None)
@given(pods())
def test_generated_pods_round_trip(doc):
    original = copy.deepcopy(doc)
    pod = objects.from_dict(doc)
    assert objects.to_dict(pod) == original
    assert objects.from_msgpack(objects.to_msgpack(pod)) == pod
    assert objects.load(json.dumps(doc)) == [pod]
    cpu = sum(Quantity(c.get("resources", {}).get("requests", {}).get("cpu", "0")).milli_value()
              for c in doc["spec"]["containers"])
    assert pod.requests.get("cpu", 0) == cpu
    assert pod.priority_value == doc["spec"].get("priority", 0)
    bound = pod.with_node_name("bound-node")
    rebuilt = objects.from_dict({**original, "spec": {**original["spec"], "nodeName": "bound-node"}})
    assert bound == rebuilt
    assert (bound.requests, bound.non_zero_requests, bound.host_ports, bound.key) == (
        rebuilt.requests, rebuilt.non_zero_requests, rebuilt.host_ports, rebuilt.key)


def _models() -> list[type]:
    from objects.schema import Model
    found, todo = [], [Model]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return [m for m in found if m.__module__.startswith("objects.")]


def test_corpus_sets_every_modelled_field():
    from objects.schema import ABSENT, Model
    seen = set()

    def walk(value):
        if isinstance(value, Model):
            for f in value.FIELDS:
                v = getattr(value, f.attr)
                if v is None or (f.collection is not None and not v) or (f.always and v.unknown_fields is ABSENT):
                    continue
                seen.add((type(value).__name__, f.attr))
                walk(v)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for doc in corpus_documents():
        walk(objects.from_dict(doc))
    every = {(m.__name__, f.attr) for m in _models() for f in m.FIELDS}
    assert every - seen == set()
