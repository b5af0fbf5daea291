"""Parallel-in-time PLRNN evaluation: the exact Newton (DEER) iteration over a whole
sequence, each iteration one associative scan (Lim et al., ICLR 2024; for the PLRNN the
linearisation is exact, so the iteration ends at the sequential trajectory itself).

The recurrence solved, for B trials of T steps (Schmidt et al., eq. 1 without noise;
``G_t`` and ``e_t`` are optional and express teacher forcing, Sect. 4.2)::

    z_t = G_t (A ⊙ z_{t−1} + W relu(z_{t−1}) + C s_t + h) + e_t,      t = 1..T

Freeze each step's ReLU pattern ``D_t = diag(1[z_{t−1} > 0])``: then
``relu(z_{t−1}) = D_t z_{t−1}`` exactly and the recurrence is linear and time-varying,
``z_t = J_t z_{t−1} + b_t`` with ``J_t = G_t (diag(A) + W D_t)`` and
``b_t = G_t (C s_t + h) + e_t``. Affine maps compose associatively,
``(J₂, b₂) ∘ (J₁, b₁) = (J₂ J₁, J₂ b₁ + b₂)``, so `jax.lax.associative_scan` solves it
in O(log T) depth. The patterns are re-read from the solution and the solve repeated;
when no pattern changes, the solution satisfies the nonlinear recurrence, i.e. it IS the
sequential trajectory (to rounding), not an approximation of it.

Bounds. Iteration k makes z_1..z_k exact (z_0 is given, so D_1 is right from the start,
and D_{k+1} is read from the exact z_k), hence at most T iterations. For a contracting
PLRNN far fewer: with ``ρ = max_Ω ‖G(diag(A) + W D_Ω)‖₂`` < 1 over the regions, the
error ``ε_k = max_t ‖z^k_t − z*_t‖₂`` of iterate k obeys ``ε_k ≤ ρ ε_k + ‖G‖‖W‖ ε_{k−1}``
(a unit on the wrong side of zero has ``|z*_i| ≤ |z^{k−1}_i − z*_i|``), i.e.
``ε_k ≤ q ε_{k−1}`` with ``q = ‖G‖‖W‖ / (1 − ρ)``; every pattern is right once the error
is below the smallest margin ``δ = min_{t,i} |z*_{t,i}|``, and the solve after that is
exact: for q < 1 at most ``2 + ⌊log(δ / ε_0) / log q⌋`` iterations
(`newton_iteration_bound`). A chaotic free run
makes q > 1: the cap is reached and the trial is flagged unconverged, never silently
wrong.

Gradients are by implicit differentiation at the converged trajectory, not through the
iterations: the adjoint ``λ_T = ḡ_T``, ``λ_{t−1} = ḡ_{t−1} + J_tᵀ λ_t`` is the same
kind of linear recurrence, solved by one reversed associative scan; with
``v_t = G_tᵀ λ_t`` the parameter gradients are single contractions over all T·B rows as
in `plrnn_rollout`'s reverse pass.

Cost: an iteration stores T·B matrices of M × M and does O(T B M³) work against the
sequential scan's O(T B M²) in T steps; it pays off where depth, not work, is the limit
(an accelerator, long T, small B·M). See ``benchmarks/parallel_rollout.py``.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

__all__ = ["ParallelRollout", "parallel_plrnn_rollout", "newton_iteration_bound"]


class ParallelRollout(eqx.Module):
    """The result of `parallel_plrnn_rollout`.

    **Arguments:**

    - `states`: z_1..z_T, shape ``(T, B, M)``.
    - `iterations`: linear solves until each trial's patterns stopped changing (the cap
      for a trial that did not converge), shape ``(B,)``.
    - `converged`: whether each trial's patterns are self-consistent, i.e. its states
      are the sequential trajectory, shape ``(B,)``.
    - `diverged`: whether a trial's states are not all finite, shape ``(B,)``.
    """

    states: Float[Array, "T B M"]
    iterations: Int[Array, " B"]
    converged: Bool[Array, " B"]
    diverged: Bool[Array, " B"]


def _region_maps(A, W, D, G):
    """J_t = G_t (diag(A) + W D_t) for every (t, b): shape (T, B, M, M)."""
    J = W * D[..., None, :] + jnp.diag(A)
    return J if G is None else jnp.einsum("tij,tbjk->tbik", G, J)


def _offsets(h, C, s, G, e):
    """b_t = G_t (C s_t + h) + e_t: shape (T, B, M)."""
    u = jnp.einsum("mk,tbk->tbm", C, s) + h
    if G is not None:
        u = jnp.einsum("tij,tbj->tbi", G, u)
    return u if e is None else u + e


def _compose(first, second):
    J1, b1 = first
    J2, b2 = second
    return J2 @ J1, jnp.einsum("...ij,...j->...i", J2, b1) + b2


def _affine_solve(J, b, z0):
    """z_t = J_t z_{t−1} + b_t (t = 1..T) from z0: one associative scan."""
    b = b.at[0].add(jnp.einsum("bij,bj->bi", J[0], z0))
    return jax.lax.associative_scan(_compose, (J, b))[1]


def _previous(z0, zs):
    return jnp.concatenate([z0[None], zs[:-1]], axis=0)


def _solve(A, W, h, C, z0, s, G, e, guess, max_iterations):
    T, B = s.shape[:2]
    b = _offsets(h, C, s, G, e)

    def cond(carry):
        k, _, done, _ = carry
        return (k < max_iterations) & ~jnp.all(done)

    def body(carry):
        k, zs, done, iters = carry
        D = _previous(z0, zs) > 0
        new = _affine_solve(_region_maps(A, W, D.astype(A.dtype), G), b, z0)
        same = jnp.all((_previous(z0, new) > 0) == D, axis=(0, 2))
        iters = jnp.where(done, iters, k + 1)
        zs = jnp.where(done[None, :, None], zs, new)  # a converged trial keeps its states
        return k + 1, zs, done | same, iters

    start = (jnp.asarray(0), guess, jnp.zeros(B, bool), jnp.full(B, max_iterations))
    _, zs, done, iters = jax.lax.while_loop(cond, body, start)
    return zs, iters, done


@jax.custom_vjp
def _parallel(A, W, h, C, z0, s, G, e, guess, cap):
    return _solve(A, W, h, C, z0, s, G, e, guess, cap)


def _parallel_fwd(A, W, h, C, z0, s, G, e, guess, cap):
    zs, iters, done = _solve(A, W, h, C, z0, s, G, e, guess, cap)
    return (zs, iters, done), (A, W, h, C, z0, s, G, e, guess, cap, zs)


def _parallel_bwd(res, cotangents):
    A, W, h, C, z0, s, G, e, guess, cap, zs = res
    g = cotangents[0]
    prev = _previous(z0, zs)
    J = _region_maps(A, W, (prev > 0).astype(A.dtype), G)
    # adjoint, λ_{t-1} = ḡ_{t-1} + J_tᵀ λ_t: an affine recurrence in reversed time
    Jr = jnp.concatenate([jnp.zeros_like(J[:1]), jnp.swapaxes(J[:0:-1], -1, -2)])
    lam = _affine_solve(Jr, g[::-1], jnp.zeros_like(z0))[::-1]
    v = lam if G is None else jnp.einsum("tji,tbj->tbi", G, lam)  # cotangent before G_t
    relu = jax.nn.relu(prev)
    dA = jnp.sum(v * prev, axis=(0, 1))
    dW = jnp.einsum("tbi,tbj->ij", v, relu)
    dh = jnp.sum(v, axis=(0, 1))
    dC = jnp.einsum("tbi,tbk->ik", v, s)
    ds = jnp.einsum("tbi,ik->tbk", v, C)
    dz0 = jnp.einsum("bji,bj->bi", J[0], lam[0])
    dG = None
    if G is not None:
        pre = A * prev + relu @ W.T + jnp.einsum("mk,tbk->tbm", C, s) + h
        dG = jnp.einsum("tbi,tbj->tij", lam, pre)
    de = None if e is None else lam
    return dA, dW, dh, dC, dz0, ds, dG, de, jnp.zeros_like(guess), None


_parallel.defvjp(_parallel_fwd, _parallel_bwd)


def parallel_plrnn_rollout(
    A: Float[Array, " M"],
    W: Float[Array, "M M"],
    h: Float[Array, " M"],
    C: Float[Array, "M K"],
    z0: Float[Array, "B M"],
    s: Float[Array, "T B K"],
    *,
    max_iterations: int | None = None,
    guess: Float[Array, "T B M"] | None = None,
    forcing: Float[Array, "T M M"] | None = None,
    forcing_offset: Float[Array, "T B M"] | None = None,
) -> ParallelRollout:
    """All states of B sequences, ``z_t = G_t (A ⊙ z_{t−1} + W relu(z_{t−1}) + C s_t + h)
    + e_t`` (Schmidt et al., eq. 1; ``G_t = I``, ``e_t = 0`` unless forced), by the
    exact pattern (Newton) iteration with associative scans; differentiable in everything
    by implicit differentiation at the returned trajectory (see the module docstring).

    **Arguments:**

    - `A`: the diagonal auto-regression weights, shape ``(M,)``.
    - `W`: the coupling matrix, shape ``(M, M)``.
    - `h`: the bias, shape ``(M,)``.
    - `C`: the input weights, shape ``(M, K)``.
    - `z0`: the initial states, shape ``(B, M)``.
    - `s`: the inputs, time-major, shape ``(T, B, K)``.
    - `max_iterations`: the cap on linear solves (default T, which always suffices in
      exact arithmetic).
    - `guess`: the initial trajectory (default zeros; in reconstruction the data's
      projection B⁺x_t), shape ``(T, B, M)``.
    - `forcing`: ``G_t``, shape ``(T, M, M)`` (teacher forcing: ``I − α_t B⁺B``).
    - `forcing_offset`: ``e_t``, shape ``(T, B, M)`` (teacher forcing: ``α_t B⁺x_t``).

    **Returns:**

    A `ParallelRollout`: the states, the iterations used, and per-trial ``converged``
    and ``diverged`` flags. An unconverged trial's states are exact only up to its
    first ``iterations`` steps.
    """
    T = s.shape[0]
    cap = T if max_iterations is None else int(max_iterations)
    if cap < 1:
        raise ValueError(f"max_iterations: needs at least 1 linear solve, got {cap}")
    guess = jnp.zeros(s.shape[:2] + A.shape, A.dtype) if guess is None else guess
    return _rollout(A, W, h, C, z0, s, forcing, forcing_offset, guess, cap)


@eqx.filter_jit  # one program per shape for eager callers (inlined under an outer jit)
def _rollout(A, W, h, C, z0, s, G, e, guess, cap: int) -> ParallelRollout:
    zs, iters, done = _parallel(A, W, h, C, z0, s, G, e, guess, cap)
    bad = ~jnp.all(jnp.isfinite(zs), axis=(0, 2))
    return ParallelRollout(zs, iters, done & ~bad, bad)


def newton_iteration_bound(
    A: ArrayLike, W: ArrayLike, margin: float, initial_error: float, *, forcing=None
) -> int | None:
    """The bound of the module docstring on the pattern iterations of a contracting
    PLRNN: ``2 + ⌊log(δ / ε_0) / log q⌋`` (1 when ε_0 < δ) with ``q = ‖G‖₂‖W‖₂ / (1 − ρ)`` and ρ the
    largest spectral norm of ``G (diag(A) + W D)`` over all ``2^M`` patterns.

    **Arguments:**

    - `A`: the diagonal weights, shape ``(M,)`` (M ≤ 16: the patterns are enumerated).
    - `W`: the coupling matrix, shape ``(M, M)``.
    - `margin`: δ, the smallest ``|z*_{t,i}|`` of the true trajectory.
    - `initial_error`: ε_0, the largest Euclidean error ``max_t ‖guess_t − z*_t‖₂``.
    - `forcing`: a constant ``G`` (default the identity).

    **Returns:**

    The bound (an int), or None when q ≥ 1 (no contraction: only the bound T holds).
    """
    A, W = np.asarray(A, float), np.asarray(W, float)
    M = A.shape[0]
    if M > 16:
        raise ValueError(f"A: the bound enumerates 2^M patterns; M = {M} > 16")
    G = np.eye(M) if forcing is None else np.asarray(forcing, float)
    rho = max(
        np.linalg.norm(G @ (np.diag(A) + W * np.asarray(d, float)), 2)
        for d in np.ndindex(*(2,) * M)
    )
    q = np.linalg.norm(G, 2) * np.linalg.norm(W, 2) / (1 - rho) if rho < 1 else math.inf
    if q >= 1:
        return None
    if initial_error < margin:
        return 1
    return 2 + math.floor(math.log(margin / initial_error) / math.log(q))
