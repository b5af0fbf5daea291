"""The addition and multiplication problems (Schmidt et al., Sect. 4.1; Hochreiter &
Schmidhuber 1997)."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray
from numpy.typing import DTypeLike

__all__ = ["marker_positions", "addition_problem", "multiplication_problem"]

MIN_LENGTH = 20  # t1 < 10 and t2 < T/2 must leave room for two distinct markers


def marker_positions(
    key: PRNGKeyArray, n_trials: int, T: int
) -> tuple[Int[Array, " n"], Int[Array, " n"]]:
    """Marker times ``t1 ~ U{0..9}`` and ``t2 ~ U{0..⌈T/2⌉-1} \\ {t1}`` (0-based, t2 < T/2;
    Schmidt et al., Sect. 4.1, after Hochreiter & Schmidhuber 1997).

    **Arguments:**

    - `key`: the PRNG key.
    - `n_trials`: the number of trials.
    - `T`: the sequence length.

    **Returns:**

    ``(t1, t2)``, two int arrays of shape ``(n_trials,)``.
    """
    if T < MIN_LENGTH:
        raise ValueError(f"sequence length T must be >= {MIN_LENGTH}, got {T}")
    k1, k2 = jax.random.split(key)
    n2 = (T + 1) // 2  # number of integers t with t < T/2
    t1 = jax.random.randint(k1, (n_trials,), 0, 10)
    t2 = jax.random.randint(k2, (n_trials,), 0, n2 - 1)
    t2 = jnp.where(t2 >= t1, t2 + 1, t2)  # uniform over {0..n2-1} without t1
    return t1, t2


@partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _problem_jit(key, n_trials, T, kind, dtype):
    kv, km = jax.random.split(key)
    values = jax.random.uniform(kv, (n_trials, T), dtype)  # U[0, 1)
    t1, t2 = marker_positions(km, n_trials, T)
    steps = jnp.arange(T)[None, :]
    markers = ((steps == t1[:, None]) | (steps == t2[:, None])).astype(dtype)
    rows = jnp.arange(n_trials)
    a, b = values[rows, t1], values[rows, t2]
    target = a + b if kind == "addition" else a * b
    return jnp.stack([values, markers], axis=-1), target[:, None]


def _problem(key, n_trials, T, kind, dtype):
    # one compiled program per shape (cached on disk with the others), not one per
    # operation: the trials are the same bits as drawn op by op, and a fresh process
    # spends ~0.1 s instead of ~1.5 s on them (marker_positions checks T while tracing)
    dtype = jnp.zeros(()).dtype if dtype is None else jnp.dtype(dtype)
    return _problem_jit(key, int(n_trials), int(T), kind, dtype)


def addition_problem(
    key: PRNGKeyArray, n_trials: int, T: int, *, dtype: DTypeLike | None = None
) -> tuple[Float[Array, "n T 2"], Float[Array, "n 1"]]:
    """Inputs (channel 0 ~ U[0, 1), channel 1 = two markers) and the target
    ``s_{0,t1} + s_{0,t2}``, to be produced at the last step (Schmidt et al., Sect. 4.1).

    **Arguments:**

    - `key`: the PRNG key of the trials.
    - `n_trials`: the number of trials.
    - `T`: the sequence length (≥ 2).
    - `dtype`: the inputs' and targets' dtype (default: JAX's default float).

    **Returns:**

    ``(inputs, targets)``, shapes ``(n_trials, T, 2)`` and ``(n_trials, 1)``.
    """
    return _problem(key, n_trials, T, "addition", dtype)


def multiplication_problem(
    key: PRNGKeyArray, n_trials: int, T: int, *, dtype: DTypeLike | None = None
) -> tuple[Float[Array, "n T 2"], Float[Array, "n 1"]]:
    """As `addition_problem`, with target ``s_{0,t1} · s_{0,t2}`` (Schmidt et al., Sect. 4.1).

    **Arguments:**

    - `key`: the PRNG key of the trials.
    - `n_trials`: the number of trials.
    - `T`: the sequence length (≥ 2).
    - `dtype`: the inputs' and targets' dtype (default: JAX's default float).

    **Returns:**

    ``(inputs, targets)``, shapes ``(n_trials, T, 2)`` and ``(n_trials, 1)``.
    """
    return _problem(key, n_trials, T, "multiplication", dtype)
