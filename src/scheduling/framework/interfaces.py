"""The plugin interfaces: one base class per kube-scheduler extension point, and the Handle plugins get.

A plugin is a class deriving from ``Plugin`` and from the base class of every extension point it
implements (``FilterPlugin``, ``ScorePlugin``, ...); it is built by its factory — usually the class itself —
as ``factory(args, handle)``, with ``args`` the plugin's ``pluginConfig`` dict (``{}`` when none) and
``handle`` the scheduler's ``Handle``. The runtime calls, per pod:

    PreEnqueue -> QueueSort (queue order) -> PreFilter -> Filter (per node) -> PostFilter (when no node fits)
    -> PreScore -> Score (per feasible node) -> NormalizeScore -> Reserve -> Permit -> PreBind -> Bind
    -> PostBind          (Unreserve when anything after Reserve fails)

Return conventions (Python spellings of the Go signatures):
  * a ``Status`` or ``None`` (success) from PreEnqueue, Filter, PreScore, NormalizeScore, Reserve, PreBind,
    Bind (``Status.skip()`` passes the pod to the next binder);
  * ``pre_filter`` returns ``(PreFilterResult | None, Status | None)``; ``Status.skip()`` means the plugin's
    Filter is not called for this pod;
  * ``score`` returns an ``int`` (raise to report an error); after NormalizeScore every score must be in
    0..100 (``MAX_NODE_SCORE``), and it is multiplied by the plugin's weight;
  * ``post_filter`` returns ``(PostFilterResult | None, Status)``; ``permit`` returns ``(Status | None,
    timeout_seconds)``.

Equivalence classes (how the scheduler avoids redoing work): a Filter/Score plugin whose results for a pod
depend only on the pod and on that one node's ``NodeInfo`` returns a hashable ``equivalence_key(pod)`` that
captures everything of the pod it reads; pods whose keys are equal for every such plugin share cached filter
statuses and raw scores per (node, ``NodeInfo.generation``). A plugin that reads anything else (other nodes,
other pods, the cluster size) returns ``None`` (the default): it then runs plainly for every node it is
asked about, every cycle. Keys must also capture whatever makes ``pre_filter`` / ``pre_score`` return Skip.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Hashable, Iterable, Iterator, Mapping, Optional, Protocol, Sequence

from .cyclestate import CycleState
from .errors import ConfigError
from .nodeinfo import NodeInfo
from .status import Status

if TYPE_CHECKING:  # pragma: no cover
    from ..queue import QueuedPodInfo

__all__ = [
    "MAX_NODE_SCORE", "MIN_NODE_SCORE", "Plugin", "PreEnqueuePlugin", "QueueSortPlugin", "PreFilterPlugin",
    "PreFilterExtensions", "FilterPlugin", "PostFilterPlugin", "PreScorePlugin", "ScorePlugin", "ReservePlugin",
    "PermitPlugin", "PreBindPlugin", "BindPlugin", "PostBindPlugin", "EnqueueExtensions", "PreFilterResult",
    "PostFilterResult", "NodeScore", "TabledScores", "ClusterEvent", "Handle", "SnapshotLister", "EXTENSION_POINTS",
    "default_normalize_score",
]

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


class ClusterEvent:
    """Event names a plugin can ask to be re-tried on (``EnqueueExtensions.events_to_register``)."""

    NODE_ADD = "NodeAdd"
    NODE_UPDATE = "NodeUpdate"
    NODE_DELETE = "NodeDelete"
    ASSIGNED_POD_ADD = "AssignedPodAdd"
    ASSIGNED_POD_UPDATE = "AssignedPodUpdate"
    ASSIGNED_POD_DELETE = "AssignedPodDelete"
    # Ours: kube-scheduler watches no namespaces, so a pod that a namespaceSelector kept out waits for its
    # 5-minute unschedulable sweep there (kubernetes/kubernetes#141953); named as its "<Resource><Change>" events.
    NAMESPACE_LABEL_CHANGE = "NamespaceLabelChange"
    ALL = (NODE_ADD, NODE_UPDATE, NODE_DELETE, ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE,
           NAMESPACE_LABEL_CHANGE)


class Plugin:
    """Base of every plugin. ``name`` is the registry name (``"NodeResourcesFit"``)."""

    name: ClassVar[str] = ""
    # True when equivalence_key reads cluster-wide values that change over time (ImageLocality's image
    # spread): the scheduler then recomputes the key every cycle instead of once per queued pod.
    equivalence_key_volatile: ClassVar[bool] = False
    # The args fields the plugin understands (its kube-scheduler <Name>Args); when set, any other field is a
    # ConfigError, as kube-scheduler's strict decoding. None: args are not checked here.
    args_fields: ClassVar[Optional[frozenset[str]]] = None

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Optional["Handle"] = None) -> None:
        self.args: Mapping[str, Any] = args or {}
        self.handle = handle
        known = type(self).args_fields
        if known is not None:
            for key in self.args:
                if key not in known:
                    raise ConfigError(f"{self.name}.args.{key}: unknown field (known: {', '.join(sorted(known))})")

    def equivalence_key(self, pod: Any) -> Optional[Hashable]:
        """What of ``pod`` this plugin's Filter/Score read, when they are node-local; None otherwise."""
        return None


class EnqueueExtensions:
    """A plugin that can make pods unschedulable names the cluster events that may make them fit again."""

    def events_to_register(self) -> Sequence[str]:
        return ClusterEvent.ALL


class PreEnqueuePlugin:
    """Gate a pod before it enters the active queue (SchedulingGates)."""

    def pre_enqueue(self, pod: Any) -> Optional[Status]:
        raise NotImplementedError


class QueueSortPlugin:
    """Order the active queue. ``sort_key`` (optional, faster) must agree with ``less``."""

    def less(self, a: "QueuedPodInfo", b: "QueuedPodInfo") -> bool:
        raise NotImplementedError

    def sort_key(self, info: "QueuedPodInfo") -> Optional[tuple]:
        """A key whose ``<`` order equals ``less``; None when the plugin only provides ``less``."""
        return None


class PreFilterResult:
    """PreFilter's answer: ``node_names`` the pod may go to (None: every node)."""

    __slots__ = ("node_names",)

    def __init__(self, node_names: Optional[Iterable[str]] = None) -> None:
        self.node_names: Optional[frozenset[str]] = None if node_names is None else frozenset(node_names)

    @property
    def all_nodes(self) -> bool:
        return self.node_names is None

    def merge(self, other: Optional["PreFilterResult"]) -> "PreFilterResult":
        """The intersection of two results (``PreFilterResult.Merge``)."""
        if other is None or other.node_names is None:
            return self
        if self.node_names is None:
            return other
        return PreFilterResult(self.node_names & other.node_names)

    def __repr__(self) -> str:
        return f"PreFilterResult({None if self.node_names is None else sorted(self.node_names)!r})"


class PreFilterExtensions:
    """Incremental updates of a PreFilter's state when preemption simulates adding/removing pods."""

    def add_pod(self, state: CycleState, pod_to_schedule: Any, pod_to_add: Any,
                node_info: NodeInfo) -> Optional[Status]:
        return None

    def remove_pod(self, state: CycleState, pod_to_schedule: Any, pod_to_remove: Any,
                   node_info: NodeInfo) -> Optional[Status]:
        return None


class PreFilterPlugin:
    """Compute per-pod state before filtering; may restrict the node set or reject the pod outright."""

    def pre_filter(self, state: CycleState, pod: Any,
                   nodes: Sequence[NodeInfo]) -> tuple[Optional[PreFilterResult], Optional[Status]]:
        raise NotImplementedError

    def pre_filter_extensions(self) -> Optional[PreFilterExtensions]:
        return None


class FilterPlugin:
    """Decide whether the pod can run on one node."""

    def filter(self, state: CycleState, pod: Any, node_info: NodeInfo) -> Optional[Status]:
        raise NotImplementedError

    def filter_nodes(self, state: CycleState, pod: Any,
                     nodes: Sequence[NodeInfo]) -> Optional[list[Optional[Status]]]:
        """Optional batch path for a plugin that is not node-local: what ``filter`` returns for each node of
        ``nodes``, in order, in one call. None (the default): the scheduler filters node by node."""
        return None


class PostFilterResult:
    """PostFilter's answer: the node nominated for the pod, and the pods preempted to make room."""

    __slots__ = ("nominated_node_name", "victims")

    def __init__(self, nominated_node_name: Optional[str] = None, victims: Sequence[Any] = ()) -> None:
        self.nominated_node_name = nominated_node_name
        self.victims: list[Any] = list(victims)

    def __repr__(self) -> str:
        return f"PostFilterResult({self.nominated_node_name!r}, victims={[v.key for v in self.victims]!r})"


class PostFilterPlugin:
    """Runs when no node passed Filter (DefaultPreemption). ``statuses`` maps node name -> Status."""

    def post_filter(self, state: CycleState, pod: Any,
                    statuses: Mapping[str, Status]) -> tuple[Optional[PostFilterResult], Status]:
        raise NotImplementedError


class PreScorePlugin:
    """Compute per-pod state for scoring, given the feasible nodes; Skip means Score is not called."""

    def pre_score(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        raise NotImplementedError


class TabledScores(Sequence[int]):
    """A batch of normalized scores given as a key per node and the score of each key (``table`` holds only
    keys some node has): what a plugin whose score depends on few values per node (PodTopologySpread: the
    node's domains) returns from ``tabled_scores(state, pod, nodes)``. The scheduler checks and weights the
    few table entries, then adds them to the totals in one pass, instead of a list built, scanned and
    multiplied node by node."""

    __slots__ = ("keys", "table")

    def __init__(self, keys: Sequence[Hashable], table: Mapping[Hashable, int]) -> None:
        self.keys = keys
        self.table = table

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.table[k] for k in self.keys[i]]
        return self.table[self.keys[i]]

    def __iter__(self) -> Iterator[int]:
        return map(self.table.__getitem__, self.keys)


class NodeScore:
    """One node's score in a NormalizeScore list."""

    __slots__ = ("name", "score")

    def __init__(self, name: str, score: int) -> None:
        self.name = name
        self.score = score

    def __repr__(self) -> str:
        return f"NodeScore({self.name!r}, {self.score})"


class ScorePlugin:
    """Rank feasible nodes. Override ``normalize_score`` to rescale raw scores into 0..100.

    A plugin whose ``normalize_score`` is exactly ``default_normalize_score(scores, reverse)`` may say so
    with ``default_normalize_reverse = reverse``: the scheduler then normalizes plain integer lists itself
    (same result, no NodeScore objects).
    """

    default_normalize_reverse: ClassVar[Optional[bool]] = None

    def score(self, state: CycleState, pod: Any, node_info: NodeInfo) -> int:
        raise NotImplementedError

    def normalize_score(self, state: CycleState, pod: Any, scores: list[NodeScore]) -> Optional[Status]:
        return None

    def normalized_scores(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[list[int]]:
        """Optional batch path for a plugin that is not node-local: the scores ``score`` on every node of
        ``nodes`` (the nodes PreScore saw) followed by ``normalize_score`` would give, in node order, in one
        call. None (the default): the scheduler scores node by node. ``score`` must still work alone
        (``explain`` calls it)."""
        return None

    @classmethod
    def has_normalize(cls) -> bool:
        return cls.normalize_score is not ScorePlugin.normalize_score


def default_normalize_score(scores: list[NodeScore], reverse: bool = False,
                            max_priority: int = MAX_NODE_SCORE) -> None:
    """``helper.DefaultNormalizeScore``: scale to 0..max by the highest score (and flip when ``reverse``)."""
    max_count = 0
    for s in scores:
        if s.score > max_count:
            max_count = s.score
    if max_count == 0:
        if reverse:
            for s in scores:
                s.score = max_priority
        return
    for s in scores:
        score = max_priority * s.score // max_count
        s.score = max_priority - score if reverse else score


class ReservePlugin:
    """Reserve resources for the pod on the chosen node; Unreserve undoes it on a later failure."""

    def reserve(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        raise NotImplementedError

    def unreserve(self, state: CycleState, pod: Any, node_name: str) -> None:
        return None


class PermitPlugin:
    """Approve, deny or delay (Wait, with a timeout) the binding."""

    def permit(self, state: CycleState, pod: Any, node_name: str) -> tuple[Optional[Status], float]:
        raise NotImplementedError


class PreBindPlugin:
    """Work that must be done before binding (volumes)."""

    def pre_bind(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        raise NotImplementedError


class BindPlugin:
    """Bind the pod to the node; return ``Status.skip()`` to let the next binder do it."""

    def bind(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        raise NotImplementedError


class PostBindPlugin:
    """Informational, after a successful bind."""

    def post_bind(self, state: CycleState, pod: Any, node_name: str) -> None:
        raise NotImplementedError


EXTENSION_POINTS: dict[str, type] = {
    "preEnqueue": PreEnqueuePlugin, "queueSort": QueueSortPlugin, "preFilter": PreFilterPlugin,
    "filter": FilterPlugin, "postFilter": PostFilterPlugin, "preScore": PreScorePlugin, "score": ScorePlugin,
    "reserve": ReservePlugin, "permit": PermitPlugin, "preBind": PreBindPlugin, "bind": BindPlugin,
    "postBind": PostBindPlugin,
}


class SnapshotLister(Protocol):
    """The cluster state plugins may read during a cycle (``framework.SharedLister``)."""

    def list(self) -> Sequence[NodeInfo]:
        """Every NodeInfo, in the order the scheduler examines nodes."""

    def get(self, node_name: str) -> NodeInfo:
        """One node's NodeInfo (``NodeNotFound`` when absent)."""

    def have_pods_with_affinity_list(self) -> Sequence[NodeInfo]:
        """NodeInfos with at least one pod that has pod (anti-)affinity terms."""

    def have_pods_with_required_anti_affinity_list(self) -> Sequence[NodeInfo]:
        """NodeInfos with at least one pod that has required anti-affinity terms."""

    def num_nodes(self) -> int:
        """How many nodes the cluster has."""

    def change_cursor(self) -> int:
        """A position in the node change log (for ``changes_since``)."""

    def changes_since(self, cursor: int) -> tuple[Optional[list[NodeInfo]], int]:
        """NodeInfos changed since ``cursor`` (each once) and the new cursor; None when the log was trimmed
        past ``cursor`` (recompute everything). O(changes), not O(nodes): incremental indexes should use
        this rather than scanning every node's generation. Node additions/removals bump
        ``topology_version`` instead of entering the log."""


class Handle(Protocol):
    """What plugins may use of the scheduler (``framework.Handle``).

    ``snapshot``: the ``SnapshotLister``; ``clock``: seconds as a float (injectable);
    ``framework(pod)``: the runtime ``Framework`` of the pod's profile (``run_filter_plugins``,
    ``run_pre_filter_extension_add_pod`` / ``remove_pod``, ...); ``bind_pod(pod, node_name)``: write the
    binding (DefaultBinder calls it); ``delete_pod(pod)``: evict a pod (preemption's victims);
    ``pod_disruption_budgets()``: the PDBs the scheduler knows; ``nominated_pods(node_name)``: pods nominated
    to a node by earlier preemptions; ``namespace_labels(name)``: a namespace's labels (none when unknown);
    ``namespace_labels_version()``: a number that changes whenever any namespace's labels change;
    ``selectors_for(pod)``: the selectors of the Services selecting the pod and of its controller
    (``scheduling.listers.ClusterObjects``, kube-scheduler's ``helper.DefaultSelector`` inputs);
    ``get_waiting_pod(uid)``, ``iterate_over_waiting_pods(fn)``, ``reject_waiting_pod(uid)``: the pods Permit
    plugins made wait (``waitingpods.WaitingPod``: ``pod``, ``get_pending_plugins()``, ``allow(plugin_name)``,
    ``reject(plugin_name, msg)``), keyed by UID ("namespace/name" for pods without one).
    """

    snapshot: SnapshotLister

    def clock(self) -> float: ...

    def framework(self, pod: Any) -> Any: ...

    def bind_pod(self, pod: Any, node_name: str) -> Optional[Status]: ...

    def delete_pod(self, pod: Any, preemptor: Any = None) -> None:
        """Remove ``pod``; as preemption's victim of ``preemptor``, first mark it ``DisruptionTarget=True``
        (reason PreemptionByScheduler), as kube-scheduler's prepareCandidate does."""

    def pod_disruption_budgets(self) -> Sequence[Any]: ...

    def nominated_pods(self, node_name: str) -> Sequence[Any]: ...

    def namespace_labels(self, name: str) -> Mapping[str, str]: ...

    def get_waiting_pod(self, uid: str) -> Any: ...

    def iterate_over_waiting_pods(self, fn: Any) -> None: ...

    def reject_waiting_pod(self, uid: str) -> bool: ...

    def namespace_labels_version(self) -> int: ...

    def selectors_for(self, pod: Any) -> Sequence[Any]: ...
