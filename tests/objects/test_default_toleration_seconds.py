"""DefaultTolerationSeconds admission: pods created through the Registry tolerate the not-ready and
unreachable NoExecute taints for 300 s unless they say otherwise; updates keep what admission added."""
from __future__ import annotations

import kvstore
import objects

DEFAULTS = [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}]


def _pod(name: str, tolerations=None):
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return objects.from_dict({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": name, "namespace": "default"}, "spec": spec})


def _tolerations(obj):
    return objects.to_dict(obj)["spec"].get("tolerations")


def test_created_pods_get_the_default_tolerations_unless_they_have_their_own() -> None:
    store = kvstore.open()
    registry = objects.Registry(store)
    assert _tolerations(registry.create(_pod("plain"))) == DEFAULTS
    own = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 5}
    assert _tolerations(registry.create(_pod("own", [own]))) == [own, DEFAULTS[0]]
    everything = {"operator": "Exists"}  # an empty key and effect tolerate both taints forever
    assert _tolerations(registry.create(_pod("all", [everything]))) == [everything]
    no_schedule = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}
    assert _tolerations(registry.create(_pod("ns", [no_schedule]))) == [no_schedule] + DEFAULTS
    # reading and plain defaulting do not run admission
    assert _tolerations(objects.apply_defaults(_pod("x"))) is None
    store.close()


def test_an_update_without_them_keeps_what_admission_added() -> None:
    store = kvstore.open()
    registry = objects.Registry(store)
    created = registry.create(_pod("web"))
    mine = _pod("web")
    mine = mine.replace(metadata=mine.metadata.replace(labels={"a": "b"}))
    updated = registry.update(mine)
    assert _tolerations(updated) == DEFAULTS
    assert updated.metadata.generation == created.metadata.generation
    store.close()
