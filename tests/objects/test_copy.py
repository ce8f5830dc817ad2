"""``copy.deepcopy`` / ``copy.copy`` of every kind: equal to the original, and a deep copy shares nothing."""
from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import objects
from objects.schema import ABSENT, Model

from manifest_corpus import corpus_documents
from test_codec import LABEL_VALUE, NAME, UNKNOWN, pods

KINDS = sorted({d["kind"] for d in corpus_documents()})


@st.composite
def documents(draw: Any) -> dict:
    """A corpus document of any kind (or a random pod), with random labels and unknown fields added."""
    if draw(st.booleans()):
        return draw(pods())
    kind = draw(st.sampled_from(KINDS))
    doc = copy.deepcopy(draw(st.sampled_from([d for d in corpus_documents() if d["kind"] == kind])))
    doc["metadata"].setdefault("labels", {}).update(draw(st.dictionaries(NAME, LABEL_VALUE, max_size=2)))
    if not doc["metadata"]["labels"]:
        del doc["metadata"]["labels"]
    doc["metadata"].update(draw(UNKNOWN))
    doc.update(draw(UNKNOWN))
    return doc


def scribble(value: Any, seen: set[int]) -> None:
    """Change every list and dict reachable from ``value`` (models included) in place."""
    if id(value) in seen or value is ABSENT:
        return
    seen.add(id(value))
    if isinstance(value, Model):
        for name in value.__slots_all__:  # type: ignore[attr-defined]
            scribble(getattr(value, name), seen)
    elif type(value) is dict:
        for item in list(value.values()):
            scribble(item, seen)
        value["scribbled"] = "x"
    elif type(value) is list:
        for item in value:
            scribble(item, seen)
        value.append("scribbled")


@settings(max_examples=60, deadline=None)
@given(documents())
def test_deepcopy_equals_the_original_and_is_independent(doc):
    original = objects.from_dict(doc)
    written = objects.to_dict(original)
    twin = copy.deepcopy(original)
    assert twin == original and twin is not original
    assert objects.to_dict(twin) == written
    scribble(twin, set())
    assert objects.to_dict(original) == written
    assert objects.from_dict(doc) == original


def test_every_corpus_kind_copies():
    for doc in corpus_documents():
        obj = objects.from_dict(doc)
        assert copy.deepcopy(obj) == obj and copy.copy(obj) == obj, doc["kind"]


def test_absent_parts_stay_absent_in_copies():
    pod = objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}})
    for twin in (copy.deepcopy(pod), copy.copy(pod)):
        assert twin.status.unknown_fields is ABSENT
        assert twin.spec.containers[0].resources.unknown_fields is ABSENT
        assert "status" not in objects.to_dict(twin)
    assert copy.deepcopy(pod).requests == pod.requests


def test_deepcopy_keeps_sharing_within_the_object():
    node = objects.from_dict({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}})
    pair = copy.deepcopy([node, node])
    assert pair[0] is pair[1] and pair[0] == node
