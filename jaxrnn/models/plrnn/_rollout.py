"""A batched PLRNN rollout with a hand-written reverse pass (the training hot loop).

Forward, for a batch of B sequences (Schmidt et al., eq. 1 without noise)::

    z_t = A ⊙ z_{t−1} + W relu(z_{t−1}) + C s_t + h,      t = 1..T

The loss reads only the final state z_T (the benchmarks' last-step read-out).
Reverse-mode autodiff of a ``lax.scan`` would accumulate the weight gradients
inside the backward loop, one (M×B)·(B×M) product per step. Here the backward
loop carries only the state cotangent::

    ḡ_T = ∂L/∂z_T,    ḡ_{t−1} = A ⊙ ḡ_t + (Wᵀ ḡ_t) ⊙ 1[z_{t−1} > 0]

and the parameter gradients are single contractions over all T·B rows after
it: ``∂W = Σ_t ḡ_t relu(z_{t−1})ᵀ``, ``∂A = Σ_t ḡ_t ⊙ z_{t−1}``, ``∂h = Σ_t ḡ_t``,
``∂C = Σ_t ḡ_t s_tᵀ``. Same numbers (to rounding), fewer and larger matmuls.

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


def _forward(A, W, h, C, z0, s):
    WT = W.T

    def body(z, s_t):
        z = A * z + jax.nn.relu(z) @ WT + _drive(C, h, s_t)
        return z, z

    _, zs = jax.lax.scan(body, z0, s)
    return zs


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
    return _forward(A, W, h, C, z0, s)[-1]


def _fwd(A, W, h, C, z0, s):
    zs = _forward(A, W, h, C, z0, s)
    return zs[-1], (A, W, C, z0, s, zs)


def _bwd(res, g_last):
    A, W, C, z0, s, zs = res
    prev = jnp.concatenate([z0[None], zs[:-1]], axis=0)  # z_{t-1}, (T, B, M)

    def body(g, z_prev):  # g: the total cotangent of z_t
        return A * g + (g @ W) * (z_prev > 0), g

    g0, gs = jax.lax.scan(body, g_last, prev, reverse=True)
    M, K = C.shape
    rows = gs.reshape(-1, M)  # all T·B rows: one (M × TB)·(TB × M) product, not T small ones
    dW = rows.T @ jax.nn.relu(prev).reshape(-1, M)
    dA = jnp.sum(gs * prev, axis=(0, 1))
    dh = jnp.sum(rows, axis=0)
    if K <= 4:  # XLA's CPU dot is slow with a tiny output dimension
        dC = jnp.stack([jnp.sum(gs * s[..., k : k + 1], axis=(0, 1)) for k in range(K)], axis=1)
    else:
        dC = rows.T @ s.reshape(-1, K)
    ds = gs @ C
    return dA, dW, dh, dC, g0, ds


_sequential.defvjp(_fwd, _bwd)
