"""borgsim: a whole simulated cluster in one process, and the density scenario of Kubernetes' clusterloader2.

The composition package: the only one that imports several of borgkit's top packages (kvstore, objects,
scheduling, controllers). It wires a store (in memory, durable with ``data_dir``, or a 3-member Raft
cluster), an :class:`objects.Registry`, ``scheduling.Scheduler.run``, a :class:`controllers.ControllerManager`
and :class:`controllers.HollowNodes`, then runs the scenario (:mod:`borgsim.scenario`) and measures it
(:mod:`borgsim.observe`). Command line: ``python -m borgsim`` (or ``borgkit-sim``); see docs/simulation.md.
"""
from .cluster import SimCluster, StoreSpec
from .config import SimConfig, SimConfigError
from .scenario import PhaseResult, SimResult, run_density

__all__ = ["SimCluster", "StoreSpec", "SimConfig", "SimConfigError", "PhaseResult", "SimResult", "run_density"]
