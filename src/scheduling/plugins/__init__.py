"""The default plugins, one module each, and ``default_registry()``: plugin name -> factory.

Names and default weights are kube-scheduler's (see ``framework.config.DEFAULT_MULTI_POINT``).
"""
from __future__ import annotations

from ..framework import Registry
from .balancedallocation import NodeResourcesBalancedAllocation
from .defaultbinder import DefaultBinder
from .imagelocality import ImageLocality
from .nodeaffinity import NodeAffinity
from .nodename import NodeName
from .nodeports import NodePorts
from .noderesources import NodeResourcesFit
from .nodeunschedulable import NodeUnschedulable
from .prioritysort import PrioritySort
from .schedulinggates import SchedulingGates
from .tainttoleration import TaintToleration

__all__ = ["default_registry", "DEFAULT_PLUGINS", "PrioritySort", "SchedulingGates", "NodeUnschedulable",
           "NodeName", "NodePorts", "NodeResourcesFit", "NodeResourcesBalancedAllocation", "NodeAffinity",
           "TaintToleration", "ImageLocality", "DefaultBinder"]

DEFAULT_PLUGINS: dict[str, type] = {
    "PrioritySort": PrioritySort,
    "SchedulingGates": SchedulingGates,
    "NodeUnschedulable": NodeUnschedulable,
    "NodeName": NodeName,
    "NodePorts": NodePorts,
    "NodeResourcesFit": NodeResourcesFit,
    "NodeResourcesBalancedAllocation": NodeResourcesBalancedAllocation,
    "NodeAffinity": NodeAffinity,
    "TaintToleration": TaintToleration,
    "ImageLocality": ImageLocality,
    "DefaultBinder": DefaultBinder,
}


def _optional_plugins() -> dict[str, type]:
    """The cluster-wide plugins (InterPodAffinity, PodTopologySpread, DefaultPreemption), when present."""
    found: dict[str, type] = {}
    from .defaultpreemption import DefaultPreemption
    from .interpodaffinity import InterPodAffinity
    from .podtopologyspread import PodTopologySpread
    found.update(InterPodAffinity=InterPodAffinity, PodTopologySpread=PodTopologySpread,
                 DefaultPreemption=DefaultPreemption)
    return found


def default_registry() -> Registry:
    """A fresh registry with every default plugin; add your own with ``register``."""
    return Registry({**DEFAULT_PLUGINS, **_optional_plugins()})
