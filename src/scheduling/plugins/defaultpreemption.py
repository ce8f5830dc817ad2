"""DefaultPreemption (PostFilter): when no node fits, make room by evicting lower-priority pods, as
kube-scheduler's ``defaultpreemption`` plugin and its preemption ``Evaluator``.

1. Eligibility: a pod with ``preemptionPolicy: Never`` does not preempt, nor does a pod nominated to a node
   where a lower-priority pod is terminating (it waits for that pod to go).
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
5. The victims are deleted through the handle and the pod is nominated to the node; lower-priority pods
   nominated there lose their nomination (``getLowerPriorityNominatedPods``). No candidate at all: the pod's
   earlier nomination is cleared (``PostFilterResult("")``).

Filters run with the pods already nominated to the node (of equal or higher priority) accounted, as
``RunFilterPluginsWithNominatedPods`` does.

Speed (Borg's equivalence classes): when every filter the pod runs is node-local (each has an
``equivalence_key``; cluster-wide ones returned Skip at PreFilter), a node's dry-run result depends only on
the node's state, the pod's class, its priority, the PDBs and the pods nominated there. From the second pod
of a class on, a ``DryRunTable`` (``dryruns.py``) keeps every node's dry run current with the cache and the
candidates sorted by position, so the search from the random offset walks no node that cannot help.
kube-scheduler reruns the dry run on up to 10 % of the nodes for every pod (in 16 goroutines); the
candidates and the choice here are the same.
"""
from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any, Mapping, Optional, Sequence

from ..cycle.classindex import IndexedStatuses
from ..framework import (Code, ConfigError, CycleState, NodeInfo, NodeNotFound, Plugin, PostFilterPlugin,
                         PostFilterResult, Status)
from .dryruns import DryRun, DryRunTable, dry_run, is_candidate

__all__ = ["DefaultPreemption", "more_important", "pdb_violations", "terminating_by_preemption",
           "DISRUPTION_TARGET", "PREEMPTION_BY_SCHEDULER"]

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING = "not eligible due to a terminating pod on the nominated node."
DISRUPTION_TARGET = "DisruptionTarget"  # v1.DisruptionTarget, written on victims before they are deleted
PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"  # v1.PodReasonPreemptionByScheduler
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



def terminating_by_preemption(pod: Any) -> bool:
    """kube-scheduler's ``podTerminatingByPreemption``: being deleted, and the first DisruptionTarget
    condition is True with reason PreemptionByScheduler."""
    if pod.metadata.deletion_timestamp is None:
        return False
    for condition in pod.status.conditions:
        if condition.type == DISRUPTION_TARGET:
            return condition.status == "True" and condition.reason == PREEMPTION_BY_SCHEDULER
    return False

class DefaultPreemption(Plugin, PostFilterPlugin):
    """kube-scheduler's ``DefaultPreemption``; args ``minCandidateNodesPercentage`` (0..100, default 10) and
    ``minCandidateNodesAbsolute`` (default 100)."""

    name = "DefaultPreemption"
    args_fields = frozenset({"minCandidateNodesPercentage", "minCandidateNodesAbsolute"})

    def __init__(self, args: Optional[Mapping[str, Any]] = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        args = args or {}
        self.min_candidate_nodes_percentage = self._int_arg(args, "minCandidateNodesPercentage", 10, 0, 100)
        self.min_candidate_nodes_absolute = self._int_arg(args, "minCandidateNodesAbsolute", 100, 0, None)
        if self.min_candidate_nodes_percentage == 0 and self.min_candidate_nodes_absolute == 0:
            raise ConfigError("DefaultPreemption.args: minCandidateNodesPercentage and minCandidateNodesAbsolute "
                              "cannot both be zero")
        self._rng = random.Random(0)
        self._dry_runs: OrderedDict[tuple, Optional[DryRunTable]] = OrderedDict()

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
        if self._waits_for_terminating_victim(pod, statuses):
            return None, Status.unschedulable("preemption: " + TERMINATING)
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
        # pickOneNodeForPreemption: the smallest key, the first found among equals.
        (victims, _, _, _), _, node_name = min(found, key=lambda f: f[0][3])
        for victim in victims:
            self.handle.delete_pod(victim, pod)  # prepareCandidate: DisruptionTarget first, then the delete
        # Lower-priority pods nominated to this node may no longer fit: they lose their nomination and are
        # retried (prepareCandidate's getLowerPriorityNominatedPods).
        lower = [p for p in self.handle.nominated_pods(node_name) if p.priority_value < pod.priority_value]
        clear = getattr(self.handle, "clear_nominated_node_name", None)
        if lower and clear is not None:
            clear(lower)
        return PostFilterResult(node_name, victims), Status()

    def _waits_for_terminating_victim(self, pod: Any, statuses: Mapping[str, Status]) -> bool:
        """``PodEligibleToPreemptOthers``: a pod already nominated to a node where a lower-priority pod is
        terminating *because a scheduler preempted it* (``podTerminatingByPreemption``: DisruptionTarget=True,
        reason PreemptionByScheduler; PodDisruptionConditions is GA) waits for it to go instead of preempting
        again — unless its nominated node can no longer take it at all (UnschedulableAndUnresolvable). A pod
        terminating for another reason (deleted by a user, evicted) does not hold it back."""
        nominated = pod.status.nominated_node_name
        if not nominated:
            return False
        status = statuses.get(nominated)
        if status is not None and status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            return False
        try:
            ni = self.handle.snapshot.get(nominated)
        except NodeNotFound:
            return False
        priority = pod.priority_value
        return any(p.priority_value < priority and terminating_by_preemption(p) for p in ni.pods.values())

    # -- dry run ---------------------------------------------------------------------------------------
    def _dry_run(self, fwk: Any, state: CycleState, pod: Any, potential: Sequence[NodeInfo],
                 reasons: dict[str, Status]) -> list[tuple[DryRun, int, str]]:
        """``DryRunPreemption``: from a random offset, each node's victims, until ``num_candidates`` nodes
        are candidates (at least one of them without PDB violations) or every node was tried. Returns the
        candidates as (dry run, search order, node name); ``reasons`` gets the failures of the nodes tried."""
        pdbs = list(self.handle.pod_disruption_budgets())
        m = len(potential)
        wanted = self.num_candidates(m)
        offset = self._rng.randrange(m)

        def evaluate(ni: NodeInfo, for_class: bool = False) -> DryRun:
            return dry_run(*self.select_victims(fwk, state.clone(), pod, ni.clone(), pdbs, for_class))

        class_key = self._class_key(fwk, state, pod, pdbs)
        table = self._table(class_key) if class_key is not None else None
        snapshot = self.handle.snapshot
        nodes = snapshot.list()
        own = pod.status.nominated_node_name  # its own nomination counts there: not the class's answer
        runs = None
        if table is not None:
            runs = table.update(nodes, lambda ni: evaluate(ni, True))
            if potential is nodes and not own:
                positions = table.search(offset, len(nodes), wanted)
                if positions:
                    best = min(positions, key=lambda i: runs[i][3])  # min keeps the first found of equals
                    return [(runs[best], (best - offset) % len(nodes), nodes[best].name)]
                for i, entry in enumerate(runs):  # every node was tried: their failures make the message
                    if entry[2] is not None:
                        reasons[nodes[i].name] = entry[2]
                return []
            if potential is nodes:
                own_info = snapshot.find(own)
                own_entry = evaluate(own_info) if own_info is not None else None
                return self._search_candidates(table, runs, own_entry, own_info, nodes, offset, wanted, reasons)
        found: list[tuple[DryRun, int, str]] = []
        clean = 0
        for i in range(m):
            at = offset + i
            ni = potential[at - m if at >= m else at]
            entry = runs[ni.index] if runs is not None and ni.name != own else evaluate(ni)
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

    def _table(self, class_key: tuple) -> Optional[DryRunTable]:
        """The class's table of dry runs, from the second pod of the class on (a table costs a dry run on
        every node; a pod alone in its class tries only the nodes its search reaches). Recent classes only."""
        tables = self._dry_runs
        if class_key not in tables:
            tables[class_key] = None
            table = None
        else:
            table = tables[class_key]
            if table is None:
                table = tables[class_key] = DryRunTable(self.handle.snapshot)
            tables.move_to_end(class_key)
        if len(tables) > _MAX_TABLES:
            tables.popitem(last=False)
        return table

    @staticmethod
    def _search_candidates(table: DryRunTable, runs: list[DryRun], own_entry: Optional[DryRun],
                           own_info: Optional[NodeInfo], nodes: Sequence[NodeInfo], offset: int, wanted: int,
                           reasons: dict[str, Status]) -> list[tuple[DryRun, int, str]]:
        """The same search as the loop in ``_dry_run`` over every node, walking only the candidates; the
        pod's own nominated node (``own_entry``: its dry run for this pod alone) is met at its place."""
        m = len(nodes)
        own = own_info.index if own_info is not None else -1
        own_order = (own - offset) % m if own >= 0 else m
        own_pending = own_entry is not None and is_candidate(own_entry)
        found: list[tuple[DryRun, int, str]] = []
        clean = 0
        for pos in table.in_search_order(offset):
            order = (pos - offset) % m
            if own_pending and own_order < order:
                own_pending = False
                found.append((own_entry, own_order, own_info.name))  # type: ignore[arg-type,union-attr]
                clean += own_entry[1] == 0  # type: ignore[index]
                if clean and len(found) >= wanted:
                    return found
            if pos == own:
                continue
            entry = runs[pos]
            found.append((entry, order, nodes[pos].name))
            clean += entry[1] == 0
            if clean and len(found) >= wanted:
                return found
        if own_pending:
            found.append((own_entry, own_order, own_info.name))  # type: ignore[arg-type,union-attr]
        if not found:  # every node was tried: their failures make the message
            for i, entry in enumerate(runs):
                if entry[2] is not None and i != own:
                    reasons[nodes[i].name] = entry[2]
            if own_entry is not None and own_entry[2] is not None:
                reasons[own_info.name] = own_entry[2]  # type: ignore[union-attr]
        return found

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

    def _fits(self, fwk: Any, state: CycleState, pod: Any, ni: NodeInfo, for_class: bool = False) -> Optional[Status]:
        """Filter with the node's nominated pods of equal or higher priority accounted, then without; the
        pod's own nomination is left out unless the answer is for its whole class (``for_class``)."""
        nominated = [p for p in self.handle.nominated_pods(ni.name)
                     if (for_class or p.key != pod.key) and p.priority_value >= pod.priority_value]
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

    def select_victims(self, fwk: Any, state: CycleState, pod: Any, ni: NodeInfo, pdbs: Sequence[Any],
                       for_class: bool = False) -> tuple[list[Any], int, Optional[Status]]:
        """``SelectVictimsOnNode`` on a cloned NodeInfo and CycleState: (victims, PDB violations, failure).
        ``for_class``: the answer for every pod of the class, the pod's own nomination counted as another's."""
        priority = pod.priority_value
        lower = [p for p in ni.pods.values() if p.priority_value < priority]
        if not lower:
            return [], 0, Status.unschedulable(NO_VICTIMS)
        for p in lower:
            ni.remove_pod(p)
            fwk.run_pre_filter_extension_remove_pod(state, pod, p, ni)
        status = self._fits(fwk, state, pod, ni, for_class)
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
                if self._fits(fwk, state, pod, ni, for_class) is not None:
                    ni.remove_pod(p)
                    fwk.run_pre_filter_extension_remove_pod(state, pod, p, ni)
                    victims.append(p)
                    violations += counts
        if violating and fine:
            victims.sort(key=more_important)
        return victims, violations, None
