"""The per-event shortcuts of the Pod informer's path (issue #10's saturation work) against the general
path they replace: indexes kept without recomputing unchanged values, the one handler that routes pod
events to the pod-owning controllers, the endpoints controllers' namespace test, the garbage collector's
unchanged-owners test. Each event a controller needs still reaches it with the same effect."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings, strategies as st

import kvstore
import objects
from controllers import DEFAULT_CONTROLLERS, EventRecorder, Informer, SharedInformers
from controllers.podowner import _pod_events

from ctrl_helpers import WAIT, pod, replica_set, wait_for
from workload_helpers import daemon_set, stateful_set

NAMES = ["p0", "p1", "p2", "p3"]
LABELS = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["x", "y"]), max_size=2)


# ---------------------------------------------------------------------------------------------- indexes
OPS = st.lists(st.tuples(st.sampled_from(["create", "relabel", "status", "delete"]), st.sampled_from(NAMES),
                         st.sampled_from(["a", "b"]), LABELS, st.sampled_from([None, "n1", "n2"])),
               min_size=1, max_size=25)


def _all_labels(p):
    return [f"{k}={v}" for k, v in p.metadata.labels.items()]


def _node(p):
    return [p.spec.node_name] if p.spec.node_name else []


def _expected(objs, fn):
    index: dict[str, set[str]] = {}
    for o in objs:
        for value in fn(o):
            index.setdefault(value, set()).add(o.key)
    return index


@settings(max_examples=25, deadline=None)
@given(OPS)
def test_indexes_equal_a_recomputation_after_any_changes(ops):
    store = kvstore.open()
    registry = objects.Registry(store)
    inf = Informer(registry, "Pod")
    inf.add_index("labels", _all_labels)
    inf.add_index("node", _node)
    try:
        for ns in ("a", "b"):
            registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        inf.start()
        assert inf.wait_synced(WAIT)
        for op, name, ns, labels, node in ops:
            try:
                current = registry.get("Pod", name, ns)
            except objects.NotFound:
                current = None
            if op == "create" and current is None:
                registry.create(pod(name, namespace=ns, labels=labels, node_name=node))
            elif op == "relabel" and current is not None:
                registry.update(current.replace(metadata=current.metadata.replace(labels=labels)))
            elif op == "status" and current is not None:
                registry.patch_status("Pod", name, {"status": {"phase": "Running", "podIP": "10.0.0.1"}}, ns)
            elif op == "delete" and current is not None:
                registry.delete("Pod", name, ns)
        revision = registry.list("Pod", all_namespaces=True).resource_version
        inf.request_progress()
        wait_for(lambda: inf.resource_version >= int(revision) or inf.request_progress(), message="caught up")
        cached = inf.lister.list()
        assert sorted(o.key for o in cached) == sorted(
            o.key for o in registry.list("Pod", all_namespaces=True).items)
        for name, fn in (("labels", _all_labels), ("node", _node)):
            assert {v: set(keys) for v, keys in inf._indexes[name][1].items()} == _expected(cached, fn)
        for ns in ("a", "b"):
            assert sorted(o.key for o in inf.lister.list(namespace=ns)) == sorted(
                o.key for o in cached if o.metadata.namespace == ns)
            assert inf.lister.count(ns) == len(inf.lister.list(namespace=ns))
        assert inf.lister.count() == len(cached)
        assert inf.lister.count("nowhere") == 0
    finally:
        inf.stop()
        store.close()


# ---------------------------------------------------------------------------------------------- routing
POD_OWNERS = ["replicaset", "replicationcontroller", "job", "daemonset", "statefulset"]


def _job(name):
    return objects.from_dict({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                              "spec": {"template": {"metadata": {"labels": {"app": name}},
                                                    "spec": {"restartPolicy": "Never",
                                                             "containers": [{"name": "c", "image": "i"}]}}}})


class Effects:
    """Every queue and expectations call a controller's pod handlers make, in order."""

    def __init__(self, controller):
        self.calls: list[tuple] = []
        for target, names in ((controller.queue, ("add", "add_after")),
                              (getattr(controller, "expectations", None), ("creation_observed", "deletion_observed"))):
            for name in names if target is not None else ():
                setattr(target, name, self._recorder(name, getattr(target, name)))

    def _recorder(self, name, fn):
        def record(*args):
            self.calls.append((name, *args))
            return fn(*args)
        return record


def _controllers(registry):
    informers = SharedInformers(registry)
    recorder = EventRecorder(registry, "test", enabled=False)
    built = [DEFAULT_CONTROLLERS[n](registry, informers, recorder=recorder) for n in POD_OWNERS]
    informers.start()
    assert informers.wait_synced(WAIT)
    return informers, built


REF_CHOICES = st.sampled_from(["rs", "rc", "job", "ds", "sts", "stale-rs", "deployment", "not-controller"])


def _refs(owners, choices):
    """The references chosen; only the first may be a controller reference (the API's rule)."""
    refs = []
    for choice in choices:
        if choice == "deployment":
            refs.append({"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "d-uid", "controller": True})
        elif choice == "stale-rs":
            refs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "gone", "controller": True})
        elif choice == "not-controller":
            o = owners["rs"]
            refs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": o.metadata.uid})
        else:
            o = owners[choice]
            refs.append({"apiVersion": o.api_version, "kind": o.kind, "name": o.metadata.name,
                         "uid": o.metadata.uid, "controller": True})
    for ref in refs[1:]:
        ref["controller"] = False
    return refs


POD = st.fixed_dictionaries({
    "refs": st.lists(REF_CHOICES, max_size=2, unique=True),
    "labels": st.sampled_from([{}, {"app": "rs"}, {"app": "rc"}, {"app": "ds"}, {"app": "sts"}, {"app": "job"},
                               {"app": "other"}]),
    "deleting": st.booleans(),
    "ready": st.booleans(),
    "rv": st.sampled_from(["10", "11"]),
})
EVENTS = st.lists(st.tuples(st.sampled_from(["add", "update", "delete"]), POD, POD), min_size=1, max_size=12)


def _pod(owners, spec, uid="pod-uid"):
    meta = {"name": "p", "namespace": "default", "uid": uid, "resourceVersion": spec["rv"],
            "labels": spec["labels"], "ownerReferences": _refs(owners, spec["refs"])}
    if spec["deleting"]:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status = {"conditions": [{"type": "Ready", "status": "True" if spec["ready"] else "False"}]}
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                              "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": status})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
def test_routed_pod_events_have_the_effects_of_calling_every_controller(registry, events):
    if not registry.list("ReplicaSet", "default").items:
        registry.create(replica_set("rs", 0, labels={"app": "rs"}, min_ready_seconds=5))
        registry.create(replica_set("rc", 0, labels={"app": "rc"}, kind="ReplicationController"))
        registry.create(_job("job"))
        registry.create(daemon_set("ds"))
        registry.create(stateful_set("sts", 0))
    owners = {short: registry.get(kind, short, "default") for short, kind in
              (("rs", "ReplicaSet"), ("rc", "ReplicationController"), ("job", "Job"), ("ds", "DaemonSet"),
               ("sts", "StatefulSet"))}
    direct_informers, direct = _controllers(registry)
    routed_informers, routed = _controllers(registry)
    try:
        direct_effects = [Effects(c) for c in direct]
        routed_effects = [Effects(c) for c in routed]
        router = _pod_events(routed_informers.informer("Pod"))
        assert router.members == tuple(routed)
        for what, a, b in events:
            old, cur = _pod(owners, a), _pod(owners, b)
            if what == "add":
                for c in direct:
                    c._pod_added(cur)
                router.added(cur)
            elif what == "update":
                for c in direct:
                    c._pod_updated(old, cur)
                router.updated(old, cur)
            else:
                for c in direct:
                    c._pod_deleted(cur)
                router.deleted(cur)
        for c, d, r in zip(direct, direct_effects, routed_effects):
            assert d.calls == r.calls, c.name
    finally:
        direct_informers.stop()
        routed_informers.stop()
        for c in direct + routed:
            c.shut_down()


def test_a_pod_owner_controller_joining_late_first_sees_the_cached_pods(registry):
    rs = registry.create(replica_set("rs", 0, labels={"app": "rs"}))
    registry.create(pod("mine", labels={"app": "rs"}, owner=rs))
    informers = SharedInformers(registry)
    recorder = EventRecorder(registry, "test", enabled=False)
    first = DEFAULT_CONTROLLERS["job"](registry, informers, recorder=recorder)
    informers.start()
    try:
        assert informers.wait_synced(WAIT)
        late = DEFAULT_CONTROLLERS["replicaset"](registry, informers, recorder=recorder)
        assert late.owners.wait_synced(WAIT)
        wait_for(lambda: late.owners.lister.get("default/rs") is not None, message="the ReplicaSet cached")
        # the pod's add was handed to the late controller when it joined: after the RS is cached, an update
        # of the pod must reach it too
        registry.patch_status("Pod", "mine", {"status": {"phase": "Running"}}, "default")
        wait_for(lambda: "default/rs" in late.queue._queue or late.queue.get(0) == "default/rs",
                 message="the ReplicaSet queued by its pod's events")
        assert _pod_events(informers.informer("Pod")).members == (first, late)
    finally:
        informers.stop()
        first.shut_down()
        late.shut_down()


# ---------------------------------------------------------------------------------------------- endpoints
def _service(name, namespace, selector):
    return objects.from_dict({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                              "spec": {"selector": selector, "ports": [{"port": 80}]}})


def test_endpoint_controllers_skip_namespaces_without_services_only(registry):
    for ns in ("a", "b"):
        registry.create(objects.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
    registry.create(_service("web", "a", {"app": "web"}))
    informers = SharedInformers(registry)
    recorder = EventRecorder(registry, "test", enabled=False)
    built = [DEFAULT_CONTROLLERS[n](registry, informers, recorder=recorder) for n in ("endpoint", "endpointslice")]
    informers.start()
    try:
        assert informers.wait_synced(WAIT)
        for c in built:
            while len(c.queue):
                c.queue.done(c.queue.get(0))
        effects = [Effects(c) for c in built]
        for ns in ("a", "b"):
            old = _pod_in(ns, "10", ip=None)
            new = _pod_in(ns, "11", ip="10.0.0.9")
            for c in built:
                c._pod_updated(old, new)
                c._pod_changed(new)
        for e in effects:
            assert e.calls == [("add", "a/web"), ("add", "a/web")]  # the update, then the add; none for "b"
    finally:
        informers.stop()
        for c in built:
            c.shut_down()


def _pod_in(namespace, rv, ip):
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    if ip:
        status["podIP"] = ip
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": "p", "namespace": namespace, "uid": f"{namespace}-uid",
                                           "resourceVersion": rv, "labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": status})


# ---------------------------------------------------------------------------------------------- garbage collector
def test_the_collector_looks_again_at_a_shared_reference_list_until_its_owner_is_known(registry):
    informers = SharedInformers(registry)
    gc = DEFAULT_CONTROLLERS["garbagecollector"](registry, informers, recorder=EventRecorder(registry, "t", enabled=False))
    effects = Effects(gc)
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-uid", "controller": True}
    first = objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": "p", "namespace": "default", "uid": "p-uid", "resourceVersion": "5",
                                            "ownerReferences": [owner]},
                               "spec": {"containers": [{"name": "c", "image": "i"}]}})
    # a status write: a new object sharing the metadata's reference list, as the Registry's watch hands it
    second = first.replace(metadata=first.metadata.replace(resource_version="6"))
    assert second.metadata.owner_references is first.metadata.owner_references
    gc._observe(first)
    gc._observe_update(first, second)
    assert effects.calls == [("add", "p-uid"), ("add", "p-uid")]  # the owner is unknown: looked at each time
    rs = copy.deepcopy(first)
    rs_meta = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "default",
                                                                          "uid": "rs-uid", "resourceVersion": "3"},
               "spec": {"selector": {"matchLabels": {"a": "b"}},
                        "template": {"metadata": {"labels": {"a": "b"}},
                                     "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    del rs
    gc._observe(objects.from_dict(rs_meta))
    third = second.replace(metadata=second.metadata.replace(resource_version="7"))
    gc._observe_update(second, third)
    assert effects.calls == [("add", "p-uid"), ("add", "p-uid")]  # owner known, nothing changed: nothing to do
    moved = third.replace(metadata=third.metadata.replace(
        resource_version="8", owner_references=[objects.OwnerReference(api_version="v1", kind="ReplicaSet",
                                                                       name="other", uid="other-uid")]))
    gc._observe_update(third, moved)
    assert effects.calls[-1] == ("add", "p-uid")  # a new owner, unknown: looked at
    assert [d.metadata.uid for d in gc.dependents("rs-uid")] == []
    gc.shut_down()


# ---------------------------------------------------------------------------------------------- taint eviction
UNREACHABLE = "node.kubernetes.io/unreachable"


def _node_object(name, tainted):
    spec = {"taints": [{"key": UNREACHABLE, "effect": "NoExecute"}]} if tainted else {}
    return objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec})


def test_taint_eviction_queues_only_pods_a_sync_could_act_on(registry):
    registry.create(_node_object("ok", False))
    registry.create(_node_object("bad", True))
    informers = SharedInformers(registry)
    controller = DEFAULT_CONTROLLERS["tainteviction"](registry, informers,
                                                       recorder=EventRecorder(registry, "t", enabled=False))
    informers.start()
    try:
        assert informers.wait_synced(WAIT)
        effects = Effects(controller)
        on_ok, on_bad, unbound = pod("a", node_name="ok"), pod("b", node_name="bad"), pod("c")
        for p in (on_ok, on_bad, unbound):
            controller._pod_changed(p)
        controller._pod_updated(unbound, on_ok)  # bound to a node without taints
        controller._pod_updated(unbound, on_bad)
        assert effects.calls == [("add", "default/b"), ("add", "default/b")]
        controller._scheduled["default/a"] = 0.0  # an eviction timed while "ok" was tainted: the sync cancels it
        controller._pod_changed(on_ok)
        assert effects.calls[-1] == ("add", "default/a")
    finally:
        informers.stop()
        controller.shut_down()


def test_a_taint_after_the_pod_was_bound_still_evicts_it(registry):
    from controllers import ControllerManager
    registry.create(_node_object("n", False))
    manager = ControllerManager(registry, controllers=["tainteviction"], metrics=False)
    manager.start()
    try:
        registry.create(pod("p", node_name="n", terminationGracePeriodSeconds=0, tolerations=[
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]))
        assert manager.wait_idle(WAIT)
        node = registry.get("Node", "n")
        registry.update(node.replace(spec=node.spec.replace(taints=_node_object("n", True).spec.taints)))
        wait_for(lambda: not registry.list("Pod", "default").items, message="the pod evicted")
    finally:
        manager.stop()
