"""borgkit scheduling: a kube-scheduler-style filter/score framework with the default plugins, the
scheduling queue, the cache and the ``Scheduler``. See docs/scheduling.md.

    from scheduling import Scheduler
    s = Scheduler()                      # the default profile, kube-scheduler's plugins and weights
    s.add_node(node); s.add_pod(pod)
    for result in s.schedule_pending():
        print(result.pod.key, result.node_name or result.message)
"""
from .cache import Cache
from .cycle.explain import Explanation, NodeVerdict
from .framework import (ConfigError, InvalidArgument, NodeInfo, NodeNotFound, PluginNotFound, PodNotFound, Registry,
                        SchedulingError, Status, UnknownKind, UnknownProfile, load_config)
from .metrics import Metrics
from .plugins import default_registry
from .queue import QueuedPodInfo, SchedulingQueue
from .scheduler import ScheduleResult, Scheduler, fit_error_message, num_feasible_nodes_to_find

__all__ = [
    "Scheduler", "ScheduleResult", "Explanation", "NodeVerdict", "Metrics", "Cache", "NodeInfo",
    "SchedulingQueue", "QueuedPodInfo", "Registry", "default_registry", "load_config", "Status",
    "SchedulingError", "ConfigError", "PluginNotFound", "UnknownProfile", "UnknownKind", "NodeNotFound",
    "PodNotFound", "InvalidArgument", "fit_error_message", "num_feasible_nodes_to_find",
]
