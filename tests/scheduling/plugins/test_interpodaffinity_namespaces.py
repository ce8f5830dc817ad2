"""InterPodAffinity's namespaceSelector with the Scheduler feeding namespace labels (Scheduler.add_object and
Scheduler.run(registry)): the Kubernetes docs' rules — the term applies to the union of ``namespaces`` and the
namespaces ``namespaceSelector`` selects; ``{}`` selects every namespace; neither means the pod's own
namespace — and a namespace label change retries the pods it may let in."""
from __future__ import annotations

import pathlib
import sys
import threading
import time
from typing import Any

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod, pod_affinity, term  # noqa: E402

from scheduling import Scheduler  # noqa: E402

HOST = "kubernetes.io/hostname"
CACHE = {"matchLabels": {"app": "cache"}}


def namespace(name: str, **labels: str) -> Any:
    return objects.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})


def _cluster(*namespaces: Any) -> Scheduler:
    """Three nodes; a cache pod on n0 in "backend" and on n1 in "sandbox"; nothing on n2."""
    s = Scheduler(config={"percentageOfNodesToScore": 100})
    for ns in namespaces:
        s.add_object(ns)
    for i in range(3):
        s.add_node(node(f"n{i}"))
    s.add_pod(pod("cache-a", namespace="backend", labels={"app": "cache"}, node_name="n0"))
    s.add_pod(pod("cache-b", namespace="sandbox", labels={"app": "cache"}, node_name="n1"))
    return s


def _place(s: Scheduler, p: Any) -> Any:
    s.add_pod(p)
    (result,) = s.schedule_pending()
    return result


def test_namespace_selector_picks_the_namespaces_by_their_labels() -> None:
    s = _cluster(namespace("backend", team="storage"), namespace("sandbox", team="play"), namespace("web"))
    web = pod("web", namespace="web", **pod_affinity(required=[
        term(CACHE, HOST, namespaceSelector={"matchLabels": {"team": "storage"}})]))
    assert _place(s, web).node_name == "n0"


def test_without_namespaces_or_selector_the_term_means_the_pods_own_namespace() -> None:
    s = _cluster(namespace("backend", team="storage"), namespace("sandbox", team="play"))
    result = _place(s, pod("web", namespace="sandbox", **pod_affinity(required=[term(CACHE, HOST)])))
    assert result.node_name == "n1"
    lonely = _place(s, pod("lonely", namespace="web", **pod_affinity(required=[term(CACHE, HOST)])))
    assert lonely.node_name is None
    assert "didn't match pod affinity rules" in lonely.message


def test_an_empty_namespace_selector_selects_every_namespace() -> None:
    s = _cluster(namespace("backend", team="storage"), namespace("sandbox"))
    # Anti-affinity toward cache pods of any namespace: only n2 has none.
    p = pod("loner", namespace="web", **pod_affinity(required=[term(CACHE, HOST, namespaceSelector={})], anti=True))
    assert _place(s, p).node_name == "n2"


def test_namespaces_and_namespace_selector_are_unioned() -> None:
    s = _cluster(namespace("backend", team="storage"), namespace("sandbox", team="play"))
    p = pod("loner", namespace="web", **pod_affinity(required=[
        term(CACHE, HOST, namespaces=["sandbox"], namespaceSelector={"matchLabels": {"team": "storage"}})], anti=True))
    assert _place(s, p).node_name == "n2"
    q = pod("other", namespace="web", **pod_affinity(required=[
        term(CACHE, HOST, namespaces=["sandbox"], namespaceSelector={"matchLabels": {"team": "none"}})], anti=True))
    s.add_pod(q)
    assert s.schedule_pending()[0].node_name in ("n0", "n2")


def test_a_namespace_label_change_retries_the_pods_it_may_let_in() -> None:
    s = _cluster(namespace("backend"), namespace("sandbox"))
    web = pod("web", namespace="web", **pod_affinity(required=[
        term(CACHE, HOST, namespaceSelector={"matchLabels": {"team": "storage"}})]))
    assert _place(s, web).node_name is None
    assert s.queue.unschedulable_count == 1
    s.update_object(namespace("sandbox"))  # labels unchanged: no event, the pod keeps waiting
    assert s.queue.unschedulable_count == 1 and s.schedule_pending() == []
    s.update_object(namespace("sandbox", team="storage"))
    (result,) = s.schedule_pending(include_backoff=True)
    assert result.node_name == "n1"


def test_through_a_registry_listed_at_start_and_watched_while_running(tmp_path: pathlib.Path) -> None:
    store = kvstore.open(str(tmp_path / "db"))
    try:
        registry = objects.Registry(store)
        for name, labels in (("backend", {"team": "storage"}), ("sandbox", {}), ("web", {})):
            registry.create(namespace(name, **labels))
        for i in range(3):
            registry.create(node(f"n{i}"))
        registry.create(pod("cache-a", namespace="backend", labels={"app": "cache"}, node_name="n0"))
        registry.create(pod("cache-b", namespace="sandbox", labels={"app": "cache"}, node_name="n1"))
        selector = {"matchExpressions": [{"key": "team", "operator": "In", "values": ["storage"]}]}
        registry.create(pod("web", namespace="web", **pod_affinity(required=[
            term(CACHE, HOST, namespaceSelector=selector)], anti=True)))
        registry.create(pod("near", namespace="web", **pod_affinity(required=[
            term(CACHE, HOST, namespaceSelector={"matchLabels": {"team": "play"}})])))
        s = Scheduler(config={"percentageOfNodesToScore": 100})
        assert s.run(registry, until_idle=True, timeout=30) == 1
        assert registry.get("Pod", "web", "web").spec.node_name in ("n1", "n2")
        assert registry.get("Pod", "near", "web").spec.node_name is None

        stop = threading.Event()
        worker = threading.Thread(target=lambda: s.run(registry, stop=stop, timeout=60))
        worker.start()
        try:
            sandbox = registry.get("Namespace", "sandbox")
            registry.update(sandbox.replace(metadata=sandbox.metadata.replace(labels={"team": "play"})))
            deadline = time.monotonic() + 30
            while registry.get("Pod", "near", "web").spec.node_name is None and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            stop.set()
            worker.join(30)
        assert not worker.is_alive()
        assert registry.get("Pod", "near", "web").spec.node_name == "n1"
    finally:
        store.close()
