"""n-step-ahead prediction error of a latent model on observed data."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._system_kinds import AbstractDiscreteSystem

__all__ = ["prediction_error"]


def prediction_error(
    model: AbstractDiscreteSystem,
    x: Float[ArrayLike, "T N"],
    n: int,
    *,
    encode: Callable | None = None,
) -> Float[Array, ""]:
    """Mean squared error of n-step-ahead predictions: from each time t, encode the
    observation x_t into a latent state (default: least squares through the model's
    linear Gaussian observation matrix B), iterate the autonomous map n steps, observe,
    and compare with x_{t+n} (Schmidt et al., Sect. 4.2).

    **Arguments:**

    - `model`: the trained map, with a Gaussian observation model (``model.observation``).
    - `x`: the observed series, shape ``(T, N)``.
    - `n`: the prediction horizon in steps (≥ 1, < T).
    - `encode`: a function ``x_t ↦ z_t`` (default: ``B⁺ x_t``, least squares).

    **Returns:**

    The mean squared error over all ``T − n`` start times and the N observations.
    """
    x = jnp.asarray(x)
    if encode is None:
        observation = getattr(model, "observation", None)
        if observation is None:
            raise ValueError("prediction_error: the model has no observation model; pass encode=")
        B = observation.B
        pinv = jnp.linalg.pinv(B)
        encode = lambda obs: pinv @ obs  # noqa: E731
    zero = jnp.zeros((model.input_size,), x.dtype)

    def from_t(obs):
        z = jax.lax.fori_loop(0, n, lambda _, v: model.step(v, zero), encode(obs))
        return model.observe(z)  # pyright: ignore[reportAttributeAccessIssue] (PLRNN-like)

    preds = jax.vmap(from_t)(x[:-n])
    return jnp.mean((preds - x[n:]) ** 2)
