"""Strategic merge patch: properties against JSON merge patch, and the list rules."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from apiserver.strategicmerge import strategic_merge
from objects.mergepatch import merge_patch

_keys = st.sampled_from(["a", "b", "c", "spec", "metadata", "labels"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))
_no_lists = st.recursive(_scalars, lambda children: st.dictionaries(_keys, children, max_size=4), max_leaves=12)
_objects = st.dictionaries(_keys, _no_lists, max_size=4)


@settings(max_examples=100, deadline=None)
@given(_objects, _objects)
def test_without_lists_it_is_a_json_merge_patch(original: dict, patch: dict) -> None:
    assert strategic_merge(original, patch, "Pod") == merge_patch(original, patch)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4),
       st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4),
       st.lists(st.text(max_size=2), max_size=3))
def test_merge_keyed_lists_keep_unpatched_items_and_atomic_lists_are_replaced(
        before: list[str], patched: list[str], tolerations: list[str]) -> None:
    original = {"spec": {"containers": [{"name": n, "image": "old"} for n in before],
                         "tolerations": [{"key": "old"}]}}
    patch = {"spec": {"containers": [{"name": n, "image": "new"} for n in patched],
                      "tolerations": [{"key": t} for t in tolerations]}}
    result = strategic_merge(original, patch, "Pod")
    images = {c["name"]: c["image"] for c in result["spec"]["containers"]}
    assert [c["name"] for c in result["spec"]["containers"]] == before + [n for n in patched if n not in before]
    assert images == {**{n: "old" for n in before}, **{n: "new" for n in patched}}
    assert result["spec"]["tolerations"] == [{"key": t} for t in tolerations]
    assert original["spec"]["containers"] == [{"name": n, "image": "old"} for n in before]  # input unchanged


def test_directives() -> None:
    original = {"spec": {"containers": [{"name": "a", "image": "1", "ports": [{"containerPort": 80}]},
                                        {"name": "b", "image": "2"}]},
                "metadata": {"finalizers": ["x", "y"], "labels": {"k": "v", "drop": "me"}}}
    result = strategic_merge(original, {
        "spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                 "containers": [{"name": "a", "ports": [{"containerPort": 80, "$patch": "delete"}]}]},
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "labels": {"$patch": "replace", "n": "1"}}},
        "Pod")
    assert [c["name"] for c in result["spec"]["containers"]] == ["b", "a"]
    assert result["spec"]["containers"][1]["ports"] == []
    assert result["metadata"]["finalizers"] == ["y"] and result["metadata"]["labels"] == {"n": "1"}
    service = strategic_merge({"spec": {"ports": [{"port": 80, "name": "http"}]}},
                              {"spec": {"ports": [{"port": 443, "name": "https"}]}}, "Service")
    assert [p["port"] for p in service["spec"]["ports"]] == [80, 443]
    retained = strategic_merge({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
                               {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "Deployment")
    assert retained["spec"]["strategy"] == {"type": "Recreate"}
