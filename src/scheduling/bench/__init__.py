"""The scheduling benchmark: ``python -m scheduling.bench`` (or ``borgkit-bench``), inside the package so an
installed copy runs it.

``cli`` is the command (the table, the child processes), ``run`` runs one workload in ``core`` or ``e2e``
mode, ``pace`` times the scheduler from inside, ``check`` compares decisions with ``scheduling.reference``,
``plot`` draws the figures (``python -m scheduling.bench.plot``), ``workload`` reads the shared workload
format and ``workloads/`` is the built-in set.
"""
from .cli import DEFAULT_SCALE, LEGEND, ProgressBar, ProgressLines, Table, format_table, main

__all__ = ["main", "format_table", "Table", "LEGEND", "DEFAULT_SCALE", "ProgressBar", "ProgressLines"]
