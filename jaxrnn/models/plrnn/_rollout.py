"""A batched PLRNN rollout with a hand-written reverse pass (the training hot loop).

Forward, for a batch of B sequences (Schmidt et al., eq. 1 without noise)::

    z_t = A ⊙ z_{t−1} + W relu(z_{t−1}) + C s_t + h,      t = 1..T

The loss reads only the final state z_T (the benchmarks' last-step read-out).
The forward scan keeps the states z_0 … z_{T−1} (each step's input state); the
backward loop runs over them in reverse with the state cotangent::

    ḡ_T = ∂L/∂z_T,    ḡ_{t−1} = A ⊙ ḡ_t + (Wᵀ ḡ_t) ⊙ 1[z_{t−1} > 0]

and the parameter gradients ``∂W = Σ_t ḡ_t relu(z_{t−1})ᵀ``, ``∂A = Σ_t Σ_b ḡ_t ⊙ z_{t−1}``,
``∂h = Σ_t Σ_b ḡ_t``, ``∂C = Σ_t ḡ_t s_tᵀ``. Small batches keep the states as rows
(T, B, M) and form the parameter gradients as single contractions over all T·B rows after
the loop (a few large matmuls instead of T small ones). From ``_COLUMNS_FROM_BATCH``
sequences on, both passes keep the states as columns (T, M, B) — the products
W relu(z), Wᵀ ḡ and the weight-gradient product then run as (M, M)·(M, B)-shaped
matmuls, which XLA's CPU backend does 1.5–1.8× faster than their row forms — and the
reverse pass accumulates inside its loop (no (T, B, M) cotangent array is formed, which
costs more memory traffic than the products it saves): ∂W, ∂h and ∂C as one product
``[relu(z_{t−1}); 1; s_t] ḡ_tᵀ`` per step. Same numbers to rounding either way.

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
    """z_T and the states z_0 … z_{T−1} that each step started from, (T, B, M)."""
    WT = W.T

    def body(z, s_t):
        return A * z + jax.nn.relu(z) @ WT + _drive(C, h, s_t), z

    return jax.lax.scan(body, z0, s)


def _scan_columns(A, W, h, C, z0, s):
    """The same recurrence on transposed states, one column per sequence: z_T as
    (B, M), the states z_0 … z_{T−1} as (T, M, B) and the inputs as (T, K, B). From
    ``_COLUMNS_FROM_BATCH`` sequences on this is the faster layout on a CPU: W relu(z)
    as an (M, M)·(M, B) matmul runs about 1.8× faster than its row form (B = 500,
    M = 40), and C s_t as an (M, K)·(K, B) matmul beats broadcast multiply-adds there."""
    s_cols, A_col, h_col = jnp.swapaxes(s, 1, 2), A[:, None], h[:, None]

    def body(z, s_t):
        return A_col * z + W @ jax.nn.relu(z) + (C @ s_t + h_col), z

    z_last, prev = jax.lax.scan(body, z0.T, s_cols)
    return z_last.T, prev, s_cols


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
    if z0.shape[0] >= _COLUMNS_FROM_BATCH:
        return _scan_columns(A, W, h, C, z0, s)[0]
    return _scan(A, W, h, C, z0, s)[0]


# From this batch size on, both passes run on column states (`_scan_columns`) and the
# reverse pass accumulates the parameter gradients inside its loop; below it, row states
# and the contractions after the loop. Gradient of Σ z_T² in float32, M = 40, K = 2, ms
# (rows / columns), measured 2026-12-05 with this code on one core of the
# 2-core AMD EPYC VM: T = 500: B = 16: 2.13 / 4.05; 32: 4.04 / 5.02; 40: 4.76 / 5.29;
# 48: 5.89 / 5.63; 64: 9.74 / 6.59; 128: 19.0 / 10.8; 500: 127 / 41.1. T = 200: B = 32:
# 1.57 / 1.84; 40: 1.86 / 2.16; 48: 2.43 / 2.28; 64: 3.14 / 2.76.
_COLUMNS_FROM_BATCH = 48


def _fwd(A, W, h, C, z0, s):
    if z0.shape[0] >= _COLUMNS_FROM_BATCH:
        z_last, prev, s_cols = _scan_columns(A, W, h, C, z0, s)
        return z_last, (A, W, C, s_cols, prev)
    z_last, prev = _scan(A, W, h, C, z0, s)
    return z_last, (A, W, C, s, prev)


def _dC(g, s_t, K):
    """Σ_b g sᵀ over the leading axes: broadcast multiply-adds for a few input channels
    (XLA's CPU dot is slow with a tiny output dimension), a matmul otherwise."""
    axes = tuple(range(g.ndim - 1))
    if K <= 4:
        return jnp.stack([jnp.sum(g * s_t[..., k : k + 1], axis=axes) for k in range(K)], 1)
    return g.reshape(-1, g.shape[-1]).T @ s_t.reshape(-1, K)


def _ds(g, C):
    K = C.shape[1]
    if K <= 4:
        return jnp.stack([g @ C[:, k] for k in range(K)], axis=-1)
    return g @ C


def _bwd(res, g_last):
    A, W, C, s, prev = res
    M, K = C.shape
    dt = g_last.dtype
    if g_last.shape[0] < _COLUMNS_FROM_BATCH:  # stack ḡ_t, contract over all T·B rows after

        def step(g, z_prev):  # g: the total cotangent of z_t; z_prev = z_{t-1}
            return A * g + (g @ W) * (z_prev > 0), g

        g0, gs = jax.lax.scan(step, g_last, prev, reverse=True)
        rows = gs.reshape(-1, M)
        dW = rows.T @ jax.nn.relu(prev).reshape(-1, M)
        dA, dh = jnp.sum(gs * prev, axis=(0, 1)), jnp.sum(rows, axis=0)
        return dA, dW, dh, _dC(gs, s, K), g0, _ds(gs, C)

    # accumulate inside the loop, everything in the (M, B) layout: ∂W, ∂h and ∂C as one
    # product [relu(z_{t−1}); 1; s_t] ḡ_tᵀ per step, ∂A as an (M, B) sum of ḡ_t ⊙ z_{t−1}
    # reduced once after the loop
    B = prev.shape[2]
    ones, A_col, WT = jnp.ones((1, B), dt), A[:, None], W.T

    def body(carry, xs):
        g, dA_cols, acc = carry  # g: ḡ_t transposed, (M, B)
        z_prev, s_t = xs  # (M, B), (K, B)
        acc = acc + jnp.concatenate([jax.nn.relu(z_prev), ones, s_t], axis=0) @ g.T
        dA_cols = dA_cols + g * z_prev
        return (A_col * g + (WT @ g) * (z_prev > 0), dA_cols, acc), C.T @ g

    init = (g_last.T, jnp.zeros((M, B), dt), jnp.zeros((M + 1 + K, M), dt))
    (g0, dA_cols, acc), ds = jax.lax.scan(body, init, (prev, s), reverse=True)
    dW, dh, dC = acc[:M].T, acc[M], acc[M + 1 :].T
    return jnp.sum(dA_cols, axis=1), dW, dh, dC, g0.T, jnp.swapaxes(ds, 1, 2)


_sequential.defvjp(_fwd, _bwd)
