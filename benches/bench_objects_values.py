"""Speed of the objects hot paths: selector matching, toleration checks, quantity parsing, registry ops.

    python -m pytest benches/bench_objects_values.py --benchmark-only   # pytest-benchmark
    python benches/bench_objects_values.py                              # one table, references alongside

Each row pairs our code with a reference measured in the same run: a straightforward interpreter of the
selector's dict form (what a direct port would do on every call), decimal.Decimal parsing, and the raw
kvstore operation under the registry.
"""
from __future__ import annotations

import decimal
import sys
import time
from typing import Any, Callable

import kvstore
import objects
from objects import LabelSelector, NodeSelector, Quantity, Taint, Toleration
from objects.registry import UNSTRUCTURED, Registry

LABELS = {"app": "web", "tier": "frontend", "env": "prod", "zone": "us-east-1a", "kubernetes.io/hostname": "n1"}
SELECTOR_DICT = {"matchLabels": {"app": "web", "tier": "frontend"},
                 "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]},
                                      {"key": "canary", "operator": "DoesNotExist"}]}
MATCH_LABELS_ONLY = {"matchLabels": {"app": "web", "tier": "frontend"}}
NODE_SELECTOR = {"nodeSelectorTerms": [{"matchExpressions": [
    {"key": "zone", "operator": "In", "values": ["us-east-1a", "us-east-1b"]},
    {"key": "gpu", "operator": "DoesNotExist"}]}]}
TAINTS = [Taint("dedicated", "db", "NoSchedule"), Taint("node.kubernetes.io/unreachable", "", "NoExecute")]
TOLERATIONS = [Toleration("dedicated", "Equal", "web", "NoSchedule"),
               Toleration("node.kubernetes.io/unreachable", "Exists", "", "NoExecute", 300)]


def naive_selector_match(d: dict[str, Any], labels: dict[str, str]) -> bool:
    """Reference: interpret the selector's dict form on every call."""
    for k, v in (d.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for r in d.get("matchExpressions") or []:
        present = r["key"] in labels
        op = r["operator"]
        if op == "In" and not (present and labels[r["key"]] in r["values"]):
            return False
        if op == "NotIn" and present and labels[r["key"]] in r["values"]:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def naive_tolerates(tol: dict[str, Any], taint: dict[str, Any]) -> bool:
    """Reference: ToleratesTaint over plain dicts."""
    if tol.get("effect") and tol["effect"] != taint["effect"]:
        return False
    if tol.get("key") and tol["key"] != taint["key"]:
        return False
    op = tol.get("operator") or "Equal"
    return op == "Exists" or (op == "Equal" and tol.get("value", "") == taint.get("value", ""))


# ------------------------------------------------------------------ pytest-benchmark
def test_label_selector_matches(benchmark: Any) -> None:
    sel = LabelSelector.from_dict(SELECTOR_DICT)
    assert benchmark(sel.matches, LABELS)


def test_label_selector_matches_reference(benchmark: Any) -> None:
    assert benchmark(naive_selector_match, SELECTOR_DICT, LABELS)


def test_match_labels_only(benchmark: Any) -> None:
    sel = LabelSelector.from_dict(MATCH_LABELS_ONLY)
    assert benchmark(sel.matches, LABELS)


def test_node_selector_matches(benchmark: Any) -> None:
    sel = NodeSelector.from_dict(NODE_SELECTOR)
    assert benchmark(sel.matches, LABELS, {"metadata.name": "n1"})


def test_toleration_tolerates(benchmark: Any) -> None:
    tol, taint = TOLERATIONS[1], TAINTS[1]
    assert benchmark(tol.tolerates, taint)


def test_quantity_parse_uncached(benchmark: Any) -> None:
    from objects import quantity
    def parse() -> Quantity:
        quantity._parse.cache_clear()
        return Quantity("1536Mi")
    benchmark(parse)


def test_registry_create(benchmark: Any) -> None:
    store = kvstore.open()
    reg = Registry(store, codec=UNSTRUCTURED)
    counter = iter(range(10**9))
    benchmark(lambda: reg.create({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": f"c{next(counter)}"}, "data": {"a": "b"}}))
    store.close()


# ------------------------------------------------------------------ table script
def rate(fn: Callable[[], Any], seconds: float = 0.5) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    n, batch = 0, 1
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        n += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed
        batch = min(batch * 2, 100_000)


def main() -> None:
    from objects import quantity

    sel = LabelSelector.from_dict(SELECTOR_DICT)
    only = LabelSelector.from_dict(MATCH_LABELS_ONLY)
    node_sel = NodeSelector.from_dict(NODE_SELECTOR)
    tol_dicts = [t.to_dict() for t in TOLERATIONS]
    taint_dicts = [t.to_dict() for t in TAINTS]

    def parse_uncached() -> Any:
        quantity._parse.cache_clear()
        return Quantity("1536Mi")

    store = kvstore.open()
    reg = Registry(store)
    counter = iter(range(10**9))
    pod = objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"containers": [{"name": "c", "image": "i",
                                                      "resources": {"requests": {"cpu": "100m"}}}]}})
    reg.create(pod)
    uncached = Registry(store)
    uncached._recent = None  # measure the decode a revision costs the first time it is read
    payload = b"x" * 400

    rows = [
        ("LabelSelector.matches (2 labels + 2 exprs)", lambda: sel.matches(LABELS),
         "dict-form interpreter", lambda: naive_selector_match(SELECTOR_DICT, LABELS)),
        ("LabelSelector.matches (matchLabels only)", lambda: only.matches(LABELS),
         "dict-form interpreter", lambda: naive_selector_match(MATCH_LABELS_ONLY, LABELS)),
        ("NodeSelector.matches (1 term, 2 exprs)", lambda: node_sel.matches(LABELS, {"metadata.name": "n1"}),
         "dict-form interpreter", lambda: naive_selector_match({"matchExpressions": NODE_SELECTOR[
             "nodeSelectorTerms"][0]["matchExpressions"]}, LABELS)),
        ("2 tolerations x 2 taints", lambda: [any(t.tolerates(x) for t in TOLERATIONS) for x in TAINTS],
         "same over dicts", lambda: [any(naive_tolerates(t, x) for t in tol_dicts) for x in taint_dicts]),
        ('Quantity("1536Mi") uncached parse', parse_uncached,
         'decimal.Decimal("1536")', lambda: decimal.Decimal("1536")),
        ('Quantity("1536Mi") cached parse', lambda: Quantity("1536Mi"),
         'decimal.Decimal("1536")', lambda: decimal.Decimal("1536")),
        ("Registry.get (Pod, revision already decoded)", lambda: reg.get("Pod", "p"),
         "kvstore get of the same key", lambda: store.get("/registry/pods/default/p")),
        ("Registry.get (Pod, decode + validate)", lambda: uncached.get("Pod", "p"),
         "kvstore get of the same key", lambda: store.get("/registry/pods/default/p")),
        ("Registry.create (ConfigMap, models codec)",
         lambda: reg.create(objects.from_dict({"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": f"c{next(counter)}"}, "data": {"a": "b"}})),
         "kvstore put of 400 bytes", lambda: store.put(f"/bench/{next(counter)}", payload)),
    ]
    print(f"{'operation':46} {'ops/s':>12}   {'reference':30} {'ops/s':>12} {'ratio':>6}")
    for name, fn, ref_name, ref in rows:
        # Interleaved, best of 5: the machine is shared, so take each side's least-disturbed window.
        ours = theirs = 0.0
        for _ in range(5):
            ours, theirs = max(ours, rate(fn, 0.15)), max(theirs, rate(ref, 0.15))
        print(f"{name:46} {ours:12,.0f}   {ref_name:30} {theirs:12,.0f} {ours / theirs:6.2f}")
    store.close()
    ours, theirs = watch_replay_rates(2000)
    print(f"{'Registry.watch replay of 2,000 pod writes':46} {ours:12,.0f}   {'kvstore watch, same events':30} "
          f"{theirs:12,.0f} {ours / theirs:6.2f}")


def watch_replay_rates(count: int) -> tuple[float, float]:
    """Events/s replaying ``count`` pod creations through a Registry watch, and through the raw store watch."""
    store = kvstore.open()
    reg = Registry(store)
    for i in range(count):
        reg.create(objects.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}}))
    rates = []
    for make in (lambda: reg.watch("Pod", resource_version="1"),
                 lambda: store.watch("/registry/pods/", prefix=True, start_revision=2, prev_kv=True)):
        start = time.perf_counter()
        stream = make()
        for _ in range(count):
            if stream.get(5.0) is None:
                break
        rates.append(count / (time.perf_counter() - start))
        stream.cancel() if hasattr(stream, "cancel") else stream.stop()
    store.close()
    return rates[0], rates[1]


if __name__ == "__main__":
    sys.exit(main())
