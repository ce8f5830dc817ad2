"""DefaultPreemption (PostFilter): when no node fits, make room by evicting lower-priority pods, as
kube-scheduler's ``defaultpreemption`` plugin and its preemption ``Evaluator``.

1. Eligibility: a pod with ``preemptionPolicy: Never`` does not preempt.
2. Candidates: the nodes whose Filter failed with Unschedulable (UnschedulableAndUnresolvable nodes cannot
   be helped); a dry run on each, from a random offset, until ``max(nodes * minCandidateNodesPercentage %,
   minCandidateNodesAbsolute)`` candidates are found (args, defaults 10 and 100).
3. Victims on one node (``SelectVictimsOnNode``): remove every pod of lower priority; if the pod still does
   not fit the node is no candidate; otherwise put pods back, most important first (higher priority, then
   earlier start), those whose eviction would violate a PodDisruptionBudget before the others, keeping each
   one that still lets the pod fit. What cannot be put back are the victims.
4. The node (``pickOneNodeForPreemption``): fewest PDB violations, then the lowest highest-victim priority,
   then the smallest sum of victim priorities, then the fewest victims, then the latest start time of the
   highest-priority victims, then the first found.
5. The victims are deleted through the handle and the pod is nominated to the node; it is retried once they
   are gone.

Filters run with the pods already nominated to the node (of equal or higher priority) accounted, as
``RunFilterPluginsWithNominatedPods`` does.

Speed (Borg's equivalence classes): when every filter the pod runs is node-local (each has an
``equivalence_key``; cluster-wide ones returned Skip at PreFilter), a node's dry-run result depends only on
the node's state, the pod's class, its priority, the PDBs and the pods nominated there, so it is cached
under exactly those and reused while the node's ``generation`` is unchanged. kube-scheduler reruns the dry
run on up to 100 nodes for every pod (in 16 goroutines); the results here are the same.
"""
from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ..eqcache import IndexedStatuses, NodeTable
from ..framework import (Code, ConfigError, CycleState, NodeInfo, Plugin, PostFilterPlugin, PostFilterResult,
                         Status)

__all__ = ["DefaultPreemption", "Candidate", "more_important", "pdb_violations"]

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NEVER = "not eligible due to preemptionPolicy=Never."
_MAX_INT32_PLUS_1 = 2**31
_MAX_TABLES = 16
_NOT_STARTED = "9999-12-31T23:59:59Z"  # a pod without status.startTime counts as started now (latest)


def _start(pod: Any) -> str:
    return pod.status.start_time or _NOT_STARTED


def more_important(pod: Any) -> tuple[int, str]:
    """Sort key, most important first (``util.MoreImportantPod``): higher priority, then earlier start."""
    return (-pod.priority_value, _start(pod))


def pdb_violations(pods: Sequence[Any], pdbs: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Split ``pods`` into (evicting them would violate a PDB, would not) — ``filterPodsWithPDBViolation``.

    Budgets are consumed in order: the pods are evicted together, so each matching pod spends one of the
    PDB's ``status.disruptionsAllowed``; a pod already in ``status.disruptedPods`` spends nothing.
    """
    allowed = [pdb.status.disruptions_allowed or 0 for pdb in pdbs]
    violating, fine = [], []
    for pod in pods:
        labels = pod.metadata.labels
        violated = False
        if labels:
            for i, pdb in enumerate(pdbs):
                if (pdb.metadata.namespace or "default") != (pod.metadata.namespace or "default"):
                    continue
                selector = pdb.spec.selector
                if selector is None or selector.empty or not selector.matches(labels):
                    continue  # a nil or empty PDB selector matches nothing here, as in kube-scheduler
                if pod.metadata.name in (pdb.status.disrupted_pods or {}):
                    continue
                allowed[i] -= 1
                if allowed[i] < 0:
                    violated = True
        (violating if violated else fine).append(pod)
    return violating, fine


@dataclass
class Candidate:
    """A node where preemption works, with its victims (most important first) and PDB violations."""

    node_name: str
    victims: list[Any]
    pdb_violations: int
    order: int


# A node's dry run: (victims most important first, PDB violations, failure status or None, the numeric part
# of pickOneNodeForPreemption's order, the earliest start among the highest-priority victims).
DryRun = tuple[list[Any], int, Optional[Status], tuple[int, int, int, int], str]


def _dry_run_result(victims: list[Any], violations: int, status: Optional[Status]) -> DryRun:
    if status is not None or not victims:
        return victims, violations, status, (0, 0, 0, 0), ""
    top = victims[0].priority_value
    order = (violations, top, sum(v.priority_value + _MAX_INT32_PLUS_1 for v in victims), len(victims))
    return victims, violations, status, order, min(_start(v) for v in victims if v.priority_value == top)


def _pick(found: Sequence[tuple[DryRun, int, str]]) -> tuple[DryRun, int, str]:
    """``pickOneNodeForPreemption`` over (dry run, search order, node): fewest PDB violations, lowest
    highest-victim priority, smallest priority sum, fewest victims; then the latest start of the
    highest-priority victims; then the first found."""
    best = min(f[0][3] for f in found)
    tied = [f for f in found if f[0][3] == best]
    if len(tied) > 1:
        latest = max(f[0][4] for f in tied)
        tied = [f for f in tied if f[0][4] == latest]
    return min(tied, key=lambda f: f[1])


class DefaultPreemption(Plugin, PostFilterPlugin):
    """kube-scheduler's ``DefaultPreemption``; args ``minCandidateNodesPercentage`` (0..100, default 10) and
    ``minCandidateNodesAbsolute`` (default 100)."""

    name = "DefaultPreemption"

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        args = args or {}
        self.min_candidate_nodes_percentage = self._int_arg(args, "minCandidateNodesPercentage", 10, 0, 100)
        self.min_candidate_nodes_absolute = self._int_arg(args, "minCandidateNodesAbsolute", 100, 0, None)
        if self.min_candidate_nodes_percentage == 0 and self.min_candidate_nodes_absolute == 0:
            raise ConfigError("DefaultPreemption.args: minCandidateNodesPercentage and minCandidateNodesAbsolute "
                              "cannot both be zero")
        self._rng = random.Random(0)
        self._dry_runs: OrderedDict[tuple, NodeTable] = OrderedDict()

    @staticmethod
    def _int_arg(args: Mapping[str, Any], key: str, default: int, low: int, high: Optional[int]) -> int:
        value = args.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise ConfigError(f"DefaultPreemption.args.{key}: invalid value {value!r}: must be an integer {bound}")
        return value

    def num_candidates(self, potential: int) -> int:
        """``GetOffsetAndNumCandidates``' count: how many candidates end the dry run."""
        n = potential * self.min_candidate_nodes_percentage // 100
        return min(max(n, self.min_candidate_nodes_absolute), potential)

    # -- the extension point ---------------------------------------------------------------------------
    def post_filter(self, state: CycleState, pod: Any,
                    statuses: Mapping[str, Status]) -> tuple[Optional[PostFilterResult], Status]:
        if pod.spec.preemption_policy == "Never":
            return None, Status.unschedulable("preemption: " + NEVER)
        fwk = self.handle.framework(pod)
        nodes = self.handle.snapshot.list()
        reasons: dict[str, Status] = {}
        if isinstance(statuses, IndexedStatuses) and statuses.unresolvable_count() == 0:
            potential: Sequence[NodeInfo] = nodes  # the class index counted them: no pass over every node
        else:
            potential = []
            for ni in nodes:
                status = statuses.get(ni.name)
                if status is not None and status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                    reasons[ni.name] = Status.unresolvable(NOT_HELPFUL)
                else:
                    potential.append(ni)
        found = self._dry_run(fwk, state, pod, potential, reasons) if potential else []
        if not found:
            counts: dict[str, int] = {}
            for status in reasons.values():
                for reason in status.reasons:
                    counts[reason] = counts.get(reason, 0) + 1
            detail = ", ".join(sorted(f"{n} {r}" for r, n in counts.items()))
            message = f"preemption: 0/{len(reasons)} nodes are available: {detail}"
            return PostFilterResult(""), Status.unschedulable(message)  # "": clear an earlier nomination
        (victims, _, _, _, _), _, node_name = _pick(found)
        for victim in victims:
            self.handle.delete_pod(victim)
        # Lower-priority pods nominated to this node may no longer fit: they lose their nomination and are
        # retried (prepareCandidate's getLowerPriorityNominatedPods).
        lower = [p for p in self.handle.nominated_pods(node_name) if p.priority_value < pod.priority_value]
        clear = getattr(self.handle, "clear_nominated_node_name", None)
        if lower and clear is not None:
            clear(lower)
        return PostFilterResult(node_name, victims), Status()

    # -- dry run ---------------------------------------------------------------------------------------
    def _dry_run(self, fwk: Any, state: CycleState, pod: Any, potential: Sequence[NodeInfo],
                 reasons: dict[str, Status]) -> list[tuple[DryRun, int, str]]:
        """``DryRunPreemption``: from a random offset, each node's victims, until ``num_candidates`` nodes
        are candidates (at least one of them without PDB violations) or every node was tried."""
        pdbs = list(self.handle.pod_disruption_budgets())
        m = len(potential)
        wanted = self.num_candidates(m)
        offset = self._rng.randrange(m)
        class_key = self._class_key(fwk, state, pod, pdbs)
        table = self._table(class_key) if class_key is not None else None
        own = pod.status.nominated_node_name  # its own nomination is left out there: not the class's answer
        found: list[tuple[DryRun, int, str]] = []
        clean = 0
        for i in range(m):
            at = offset + i
            ni = potential[at - m if at >= m else at]
            entry = table[ni.index] if table is not None and ni.name != own else None
            if entry is None:
                entry = _dry_run_result(*self.select_victims(fwk, state.clone(), pod, ni.clone(), pdbs))
                if table is not None and ni.name != own:
                    table[ni.index] = entry
            if entry[2] is not None:
                reasons[ni.name] = entry[2]
                continue
            if not entry[0]:
                continue  # the pod fits as it is (kube-scheduler keeps only candidates with victims)
            found.append((entry, i, ni.name))
            clean += entry[1] == 0
            if clean and len(found) >= wanted:
                break
        return found

    def _table(self, class_key: tuple) -> list[Any]:
        """The class's dry runs by node position, current with the cache (recent classes only)."""
        tables = self._dry_runs
        table = tables.get(class_key)
        if table is None:
            table = tables[class_key] = NodeTable(self.handle.snapshot)
            if len(tables) > _MAX_TABLES:
                tables.popitem(last=False)
        else:
            tables.move_to_end(class_key)
        return table.current()

    @staticmethod
    def _class_key(fwk: Any, state: CycleState, pod: Any, pdbs: Sequence[Any]) -> Optional[tuple]:
        """What a node's dry run depends on besides the node, or None when a filter reads the whole cluster."""
        skip = state.skip_filter_plugins
        signature = fwk.equivalence_signature(pod)
        names = {p.name for p in fwk.filter_plugins}
        for name, key in signature:
            if key is None and name in names and name not in skip:
                return None
        budgets = tuple((b.metadata.namespace, b.metadata.name, b.metadata.resource_version,
                         b.status.disruptions_allowed) for b in pdbs)
        return (signature, frozenset(skip), pod.priority_value, budgets)

    def _fits(self, fwk: Any, state: CycleState, pod: Any, ni: NodeInfo) -> Optional[Status]:
        """Filter with the node's nominated pods of equal or higher priority accounted, then without."""
        nominated = [p for p in self.handle.nominated_pods(ni.name)
                     if p.key != pod.key and p.priority_value >= pod.priority_value]
        if nominated:
            with_nominated = ni.clone()
            what_if = state.clone()
            for p in nominated:
                with_nominated.add_pod(p.with_node_name(ni.name))
                fwk.run_pre_filter_extension_add_pod(what_if, pod, p, with_nominated)
            status = fwk.run_filter_plugins(what_if, pod, with_nominated)
            if not status.is_success:
                return status
        status = fwk.run_filter_plugins(state, pod, ni)
        return None if status.is_success else status

    def select_victims(self, fwk: Any, state: CycleState, pod: Any, ni: NodeInfo,
                       pdbs: Sequence[Any]) -> tuple[list[Any], int, Optional[Status]]:
        """``SelectVictimsOnNode`` on a cloned NodeInfo and CycleState: (victims, PDB violations, failure)."""
        priority = pod.priority_value
        lower = [p for p in ni.pods.values() if p.priority_value < priority]
        if not lower:
            return [], 0, Status.unschedulable(NO_VICTIMS)
        for p in lower:
            ni.remove_pod(p)
            fwk.run_pre_filter_extension_remove_pod(state, pod, p, ni)
        status = self._fits(fwk, state, pod, ni)
        if status is not None:
            return [], 0, status
        lower.sort(key=more_important)
        violating, fine = pdb_violations(lower, pdbs)
        victims: list[Any] = []
        violations = 0
        for group, counts in ((violating, True), (fine, False)):
            for p in group:
                ni.add_pod(p)
                fwk.run_pre_filter_extension_add_pod(state, pod, p, ni)
                if self._fits(fwk, state, pod, ni) is not None:
                    ni.remove_pod(p)
                    fwk.run_pre_filter_extension_remove_pod(state, pod, p, ni)
                    victims.append(p)
                    violations += counts
        if violating and fine:
            victims.sort(key=more_important)
        return victims, violations, None
