"""Every manifest of the corpus goes through the Registry and comes back with nothing lost."""
import objects
import pytest

from manifest_corpus import corpus_documents
from registry_helpers import new_registry

SYSTEM_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp")


@pytest.mark.parametrize("index", range(len(corpus_documents())))
def test_corpus_object_round_trips_through_the_registry(index):
    doc = corpus_documents()[index]
    # What the registry stores: the API server's defaulting, and Priority admission for pods (with the
    # corpus's PriorityClasses stored first, as a cluster would have them).
    priority_classes = [objects.from_dict(d) for d in corpus_documents() if d["kind"] == "PriorityClass"]
    classes = {pc.metadata.name: pc for pc in priority_classes} if doc["kind"] == "Pod" else None
    expected = objects.to_dict(objects.from_dict(doc, defaults=True, priority_classes=classes))
    for field in SYSTEM_FIELDS + ("deletionTimestamp", "deletionGracePeriodSeconds"):  # create clears these
        expected.get("metadata", {}).pop(field, None)
    store, reg = new_registry()
    try:
        if doc["kind"] == "Pod":
            for pc in priority_classes:
                clean_pc = objects.to_dict(pc)
                clean_pc["metadata"].pop("resourceVersion", None)
                reg.create(objects.from_dict(clean_pc))
        kind, meta = doc["kind"], doc["metadata"]
        clean = {**doc, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}
        created = reg.create(objects.from_dict(clean))  # exported manifests carry one; create refuses it
        got = objects.to_dict(reg.get(kind, created.metadata.name, created.metadata.namespace))
        for field in SYSTEM_FIELDS:
            got["metadata"].pop(field, None)
        if meta.get("generateName") and not meta.get("name"):
            got["metadata"].pop("name")
        if "namespace" not in expected["metadata"] and created.metadata.namespace:
            expected["metadata"]["namespace"] = created.metadata.namespace    # namespaced: "default"
        if "status" in expected and "status" not in got:
            pytest.fail("status dropped")
        assert got == expected
        listed = reg.list(kind, created.metadata.namespace)
        assert [o.metadata.name for o in listed.items] == [created.metadata.name]
    finally:
        store.close()
