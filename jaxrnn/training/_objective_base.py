"""`AbstractObjective`: what a run trains for, as the `Trainer`, the run directory, the
sweeps and the run report call it. Every method they call is declared here; a new
fitting target is a new subclass (abstract/final, as the system kinds of
``jaxrnn/_system_kinds.py``), never a branch in the trainer."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
from jaxtyping import Array, Float, PyTree

from ._config import Config

__all__ = ["AbstractObjective"]


class AbstractObjective(abc.ABC):
    """A task's data, model construction, loss, evaluation, metrics and score.

    Every device function (`loss`, `evaluate`, `log_jacobian_norm`) is pure in
    ``(model, data arrays, batch ids, hyper-parameters)``, so the trainer can ``vmap``
    it over a population. Subclasses set the class attributes and fill the instance
    attributes in ``__init__(config, *, data_dir, dtype)``.

    Class attributes: ``name`` (the objective's kind); ``uses_forcing`` (α is logged in
    every metrics line); ``summary_metrics`` (the metrics whose best-epoch values a
    summary names ``best_<metric>``, in order); ``sweep_columns`` (a training sweep's
    default result columns); ``curve_metrics``, ``curve_label`` and ``curve_ylim`` (the
    right panel of curves.png).

    Instance attributes: ``train_data`` and ``eval_data`` (device arrays or tuples of
    them), ``batches_per_epoch`` and ``adaptive_forcing``.
    """

    name: ClassVar[str]
    uses_forcing: ClassVar[bool]
    summary_metrics: ClassVar[tuple[str, ...]]
    sweep_columns: ClassVar[tuple[str, ...]]
    curve_metrics: ClassVar[tuple[tuple[str, str], ...]]
    curve_label: ClassVar[str]
    curve_ylim: ClassVar[tuple[float, float] | None] = None

    train_data: Any
    eval_data: Any
    batches_per_epoch: int
    adaptive_forcing: bool = False

    @abc.abstractmethod
    def __init__(self, config: Config, *, data_dir=None, dtype=np.float32):
        """Build the task's data for ``config`` (MNIST or recorded series found through
        ``data_dir``) in ``dtype``."""

    @abc.abstractmethod
    def build_model(self, config: Config, *, dtype, key):
        """A member's model, initialised from ``key``."""

    @abc.abstractmethod
    def epoch_batches(self, seed: int, epoch: int) -> np.ndarray:
        """(n_batches, B, ...) batch ids of an epoch; a function of (seed, epoch) only."""

    @abc.abstractmethod
    def loss(self, model, data, ids, hyper) -> Float[Array, ""]:
        """The mean task loss of the batch ``ids`` (device; the regulariser is added by
        the trainer)."""

    @abc.abstractmethod
    def evaluate(self, model, data, hyper) -> PyTree:
        """The evaluation's raw outputs (device arrays), for `metrics`."""

    @abc.abstractmethod
    def metrics(self, outputs) -> dict:
        """Host metrics (floats, ``test_loss`` among them) from `evaluate`'s outputs."""

    @abc.abstractmethod
    def score(self, metrics: dict) -> tuple[float, float]:
        """(score, loss) of an epoch: a higher score is better, a lower loss breaks ties."""

    @abc.abstractmethod
    def reached(self, metrics: dict, target: float) -> bool:
        """Whether an epoch's metrics meet ``train.stop_at``."""

    @abc.abstractmethod
    def analysis_trajectories(self, model, n_trials: int) -> Float[Array, "n T M"]:
        """Latent trajectories, (n, T, M) in float64, that the run report analyses."""

    def log_jacobian_norm(self, model, data, ids, hyper) -> Float[Array, ""]:
        """Mean log spectral norm of the forced Jacobians on a batch (adaptive teacher
        forcing). Objectives with ``adaptive_forcing`` override it."""
        raise NotImplementedError(f"the {self.name} objective has no forced Jacobians")

    def summary(self, best: dict | None) -> dict:
        """``best_<metric>`` of `summary_metrics` at the best epoch (None before one)."""
        return {f"best_{k}": None if best is None else best[k] for k in self.summary_metrics}
