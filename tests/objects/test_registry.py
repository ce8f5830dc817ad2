"""Registry: create / get / list / update / update_status / patch / delete, as the API server stores objects."""
import pytest

import kvstore
import objects
from objects.errors import AlreadyExists, Conflict, Expired, NotFound, UnknownResourceType, ValidationError
from objects.registry import UNSTRUCTURED, Registry, retry_on_conflict

from registry_helpers import config_map, new_registry, pod


@pytest.fixture
def reg(kv_backend):
    store, registry = new_registry(backend=kv_backend)
    yield registry
    store.close()


def test_create_sets_system_fields_and_keys_like_the_api_server(reg):
    created = reg.create(pod("web"))
    meta = created.metadata
    assert meta.namespace == "default" and meta.generation == 1
    assert meta.creation_timestamp == "2023-11-14T22:13:20Z"
    assert len(meta.uid) == 36
    kv = reg.store.get("/registry/pods/default/web")
    assert kv is not None and meta.resource_version == str(kv.mod_revision)
    assert b"resourceVersion" not in kv.value                    # the version lives in the key's revision
    node = reg.create(objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
    assert reg.store.get("/registry/minions/n1").mod_revision == int(node.metadata.resource_version)
    assert created.spec.scheduler_name == "default-scheduler"    # API server defaulting on write


def test_create_twice_is_already_exists(reg):
    reg.create(pod("web"))
    with pytest.raises(AlreadyExists, match='pods "web" already exists'):
        reg.create(pod("web"))
    reg.create(pod("web", namespace="other"))                   # same name, other namespace: fine


def test_generate_name_gets_a_random_suffix(reg):
    names = {reg.create(pod(generate_name="web-")).metadata.name for _ in range(20)}
    assert len(names) == 20
    assert all(n.startswith("web-") and len(n) == 9 for n in names)


def test_create_rejects_a_resource_version_and_changes_nothing(reg):
    obj = objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": "a", "resourceVersion": "5"},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}})
    before = reg.store.revision
    with pytest.raises(ValidationError, match="resourceVersion should not be set"):
        reg.create(obj)
    assert reg.store.revision == before


def test_invalid_objects_are_rejected_before_writing():
    store = kvstore.open()
    reg = Registry(store, codec=UNSTRUCTURED)
    with pytest.raises(ValidationError):
        reg.create({"apiVersion": "v1", "metadata": {"name": "a"}})      # no kind
    with pytest.raises(ValidationError):
        reg.create(["not", "an", "object"])
    models = Registry(store)
    with pytest.raises(ValidationError):
        models.create(objects.GenericObject.from_dict({"apiVersion": "v1", "kind": "Pod",
                                                       "metadata": {"name": "a"}, "spec": {"containers": 5}}))
    assert store.revision == 1
    store.close()


def test_get_by_kind_or_resource_and_not_found(reg):
    reg.create(pod("web"))
    assert reg.get("Pod", "web").metadata.name == "web"
    assert reg.get("pods", "web", "default").metadata.name == "web"
    with pytest.raises(NotFound, match='pods "nope" not found'):
        reg.get("Pod", "nope")
    with pytest.raises(UnknownResourceType, match='the server doesn\'t have a resource type "Gadget"') as caught:
        reg.get("Gadget", "x")
    assert not isinstance(caught.value, NotFound)                # a typo is not a missing object


def test_update_is_compare_and_swap_on_resource_version(reg):
    first = reg.create(pod("web"))
    bound = reg.update(first.replace(spec=first.spec.replace(node_name="n1")))
    assert bound.spec.node_name == "n1"
    assert int(bound.metadata.resource_version) > int(first.metadata.resource_version)
    assert bound.metadata.generation == 2                      # spec changed
    with pytest.raises(Conflict, match="the object has been modified"):
        reg.update(first.replace(spec=first.spec.replace(node_name="n2")))
    assert reg.get("Pod", "web").spec.node_name == "n1"        # the stale write changed nothing


def test_metadata_only_update_keeps_generation_and_no_op_keeps_version(reg):
    first = reg.create(pod("web"))
    relabeled = reg.update(first.replace(metadata=first.metadata.replace(labels={"a": "b"})))
    assert relabeled.metadata.generation == 1
    same = reg.update(relabeled)
    assert same.metadata.resource_version == relabeled.metadata.resource_version


def test_update_without_resource_version_is_unconditional(reg):
    first = reg.create(config_map("c", {"n": "0"}))
    reg.update(first.replace(data={"n": "1"}))
    blind = first.replace(metadata=first.metadata.replace(resource_version=None), data={"n": "2"})
    assert reg.update(blind).data == {"n": "2"}


def test_update_keeps_status_and_update_status_keeps_spec(reg):
    created = reg.create(pod("web"))
    with_status = reg.update_status(created.replace(status=created.status.replace(phase="Running"),
                                                    spec=created.spec.replace(node_name="sneaky")))
    assert with_status.status.phase == "Running" and with_status.spec.node_name is None
    updated = reg.update(with_status.replace(status=with_status.status.replace(phase="Failed")))
    assert updated.status.phase == "Running"
    with pytest.raises(Conflict):
        reg.update_status(created.replace(status=created.status.replace(phase="Failed")))


def test_update_of_missing_object_is_not_found(reg):
    created = reg.create(pod("web"))
    reg.delete("Pod", "web")
    with pytest.raises(NotFound):
        reg.update(created)


def test_patch_is_a_json_merge_patch(reg):
    reg.create(pod("web", labels={"app": "web", "tier": "fe"}))
    patched = reg.patch("Pod", "web", {"metadata": {"labels": {"tier": None, "x": "1"}}})
    assert patched.metadata.labels == {"app": "web", "x": "1"}
    patched = reg.patch("pods", "web", '{"spec": {"nodeName": "n1"}}')
    assert patched.spec.node_name == "n1" and patched.metadata.generation == 2
    stale = {"metadata": {"resourceVersion": "1", "labels": {"y": "2"}}}
    with pytest.raises(Conflict):
        reg.patch("Pod", "web", stale)
    with pytest.raises(NotFound):
        reg.patch("Pod", "nope", {})
    with pytest.raises(ValidationError):
        reg.patch("Pod", "web", {"spec": {"containers": "nope"}})
    assert reg.get("Pod", "web").metadata.labels == {"app": "web", "x": "1"}


def test_delete_returns_the_last_state(reg):
    reg.create(pod("web"))
    gone = reg.delete("Pod", "web")
    assert gone.metadata.name == "web"
    with pytest.raises(NotFound):
        reg.get("Pod", "web")
    with pytest.raises(NotFound):
        reg.delete("Pod", "web")


def test_delete_with_finalizers_marks_then_update_removes(reg):
    reg.create(pod("web", finalizers=["example.com/keep"]))
    marked = reg.delete("Pod", "web")
    assert marked.metadata.deletion_timestamp == "2023-11-14T22:13:20Z"
    assert marked.metadata.generation == 2
    assert reg.delete("Pod", "web").metadata.resource_version == marked.metadata.resource_version  # idempotent
    with pytest.raises(ValidationError, match="no new finalizers"):
        reg.update(marked.replace(metadata=marked.metadata.replace(finalizers=["example.com/keep", "b"])))
    still = reg.get("Pod", "web")
    assert still.metadata.deletion_timestamp is not None
    reg.update(still.replace(metadata=still.metadata.replace(finalizers=[])))
    with pytest.raises(NotFound):
        reg.get("Pod", "web")


def test_list_filters_by_namespace_and_selectors(reg):
    reg.create(pod("a", labels={"app": "web"}, node_name="n1"))
    reg.create(pod("b", labels={"app": "db"}))
    reg.create(pod("c", namespace="kube-system", labels={"app": "web"}))
    reg.create(config_map("a"))
    names = lambda result: sorted(f"{o.metadata.namespace}/{o.metadata.name}" for o in result.items)
    assert names(reg.list("Pod", all_namespaces=True)) == ["default/a", "default/b", "kube-system/c"]
    assert names(reg.list("Pod", "default")) == ["default/a", "default/b"]
    assert names(reg.list("Pod", all_namespaces=True, label_selector="app=web")) == ["default/a", "kube-system/c"]
    assert names(reg.list("Pod", all_namespaces=True, field_selector="spec.nodeName=")) == ["default/b",
                                                                                          "kube-system/c"]
    assert names(reg.list("Pod", all_namespaces=True, field_selector="metadata.namespace!=default",
                          label_selector=objects.LabelSelector.parse("app in (web)"))) == ["kube-system/c"]
    listed = reg.list("Pod", all_namespaces=True)
    assert listed.resource_version == str(reg.store.revision) and listed.continue_ is None


def test_list_pages_with_selectors_fill_each_page(reg):
    for i in range(30):
        reg.create(pod(f"p{i:02d}", labels={"even": str(i % 2 == 0).lower()}))
    seen, token, pages = [], None, 0
    while True:
        page = reg.list("Pod", all_namespaces=True, label_selector="even=true", limit=4, continue_=token)
        pages += 1
        assert len(page.items) == 4 or page.continue_ is None
        seen += [o.metadata.name for o in page.items]
        token = page.continue_
        if token is None:
            break
        assert pages < 20
    assert seen == [f"p{i:02d}" for i in range(0, 30, 2)]


def test_continue_token_pins_the_snapshot_and_expires_after_compaction(reg):
    for i in range(6):
        reg.create(pod(f"p{i}"))
    first = reg.list("Pod", all_namespaces=True, limit=3)
    reg.delete("Pod", "p4")
    reg.create(pod("p9"))
    rest = reg.list("Pod", all_namespaces=True, limit=10, continue_=first.continue_)
    assert [o.metadata.name for o in rest.items] == ["p3", "p4", "p5"]
    assert rest.resource_version == first.resource_version
    reg.store.compact(reg.store.revision)
    with pytest.raises(Expired):
        reg.list("Pod", all_namespaces=True, limit=10, continue_=first.continue_)


@pytest.mark.parametrize("token", ["garbage", "eyJ2IjoieCJ9", ""])
def test_bad_continue_tokens(reg, token):
    if token == "":
        assert reg.list("Pod", all_namespaces=True, continue_=token).items == []
        return
    with pytest.raises(ValidationError, match="continue"):
        reg.list("Pod", all_namespaces=True, continue_=token)


def test_retry_on_conflict_helper(reg):
    reg.create(config_map("c", {"n": "0"}))
    calls = []

    def bump():
        current = reg.get("ConfigMap", "c")
        if not calls:
            reg.update(current.replace(data={"n": "5"}))       # someone else wins the first round
        calls.append(1)
        return reg.update(current.replace(data={"n": str(int(current.data["n"]) + 1)}))

    assert retry_on_conflict(bump).data == {"n": "6"}
    assert len(calls) == 2


def test_pod_priority_is_resolved_from_priority_classes(reg):
    reg.create(objects.from_dict({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                  "metadata": {"name": "high"}, "value": 1000}))
    assert reg.create(pod("a", priorityClassName="high")).spec.priority == 1000
    with pytest.raises(ValidationError):
        reg.create(pod("b", priorityClassName="missing"))


def test_custom_resources_are_kept_under_their_group(reg):
    widget = objects.from_dict({"apiVersion": "example.com/v1", "kind": "Widget",
                                "metadata": {"name": "w", "namespace": "ns"}, "spec": {"size": 3}})
    reg.create(widget)
    assert reg.store.get("/registry/example.com/widgets/ns/w") is not None
    assert objects.to_dict(reg.get("widgets", "w", "ns"))["spec"] == {"size": 3}


def test_durable_store_keeps_objects_across_reopen(tmp_path):
    pytest.importorskip("kvstore.wal", reason="the kvstore WAL is not in this tree yet")
    store, reg = new_registry(str(tmp_path / "kv"), fsync="always")
    created = reg.create(pod("web", labels={"a": "b"}))
    store.close()
    store, reg = new_registry(str(tmp_path / "kv"), fsync="always")
    again = reg.get("Pod", "web")
    assert objects.to_dict(again) == objects.to_dict(created)
    store.close()


from hypothesis import given, settings, strategies as st  # noqa: E402

from objects.continuetoken import decode_continue, encode_continue  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40).filter(lambda s: ".." not in s), st.integers(1, 2**62))
def test_continue_tokens_round_trip(start, revision):
    assert decode_continue(encode_continue(start, revision)) == (start, revision)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_continue_text_is_a_validation_error_or_a_token(text):
    try:
        start, revision = decode_continue(text)
    except ValidationError:
        return
    assert isinstance(start, str) and revision >= 1


def test_bind_sets_node_name_and_pod_scheduled(reg):
    created = reg.create(pod("web"))
    bound = reg.bind("web", "n1")
    assert bound.spec.node_name == "n1" and bound.metadata.generation == created.metadata.generation
    assert [(c.type, c.status) for c in bound.status.conditions] == [("PodScheduled", "True")]
    with pytest.raises(Conflict, match='already assigned to node "n1"'):
        reg.bind("web", "n2")
    reg.create(pod("other"))
    with pytest.raises(Conflict):
        reg.bind("other", "n1", resource_version=created.metadata.resource_version)
    with pytest.raises(NotFound):
        reg.bind("nope", "n1")
    reg.create(pod("dying", finalizers=["example.com/f"]))
    reg.delete("Pod", "dying")
    with pytest.raises(Conflict, match="being deleted"):
        reg.bind("dying", "n1")


def test_list_at_a_resource_version_and_remaining_count(reg):
    for i in range(5):
        reg.create(pod(f"p{i}"))
    then = reg.list("Pod", all_namespaces=True).resource_version
    reg.delete("Pod", "p0")
    reg.create(pod("p9"))
    old = reg.list("Pod", all_namespaces=True, resource_version=then)
    assert [o.metadata.name for o in old.items] == ["p0", "p1", "p2", "p3", "p4"]
    assert old.resource_version == then
    page = reg.list("Pod", all_namespaces=True, limit=2)
    assert page.remaining_item_count == 3 and len(page.items) == 2
    assert reg.list("Pod", all_namespaces=True, limit=2, label_selector="a=b").remaining_item_count is None
    with pytest.raises(ValidationError, match="Too large resource version"):
        reg.list("Pod", all_namespaces=True, resource_version=str(reg.store.revision + 10))
    reg.store.compact(reg.store.revision)
    with pytest.raises(Expired):
        reg.list("Pod", all_namespaces=True, resource_version=then)


def test_delete_preconditions(reg):
    created = reg.create(pod("web"))
    with pytest.raises(Conflict, match="UID in precondition"):
        reg.delete("Pod", "web", uid="someone-else")
    reg.patch("Pod", "web", {"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(Conflict, match="ResourceVersion in precondition"):
        reg.delete("Pod", "web", resource_version=created.metadata.resource_version)
    assert reg.delete("Pod", "web", uid=created.metadata.uid).metadata.name == "web"


def test_generate_name_prefix_is_cut_to_fit(reg):
    made = reg.create(pod(generate_name="x" * 70))
    assert len(made.metadata.name) == 63 and made.metadata.name.startswith("x" * 58)


@pytest.mark.parametrize("name, namespace", [("a/b", None), ("..", None), ("a%2F", None), ("a", "x/y"), ("a", "..")])
def test_names_stay_one_key_segment_even_unvalidated(name, namespace):
    store = kvstore.open()
    reg = Registry(store, codec=UNSTRUCTURED)
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    with pytest.raises(ValidationError, match="may not contain '/'"):
        reg.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    with pytest.raises(ValidationError):
        reg.get("ConfigMap", name, namespace)
    assert store.revision == 1
    store.close()


def test_list_and_watch_refuse_a_namespace_spanning_segments(reg):
    with pytest.raises(ValidationError):
        reg.list("Pod", namespace="a/b")
    with pytest.raises(ValidationError):
        reg.watch("Pod", namespace="..")


def test_an_object_too_big_for_the_store_is_a_validation_error():
    store = kvstore.open(max_value_bytes=2048)
    reg = Registry(store)
    with pytest.raises(ValidationError, match="Request entity too large: limit is 2048"):
        reg.create(config_map("big", {"blob": "x" * 4096}))
    small = reg.create(config_map("small"))
    with pytest.raises(ValidationError, match="too large"):
        reg.update(small.replace(data={"blob": "x" * 4096}))
    assert reg.get("ConfigMap", "small").data in ({}, None)
    store.close()


def test_an_undefaulted_but_equal_spec_does_not_bump_generation(reg):
    created = reg.create(pod("web"))
    assert created.spec.scheduler_name == "default-scheduler"
    fresh = pod("web")                                      # as the user wrote it, without defaults
    fresh = fresh.replace(metadata=fresh.metadata.replace(namespace="default", labels={"a": "b"}))
    updated = reg.update(fresh)
    assert updated.metadata.generation == 1 and updated.metadata.labels == {"a": "b"}
    bumped = reg.update(updated.replace(spec=updated.spec.replace(node_name="n1")))
    assert bumped.metadata.generation == 2


def test_patch_status_changes_only_the_status(reg):
    reg.create(pod("web"))
    patched = reg.patch_status("Pod", "web", {"status": {"nominatedNodeName": "n1", "phase": "Pending"},
                                              "spec": {"nodeName": "sneaky"}})
    assert patched.status.nominated_node_name == "n1" and patched.spec.node_name is None
    assert reg.patch("Pod", "web", {"status": {"phase": "Failed"}}).status.phase == "Pending"
