"""The parts of one scheduling cycle, which ``scheduling.scheduler`` strings together: how the feasible nodes
are found and scored (``nodewalk``: node by node from the round-robin start; ``classlookup``: read from an
equivalence class's index when every active filter is node-local, with the same decisions), the class indexes
themselves (``classindex``), what needs no scheduler (``selection``: window size, the unschedulable message,
the pick, a profile's class caches), the pods nominated by preemption and the rules that set and clear them
(``nominator``) and ``explain(pod)`` (``explain``).

Nothing is imported here: the scheduler and the plugins import the modules they use.
"""
