"""The scheduling framework: plugin interfaces, ``Status``, ``CycleState``, ``NodeInfo``, the plugin
registry, KubeSchedulerConfiguration loading and the per-profile runtime. See docs/scheduling.md.

Modules: ``status`` (codes), ``cyclestate``, ``nodeinfo``, ``interfaces`` (one base class per extension
point, the ``Handle`` protocol), ``registry``, ``config``, ``runtime`` (``Framework``), ``waitingpods``
(Permit's waiting pods), ``errors``.
"""
from .config import (DEFAULT_SCHEDULER_NAME, PluginSpec, ProfileConfig, SchedulerConfiguration, load_config)
from .cyclestate import CycleState
from .errors import (ConfigError, InvalidArgument, NodeNotFound, PluginNotFound, PodNotFound, SchedulingError,
                     UnknownKind, UnknownProfile)
from .interfaces import (EXTENSION_POINTS, MAX_NODE_SCORE, MIN_NODE_SCORE, BindPlugin, ClusterEvent,
                         EnqueueExtensions, FilterPlugin, Handle, NodeScore, PermitPlugin, Plugin, PostBindPlugin,
                         PostFilterPlugin, PostFilterResult, PreBindPlugin, PreEnqueuePlugin, PreFilterExtensions,
                         PreFilterPlugin, PreFilterResult, PreScorePlugin, QueueSortPlugin, ReservePlugin,
                         ScorePlugin, SnapshotLister, TabledScores, default_normalize_score)
from .nodeinfo import HostPortInfo, ImageStateSummary, NodeInfo, normalized_image_name
from .registry import PluginFactory, Registry
from .runtime import Framework, PluginFailure
from .status import Code, Status, is_success
from .waitingpods import MAX_PERMIT_TIMEOUT, WaitingPod, WaitingPods

__all__ = [
    "DEFAULT_SCHEDULER_NAME", "PluginSpec", "ProfileConfig", "SchedulerConfiguration", "load_config",
    "CycleState", "ConfigError", "NodeNotFound", "PluginNotFound", "PodNotFound", "SchedulingError",
    "UnknownProfile", "UnknownKind", "InvalidArgument", "EXTENSION_POINTS", "MAX_NODE_SCORE", "MIN_NODE_SCORE",
    "BindPlugin",
    "ClusterEvent",
    "EnqueueExtensions", "FilterPlugin", "Handle", "NodeScore", "PermitPlugin", "Plugin", "PostBindPlugin",
    "PostFilterPlugin", "PostFilterResult", "PreBindPlugin", "PreEnqueuePlugin", "PreFilterExtensions",
    "PreFilterPlugin", "PreFilterResult", "PreScorePlugin", "QueueSortPlugin", "ReservePlugin", "ScorePlugin",
    "SnapshotLister", "TabledScores", "default_normalize_score", "HostPortInfo", "ImageStateSummary", "NodeInfo",
    "normalized_image_name", "PluginFactory", "Registry", "Framework", "PluginFailure", "Code", "Status",
    "is_success", "MAX_PERMIT_TIMEOUT", "WaitingPod", "WaitingPods",
]
