"""`TrainState`: everything a run (one model or a population) changes while it trains, as
one `equinox.Module` with a member axis. A single model is a population of one; the
checkpoint ``last.eqx`` is this module serialised, whatever the population size."""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
import numpy as np
from jaxtyping import Bool, Float64, Int32, PyTree

from ._hyper import Hyper

__all__ = ["TrainState"]


class TrainState(eqx.Module):
    """The state of a run of P members after ``epoch`` epochs (``step`` update steps).

    Device arrays (stacked over members on a leading axis of size P): the parameters,
    the optimiser state and the traced settings (`Hyper`, whose α adaptive teacher
    forcing changes). Host arrays (NumPy, so that the file format does not depend on
    ``jax_enable_x64``): the per-member flags and counters of the divergence rule and
    early stopping, and the best epoch so far by the objective's score.

    **Arguments:**

    - `params`: the members' inexact-array parameters, stacked.
    - `opt_state`: the members' Optax states, stacked.
    - `hyper`: the members' `Hyper`, stacked.
    - `alive`: False once a member diverged (it is frozen).
    - `stopped`: True once a member met its early-stopping rule (frozen).
    - `above`: consecutive steps with a loss above ``train.abort_loss``, per member.
    - `epoch`: epochs completed.
    - `step`: update steps completed.
    - `best_score`: the best epoch's score per member (−∞ before the first epoch).
    - `best_loss`: its test loss (the tie-break).
    - `best_epoch`: its epoch (−1 before the first epoch).
    """

    params: PyTree
    opt_state: PyTree
    hyper: Hyper
    alive: Bool[np.ndarray, " P"]
    stopped: Bool[np.ndarray, " P"]
    above: Int32[np.ndarray, " P"]
    epoch: Int32[np.ndarray, ""]
    step: Int32[np.ndarray, ""]
    best_score: Float64[np.ndarray, " P"]
    best_loss: Float64[np.ndarray, " P"]
    best_epoch: Int32[np.ndarray, " P"]

    @classmethod
    def start(cls, params: PyTree, opt_state: PyTree, hyper: Hyper) -> TrainState:
        """The state before the first epoch of members whose stacked trees are given."""
        P = int(np.shape(hyper.alpha)[0])
        return cls(
            params=params,
            opt_state=opt_state,
            hyper=hyper,
            alive=np.ones(P, bool),
            stopped=np.zeros(P, bool),
            above=np.zeros(P, np.int32),
            epoch=np.asarray(0, np.int32),
            step=np.asarray(0, np.int32),
            best_score=np.full(P, -np.inf),
            best_loss=np.full(P, np.inf),
            best_epoch=np.full(P, -1, np.int32),
        )

    @property
    def size(self) -> int:
        """P, the number of members."""
        return int(self.alive.shape[0])

    @property
    def active(self) -> Bool[np.ndarray, " P"]:
        """The members that still train (alive and not stopped)."""
        return self.alive & ~self.stopped

    def replace(self, **changes: Any) -> TrainState:
        """A copy with ``changes`` (field = value); host fields are cast to their type."""
        for name in ("alive", "stopped"):
            if name in changes:
                changes[name] = np.array(changes[name], bool)
        for name in ("above", "epoch", "step", "best_epoch"):
            if name in changes:
                changes[name] = np.array(changes[name], np.int32)
        for name in ("best_score", "best_loss"):
            if name in changes:
                changes[name] = np.array(changes[name], np.float64)
        return dataclasses.replace(self, **changes)

    def improved(self, member: int, score: float, loss: float) -> bool:
        """Whether (score, loss) beats member ``member``'s best (higher score, then lower
        loss)."""
        best = float(self.best_score[member])
        return score > best or (score == best and loss < float(self.best_loss[member]))

    def with_best(self, member: int, score: float, loss: float) -> TrainState:
        """The state with member ``member``'s best set to this epoch's (score, loss)."""
        s, lo, e = self.best_score.copy(), self.best_loss.copy(), self.best_epoch.copy()
        s[member], lo[member], e[member] = score, loss, int(self.epoch)
        return self.replace(best_score=s, best_loss=lo, best_epoch=e)
