"""A batched PLRNN rollout with a hand-written reverse pass (the training hot loop).

Forward, for a batch of B sequences (Schmidt et al., eq. 1 without noise)::

    z_t = A ⊙ z_{t−1} + W relu(z_{t−1}) + C s_t + h,      t = 1..T

The loss reads only the final state z_T (the benchmarks' last-step read-out).
The forward scan keeps the states z_0 … z_{T−1} (each step's input state); the
backward loop runs over them in reverse with the state cotangent::

    ḡ_T = ∂L/∂z_T,    ḡ_{t−1} = A ⊙ ḡ_t + (Wᵀ ḡ_t) ⊙ 1[z_{t−1} > 0]

and accumulates the parameter gradients in the same loop, ``∂W += ḡ_t relu(z_{t−1})ᵀ``,
``∂A += Σ_b ḡ_t ⊙ z_{t−1}``, ``∂h += Σ_b ḡ_t``, ``∂C += ḡ_t s_tᵀ``, so no (T, B, M)
array besides the saved states is ever formed. (Measured 2026-12-04 on the 2-core AMD
EPYC VM, float32, B = T = 500, M = 40: 135.6 ms per gradient with the cotangents
stacked and contracted after the loop, 73.4 ms accumulating inside it; on this CPU the
stacked (T, B, M) arrays cost more in memory traffic and page faults than the per-step
(M×B)·(B×M) products they avoid. `benchmarks/training_step.py`.)

``method="parallel"`` evaluates the same recurrence by the exact Newton (DEER) pattern
iteration of `parallel_plrnn_rollout`: O(log T) depth per iteration instead of T steps.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._parallel import parallel_plrnn_rollout

__all__ = ["plrnn_rollout", "ROLLOUTS"]

ROLLOUTS = ("sequential", "parallel")
"""The evaluation methods of `plrnn_rollout` (config key ``model.rollout``)."""


def _drive(C, h, s_t):
    """``C s_t + h`` for a (B, K) slice: broadcast multiply-adds for a few input
    channels (XLA's CPU dot is slow for tiny K), a matmul otherwise."""
    K = C.shape[1]
    if K <= 4:
        out = h
        for k in range(K):
            out = out + s_t[:, k : k + 1] * C[:, k]
        return out
    return s_t @ C.T + h


def _scan(A, W, h, C, z0, s):
    """z_T and the states z_0 … z_{T−1} that each step started from."""
    WT = W.T

    def body(z, s_t):
        return A * z + jax.nn.relu(z) @ WT + _drive(C, h, s_t), z

    return jax.lax.scan(body, z0, s)


def _forward(A, W, h, C, z0, s):
    """All states z_1 … z_T, shape (T, B, M)."""
    z_last, prev = _scan(A, W, h, C, z0, s)
    return jnp.concatenate([prev[1:], z_last[None]], axis=0)


def plrnn_rollout(
    A: Float[Array, " M"],
    W: Float[Array, "M M"],
    h: Float[Array, " M"],
    C: Float[Array, "M K"],
    z0: Float[Array, "B M"],
    s: Float[Array, "T B K"],
    *,
    method: Literal["sequential", "parallel"] = "sequential",
    max_iterations: int | None = None,
) -> Float[Array, "B M"]:
    """The final states z_T of B sequences (inputs time-major), differentiable in
    everything (Schmidt et al., eq. 1 without noise; the reverse pass of the module
    docstring).

    **Arguments:**

    - `A, W, h, C`: the PLRNN's parameters, shapes ``(M,)``, ``(M, M)``, ``(M,)``,
      ``(M, K)``.
    - `z0`: the initial states, shape ``(B, M)``.
    - `s`: the inputs, time-major, shape ``(T, B, K)``.
    - `method`: ``"sequential"`` (a ``lax.scan`` of T steps) or ``"parallel"`` (the
      exact pattern iteration of `parallel_plrnn_rollout`, gradients by implicit
      differentiation).
    - `max_iterations`: the parallel method's cap on linear solves (default T: the
      iteration is then exact by construction, see `parallel_plrnn_rollout`).

    **Returns:**

    z_T, shape ``(B, M)``.
    """
    if method == "parallel":
        return parallel_plrnn_rollout(A, W, h, C, z0, s, max_iterations=max_iterations).states[-1]
    if method != "sequential":
        raise ValueError(f"method: must be one of {', '.join(ROLLOUTS)}, got {method!r}")
    return _sequential(A, W, h, C, z0, s)


@jax.custom_vjp
def _sequential(A, W, h, C, z0, s):
    return _scan(A, W, h, C, z0, s)[0]


def _fwd(A, W, h, C, z0, s):
    z_last, prev = _scan(A, W, h, C, z0, s)
    return z_last, (A, W, C, s, prev)


def _bwd(res, g_last):
    A, W, C, s, prev = res
    M, K = C.shape

    def body(carry, xs):  # g: the total cotangent of z_t; z_prev = z_{t-1}
        g, dA, dW, dh, dC = carry
        z_prev, s_t = xs
        dW = dW + g.T @ jax.nn.relu(z_prev)
        dA = dA + jnp.sum(g * z_prev, axis=0)
        dh = dh + jnp.sum(g, axis=0)
        if K <= 4:  # XLA's CPU dot is slow with a tiny output dimension
            dC = dC + jnp.stack([jnp.sum(g * s_t[:, k : k + 1], axis=0) for k in range(K)], 1)
            ds_t = jnp.stack([g @ C[:, k] for k in range(K)], axis=1)
        else:
            dC, ds_t = dC + g.T @ s_t, g @ C
        return (A * g + (g @ W) * (z_prev > 0), dA, dW, dh, dC), ds_t

    dt = g_last.dtype
    init = (
        g_last,
        jnp.zeros(M, dt),
        jnp.zeros((M, M), dt),
        jnp.zeros(M, dt),
        jnp.zeros((M, K), dt),
    )
    (g0, dA, dW, dh, dC), ds = jax.lax.scan(body, init, (prev, s), reverse=True)
    return dA, dW, dh, dC, g0, ds


_sequential.defvjp(_fwd, _bwd)
