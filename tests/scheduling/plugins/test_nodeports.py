"""NodePorts: host ports must be free; 0.0.0.0 clashes with every IP of the same protocol and port."""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from refbuilders import node, pod  # noqa: E402

from scheduling import Scheduler  # noqa: E402
from scheduling.framework import CycleState, NodeInfo  # noqa: E402
from scheduling.plugins import NodePorts  # noqa: E402


def _port(host_port: int, ip: str = "", protocol: str = "TCP") -> list:
    port = {"containerPort": 80, "hostPort": host_port, "protocol": protocol}
    if ip:
        port["hostIP"] = ip
    return [port]


def test_conflicts() -> None:
    info = NodeInfo(node("n"))
    info.add_pod(pod("a", node_name="n", ports=_port(8080, "10.0.0.1")))
    plugin = NodePorts()
    assert plugin.filter(CycleState(), pod("b", ports=_port(8080)), info).reasons == (
        "node(s) didn't have free ports for the requested pod ports",)
    assert plugin.filter(CycleState(), pod("c", ports=_port(8080, "10.0.0.2")), info) is None
    assert plugin.filter(CycleState(), pod("d", ports=_port(8080, protocol="UDP")), info) is None
    assert plugin.pre_filter(CycleState(), pod("e"), [])[1].is_skip


def test_two_pods_with_one_host_port_spread_and_the_third_waits() -> None:
    s = Scheduler({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "DefaultPreemption"}]}}}]})
    s.add_node(node("a"))
    s.add_node(node("b"))
    for i in range(3):
        s.add_pod(pod(f"p{i}", ports=_port(80)))
    results = s.schedule_pending()
    assert sorted(r.node_name for r in results[:2]) == ["a", "b"]
    assert results[2].message == ("0/2 nodes are available: 2 node(s) didn't have free ports for the requested "
                                  "pod ports.")
