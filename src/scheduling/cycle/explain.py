"""``explain(pod)``: why a pod goes where it goes — every node's Filter verdict and every Score plugin's
score per node, computed plainly over all nodes (exact mode, no sampling, no caches) without changing
anything: no binding, no queue change, the tie-breaking generator untouched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from ..framework import CycleState, PluginFailure, Status

if TYPE_CHECKING:  # pragma: no cover
    from ..scheduler import Scheduler

__all__ = ["Explanation", "NodeVerdict", "explain"]


@dataclass
class NodeVerdict:
    """One node: ``fits``; otherwise the ``plugin`` that rejected it and its ``reasons``."""

    node_name: str
    fits: bool
    plugin: str = ""
    reasons: tuple[str, ...] = ()
    code: str = "Success"


@dataclass
class Explanation:
    """The answer of ``Scheduler.explain``.

    ``nodes``: node name -> NodeVerdict, for every node. ``scores``: score plugin -> node name -> score after
    NormalizeScore and weight (feasible nodes only); ``raw_scores``: the same before normalization and
    weight; ``totals``: node name -> weighted sum; ``best``: the nodes with the highest total (the scheduler
    picks one at random); ``message``: the "0/N nodes are available" message when no node fits;
    ``pre_filter``: PreFilter's failing status (None when PreFilter passed); ``skipped``: plugins that
    returned Skip.
    """

    pod: Any
    nodes: dict[str, NodeVerdict] = field(default_factory=dict)
    scores: dict[str, dict[str, int]] = field(default_factory=dict)
    raw_scores: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    best: list[str] = field(default_factory=list)
    message: str = ""
    pre_filter: Optional[Status] = None
    skipped: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> list[str]:
        """The names of the nodes every filter passed, in node order."""
        return [name for name, v in self.nodes.items() if v.fits]

    def table(self) -> str:
        """A plain-text table: one row per node with its verdict, each plugin's score and the total."""
        plugins = list(self.scores)
        header = ["node", "verdict", *plugins, "total"]
        rows = [header]
        for name, verdict in self.nodes.items():
            cells = [name, "fits" if verdict.fits else f"{verdict.plugin}: {', '.join(verdict.reasons)}"]
            cells += [str(self.scores[p].get(name, "")) for p in plugins]
            cells.append(str(self.totals.get(name, "")))
            rows.append(cells)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def explain(scheduler: "Scheduler", pod: Any) -> Explanation:
    """See the module docstring."""
    import objects

    from ..arguments import expect
    from ..scheduler import NO_NODES_AVAILABLE, fit_error_message
    expect(pod, objects.Pod, "explain", "pod")
    fwk = scheduler.framework(pod.spec.scheduler_name or "default-scheduler")
    nodes = list(scheduler.cache.list())
    out = Explanation(pod)
    if not nodes:
        out.message = NO_NODES_AVAILABLE
        return out
    state = CycleState()
    pre_result, status = fwk.run_pre_filter_plugins(state, pod, nodes)
    out.skipped.extend(sorted(state.skip_filter_plugins))
    statuses: dict[str, Status] = {}
    if status is not None and not status.is_success:
        out.pre_filter = status
        for ni in nodes:
            out.nodes[ni.name] = NodeVerdict(ni.name, False, status.plugin, status.reasons, str(status.code))
        out.message = fit_error_message(len(nodes), {}, status.message)
        return out
    feasible = []
    for ni in nodes:
        if pre_result is not None and pre_result.node_names is not None and ni.name not in pre_result.node_names:
            st = fwk.pre_filter_result_status(state)
        else:
            st = fwk.run_filter_plugins(state, pod, ni)
        if st.is_success:
            feasible.append(ni)
            out.nodes[ni.name] = NodeVerdict(ni.name, True)
        else:
            statuses[ni.name] = st
            out.nodes[ni.name] = NodeVerdict(ni.name, False, st.plugin, st.reasons, str(st.code))
    if not feasible:
        out.message = fit_error_message(len(nodes), statuses)
        return out
    st = fwk.run_pre_score_plugins(state, pod, feasible)
    out.skipped.extend(sorted(state.skip_score_plugins))
    if st is not None and not st.is_success:
        out.message = st.message
        return out
    try:
        for sp in fwk.active_score_plugins(state):
            raw = {ni.name: sp.plugin.score(state, pod, ni) for ni in feasible}
            out.raw_scores[sp.name] = raw
        weighted = fwk.run_score_plugins(state, pod, feasible)
    except PluginFailure as exc:
        out.message = exc.status.message
        return out
    for plugin, scores in weighted.items():
        out.scores[plugin] = {s.name: s.score for s in scores}
    for ni in feasible:
        out.totals[ni.name] = sum(out.scores[p][ni.name] for p in out.scores)
    top = max(out.totals.values())
    out.best = [name for name, total in out.totals.items() if total == top]
    return out
