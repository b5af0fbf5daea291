"""The device programs of a run: a member's loss and update step with the divergence
rule, a chunk of steps as one ``lax.scan``, evaluation, and the forced Jacobian norm of
adaptive teacher forcing; vmapped over the members of a population (see `Trainer`).

**Divergence rule.** A member diverges at the first update step whose
training loss is non-finite, or that ends a run of ``train.abort_patience``
consecutive steps (default 10) with a loss above ``train.abort_loss``
(default 100, the authors' error threshold; ``null`` keeps only the
non-finite test); the update of that step is not applied. Why a run of steps
and not the first step above the threshold: with the paper-text protocol
(B = 16, clip 10) the rPLRNN's per-step loss on the addition problem (T = 200,
seed 0) spiked above 10 at 14 of 250,000 steps in 40 epochs, in runs of at
most 3 consecutive steps, and above 100 once (180, at step 2); every time the
run recovered, reaching 0.9995 test fraction correct at epoch 33
(``experiments/loss_spikes.py``; README, "Divergence rule"). A one-step rule
would have aborted that run at its second step. A real blow-up (the former
initialisation overflows to ~1e29 and stays there) is above any threshold at
every step and is caught 10 steps after it starts. The loss is checked
inside the compiled program, so the abort costs no extra host round trip.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Bool, Float, Int, PyTree

from .._members import vmap_members
from ._config import ModelConfig
from ._hyper import Hyper
from ._model_zoo import regulariser
from ._objective_base import AbstractObjective

__all__ = ["TrainingPrograms"]


class TrainingPrograms:
    """Pure functions of (params, optimiser state, hyper-parameters, data), each mapped
    over the members (a leading axis on params, optimiser state, hyper-parameters and
    batch ids; a single model is a population of one, run as the unbatched program by
    `vmap_members`); the `Trainer` jit-compiles each once per run."""

    def __init__(
        self,
        static: PyTree,
        objective: AbstractObjective,
        model_config: ModelConfig,
        optimizer: optax.GradientTransformation,
        abort_loss: float,
        abort_patience: int,
    ):
        self.static, self.objective, self.model_config = static, objective, model_config
        self.optimizer, self.abort_loss, self.abort_patience = optimizer, abort_loss, abort_patience

    def _member_loss(
        self, params: PyTree, data: PyTree, ids: Int[Array, "*batch"], hyper: Hyper
    ) -> tuple[Float[Array, ""], Float[Array, ""]]:
        model = eqx.combine(params, self.static)
        task = self.objective.loss(model, data, ids, hyper)
        return task + regulariser(model, self.model_config, hyper), task

    def _member_step(
        self,
        params: PyTree,
        opt_state: PyTree,
        hyper: Hyper,
        alive: Bool[Array, ""],
        above: Int[Array, ""],
        data: PyTree,
        ids: Int[Array, "*batch"],
        live: Bool[Array, ""],
    ):
        (loss, _), grads = jax.value_and_grad(self._member_loss, has_aux=True)(
            params, data, ids, hyper
        )
        updates, new_state = self.optimizer.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        finite = jnp.isfinite(loss)
        counting = live & alive
        above = jnp.where(counting, jnp.where(loss > self.abort_loss, above + 1, 0), above)
        diverged = ~finite | (above >= self.abort_patience)
        alive = alive & ~(live & diverged)
        ok = live & alive
        keep = lambda new, old: jnp.where(ok, new, old)  # noqa: E731
        params = jax.tree_util.tree_map(keep, new_params, params)
        opt_state = jax.tree_util.tree_map(keep, new_state, opt_state)
        return params, opt_state, alive, above, loss

    def chunk(
        self,
        params: PyTree,
        opt_state: PyTree,
        hyper: Hyper,
        alive: Bool[Array, " P"],
        above: Int[Array, " P"],
        data: PyTree,
        idx: Int[Array, "K P *batch"],
        live: Bool[Array, " K"],
    ):
        """K update steps of every member (a ``lax.scan``); a step with ``live`` False is
        a masked no-op. Returns the new (params, opt_state, alive, above) and the (K, P)
        losses and alive flags per step."""
        step = vmap_members(self._member_step, (0, 0, 0, 0, 0, None, 0, None))

        def body(carry, inp):
            params, opt_state, alive, above = carry
            ids, lv = inp
            params, opt_state, alive, above, loss = step(
                params, opt_state, hyper, alive, above, data, ids, lv
            )
            return (params, opt_state, alive, above), (loss, alive)

        (params, opt_state, alive, above), (losses, alive_steps) = jax.lax.scan(
            body, (params, opt_state, alive, above), (idx, live)
        )
        return params, opt_state, alive, above, losses, alive_steps

    def _member_eval(self, params: PyTree, hyper: Hyper, data: PyTree):
        model = eqx.combine(params, self.static)
        return (
            self.objective.evaluate(model, data, hyper),
            regulariser(model, self.model_config, hyper),
        )

    def evaluate(self, params: PyTree, hyper: Hyper, data: PyTree):
        """Every member's evaluation outputs and regulariser value."""
        return vmap_members(self._member_eval, (0, 0, None))(params, hyper, data)

    def batch_loss(
        self, params: PyTree, hyper: Hyper, data: PyTree, ids: Int[Array, " P *batch"]
    ) -> Float[Array, " P"]:
        """Every member's training loss (task + regulariser) on its batch."""
        return vmap_members(lambda p, h, i: self._member_loss(p, data, i, h)[0], (0, 0, 0))(
            params, hyper, ids
        )

    def log_norm(
        self, params: PyTree, hyper: Hyper, data: PyTree, ids: Int[Array, " P *batch"]
    ) -> Float[Array, " P"]:
        """Every member's mean log norm of the forced Jacobians on its batch."""
        fn = lambda p, h, i: self.objective.log_jacobian_norm(  # noqa: E731
            eqx.combine(p, self.static), data, i, h
        )
        return vmap_members(fn, (0, 0, 0))(params, hyper, ids)
