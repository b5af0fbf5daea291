"""Teacher forcing, parallel in time (``model.rollout: parallel`` in reconstruction).

The forced step of `teacher_forced_loss` (Schmidt et al., Sect. 4.2), with
``y_t = A ⊙ z_{t−1} + W relu(z_{t−1}) + h`` the free step, ``P = B⁺B`` and
``a_t = α`` at t ≡ 0 (mod interval), else 0::

    z_t = y_t + a_t B⁺ (x_t − B y_t) = (I − a_t P) y_t + a_t B⁺ x_t

is the PLRNN recurrence with ``G_t = I − a_t P`` and ``e_t = a_t B⁺ x_t``, so
`parallel_plrnn_rollout` evaluates it exactly, started from the data's projection
``B⁺ x_t`` (the teacher-forced trajectory itself when α = 1). Forcing shrinks the
Jacobians ``G_t J_t`` (``‖I − αP‖ = 1 − α`` on the observed directions), so the
pattern iteration converges in a few solves where a free run would not.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..models import PLRNN, parallel_plrnn_rollout

__all__ = ["parallel_teacher_forced_losses"]


def parallel_teacher_forced_losses(
    model: PLRNN, x: Float[Array, "B T N"], alpha, interval: int
) -> Float[Array, " B"]:
    """`teacher_forced_loss` of each of B windows, all evaluated at once by the exact
    parallel-in-time iteration (the same numbers to rounding; gradients by implicit
    differentiation).

    **Arguments:**

    - `model`: the PLRNN with a Gaussian observation model.
    - `x`: B subsequences of the data, shape ``(B, T, N)``.
    - `alpha`: the forcing strength α in [0, 1].
    - `interval`: steps between forcings.

    **Returns:**

    The mean squared error of each window, shape ``(B,)``.
    """
    assert model.observation is not None  # reconstruction models always observe
    Bobs = model.observation.B
    pinv = jnp.linalg.pinv(Bobs)
    T, N, M = x.shape[1], x.shape[2], model.state_size
    xs = jnp.swapaxes(x, 0, 1)  # time-major, (T, B, N)
    a = jnp.where(jnp.arange(1, T) % interval == 0, alpha, 0.0).astype(x.dtype)
    G = jnp.eye(M, dtype=x.dtype) - a[:, None, None] * (pinv @ Bobs)
    projected = xs @ pinv.T  # B⁺ x_t, (T, B, M)
    z0 = projected[0]
    zs = parallel_plrnn_rollout(
        model.A,
        model.W,
        model.h,
        jnp.zeros((M, 0), x.dtype),
        z0,
        jnp.zeros((T - 1, x.shape[0], 0), x.dtype),
        guess=projected[1:],
        forcing=G,
        forcing_offset=a[:, None, None] * projected[1:],
    ).states
    prev = jnp.concatenate([z0[None], zs[:-1]], axis=0)
    free = model.A * prev + jax.nn.relu(prev) @ model.W.T + model.h  # y_t, before forcing
    r = xs[1:] - free @ Bobs.T
    return jnp.sum(r * r, axis=(0, 2)) / ((T - 1) * N)
