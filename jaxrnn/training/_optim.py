"""Optimisers from a config, with the learning rate held in the optimiser state.

The schedule is built for a unit learning rate and the updates are scaled by
``learning_rate`` at the end (`scale_by_state`). Every optimiser here is linear
in its learning rate, so this is the same optimiser; what it buys is that the
learning rate is an array in the state, not a constant baked into the
program, so one compiled program trains a population with different rates.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._config import TrainConfig

__all__ = ["make_optimizer", "scale_by_state", "ScaleState"]


class ScaleState(NamedTuple):
    scale: jax.Array


def scale_by_state(scale: float) -> optax.GradientTransformation:
    """Multiply updates by a scalar kept in the state (initialised to ``scale``)."""

    def init(params):
        leaves = jax.tree_util.tree_leaves(params)
        dtype = leaves[0].dtype if leaves else jnp.float32
        return ScaleState(jnp.asarray(scale, dtype))

    def update(updates, state, params=None):
        return jax.tree_util.tree_map(lambda u: u * state.scale.astype(u.dtype), updates), state

    return optax.GradientTransformation(init, update)


def _unit_schedule(tr: TrainConfig, total: int):
    if tr.schedule == "constant":
        schedule = optax.constant_schedule(1.0)
    elif tr.schedule == "cosine":
        schedule = optax.cosine_decay_schedule(1.0, total)
    elif tr.schedule == "exponential":
        schedule = optax.exponential_decay(1.0, transition_steps=total, decay_rate=tr.decay_rate)
    else:  # warmup_cosine
        schedule = optax.warmup_cosine_decay_schedule(0.0, 1.0, tr.warmup_steps, total)
    if tr.warmup_steps > 0 and tr.schedule != "warmup_cosine":
        warm = optax.linear_schedule(0.0, 1.0, tr.warmup_steps)
        schedule = optax.join_schedules([warm, schedule], [tr.warmup_steps])
    return schedule


def make_optimizer(tr: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    """Optional global-norm clipping, then ``tr.optimizer`` on the schedule, scaled by
    ``tr.learning_rate`` (held in the state).

    **Arguments:**

    - `tr`: the train section of the config (optimizer, learning rate, schedule,
      warm-up, decay, clip norm).
    - `total_steps`: the run's optimisation steps (the cosine schedule's length).

    **Returns:**

    The ``optax.GradientTransformation``.
    """
    opt = getattr(optax, tr.optimizer)(_unit_schedule(tr, max(total_steps, 1)))
    parts = [opt, scale_by_state(tr.learning_rate)]
    if tr.clip_norm is not None:
        parts.insert(0, optax.clip_by_global_norm(tr.clip_norm))
    return optax.chain(*parts)
