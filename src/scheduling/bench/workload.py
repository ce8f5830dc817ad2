"""Benchmark workloads: the shared JSON format (modelled on kube-scheduler's scheduler_perf), loaded and expanded.

A workload is a list of steps run in order against one scheduler:

* ``createNodes``: ``count`` nodes from ``template``; ``labels`` sets one label per key on each node,
  ``{"cycle": [v1, v2]}`` giving node *i* the value ``v[i % len]`` and ``{"unique": true}`` its own name.
* ``createPods``: ``count`` pending pods from ``template`` in ``namespace``. Steps with ``"measure": true``
  are created together and timed together; the others are set-up, scheduled before the measurement.

Names are ``metadata.generateName`` plus a running index shared by every step with the same prefix, so two
steps of ``node-`` nodes never produce the same name. Expansion yields plain manifest dicts; turning them into
``objects.Node`` / ``objects.Pod`` is the caller's business (the bench times only scheduling).
"""
from __future__ import annotations

import copy
import json
import pathlib
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Iterator, Mapping, Sequence

__all__ = [
    "WorkloadError",
    "NodeStep",
    "PodStep",
    "Workload",
    "load_workload",
    "builtin_workloads",
    "builtin_workload_names",
]


class WorkloadError(ValueError):
    """A workload file is malformed; the message names the file, the field, the value and the rule."""


@dataclass(frozen=True)
class NodeStep:
    """A ``createNodes`` step."""

    count: int
    template: Mapping[str, Any]
    labels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class PodStep:
    """A ``createPods`` step; ``measure`` marks the timed pods."""

    count: int
    namespace: str
    template: Mapping[str, Any]
    measure: bool = False


Step = NodeStep | PodStep


@dataclass(frozen=True)
class Workload:
    """One benchmark workload: its name, kube-scheduler's throughput floor for it (or None) and its steps."""

    name: str
    steps: tuple[Step, ...]
    threshold: float | None = None
    description: str = ""
    source: str = ""

    @property
    def node_count(self) -> int:
        """How many nodes the workload creates."""
        return sum(s.count for s in self.steps if isinstance(s, NodeStep))

    @property
    def measured_pod_count(self) -> int:
        """How many pods the timed part creates."""
        return sum(s.count for s in self.steps if isinstance(s, PodStep) and s.measure)

    @property
    def setup_pod_count(self) -> int:
        """How many pods are scheduled before the timed part."""
        return sum(s.count for s in self.steps if isinstance(s, PodStep) and not s.measure)

    def scaled(self, factor: float) -> "Workload":
        """The same workload with every count multiplied by ``factor`` (a non-empty step keeps at least 1)."""
        if not factor > 0:
            raise WorkloadError(f"scale: invalid value {factor!r}: must be greater than 0")
        if factor == 1:
            return self
        steps = tuple(replace(s, count=max(1, round(s.count * factor)) if s.count else 0) for s in self.steps)
        return replace(self, steps=steps)

    def expand(self) -> Iterator[tuple[Step, list[dict[str, Any]]]]:
        """Yield each step with the manifests it creates, names assigned, in order."""
        counters: dict[str, int] = {}
        for step in self.steps:
            if isinstance(step, NodeStep):
                yield step, list(_expand_nodes(step, counters))
            else:
                yield step, list(_expand_pods(step, counters))

    def measured_pod_keys(self) -> set[str]:
        """The ``namespace/name`` keys of the timed pods, the names :meth:`expand` gives them (without
        building a manifest)."""
        counters: dict[str, int] = {}
        keys: set[str] = set()
        for step in self.steps:
            if isinstance(step, PodStep):
                # Set-up pods are named too: they advance the counters the measured pods' names come from.
                names = [f"{step.namespace}/{name}" for name in _pod_names(step, counters)]
                if step.measure:
                    keys.update(names)
        return keys


def _next_name(template: Mapping[str, Any], counters: dict[str, int], scope: str = "") -> str:
    meta = template.get("metadata") or {}
    prefix = meta.get("generateName") or meta.get("name") or "obj-"
    index = counters.get(scope + prefix, 0)
    counters[scope + prefix] = index + 1
    return f"{prefix}{index}"


def _expand_nodes(step: NodeStep, counters: dict[str, int]) -> Iterator[dict[str, Any]]:
    for i in range(step.count):
        manifest = copy.deepcopy(dict(step.template))
        meta = manifest.setdefault("metadata", {})
        name = _next_name(step.template, counters)
        meta.pop("generateName", None)
        meta["name"] = name
        labels = meta.setdefault("labels", {})
        for key, rule in step.labels.items():
            if rule.get("unique"):
                labels[key] = name
            else:
                values = rule["cycle"]
                labels[key] = values[i % len(values)]
        yield manifest


def _pod_names(step: PodStep, counters: dict[str, int]) -> Iterator[str]:
    # Counters are per namespace: two steps of "pod-" in different namespaces may share names, as they
    # would in Kubernetes, but keys (namespace/name) stay unique.
    for _ in range(step.count):
        yield _next_name(step.template, counters, scope=f"{step.namespace}/")


def _expand_pods(step: PodStep, counters: dict[str, int]) -> Iterator[dict[str, Any]]:
    for name in _pod_names(step, counters):
        manifest = copy.deepcopy(dict(step.template))
        meta = manifest.setdefault("metadata", {})
        meta["name"] = name
        meta.pop("generateName", None)
        meta["namespace"] = step.namespace
        yield manifest


def _fail(where: str, path: str, value: Any, rule: str) -> WorkloadError:
    return WorkloadError(f"{where}: {path}: invalid value {value!r}: {rule}")


def _count(where: str, path: str, d: Mapping[str, Any]) -> int:
    value = d.get("count")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(where, f"{path}.count", value, "must be a non-negative integer")
    return value


def _template(where: str, path: str, d: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    template = d.get("template")
    if not isinstance(template, dict):
        raise _fail(where, f"{path}.template", template, f"must be a {kind} manifest (an object)")
    if template.get("kind", kind) != kind:
        raise _fail(where, f"{path}.template.kind", template.get("kind"), f"must be {kind!r}")
    return template


def _node_labels(where: str, path: str, d: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    labels = d.get("labels") or {}
    if not isinstance(labels, dict):
        raise _fail(where, f"{path}.labels", labels, "must be an object of label key to rule")
    for key, rule in labels.items():
        ok = isinstance(rule, dict) and (
            rule.get("unique") is True
            or (isinstance(rule.get("cycle"), list) and rule["cycle"]
                and all(isinstance(v, str) for v in rule["cycle"])))
        if not ok:
            raise _fail(where, f"{path}.labels[{key!r}]", rule,
                        'must be {"cycle": [non-empty list of strings]} or {"unique": true}')
    return labels


def _parse_step(where: str, index: int, d: Any) -> Step:
    path = f"steps[{index}]"
    if not isinstance(d, dict):
        raise _fail(where, path, d, "must be an object")
    op = d.get("op")
    if op == "createNodes":
        return NodeStep(_count(where, path, d), _template(where, path, d, "Node"), _node_labels(where, path, d))
    if op == "createPods":
        namespace = d.get("namespace", "default")
        if not isinstance(namespace, str) or not namespace:
            raise _fail(where, f"{path}.namespace", namespace, "must be a non-empty string")
        measure = d.get("measure", False)
        if not isinstance(measure, bool):
            raise _fail(where, f"{path}.measure", measure, "must be true or false")
        return PodStep(_count(where, path, d), namespace, _template(where, path, d, "Pod"), measure)
    raise _fail(where, f"{path}.op", op, "supported values: 'createNodes', 'createPods'")


def parse_workload(d: Any, where: str = "<workload>") -> Workload:
    """Build a :class:`Workload` from the decoded JSON object ``d``; ``where`` names it in errors."""
    if not isinstance(d, dict):
        raise _fail(where, "(root)", type(d).__name__, "must be an object")
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(where, "name", name, "must be a non-empty string")
    steps = d.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _fail(where, "steps", steps, "must be a non-empty list")
    reference = d.get("reference") or {}
    threshold = reference.get("kube_scheduler_threshold_pods_per_s") if isinstance(reference, dict) else None
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or threshold <= 0):
        raise _fail(where, "reference.kube_scheduler_threshold_pods_per_s", threshold,
                    "must be a positive number or null")
    return Workload(
        name=name,
        steps=tuple(_parse_step(where, i, s) for i, s in enumerate(steps)),
        threshold=threshold,
        description=str(d.get("description", "")),
        source=where,
    )


def load_workload(path: str | pathlib.Path) -> Workload:
    """Read one workload file in the shared format."""
    p = pathlib.Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise WorkloadError(f"{p}: cannot read workload file: {e.strerror or e}") from e
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise WorkloadError(f"{p}: not JSON: line {e.lineno} column {e.colno}: {e.msg}") from e
    return parse_workload(d, str(p))


def _builtin_dir() -> Any:
    return resources.files("scheduling.bench") / "workloads"


def builtin_workload_names() -> list[str]:
    """File names (without .json) of the workloads shipped inside the package, in bench order."""
    names = [f.name[:-5] for f in _builtin_dir().iterdir() if f.name.endswith(".json")]
    return sorted(names, key=_bench_order)


def _bench_order(name: str) -> tuple[int, str]:
    # The shared shapes first (in the order), the memory row, then the scaling rows by node count.
    order = ["SchedulingBasic_5000Nodes_10000", "SchedulingNodeAffinity", "SchedulingPodAffinity",
             "SchedulingPodAntiAffinity", "SchedulingPreferredPodAffinity", "SchedulingPreferredPodAntiAffinity",
             "TopologySpreading", "PreferredTopologySpreading", "TaintsAndTolerations", "Preemption",
             "Unschedulable", "SchedulingBasic_5000Nodes_50000", "Memory_5000Nodes_60000", "Scaling_500Nodes",
             "Scaling_5000Nodes", "Scaling_15000Nodes"]
    for i, prefix in enumerate(order):
        if name.startswith(prefix):
            return i, name
    return len(order), name


def builtin_workloads(names: Sequence[str] | None = None) -> list[Workload]:
    """The built-in workload set (or the named ones), parsed."""
    wanted = builtin_workload_names() if names is None else list(names)
    known = set(builtin_workload_names())
    out = []
    for name in wanted:
        if name not in known:
            raise WorkloadError(f"workload: unknown built-in {name!r}; known: {', '.join(sorted(known))}")
        entry = _builtin_dir() / f"{name}.json"
        out.append(parse_workload(json.loads(entry.read_text()), f"builtin:{name}"))
    return out
