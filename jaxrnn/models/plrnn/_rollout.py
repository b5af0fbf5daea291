"""A batched PLRNN rollout with a hand-written reverse pass (the training hot loop).

Forward, for a batch of B sequences (Schmidt et al., eq. 1 without noise)::

    z_t = A ⊙ z_{t−1} + W relu(z_{t−1}) + C s_t + h,      t = 1..T

The loss reads only the final state z_T (the benchmarks' last-step read-out).
The forward scan keeps the states z_0 … z_{T−1} (each step's input state); the
backward loop runs over them in reverse with the state cotangent::

    ḡ_T = ∂L/∂z_T,    ḡ_{t−1} = A ⊙ ḡ_t + (Wᵀ ḡ_t) ⊙ 1[z_{t−1} > 0]

and the parameter gradients ``∂W = Σ_t ḡ_t relu(z_{t−1})ᵀ``, ``∂A = Σ_t Σ_b ḡ_t ⊙ z_{t−1}``,
``∂h = Σ_t Σ_b ḡ_t``, ``∂C = Σ_t ḡ_t s_tᵀ``: for small batches as single contractions
over all T·B rows after the loop (a few large matmuls instead of T small ones), from
``_IN_LOOP_FROM_BATCH`` on accumulated inside it (no (T, B, M) cotangent array is formed,
which on a CPU costs more memory traffic than the products it saves), ∂W, ∂h and ∂C as
one product ``ḡ_tᵀ [relu(z_{t−1}), 1, s_t]`` per step. Same numbers to rounding either
way.

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


# From this batch size on, the reverse pass accumulates the parameter gradients inside its
# loop; below it, it stacks the cotangents and contracts them after the loop. Measured
# 2026-12-04 at f46306c on one core of the 2-core AMD EPYC VM (float32 gradient, M = 40,
# K = 2; after / inside, ms): T = 500: B = 16: 2.62 / 3.99; 32: 5.16 / 5.58; 48: 7.03 /
# 8.53; 64: 9.46 / 8.96; 128: 21.0 / 15.7; 256: 101 / 29.0. T = 200: B = 32: 1.58 /
# 2.26; 64: 4.31 / 4.31; 128: 7.45 / 6.40; and whole epochs of the fast protocol (B = 64,
# T = 200) 5.4 s after, 5.5-6.1 s inside. The stacked (T, B, M) arrays of large batches
# cost more memory traffic than the per-step (M×B)·(B×M) products they avoid.
_IN_LOOP_FROM_BATCH = 128


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
    if prev.shape[1] < _IN_LOOP_FROM_BATCH:  # stack ḡ_t, contract over all T·B rows after

        def step(g, z_prev):  # g: the total cotangent of z_t; z_prev = z_{t-1}
            return A * g + (g @ W) * (z_prev > 0), g

        g0, gs = jax.lax.scan(step, g_last, prev, reverse=True)
        rows = gs.reshape(-1, M)
        dW = rows.T @ jax.nn.relu(prev).reshape(-1, M)
        dA, dh = jnp.sum(gs * prev, axis=(0, 1)), jnp.sum(rows, axis=0)
        return dA, dW, dh, _dC(gs, s, K), g0, _ds(gs, C)

    # accumulate inside the loop: ∂W, ∂h and ∂C as one product ḡ_tᵀ [relu(z_{t−1}), 1, s_t]
    # per step, ∂A as a (B, M) sum of ḡ_t ⊙ z_{t−1} reduced once after the loop
    ones = jnp.ones((prev.shape[1], 1), dt)

    def body(carry, xs):
        g, dA_rows, acc = carry
        z_prev, s_t = xs
        acc = acc + g.T @ jnp.concatenate([jax.nn.relu(z_prev), ones, s_t], axis=1)
        dA_rows = dA_rows + g * z_prev
        return (A * g + (g @ W) * (z_prev > 0), dA_rows, acc), _ds(g, C)

    init = (g_last, jnp.zeros_like(g_last), jnp.zeros((M, M + 1 + K), dt))
    (g0, dA_rows, acc), ds = jax.lax.scan(body, init, (prev, s), reverse=True)
    return jnp.sum(dA_rows, axis=0), acc[:, :M], acc[:, M], acc[:, M + 1 :], g0, ds


_sequential.defvjp(_fwd, _bwd)
