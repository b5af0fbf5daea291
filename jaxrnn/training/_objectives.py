"""Objectives by task: what a run trains for. An objective owns its data, its model
construction, loss, evaluation, metrics, best-epoch score and summary; the trainer and
the run directory only call these.

- `BenchmarkObjective`: the addition, multiplication and (permuted) sequential MNIST
  problems of Schmidt et al., Sect. 4.1.
- `ReconstructionObjective`: dynamical-systems reconstruction with generalised teacher
  forcing, Schmidt et al., Sect. 4.2.
"""

from __future__ import annotations

from ._benchmark_objective import BenchmarkObjective
from ._objective_base import AbstractObjective
from ._reconstruction_objective import ReconstructionObjective

__all__ = ["OBJECTIVES", "objective_class", "AbstractObjective"]

OBJECTIVES: dict[str, type[AbstractObjective]] = {"reconstruction": ReconstructionObjective}


def objective_class(task_name: str) -> type[AbstractObjective]:
    """The objective of a task name (``reconstruction``, else the benchmarks)."""
    return OBJECTIVES.get(task_name, BenchmarkObjective)
