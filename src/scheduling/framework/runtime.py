"""``Framework``: one profile's plugins, instantiated, ordered per extension point, and run.

The runtime knows no plugin by name: it builds each enabled plugin once from the registry (one instance
serves every extension point it implements), keeps the plugins of each point in configuration order, and
runs them with kube-scheduler's rules: Filter stops at the first non-success status, PreFilter results are
intersected, Score is weighted after NormalizeScore, Bind stops at the first binder that does not Skip.

The scheduler's fast path (``scheduler.py``) reads ``filter_plugins`` / ``score_plugins`` and their
``equivalence_key`` to cache node-local results; ``run_filter_plugins`` and ``run_score_plugins`` are the
plain definitions (used by ``explain``, preemption and exact checks).
"""
from __future__ import annotations

import time

from typing import Any, Callable, Hashable, Mapping, Optional, Sequence

from .config import PluginSpec, ProfileConfig, is_known_absent, resolve_plugins, DEFAULT_MULTI_POINT
from .cyclestate import CycleState
from .errors import ConfigError, PluginNotFound
from .interfaces import (EXTENSION_POINTS, MAX_NODE_SCORE, MIN_NODE_SCORE, NodeScore, PostFilterResult,
                         PreFilterResult, QueueSortPlugin)
from .nodeinfo import NodeInfo
from .registry import Registry
from .status import Code, Status
from .waitingpods import WaitingPod, WaitingPods

__all__ = ["Framework", "ScoredPlugin", "PluginFailure"]

_DEFAULT_NAMES = frozenset(name for name, _ in DEFAULT_MULTI_POINT)


class ScoredPlugin:
    """A score plugin with its weight and whether it normalizes."""

    __slots__ = ("plugin", "name", "weight", "normalizes")

    def __init__(self, plugin: Any, weight: int) -> None:
        self.plugin = plugin
        self.name: str = plugin.name
        self.weight = weight
        self.normalizes: bool = type(plugin).has_normalize()


def _points_of(cls: type) -> set[str]:
    return {point for point, base in EXTENSION_POINTS.items() if issubclass(cls, base)}


class Framework:
    """The runtime of one profile (``frameworkImpl``)."""

    def __init__(self, profile: ProfileConfig, registry: Registry, handle: Any,
                 global_percentage: int = 0, waiting_pods: Optional[WaitingPods] = None) -> None:
        self.profile_name = profile.scheduler_name
        self.handle = handle
        # Shared by every profile of a scheduler, as kube-scheduler shares its waitingPods map.
        self.waiting_pods = waiting_pods if waiting_pods is not None else WaitingPods(
            getattr(handle, "clock", None) or time.monotonic)
        percentage = profile.percentage_of_nodes_to_score
        self.percentage_of_nodes_to_score: int = global_percentage if percentage is None else percentage
        self._plugins: dict[str, Any] = {}
        implements: dict[str, set[str]] = {}
        explicit: set[str] = {s.name for s in profile.multi_point_enabled}
        for specs in profile.enabled.values():
            explicit.update(s.name for s in specs)
        for name in sorted(explicit | _DEFAULT_NAMES):
            if name not in registry:
                if name in explicit and not is_known_absent(name):
                    registry.factory(name)  # raises PluginNotFound with the known names
                continue
            implements[name] = self._points_of_factory(registry, name)
        self._refuse_unknown_names(profile, registry)
        resolved = resolve_plugins(profile, implements)
        for point, specs in resolved.items():
            for spec in specs:
                if spec.name not in self._plugins:
                    self._plugins[spec.name] = self._build(registry, spec.name, profile)
                plugin = self._plugins[spec.name]
                if point not in _points_of(type(plugin)):
                    raise ConfigError(f"profiles[{self.profile_name}].plugins.{point}: plugin {spec.name!r} "
                                      f"does not implement {point}")
        self.pre_enqueue_plugins = self._at(resolved, "preEnqueue")
        sorts = self._at(resolved, "queueSort")
        if len(sorts) != 1:
            raise ConfigError(f"profiles[{self.profile_name}].plugins.queueSort: exactly one queue sort plugin "
                              f"must be enabled, got {[p.name for p in sorts]}")
        self.queue_sort: QueueSortPlugin = sorts[0]
        self.pre_filter_plugins = self._at(resolved, "preFilter")
        self.filter_plugins = self._at(resolved, "filter")
        self.post_filter_plugins = self._at(resolved, "postFilter")
        self.pre_score_plugins = self._at(resolved, "preScore")
        self.score_plugins = [ScoredPlugin(self._plugins[s.name], s.weight) for s in resolved["score"]]
        self.reserve_plugins = self._at(resolved, "reserve")
        self.permit_plugins = self._at(resolved, "permit")
        self.pre_bind_plugins = self._at(resolved, "preBind")
        self.bind_plugins = self._at(resolved, "bind")
        self.post_bind_plugins = self._at(resolved, "postBind")
        if not self.bind_plugins:
            raise ConfigError(f"profiles[{self.profile_name}].plugins.bind: at least one bind plugin is needed")
        for sp in self.score_plugins:
            if sp.weight * MAX_NODE_SCORE > 2**63 - 1:
                raise ConfigError(f"score plugin {sp.name!r}: weight {sp.weight} overflows the total score")
        self.point_seconds: dict[str, float] = {}

    def _refuse_unknown_names(self, profile: ProfileConfig, registry: Registry) -> None:
        """A name in ``disabled`` or ``pluginConfig`` must be a plugin too (a typo such as ImageLocallity
        would otherwise silently change nothing): kube-scheduler refuses plugins its registry lacks. The
        in-tree plugins borgkit does not implement (volume plugins, ...) stay accepted."""
        named = [("plugins.multiPoint.disabled", n) for n in sorted(profile.multi_point_disabled)]
        for point, names in sorted(profile.disabled.items()):
            named += [(f"plugins.{point}.disabled", n) for n in sorted(names)]
        named += [("pluginConfig", n) for n in profile.plugin_config]
        for where, name in named:
            if name == "*" and where != "pluginConfig" or name in registry or is_known_absent(name):
                continue
            try:
                registry.factory(name)
            except PluginNotFound as e:
                raise PluginNotFound(f"profiles[{self.profile_name}].{where}: {e}") from None

    @staticmethod
    def _points_of_factory(registry: Registry, name: str) -> set[str]:
        factory = registry.factory(name)
        if isinstance(factory, type):
            return _points_of(factory)
        return set(getattr(factory, "extension_points", EXTENSION_POINTS))

    def _build(self, registry: Registry, name: str, profile: ProfileConfig) -> Any:
        args = profile.plugin_config.get(name, {})
        plugin = registry.factory(name)(dict(args), self.handle)
        if not getattr(plugin, "name", None):
            raise ConfigError(f"plugin {name!r}: the built plugin has no name")
        return plugin

    def _at(self, resolved: Mapping[str, list[PluginSpec]], point: str) -> list[Any]:
        return [self._plugins[s.name] for s in resolved[point]]

    # -- introspection ---------------------------------------------------------------------------------
    def plugin(self, name: str) -> Any:
        """The instance of an enabled plugin."""
        try:
            return self._plugins[name]
        except KeyError:
            raise PluginNotFound(f"plugin {name!r}: not enabled in profile {self.profile_name!r}") from None

    @property
    def plugins(self) -> Mapping[str, Any]:
        return self._plugins

    def list_plugins(self) -> dict[str, list[str]]:
        """Enabled plugin names per extension point (score entries carry their weight as ``name:weight``)."""
        out = {"preEnqueue": self.pre_enqueue_plugins, "queueSort": [self.queue_sort],
               "preFilter": self.pre_filter_plugins, "filter": self.filter_plugins,
               "postFilter": self.post_filter_plugins, "preScore": self.pre_score_plugins,
               "reserve": self.reserve_plugins, "permit": self.permit_plugins, "preBind": self.pre_bind_plugins,
               "bind": self.bind_plugins, "postBind": self.post_bind_plugins}
        listed = {point: [p.name for p in plugins] for point, plugins in out.items()}
        listed["score"] = [f"{sp.name}:{sp.weight}" for sp in self.score_plugins]
        return listed

    def add_time(self, point: str, seconds: float) -> None:
        self.point_seconds[point] = self.point_seconds.get(point, 0.0) + seconds

    # -- the extension points, plainly ---------------------------------------------------------------
    def run_pre_enqueue_plugins(self, pod: Any) -> Optional[Status]:
        for plugin in self.pre_enqueue_plugins:
            status = plugin.pre_enqueue(pod)
            if status is not None and not status.is_success:
                return status.with_plugin(plugin.name)
        return None

    def run_pre_filter_plugins(self, state: CycleState, pod: Any,
                               nodes: Sequence[NodeInfo]) -> tuple[Optional[PreFilterResult], Optional[Status]]:
        """PreFilter in order; Skip records the plugin. Results are intersected. UnschedulableAndUnresolvable
        or an error stops at once; Unschedulable is returned after every plugin ran (preemption may use
        their state, kubernetes/kubernetes#119770) — the last one if several say it."""
        result: Optional[PreFilterResult] = None
        narrowed: list[str] = []
        rejected: Optional[Status] = None
        for plugin in self.pre_filter_plugins:
            try:
                res, status = plugin.pre_filter(state, pod, nodes)
            except Exception as exc:  # a plugin bug is an Error status, as in Go's recover-less runtime
                return None, Status.error(f"running PreFilter plugin {plugin.name!r}: {exc}").with_plugin(plugin.name)
            if status is not None and status.code == Code.SKIP:
                state.skip_filter_plugins.add(plugin.name)
                continue
            if status is not None and not status.is_success:
                if status.code == Code.UNSCHEDULABLE:
                    rejected = status.with_plugin(plugin.name)
                    continue
                return None, status.with_plugin(plugin.name)
            if res is not None and not res.all_nodes:
                narrowed.append(plugin.name)
                result = res if result is None else result.merge(res)
                if not result.node_names:
                    message = (f"node(s) didn't satisfy plugin {narrowed[0]}" if len(narrowed) == 1 else
                               f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(narrowed))}] simultaneously")
                    return result, Status.unresolvable(message).with_plugin(plugin.name)
        if result is not None:
            state.write("PreFilterResultPlugins", list(narrowed))
        return result, rejected

    @staticmethod
    def pre_filter_result_status(state: CycleState) -> Status:
        """The status of every node a PreFilter result left out, as kube-scheduler's absent-nodes status:
        UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [A B]" naming the plugins that narrowed
        the nodes (sorted); its plugin is the first of them."""
        narrowed = sorted(state.get("PreFilterResultPlugins") or ())
        status = Status.unresolvable(f"node(s) didn't satisfy plugin(s) [{' '.join(narrowed)}]")
        return status.with_plugin(narrowed[0]) if narrowed else status

    def run_filter_plugins(self, state: CycleState, pod: Any, node_info: NodeInfo) -> Status:
        """Every Filter plugin on one node (``RunFilterPlugins``): the first non-success status, or Success."""
        skip = state.skip_filter_plugins
        for plugin in self.filter_plugins:
            if skip and plugin.name in skip:
                continue
            status = plugin.filter(state, pod, node_info)
            if status is not None and status.code != Code.SUCCESS:
                if status.code == Code.ERROR:
                    return status.with_plugin(plugin.name)
                return status if status.plugin == plugin.name else status.with_plugin(plugin.name)
        return Status()

    def run_post_filter_plugins(self, state: CycleState, pod: Any,
                                statuses: Mapping[str, Status]) -> tuple[Optional[PostFilterResult], Status]:
        """PostFilter in order until one succeeds or fails with UnschedulableAndUnresolvable/Error."""
        reasons: list[str] = []
        kept: Optional[PostFilterResult] = None
        failed = ""
        for plugin in self.post_filter_plugins:
            result, status = plugin.post_filter(state, pod, statuses)
            if status is None or status.is_success:
                return result, Status(plugin=plugin.name)
            if status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return result, status.with_plugin(plugin.name)
            if not status.is_rejected:
                return None, Status(Code.ERROR, *status.reasons, plugin=plugin.name)
            if result is not None and result.nominated_node_name is not None:
                kept = result  # "" too: it clears an earlier nomination (ModeOverride, not ModeNoop)
            reasons.extend(status.reasons)
            failed = failed or plugin.name  # the first failing plugin, as kube-scheduler records it
        return kept, Status(Code.UNSCHEDULABLE, *reasons, plugin=failed)

    def run_pre_filter_extension_add_pod(self, state: CycleState, pod_to_schedule: Any, pod_to_add: Any,
                                         node_info: NodeInfo) -> Optional[Status]:
        """Tell every PreFilter plugin's extensions that ``pod_to_add`` joins ``node_info`` (preemption)."""
        return self._run_pre_filter_extensions("add_pod", state, pod_to_schedule, pod_to_add, node_info)

    def run_pre_filter_extension_remove_pod(self, state: CycleState, pod_to_schedule: Any, pod_to_remove: Any,
                                            node_info: NodeInfo) -> Optional[Status]:
        """Tell every PreFilter plugin's extensions that ``pod_to_remove`` leaves ``node_info`` (preemption)."""
        return self._run_pre_filter_extensions("remove_pod", state, pod_to_schedule, pod_to_remove, node_info)

    def _run_pre_filter_extensions(self, method: str, state: CycleState, pod_to_schedule: Any, other: Any,
                                   node_info: NodeInfo) -> Optional[Status]:
        for plugin in self.pre_filter_plugins:
            ext = plugin.pre_filter_extensions()
            if ext is None or plugin.name in state.skip_filter_plugins:
                continue
            status = getattr(ext, method)(state, pod_to_schedule, other, node_info)
            if status is not None and not status.is_success:
                return status.with_plugin(plugin.name)
        return None

    def run_pre_score_plugins(self, state: CycleState, pod: Any, nodes: Sequence[NodeInfo]) -> Optional[Status]:
        for plugin in self.pre_score_plugins:
            status = plugin.pre_score(state, pod, nodes)
            if status is not None and status.code == Code.SKIP:
                state.skip_score_plugins.add(plugin.name)
            elif status is not None and not status.is_success:
                return status.with_plugin(plugin.name)
        return None

    def active_score_plugins(self, state: CycleState) -> list[ScoredPlugin]:
        skip = state.skip_score_plugins
        return [sp for sp in self.score_plugins if sp.name not in skip]

    def normalize(self, sp: ScoredPlugin, state: CycleState, pod: Any, scores: list[NodeScore]) -> None:
        """Run one plugin's NormalizeScore and check every score is in 0..100."""
        if sp.normalizes:
            status = sp.plugin.normalize_score(state, pod, scores)
            if status is not None and not status.is_success:
                raise PluginFailure(status.with_plugin(sp.name))
        for s in scores:
            if not MIN_NODE_SCORE <= s.score <= MAX_NODE_SCORE:
                raise PluginFailure(Status.error(
                    f"plugin {sp.name!r} returns an invalid score {s.score} for node {s.name!r}: it must be "
                    f"in {MIN_NODE_SCORE}..{MAX_NODE_SCORE} after NormalizeScore").with_plugin(sp.name))

    def run_score_plugins(self, state: CycleState, pod: Any,
                          nodes: Sequence[NodeInfo]) -> dict[str, list[NodeScore]]:
        """Score + NormalizeScore + weights, plainly: plugin name -> weighted scores in node order."""
        out: dict[str, list[NodeScore]] = {}
        for sp in self.active_score_plugins(state):
            scores = [NodeScore(n.name, sp.plugin.score(state, pod, n)) for n in nodes]
            self.normalize(sp, state, pod, scores)
            for s in scores:
                s.score *= sp.weight
            out[sp.name] = scores
        return out

    def run_reserve_plugins(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        return _first_failure(self.reserve_plugins, "reserve", state, pod, node_name)

    def run_unreserve_plugins(self, state: CycleState, pod: Any, node_name: str) -> None:
        for plugin in reversed(self.reserve_plugins):  # reverse order, as kube-scheduler
            plugin.unreserve(state, pod, node_name)

    def run_permit_plugins(self, state: CycleState, pod: Any, node_name: str,
                           on_verdict: Optional[Callable[[WaitingPod], None]] = None) -> Optional[Status]:
        """Permit in order (``RunPermitPlugins``): the first rejection or error stops; when some plugins say
        Wait and none rejects, the pod joins the waiting pods (each plugin's timeout capped at 15 minutes)
        and a Wait status is returned; ``on_verdict`` is called once they allow or reject it."""
        timeouts: dict[str, float] = {}
        for plugin in self.permit_plugins:
            status, timeout = plugin.permit(state, pod, node_name)
            if status is None or status.is_success:
                continue
            if status.code == Code.WAIT:
                timeouts[plugin.name] = timeout
            elif status.is_rejected:
                return status.with_plugin(plugin.name)
            else:
                return Status.error(f'running Permit plugin "{plugin.name}": {status.message}').with_plugin(plugin.name)
        if not timeouts:
            return None
        self.waiting_pods.add(pod, node_name, timeouts, on_verdict or (lambda _: None))
        return Status(Code.WAIT, f"one or more plugins asked to wait and no plugin rejected pod "
                                 f"\"{pod.metadata.name}\"")

    # -- waiting pods (the handle's GetWaitingPod / IterateOverWaitingPods / RejectWaitingPod) --------
    def get_waiting_pod(self, uid: str) -> Optional[WaitingPod]:
        """The waiting pod with this UID ("namespace/name" for pods without one), or None."""
        return self.waiting_pods.get(uid)

    def iterate_over_waiting_pods(self, fn: Callable[[WaitingPod], None]) -> None:
        """Call ``fn`` on every waiting pod (a snapshot: ``fn`` may allow or reject them)."""
        self.waiting_pods.iterate(fn)

    def reject_waiting_pod(self, uid: str) -> bool:
        """Reject a waiting pod (it was deleted or preempted); False when no such pod waits."""
        return self.waiting_pods.reject(uid, "removed")

    def run_pre_bind_plugins(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        return _first_failure(self.pre_bind_plugins, "pre_bind", state, pod, node_name)

    def run_bind_plugins(self, state: CycleState, pod: Any, node_name: str) -> Optional[Status]:
        for plugin in self.bind_plugins:
            status = plugin.bind(state, pod, node_name)
            if status is not None and status.code == Code.SKIP:
                continue
            if status is not None and not status.is_success:
                return status.with_plugin(plugin.name)
            return None
        return Status.error("no bind plugin bound the pod (all returned Skip)")

    def run_post_bind_plugins(self, state: CycleState, pod: Any, node_name: str) -> None:
        for plugin in self.post_bind_plugins:
            plugin.post_bind(state, pod, node_name)

    def equivalence_signature(self, pod: Any) -> tuple[Hashable, ...]:
        """Each filter and score plugin's ``equivalence_key(pod)`` (None where not node-local)."""
        keys: dict[str, Hashable] = {}
        for plugin in self.filter_plugins:
            keys[plugin.name] = plugin.equivalence_key(pod)
        for sp in self.score_plugins:
            if sp.name not in keys:
                keys[sp.name] = sp.plugin.equivalence_key(pod)
        return tuple(keys.items())


def _first_failure(plugins: Sequence[Any], method: str, state: CycleState, pod: Any,
                   node_name: str) -> Optional[Status]:
    """Call ``method`` of each plugin in order; the first non-success status, naming its plugin."""
    for plugin in plugins:
        status = getattr(plugin, method)(state, pod, node_name)
        if status is not None and not status.is_success:
            return status.with_plugin(plugin.name)
    return None


class PluginFailure(Exception):
    """A plugin failed with an Error status inside a loop over nodes; carries the Status out."""

    def __init__(self, status: Status) -> None:
        super().__init__(status.message)
        self.status = status
