"""borgkit controllers: the reconciliation loop, as kube-controller-manager runs it.

:class:`ControllerManager` runs the controllers of the table (:data:`DEFAULT_CONTROLLERS`) on a
:class:`objects.Registry`: shared :class:`Informer` caches (list + watch), a rate-limited
:class:`WorkQueue` of keys per controller, and workers calling each controller's ``sync``. See
docs/controllers.md.
"""
from objects.leaderelection import LeaderElection  # re-exported: controllers.LeaderElection

from .controller import Controller
from .events import NORMAL, WARNING, EventRecorder
from .expectations import EXPECTATIONS_TTL, ControllerExpectations
from .hollownodes import HollowNode, HollowNodes
from .informer import Informer, Lister, SharedInformers
from .keys import object_key, split_key
from .manager import ControllerManager
from .metrics import ControllerMetrics, MetricsUnavailable
from .table import DEFAULT_CONTROLLERS, register_controller, resolve_controllers
from .workqueue import WorkQueue

# The controllers: each module registers itself in DEFAULT_CONTROLLERS.
from . import endpoints, endpointslice, garbagecollector, job, replicaset  # noqa: E402,F401  (isort: skip)
from . import daemonset, deployment, statefulset  # noqa: E402,F401  (isort: skip)
from . import nodelifecycle, tainteviction  # noqa: E402,F401  (isort: skip)

__all__ = [
    "ControllerManager", "Controller", "DEFAULT_CONTROLLERS", "register_controller", "resolve_controllers",
    "Informer", "Lister", "SharedInformers", "WorkQueue", "ControllerExpectations", "EXPECTATIONS_TTL",
    "EventRecorder", "NORMAL", "WARNING", "ControllerMetrics", "MetricsUnavailable", "object_key", "split_key",
    "LeaderElection", "HollowNodes", "HollowNode",
]
