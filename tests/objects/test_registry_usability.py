"""Issue 15, objects: wrong input gets a typed error naming it and changes nothing; kubectl's names for
kinds; all_namespaces; apply; bytes and strict manifests."""
import warnings

import pytest

import objects
from objects import BUILTIN_KINDS, LAST_APPLIED
from objects.errors import BadRequest, Invalid, NotFound, ObjectsError, UnknownResourceType, ValidationError

from registry_helpers import new_registry, pod

POD_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  containers: [{name: c, image: busybox}]
"""


@pytest.fixture
def reg():
    store, registry = new_registry()
    yield registry
    store.close()


# ---------------------------------------------------------------------------------------------------- wrong input

def test_create_of_a_dict_is_a_typed_error_and_writes_nothing(reg):
    before = reg.store.revision
    for write in (reg.create, reg.update, reg.update_status, reg.apply):
        with pytest.raises(ValidationError,
                           match=r'<object>: Invalid value: "dict": \w+ takes a model object \(objects.from_dict'):
            write({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}})
    assert reg.store.revision == before


def test_get_with_a_name_of_the_wrong_type_names_the_type(reg):
    with pytest.raises(ValidationError, match='metadata.name: Invalid value: "int": must be a string'):
        reg.get("pods", 5)
    with pytest.raises(ValidationError, match="name is required"):
        reg.get("pods", "")
    with pytest.raises(ValidationError, match='kind: Invalid value: "int": must be a Kind or resource name'):
        reg.get(5, "a")


@pytest.mark.parametrize("patch", ["{", b"{\"a\": ", b"\xff\xfe{", "[1, 2]", 7])
def test_a_patch_that_is_not_a_json_object_is_bad_request_and_writes_nothing(reg, patch):
    created = reg.create(pod("web"))
    before = reg.store.revision
    with pytest.raises(BadRequest, match="patch: ") as caught:
        reg.patch("pods", "web", patch)
    assert isinstance(caught.value, Invalid) and isinstance(caught.value, ValueError)
    assert reg.store.revision == before
    assert reg.get("pods", "web").metadata.resource_version == created.metadata.resource_version


def test_a_patch_that_renames_the_object_is_refused_as_the_api_server_does(reg):
    reg.create(pod("web"))
    before = reg.store.revision
    with pytest.raises(BadRequest, match=r"the name of the object \(other\) does not match the name on the URL "
                                         r"\(web\)"):
        reg.patch("pods", "web", {"metadata": {"name": "other"}})
    with pytest.raises(BadRequest, match=r"the namespace of the object \(prod\) does not match the namespace on "
                                         r"the URL \(default\)"):
        reg.patch("pods", "web", '{"metadata": {"namespace": "prod"}, "spec": {"nodeName": "n1"}}')
    assert reg.store.revision == before
    assert reg.get("pods", "web").spec.node_name is None
    same = reg.patch("pods", "web", {"metadata": {"name": "web", "namespace": "default", "labels": {"a": "b"}}})
    assert same.metadata.labels == {"a": "b"}                       # naming the object itself is fine


def test_replicas_beyond_int32_names_the_upper_bound():
    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 2**31, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    with pytest.raises(ValidationError, match=r"spec.replicas: Invalid value: 2147483648: must be less than or "
                                              r"equal to 2147483647 \(the int32 maximum\)"):
        objects.from_dict(doc)
    doc["spec"]["replicas"] = -1
    with pytest.raises(ValidationError, match="spec.replicas: Invalid value: -1: must be greater than or equal to 0"):
        objects.from_dict(doc)


# ---------------------------------------------------------------------------------------------------- kind names

def test_an_unknown_resource_type_is_its_own_error_not_not_found(reg):
    with pytest.raises(UnknownResourceType, match='the server doesn\'t have a resource type "pdos"') as caught:
        reg.get("pdos", "web")
    assert isinstance(caught.value, ObjectsError) and not isinstance(caught.value, NotFound)
    for call in (lambda: reg.list("pdos", all_namespaces=True), lambda: reg.delete("pdos", "a"),
                 lambda: reg.watch("pdos", all_namespaces=True), lambda: reg.patch("pdos", "a", {})):
        with pytest.raises(UnknownResourceType):
            call()
    with pytest.raises(NotFound, match='pods "nope" not found'):
        reg.get("pod", "nope")


@pytest.mark.parametrize("name", ["Pod", "pods", "pod", "po", "PODS", "Po"])
def test_pods_are_reachable_by_every_name_kubectl_accepts(reg, name):
    reg.create(pod("web"))
    assert reg.get(name, "web").metadata.name == "web"


@pytest.mark.parametrize("name,kind", [("deploy", "Deployment"), ("svc", "Service"), ("no", "Node"),
                                       ("ns", "Namespace"), ("rs", "ReplicaSet"), ("ds", "DaemonSet"),
                                       ("sts", "StatefulSet"), ("cm", "ConfigMap"), ("pdb", "PodDisruptionBudget"),
                                       ("pc", "PriorityClass"), ("rc", "ReplicationController"),
                                       ("ep", "Endpoints"), ("endpoints", "Endpoints"), ("lease", "Lease"),
                                       ("deployment", "Deployment"), ("priorityclass", "PriorityClass")])
def test_short_and_singular_names(reg, name, kind):
    assert reg.kind_info(name).kind == kind


def test_kind_infos_carry_discovery_names():
    by_kind = {info.kind: info for info in BUILTIN_KINDS}
    assert by_kind["Pod"].singular_name == "pod" and by_kind["Pod"].short_names == ("po",)
    assert by_kind["Endpoints"].singular_name == "endpoints"
    assert by_kind["Deployment"].names() == ("Deployment", "deployments", "deployment", "deploy")


# ---------------------------------------------------------------------------------------------------- namespaces

def test_list_and_watch_of_all_namespaces_are_explicit(reg):
    reg.create(pod("a"))
    reg.create(pod("b", namespace="prod"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        everything = reg.list("pods", all_namespaces=True)
        assert sorted(p.key for p in everything) == ["default/a", "prod/b"]
        assert [p.key for p in reg.list("pods", "prod")] == ["prod/b"]
        assert len(reg.list("nodes")) == 0                              # cluster-scoped: no namespace to choose
        with reg.watch("pods", all_namespaces=True) as stream:
            assert sorted(e.object.key for e in (stream.get(5), stream.get(5))) == ["default/a", "prod/b"]
    with pytest.raises(ValidationError, match="must not be given with all_namespaces=True"):
        reg.list("pods", "prod", all_namespaces=True)


def test_namespace_none_for_list_and_watch_still_means_all_but_warns(reg):
    reg.create(pod("a"))
    reg.create(pod("b", namespace="prod"))
    with pytest.warns(DeprecationWarning, match="all_namespaces=True") as caught:
        listed = reg.list("pods")
    assert caught[0].filename == __file__                              # points at the caller's line
    assert len(listed) == 2
    with pytest.warns(DeprecationWarning, match=r"watch\('pods'\) without a namespace"):
        stream = reg.watch("pods")
    stream.stop()


# ---------------------------------------------------------------------------------------------------- apply

def test_apply_creates_then_updates_and_is_idempotent(reg):
    created = reg.apply(objects.load(POD_YAML)[0])
    assert created.metadata.generation == 1 and LAST_APPLIED in created.metadata.annotations
    again = reg.apply(objects.load(POD_YAML)[0])                      # a second apply is not AlreadyExists
    assert again.metadata.resource_version == created.metadata.resource_version
    changed = reg.apply(objects.load(POD_YAML.replace("busybox", "nginx"))[0])
    assert changed.spec.containers[0].image == "nginx" and changed.metadata.generation == 2
    assert int(changed.metadata.resource_version) > int(created.metadata.resource_version)


def test_apply_three_way_keeps_others_fields_and_drops_fields_removed_from_the_configuration(reg):
    reg.apply(objects.load(POD_YAML)[0])
    reg.bind("web", "n1")                                               # the scheduler's field
    reg.patch("pods", "web", {"metadata": {"annotations": {"owner": "ops"}}})
    applied = reg.apply(objects.load(POD_YAML.replace("app: web, tier: front", "app: web2"))[0])
    assert applied.metadata.labels == {"app": "web2"}                  # tier was in the last config: removed
    assert applied.spec.node_name == "n1"                               # never in the config: kept
    assert applied.metadata.annotations["owner"] == "ops"


def test_apply_writes_from_the_stored_version_whatever_the_object_carries(reg):
    first = reg.apply(objects.load(POD_YAML)[0])
    reg.patch("pods", "web", {"metadata": {"annotations": {"x": "1"}}})  # the stored version moves on
    stale = first.replace(metadata=first.metadata.replace(labels={"app": "new"}))
    assert stale.metadata.resource_version == first.metadata.resource_version
    applied = reg.apply(stale)
    assert applied.metadata.labels == {"app": "new"} and applied.metadata.annotations["x"] == "1"


def test_apply_of_an_invalid_object_writes_nothing(reg):
    reg.apply(objects.load(POD_YAML)[0])
    before = reg.store.revision
    bad = objects.load(POD_YAML)[0]
    bad.spec.containers[0].name = "Not_A_Label"
    with pytest.raises(ValidationError, match="spec.containers\\[0\\].name"):
        reg.apply(bad)
    assert reg.store.revision == before


# ---------------------------------------------------------------------------------------------------- manifests

def test_load_accepts_bytes_as_yaml_readers_do(tmp_path):
    for data in (POD_YAML.encode(), b"\xef\xbb\xbf" + POD_YAML.encode(), POD_YAML.encode("utf-16"),
                 POD_YAML.encode("utf-32"), bytearray(POD_YAML.encode())):
        [loaded] = objects.load(data)
        assert loaded.metadata.name == "web"
    with pytest.raises(ValidationError, match="cannot be decoded as utf-8"):
        objects.load(b"kind: \xff\xff")
    with pytest.raises(ValidationError,
                       match='source: Invalid value: "int": a manifest is a path, its text \\(str\\) or its bytes'):
        objects.load(5)


STRICT = """\
apiVersion: v1
kind: Pod
metadata: {name: web, managedFields: []}
spec:
  nodeSelectr: {disk: ssd}
  volumes: []
  containers:
  - {name: c, image: i, command: [sh], imagePulPolicy: Always, resources: {requests: {cpu: 1}, claims: []}}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g}
whatever: {anything: 1}
"""


def test_strict_load_refuses_unknown_fields_of_modelled_kinds_with_their_path():
    lenient = objects.load(STRICT)                                      # the default keeps them, as before
    assert lenient[0].spec.unknown_fields["nodeSelectr"] == {"disk": "ssd"}
    with pytest.raises(ValidationError) as caught:
        objects.load(STRICT, strict=True)
    paths = sorted(e.path for e in caught.value.errors)
    assert paths == ["[0].spec.containers[0].imagePulPolicy", "[0].spec.nodeSelectr"]
    assert 'unknown field "nodeSelectr" in PodSpec' in str(caught.value)
    fixed = STRICT.replace("nodeSelectr", "nodeSelector").replace("imagePulPolicy", "imagePullPolicy")
    loaded = objects.load(fixed, strict=True)                           # Kubernetes fields not modelled: fine
    assert loaded[0].spec.node_selector == {"disk": "ssd"} and loaded[1].kind == "Gadget"
