"""ClusterObjects: namespace labels and the selectors kube-scheduler's DefaultSelector derives for a pod
(Services selecting the pod, then its controller's selector), fed directly and via Scheduler.add_object;
hypothesis against a plain model of the same rules over random add/update/remove sequences."""
from __future__ import annotations

import pathlib
import sys
from typing import Any

import objects
import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from refbuilders import pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.framework import ClusterEvent, SchedulingError, UnknownKind  # noqa: E402
from scheduling.listers import ClusterObjects  # noqa: E402


def namespace(name: str, **labels: str) -> Any:
    return objects.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})


def service(name: str, selector: dict | None, ns: str = "default") -> Any:
    spec = {"ports": [{"port": 80}]}
    if selector is not None:
        spec["selector"] = selector
    return objects.from_dict({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                              "spec": spec})


def _workload(kind: str, name: str, match_labels: dict, ns: str) -> Any:
    return objects.from_dict({
        "apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"matchLabels": match_labels},
                 "template": {"metadata": {"labels": match_labels},
                              "spec": {"containers": [{"name": "c", "image": "pause"}]}}}})


def replica_set(name: str, match_labels: dict, ns: str = "default") -> Any:
    return _workload("ReplicaSet", name, match_labels, ns)


def stateful_set(name: str, match_labels: dict, ns: str = "default") -> Any:
    return _workload("StatefulSet", name, match_labels, ns)


def owned_pod(name: str, labels: dict, kind: str = "", owner: str = "", ns: str = "default",
              controller: bool = True, api_version: str = "apps/v1") -> Any:
    refs = [{"apiVersion": api_version, "kind": kind, "name": owner, "uid": "u-" + owner,
             "controller": controller}] if kind else []
    return pod(name, namespace=ns, labels=labels, metadata={"ownerReferences": refs})


def _dicts(selectors: list) -> list:
    return [s.to_dict() for s in selectors]


def test_namespace_labels_are_read_only_and_unknown_namespaces_have_none() -> None:
    lister = ClusterObjects()
    assert lister.add(namespace("team-a", env="prod")) is True
    assert lister.namespace_labels("team-a") == {"env": "prod"}
    assert lister.namespace_labels("nowhere") == {}
    with pytest.raises(TypeError):
        lister.namespace_labels("team-a")["env"] = "dev"  # type: ignore[index]
    assert lister.add(namespace("team-a", env="prod")) is False  # same labels: no change
    assert lister.update(namespace("team-a", env="dev")) is True
    assert lister.remove(namespace("team-a", env="dev")) is True
    assert lister.namespace_labels("team-a") == {}
    assert lister.remove(namespace("team-a")) is False


def test_services_select_by_label_map_in_the_pods_namespace_only() -> None:
    lister = ClusterObjects()
    lister.add(service("web", {"app": "web"}))
    lister.add(service("all-web", {"app": "web"}, ns="other"))
    lister.add(service("tier", {"tier": "front"}))
    lister.add(service("headless", None))  # no selector: selects nothing, not everything
    p = owned_pod("p", {"app": "web", "tier": "back"})
    assert _dicts(lister.selectors_for(p)) == [{"matchLabels": {"app": "web"}}]
    lister.remove(service("web", None))
    assert lister.selectors_for(p) == []


def test_the_controller_reference_picks_the_replicaset_or_statefulset() -> None:
    lister = ClusterObjects()
    lister.add(replica_set("web-1", {"app": "web", "hash": "1"}))
    lister.add(replica_set("web-2", {"app": "web"}))  # matches the pod but is not its controller
    lister.add(stateful_set("db", {"app": "db"}))
    lister.add(service("web", {"app": "web"}))
    p = owned_pod("p", {"app": "web", "hash": "1"}, "ReplicaSet", "web-1")
    assert _dicts(lister.selectors_for(p)) == [{"matchLabels": {"app": "web"}},
                                              {"matchLabels": {"app": "web", "hash": "1"}}]
    db = owned_pod("db-0", {"app": "db"}, "StatefulSet", "db")
    assert _dicts(lister.selectors_for(db)) == [{"matchLabels": {"app": "db"}}]
    # Not a controller reference, an unknown owner, a wrong group: no workload selector.
    assert lister.selectors_for(owned_pod("q", {"app": "db"}, "StatefulSet", "db", controller=False)) == []
    assert lister.selectors_for(owned_pod("q", {"app": "db"}, "StatefulSet", "gone")) == []
    assert lister.selectors_for(owned_pod("q", {"app": "db"}, "StatefulSet", "db", api_version="v1")) == []
    assert [o.metadata.name for o in lister.objects("StatefulSet")] == ["db"]


def test_unknown_kinds_are_refused_and_change_nothing() -> None:
    lister = ClusterObjects()
    config_map = objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "c", "namespace": "default"}})
    with pytest.raises(UnknownKind) as err:
        lister.add(config_map)
    assert "'ConfigMap'" in str(err.value) and "Namespace" in str(err.value)
    assert isinstance(err.value, SchedulingError)
    with pytest.raises(UnknownKind):
        Scheduler().add_object(config_map)
    with pytest.raises(UnknownKind):
        lister.objects("ConfigMap")
    assert all(lister.objects(k) == [] for k in ("Namespace", "Service", "ReplicaSet", "StatefulSet"))


def test_scheduler_routes_objects_and_budgets_and_retries_on_namespace_label_change() -> None:
    s = Scheduler()
    pdb = objects.from_dict({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                             "metadata": {"name": "b", "namespace": "default"},
                             "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    s.add_object(pdb)
    assert [b.metadata.name for b in s._handle.pod_disruption_budgets()] == ["b"]
    s.remove_object(pdb)
    assert s._handle.pod_disruption_budgets() == []
    s.add_object(namespace("team-a", env="prod"))
    s.add_object(service("web", {"app": "web"}, ns="team-a"))
    assert s._handle.namespace_labels("team-a") == {"env": "prod"}
    assert len(s._handle.selectors_for(owned_pod("p", {"app": "web"}, ns="team-a"))) == 1
    assert ClusterEvent.NAMESPACE_LABEL_CHANGE in ClusterEvent.ALL


_NAMES = ["a", "b", "c"]
_LABELS = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["x", "y"]), max_size=2)
_OPS = st.lists(st.tuples(st.sampled_from(["add", "remove"]),
                          st.sampled_from(["Namespace", "Service", "ReplicaSet"]),
                          st.sampled_from(_NAMES), st.sampled_from(["default", "other"]),
                          st.one_of(st.none(), _LABELS)), max_size=25)


def _build(kind: str, name: str, ns: str, labels: dict | None) -> Any:
    if kind == "Namespace":
        return namespace(name, **(labels or {}))
    if kind == "Service":
        return service(name, labels, ns)
    return replica_set(name, labels or {"app": "x"}, ns)


@settings(max_examples=60, deadline=None)
@given(_OPS, _LABELS, st.sampled_from(["default", "other"]), st.sampled_from(_NAMES))
def test_matches_a_plain_model_after_any_sequence_of_changes(ops, pod_labels, pod_ns, owner) -> None:
    lister = ClusterObjects()
    model: dict[tuple[str, str, str], Any] = {}
    for op, kind, name, ns, labels in ops:
        ns_key = "" if kind == "Namespace" else ns
        obj = _build(kind, name, ns, labels)
        if op == "add":
            absent = object()
            before = model.get((kind, ns_key, name), absent)
            changed = lister.add(obj)
            model[(kind, ns_key, name)] = labels
            # A namespace that appears, or whose labels change, may change what namespaceSelectors select.
            assert changed == (kind == "Namespace" and (before is absent or (before or {}) != (labels or {})))
        else:
            lister.remove(obj)
            model.pop((kind, ns_key, name), None)
    for name in _NAMES:
        expected = model.get(("Namespace", "", name))
        assert dict(lister.namespace_labels(name)) == (expected or {})
    p = owned_pod("p", pod_labels, "ReplicaSet", owner, ns=pod_ns)
    want = [{"matchLabels": sel} for (kind, ns, _), sel in model.items()
            if kind == "Service" and ns == pod_ns and sel and all(pod_labels.get(k) == v for k, v in sel.items())]
    rs = model.get(("ReplicaSet", pod_ns, owner), "absent")
    if rs != "absent":
        want.append({"matchLabels": rs or {"app": "x"}})
    got = _dicts(lister.selectors_for(p))
    assert sorted(map(repr, got)) == sorted(map(repr, want))
    if rs != "absent":
        assert got[-1] == want[-1]  # the controller's selector comes after the Services'


def test_a_selector_that_does_not_parse_selects_nothing() -> None:
    broken = objects.from_dict({"apiVersion": "example.com/v1", "kind": "StatefulSet",
                                "metadata": {"name": "db", "namespace": "default"},
                                "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}}})
    lister = ClusterObjects()
    lister.add(broken)
    assert lister.objects("StatefulSet") == [broken]
    p = owned_pod("db-0", {"app": "db"}, "StatefulSet", "db")
    assert lister.selectors_for(p) == []
