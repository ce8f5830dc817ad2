"""Reading a KubeSchedulerConfiguration-shaped dict (``kubescheduler.config.k8s.io/v1``) into profiles.

Accepted shape (a kube-scheduler config file loads as it is; fields about the process — clientConnection,
leaderElection, parallelism, ... — are ignored; non-empty ``extenders`` are a ConfigError)::

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    percentageOfNodesToScore: 0          # 0 = adaptive (50 - nodes/125 %, at least 5 %); 100 = exact
    podInitialBackoffSeconds: 1          # the queue's backoff: doubled per failed attempt ...
    podMaxBackoffSeconds: 10             # ... up to this
    profiles:
    - schedulerName: default-scheduler
      percentageOfNodesToScore: 50       # per profile, overrides the global value
      plugins:
        multiPoint: {enabled: [{name: X, weight: 2}], disabled: [{name: Y}]}
        score:      {enabled: [...], disabled: [{name: "*"}]}   # any extension point by its config name
      pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}

Merging follows kube-scheduler's v1 defaulting: the default plugins are enabled through ``multiPoint``
(each at every extension point it implements); ``disabled`` entries remove a plugin at that point
(``"*"`` removes every multiPoint plugin there); a plugin a point also ``enabled`` is an explicit override:
it moves to the front of that point, in that point's order, with that point's weight (see
``resolve_plugins``). A score weight of 0 or none means 1, as in Kubernetes. Without ``profiles``
one ``default-scheduler`` profile with the defaults is used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .errors import ConfigError
from .interfaces import EXTENSION_POINTS

__all__ = ["SchedulerConfiguration", "ProfileConfig", "PluginSpec", "load_config", "DEFAULT_SCHEDULER_NAME",
           "DEFAULT_MULTI_POINT", "API_VERSION", "KIND"]

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"

# kube-scheduler's default plugin set (v1 getDefaultPlugins), without the volume plugins we do not have.
DEFAULT_MULTI_POINT: tuple[tuple[str, int], ...] = (
    ("SchedulingGates", 0), ("PrioritySort", 0), ("NodeUnschedulable", 0), ("NodeName", 0),
    ("TaintToleration", 3), ("NodeAffinity", 2), ("NodePorts", 0), ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2), ("InterPodAffinity", 2), ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1), ("ImageLocality", 1), ("DefaultBinder", 0),
)
# Names kube-scheduler configs commonly mention that borgkit does not implement: disabling them is fine.
_KNOWN_ABSENT = frozenset({"VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding", "VolumeZone",
                           "EBSLimits", "GCEPDLimits", "AzureDiskLimits", "CinderLimits",
                           "DynamicResources"})


@dataclass(frozen=True)
class PluginSpec:
    """One enabled plugin at one extension point; ``weight`` matters only at ``score``."""

    name: str
    weight: int = 0


@dataclass
class ProfileConfig:
    """One scheduling profile: its name, the plugins per extension point, their args, its percentage."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    multi_point_enabled: list[PluginSpec] = field(default_factory=list)
    multi_point_disabled: set[str] = field(default_factory=set)
    enabled: dict[str, list[PluginSpec]] = field(default_factory=dict)
    disabled: dict[str, set[str]] = field(default_factory=dict)
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    percentage_of_nodes_to_score: Optional[int] = None


@dataclass
class SchedulerConfiguration:
    """The whole configuration: profiles and the global percentageOfNodesToScore (0: adaptive)."""

    profiles: list[ProfileConfig]
    percentage_of_nodes_to_score: int = 0
    pod_initial_backoff_seconds: int = 1
    pod_max_backoff_seconds: int = 10


# KubeSchedulerConfiguration v1's fields: kube-scheduler decodes strictly, so a misspelt field is an error.
_TOP_FIELDS = frozenset({"apiVersion", "kind", "parallelism", "leaderElection", "clientConnection",
                         "healthzBindAddress", "metricsBindAddress", "enableProfiling", "enableContentionProfiling",
                         "percentageOfNodesToScore", "podInitialBackoffSeconds", "podMaxBackoffSeconds", "profiles",
                         "extenders", "delayCacheUntilActive"})
_PROFILE_FIELDS = frozenset({"schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig"})


def _check_fields(obj: Mapping[str, Any], allowed: frozenset, path: str) -> None:
    for key in obj:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: unknown field (known: {', '.join(sorted(allowed))})")


def _check_percentage(value: Any, path: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(f"{path}: must be an integer in 0..100, got {value!r}")
    return value


def _plugin_list(value: Any, path: str) -> list[PluginSpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{path}: must be a list of {{name, weight}}, got {value!r}")
    specs = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item.get("name"):
            raise ConfigError(f"{path}[{i}].name: must be a non-empty string, got {item!r}")
        _check_fields(item, frozenset({"name", "weight"}), f"{path}[{i}]")
        weight = item.get("weight", 0) or 0
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise ConfigError(f"{path}[{i}].weight: must be a non-negative integer, got {weight!r}")
        specs.append(PluginSpec(item["name"], weight))
    return specs


def _profile(raw: Any, path: str) -> ProfileConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: must be an object, got {raw!r}")
    _check_fields(raw, _PROFILE_FIELDS, path)
    name = raw.get("schedulerName") or DEFAULT_SCHEDULER_NAME
    if not isinstance(name, str):
        raise ConfigError(f"{path}.schedulerName: must be a string, got {name!r}")
    profile = ProfileConfig(scheduler_name=name, percentage_of_nodes_to_score=_check_percentage(
        raw.get("percentageOfNodesToScore"), f"{path}.percentageOfNodesToScore"))
    plugins = raw.get("plugins") or {}
    if not isinstance(plugins, Mapping):
        raise ConfigError(f"{path}.plugins: must be an object, got {plugins!r}")
    for point, sets in plugins.items():
        ppath = f"{path}.plugins.{point}"
        if point != "multiPoint" and point not in EXTENSION_POINTS:
            known = ", ".join(["multiPoint", *EXTENSION_POINTS])
            raise ConfigError(f"{ppath}: unknown extension point {point!r} (known: {known})")
        if sets is None:
            continue
        if not isinstance(sets, Mapping):
            raise ConfigError(f"{ppath}: must be an object with enabled/disabled, got {sets!r}")
        _check_fields(sets, frozenset({"enabled", "disabled"}), ppath)
        enabled = _plugin_list(sets.get("enabled"), f"{ppath}.enabled")
        disabled = {s.name for s in _plugin_list(sets.get("disabled"), f"{ppath}.disabled")}
        if point == "multiPoint":
            profile.multi_point_enabled, profile.multi_point_disabled = enabled, disabled
        else:
            profile.enabled[point], profile.disabled[point] = enabled, disabled
    plugin_config = raw.get("pluginConfig") or []
    if not isinstance(plugin_config, list):
        raise ConfigError(f"{path}.pluginConfig: must be a list of {{name, args}}, got {plugin_config!r}")
    for i, entry in enumerate(plugin_config):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{path}.pluginConfig[{i}].name: must be a string, got {entry!r}")
        _check_fields(entry, frozenset({"name", "args"}), f"{path}.pluginConfig[{i}]")
        args = entry.get("args") or {}
        if not isinstance(args, Mapping):
            raise ConfigError(f"{path}.pluginConfig[{i}].args: must be an object, got {args!r}")
        if entry["name"] in profile.plugin_config:
            raise ConfigError(f"{path}.pluginConfig[{i}].name: {entry['name']!r} is configured twice")
        profile.plugin_config[entry["name"]] = {k: v for k, v in args.items() if k not in ("apiVersion", "kind")}
    return profile


def load_config(raw: Optional[Mapping[str, Any]]) -> SchedulerConfiguration:
    """Validate and read a KubeSchedulerConfiguration-shaped dict (None: the defaults)."""
    if raw is None:
        return SchedulerConfiguration([ProfileConfig()])
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config: must be a KubeSchedulerConfiguration object, got {raw!r}")
    api_version = raw.get("apiVersion")
    if api_version is not None and not str(api_version).startswith("kubescheduler.config.k8s.io/"):
        raise ConfigError(f"apiVersion: must be {API_VERSION!r}, got {api_version!r}")
    kind = raw.get("kind")
    if kind is not None and kind != KIND:
        raise ConfigError(f"kind: must be {KIND!r}, got {kind!r}")
    _check_fields(raw, _TOP_FIELDS, "")
    percentage = _check_percentage(raw.get("percentageOfNodesToScore"), "percentageOfNodesToScore") or 0
    extenders = raw.get("extenders")
    if extenders:  # ignoring them would silently decide differently from the kube-scheduler they configure
        raise ConfigError(f"extenders: scheduler extenders (HTTP webhooks) are not supported, got "
                          f"{len(extenders) if isinstance(extenders, list) else extenders!r}; write a plugin instead")
    raw_profiles = raw.get("profiles")
    if raw_profiles is None:
        profiles = [ProfileConfig()]
    elif not isinstance(raw_profiles, list) or not raw_profiles:
        raise ConfigError(f"profiles: must be a non-empty list, got {raw_profiles!r}")
    else:
        profiles = [_profile(p, f"profiles[{i}]") for i, p in enumerate(raw_profiles)]
    seen: set[str] = set()
    for i, profile in enumerate(profiles):
        if profile.scheduler_name in seen:
            raise ConfigError(f"profiles[{i}].schedulerName: duplicate profile name {profile.scheduler_name!r}")
        seen.add(profile.scheduler_name)
    initial, maximum = _backoff_seconds(raw)
    return SchedulerConfiguration(profiles, percentage, initial, maximum)


def _backoff_seconds(raw: Mapping[str, Any]) -> tuple[int, int]:
    """podInitialBackoffSeconds (default 1, > 0) and podMaxBackoffSeconds (default 10, >= the initial)."""
    values = []
    for name, default in (("podInitialBackoffSeconds", 1), ("podMaxBackoffSeconds", 10)):
        value = raw.get(name)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{name}: must be an integer greater than 0, got {value!r}")
        values.append(value)
    if values[1] < values[0]:
        raise ConfigError(f"podMaxBackoffSeconds: must be greater than or equal to podInitialBackoffSeconds "
                          f"({values[0]}), got {values[1]}")
    return values[0], values[1]


def resolve_plugins(profile: ProfileConfig, implements: Mapping[str, set[str]]) -> dict[str, list[PluginSpec]]:
    """The enabled plugins per extension point after merging defaults, multiPoint and per-point sets.

    ``implements`` maps plugin name -> the extension points its class implements (config names); names it
    lacks (plugins we do not have, e.g. VolumeBinding) are left out. As kube-scheduler (v1 ``mergePluginSet``,
    then the framework's ``expandMultiPointPlugins`` and ``getScoreWeights``):

    * multiPoint: the defaults in order, a default the profile's ``multiPoint.enabled`` names replaced in
      place by that entry (weight included), then the profile's other multiPoint plugins;
    * per point: ``disabled: "*"`` keeps only that point's own ``enabled`` list; otherwise the multiPoint
      plugins not disabled there, with those the point also enables first (in that point's order, as
      explicit overrides), then the multiPoint-only ones, then the point's other enabled plugins;
    * score weight: the ``score.enabled`` entry's, else the multiPoint entry's; 0 or none means 1.
    """
    result: dict[str, list[PluginSpec]] = {}
    multi = [s for s in _merge_multi_point(profile) if s.name in implements]
    for point in EXTENSION_POINTS:
        own = [s for s in profile.enabled.get(point, []) if s.name in implements]
        disabled = profile.disabled.get(point, set())
        if "*" in disabled:
            result[point] = own
            continue
        own_names = {s.name for s in own}
        from_multi = [s for s in multi if point in implements[s.name] and s.name not in disabled]
        overridden = {s.name for s in from_multi if s.name in own_names}
        result[point] = ([s for s in own if s.name in overridden]
                         + [s for s in from_multi if s.name not in overridden]
                         + [s for s in own if s.name not in overridden])
    result["score"] = [PluginSpec(s.name, s.weight or 1) for s in result["score"]]
    return result


def _merge_multi_point(profile: ProfileConfig) -> list[PluginSpec]:
    """kube-scheduler's ``mergePluginSet`` of the default multiPoint set with the profile's."""
    custom = {s.name: s for s in profile.multi_point_enabled}
    merged: list[PluginSpec] = []
    if "*" not in profile.multi_point_disabled:
        merged = [custom.get(n, PluginSpec(n, w)) for n, w in DEFAULT_MULTI_POINT
                  if n not in profile.multi_point_disabled]
    defaults = {n for n, _ in DEFAULT_MULTI_POINT} if "*" not in profile.multi_point_disabled else set()
    replaced = {s.name for s in merged} & set(custom) & defaults
    return merged + [s for s in profile.multi_point_enabled if s.name not in replaced]


def is_known_absent(name: str) -> bool:
    """Plugins of kube-scheduler's default set that borgkit does not have (volume plugins)."""
    return name in _KNOWN_ABSENT
