"""An index's ``same(old, new)`` test lets an update skip calling the index function on both versions
(controllers.informer): the indexes of the pod informer's controllers (labels, controller uid, orphans, node
name) end the same whether the updates take the test or compute every value, for any sequence of versions
sharing or replacing the parts the functions read."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import kvstore
import objects
from controllers.controllerref import CONTROLLER_UID_INDEX, ORPHAN_INDEX, _by_controller, _orphan_namespace, \
    _same_owners
from controllers.informer import Informer
from controllers.nodelifecycle import NODE_NAME_INDEX, _node_name_of, _same_node_name
from controllers.servicepods import LABEL_INDEX, _label_values, _same_labels

INDEXES = ((LABEL_INDEX, _label_values, _same_labels), (CONTROLLER_UID_INDEX, _by_controller, _same_owners),
           (ORPHAN_INDEX, _orphan_namespace, _same_owners), (NODE_NAME_INDEX, _node_name_of, _same_node_name))


def _owner(uid: str, controller: bool) -> Any:
    return objects.OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="rs", uid=uid, controller=controller)


# one step: which part of the pod the next version replaces (a new object, maybe an equal one), or edits in
# place (a shared map or list changed: both versions see it, as in the informer without the test)
steps = st.sampled_from(["status", "labels new", "labels equal", "labels in place", "owners new", "owners equal",
                         "owners in place", "node", "node equal", "namespace", "metadata copy"])


def _next(pod: Any, step: str, n: int) -> Any:
    meta, spec = pod.metadata, pod.spec
    if step == "status":
        return pod._copy(metadata=meta._copy(resource_version=str(n)))
    if step == "labels new":
        return pod._copy(metadata=meta._copy(labels={"app": f"v{n % 3}"}))
    if step == "labels equal":
        return pod._copy(metadata=meta._copy(labels=dict(meta.labels)))
    if step == "labels in place":
        meta.labels[f"k{n % 2}"] = "x"
        return pod._copy(metadata=meta._copy(resource_version=str(n)))
    if step == "owners new":
        return pod._copy(metadata=meta._copy(owner_references=[_owner(f"u{n % 3}", n % 2 == 0)]))
    if step == "owners equal":
        return pod._copy(metadata=meta._copy(owner_references=list(meta.owner_references)))
    if step == "owners in place":
        if meta.owner_references:
            meta.owner_references.pop()
        else:
            meta.owner_references.append(_owner("u9", True))
        return pod._copy(metadata=meta._copy(resource_version=str(n)))
    if step == "node":
        return pod._copy(spec=spec._copy(node_name=f"n{n % 3}" if n % 4 else None))
    if step == "node equal":
        return pod._copy(spec=spec._copy(node_name=spec.node_name))
    if step == "namespace":
        return pod._copy(metadata=meta._copy(namespace="other" if meta.namespace == "ns" else "ns"))
    return pod._copy(metadata=meta._copy())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), steps), max_size=25))
def test_updates_that_skip_the_index_functions_leave_the_same_indexes(moves):
    with kvstore.open() as store:
        registry = objects.Registry(store)
        informers = [Informer(registry, "Pod"), Informer(registry, "Pod")]
        for name, fn, same in INDEXES:
            informers[0].add_index(name, fn)
            informers[1].add_index(name, fn, same)
        current: dict[int, Any] = {}
        for n, (which, step) in enumerate(moves):
            old = current.get(which)
            if old is None:
                new = objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                                         "metadata": {"name": f"p{which}", "namespace": "ns", "labels": {"app": "a"}},
                                         "spec": {"containers": [{"name": "c", "image": "i"}]}})
            else:
                new = _next(old, step, n)
                if new.metadata.namespace != old.metadata.namespace:
                    for informer in informers:
                        informer._remove(old)  # another key: the old one is deleted
                    old = None
            for informer in informers:
                informer._store(new, old)
            current[which] = new
            plain, tested = informers
            assert {k: v[1] for k, v in tested._indexes.items()} == {k: v[1] for k, v in plain._indexes.items()}
