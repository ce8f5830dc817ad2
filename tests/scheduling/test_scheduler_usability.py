"""Issue 15, scheduling: typed errors for wrong input, remove_* by name or object, unknown plugin names in the
config refused, and the call that attempts a pod right after a fix."""
from __future__ import annotations

import pathlib
import sys

import pytest

import kvstore
import objects

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from refbuilders import node, pod  # noqa: E402

from scheduling import (InvalidArgument, NodeNotFound, PluginNotFound, PodNotFound, Scheduler,  # noqa: E402
                        SchedulingError)


@pytest.mark.parametrize("call,message", [
    (lambda s: s.add_node(pod("web")), "add_node: node must be an objects.Node, got Pod 'default/web'"),
    (lambda s: s.update_node({"kind": "Node"}), "update_node: node must be an objects.Node, got dict"),
    (lambda s: s.add_pod(node("a")), "add_pod: pod must be an objects.Pod, got Node 'a'"),
    (lambda s: s.update_pod("web"), "update_pod: pod must be an objects.Pod, got str"),
    (lambda s: s.explain({"kind": "Pod"}), r"explain: pod must be an objects.Pod, got dict \(objects.from_dict"),
    (lambda s: s.remove_pod(5), "remove_pod: pod must be an objects.Pod, a \"namespace/name\" key or a name"),
    (lambda s: s.remove_node(None), "remove_node: node must be an objects.Node or a node name, got NoneType"),
])
def test_wrong_input_is_a_typed_error_and_changes_nothing(call, message):
    s = Scheduler()
    s.add_node(node("a"))
    with pytest.raises(InvalidArgument, match=message) as caught:
        call(s)
    assert isinstance(caught.value, SchedulingError) and isinstance(caught.value, TypeError)
    assert [ni.name for ni in s.cache.list()] == ["a"] and s.pending == 0 and list(s.cache.pods()) == []


def test_run_needs_a_registry_not_a_store():
    store = kvstore.open()
    try:
        with pytest.raises(InvalidArgument, match=r"run: registry must be an objects.Registry \(or offer its "
                                                  r"list, watch, bind, patch_status, delete\), got Store"):
            Scheduler().run(store, until_idle=True, timeout=5)
    finally:
        store.close()


def test_remove_pod_and_remove_node_take_a_name_or_the_object():
    s = Scheduler()
    s.add_node(node("a"))
    s.add_node(node("b"))
    s.add_pod(pod("queued"))
    s.add_pod(pod("bound", node_name="a"))
    s.add_pod(pod("other", namespace="prod", node_name="a"))
    s.remove_pod("queued")                                             # a name: namespace "default"
    s.remove_pod("default/bound")                                      # a key
    s.remove_pod(pod("other", namespace="prod"))                       # the object
    assert s.pending == 0 and list(s.cache.pods()) == []
    with pytest.raises(PodNotFound, match="'default/queued'"):
        s.remove_pod("queued")
    s.remove_node(node("b"))                                           # the object
    s.remove_node("a")                                                 # the name
    assert list(s.cache.list()) == []
    with pytest.raises(NodeNotFound):
        s.remove_node("a")


@pytest.mark.parametrize("config,where", [
    ({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "ImageLocallity"}]}}}]},
     r"plugins.multiPoint.disabled: plugin 'ImageLocallity': not found in the registry \(known: .*ImageLocality"),
    ({"profiles": [{"plugins": {"score": {"disabled": [{"name": "NodeResourceFit"}]}}}]},
     "plugins.score.disabled: plugin 'NodeResourceFit'"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFitt", "args": {}}]}]},
     "pluginConfig: plugin 'NodeResourcesFitt'"),
    ({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "Nope"}]}}}]}, "plugin 'Nope'"),
])
def test_unknown_plugin_names_in_the_config_are_refused(config, where):
    with pytest.raises(PluginNotFound, match=where):
        Scheduler(config)


def test_in_tree_plugins_borgkit_lacks_stay_accepted():
    config = {"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "VolumeBinding"}, {"name": "*"}]},
                                        "filter": {"disabled": [{"name": "NodeVolumeLimits"}]}},
                            "pluginConfig": [{"name": "VolumeBinding", "args": {"bindTimeoutSeconds": 600}}]}]}
    config["profiles"][0]["plugins"]["multiPoint"]["enabled"] = [
        {"name": n} for n in ("PrioritySort", "NodeResourcesFit", "DefaultBinder")]
    s = Scheduler(config)
    assert "NodeResourcesFit" in [p.name for p in s.framework("default-scheduler").filter_plugins]


def test_right_after_a_fix_the_pod_backs_off_and_include_backoff_attempts_it():
    clock = [100.0]
    s = Scheduler(clock=lambda: clock[0])
    s.add_node(node("small", cpu="1"))
    s.add_pod(pod("big", cpu="2"))
    [failed] = s.schedule_pending()
    assert failed.node_name is None and "Insufficient cpu" in failed.message
    s.add_node(node("large", cpu="4"))                                 # the fix
    assert s.schedule_pending() == []                                  # still backing off: documented
    [bound] = s.schedule_pending(include_backoff=True)
    assert (bound.pod.key, bound.node_name) == ("default/big", "large")
    assert "include_backoff=True" in Scheduler.schedule_pending.__doc__
