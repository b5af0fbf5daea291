"""The E-step: a Laplace posterior over the whole latent path (Schmidt et al., Sect. 3.4,
Suppl. 7.1.3, eqs. 21–22).

Within the orthant of a sign pattern d ∈ {0, 1}^{T×M} (D_t = diag(d_t), φ(z_t) = D_t z_t)
the negative log joint is exactly quadratic, ½ zᵀH(d)z − zᵀv(d) + const (eq. 21). With
J_t = diag(A) + W D_t, c_1 = μ₀ + C s_1, c_t = h + C s_t and G_t = B D_t (g = φ) or B:

    H_tt      = Σ⁻¹ + [t < T] J_tᵀ Σ⁻¹ J_t + G_tᵀ Γ⁻¹ G_t + εI
    H_{t+1,t} = −Σ⁻¹ J_t
    v_t       = Σ⁻¹ c_t − [t < T] J_tᵀ Σ⁻¹ c_{t+1} + G_tᵀ Γ⁻¹ x_t

(the blocks U0 + D U2 D + D U1 + U1ᵀ D and v0 + D v1 of the paper, assembled per
step). The mode is found by the fixed-point iteration over d: solve H(d) z = v(d),
flip the entries whose sign disagrees with d (the largest one only, or all of them),
and repeat until the pattern is consistent, a pattern recurs, or the violation error
rises (the authors' rules, Suppl. 7.1.3). The posterior covariance is V = H(d)⁻¹ at
the final pattern (eq. 22), of which only the diagonal and first off-diagonal blocks
are formed. The expectations of φ under N(z*, V) follow (`_relu_moments`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

from ._block_tridiagonal import BlockTridiagonal
from ._state_space import PLRNNStateSpace

__all__ = ["hessian", "Posterior", "posterior"]


def _observed(x):
    seen = jnp.all(jnp.isfinite(x), axis=-1)
    return jnp.where(seen[:, None], x, 0.0), seen


@eqx.filter_jit  # one program per shape and setting when called on its own
def hessian(
    model: PLRNNStateSpace,
    x: Float[ArrayLike, "T N"],
    d: Float[ArrayLike, "T M"],
    inputs: Float[ArrayLike, "T K"] | None = None,
    *,
    linear: bool = False,
    eps: float = 1e-5,
) -> tuple[BlockTridiagonal, Float[Array, "T M"]]:
    """H(d) and v(d) of the orthant-wise quadratic log joint (Suppl. eq. 21), H as bands.

    **Arguments:**

    - `model`: the state-space model.
    - `x`: the observations, shape ``(T, N)``; rows with a NaN are missing.
    - `d`: the sign pattern (1: z > 0), shape ``(T, M)``; ignored when ``linear``.
    - `inputs`: the inputs s_t, shape ``(T, K)``, or None.
    - `linear`: the LDS of the first annealing stage (J = diag(A) + W, x = B z).
    - `eps`: the singularity guard εI added to every diagonal block.

    **Returns:**

    ``(H, v)``: a `BlockTridiagonal` and the linear term, shape ``(T, M)``.
    """
    dtype = model.A.dtype
    x, seen = _observed(jnp.asarray(x, dtype))
    T, M = x.shape[0], model.latent_size
    d = jnp.ones((T, M), dtype) if linear else jnp.asarray(d, dtype)
    W = model.W if linear else model.W * (1.0 - jnp.eye(M, dtype=dtype))
    A = model.A
    inv_s = 1.0 / model.sigma
    eye = jnp.eye(M, dtype=dtype)
    drive = model.input_drive(inputs, T)
    c = jnp.concatenate([(model.mu0 + drive[0])[None], model.h + drive[1:]])
    c_next = jnp.concatenate([c[1:], jnp.zeros((1, M), dtype)])
    # everything elementwise in d (O(T M²)): with J_t = diag(A) + W D_t,
    # J_tᵀJ_t = diag(A²) + (AW) ⊙ 1dᵀ + (AW)ᵀ ⊙ d1ᵀ + WᵀW ⊙ ddᵀ
    AW = A[:, None] * W
    dd = d[:, :, None] * d[:, None, :]
    JtJ = (
        jnp.diag(A * A)[None]
        + AW[None] * d[:, None, :]
        + AW.T[None] * d[:, :, None]
        + (W.T @ W)[None] * dd
    )
    has_next = (jnp.arange(T) < T - 1).astype(dtype)
    BGB = model.B.T @ (model.B / model.Gamma[:, None])
    BGx = (x / model.Gamma) @ model.B * seen[:, None]  # Bᵀ Γ⁻¹ x_t, missing rows zeroed
    relu_obs = not linear and model.observation == "relu"
    obs_H = BGB[None] * (dd if relu_obs else 1.0) * seen[:, None, None].astype(dtype)
    obs_v = BGx * d if relu_obs else BGx
    diag = (inv_s + eps) * eye + inv_s * JtJ * has_next[:, None, None] + obs_H
    lower = -inv_s * (jnp.diag(A)[None] + W[None] * d[:-1, None, :])
    Jc = A * c_next + d * (c_next @ W)  # J_tᵀ c_{t+1}
    v = inv_s * c - inv_s * Jc * has_next[:, None] + obs_v
    return BlockTridiagonal(0.5 * (diag + jnp.swapaxes(diag, 1, 2)), lower), v


class Posterior(eqx.Module):
    """The Laplace posterior of one E-step.

    **Arguments:**

    - `mean`: the mode z*, shape ``(T, M)``.
    - `pattern`: the sign pattern d that produced z*, shape ``(T, M)``.
    - `cov_diag`: V_tt, shape ``(T, M, M)`` (diagonal floored, see `posterior`).
    - `cov_lower`: V_{t+1,t}, shape ``(T − 1, M, M)``.
    - `passes`: solves of the pattern iteration.
    - `violations`: entries of z* whose sign disagrees with ``pattern`` (0: consistent).
    - `capped`: whether the iteration stopped at its pass limit.
    """

    mean: Float[Array, "T M"]
    pattern: Float[Array, "T M"]
    cov_diag: Float[Array, "T M M"]
    cov_lower: Float[Array, "Tm1 M M"]
    passes: Int[Array, ""]
    violations: Int[Array, ""]
    capped: Bool[Array, ""]


def _pattern_iteration(model, x, inputs, z_init, single_flip, key, *, eps, tol, max_passes):
    """The authors' fixed-point iteration over the sign pattern (Suppl. 7.1.3)."""
    T, M = z_init.shape
    dtype = z_init.dtype
    weights = jax.random.uniform(key, (T, M), dtype)  # pattern hash d·y: revisit detection

    def digest(d):
        return jnp.sum(d * weights)

    d0 = (z_init > 0).astype(dtype)
    visited = jnp.full((max_passes + 1,), jnp.nan, dtype).at[0].set(digest(d0))
    big = jnp.asarray(1e16, dtype)
    # state: (current pattern, accepted z, pattern of accepted z, error, visited, n, go, n_viol)
    init = (d0, z_init, d0, big, visited, jnp.asarray(0), jnp.asarray(True), jnp.asarray(0))

    def body(state):
        d, z_acc, d_acc, err_old, visited, n, _, nv_acc = state
        H, v = hessian(model, x, d, inputs, eps=eps)
        z = H.solve(v)
        viol = d != (z > 0)
        n_viol = jnp.sum(viol)
        err = jnp.sum(jnp.where(viol, jnp.abs(z), 0.0))
        err_ok = err - err_old < tol * err
        largest = jnp.argmax(jnp.where(viol, jnp.abs(z), -1.0).ravel())
        one = jnp.zeros(T * M, bool).at[largest].set(True).reshape(T, M) & viol
        flip = jnp.where(single_flip, one, viol)
        d_next = jnp.where(flip, 1.0 - d, d)
        h_next = digest(d_next)
        seen = jnp.any(visited == h_next)
        n = n + 1
        go = (n_viol > 0) & ~seen & err_ok & (n < max_passes)
        z_acc = jnp.where(err_ok, z, z_acc)
        d_acc = jnp.where(err_ok, d, d_acc)
        nv_acc = jnp.where(err_ok, n_viol, nv_acc)
        visited = jnp.where(go, visited.at[n].set(h_next), visited)
        return (
            jnp.where(go, d_next, d),
            z_acc,
            d_acc,
            jnp.where(err_ok, err, err_old),
            visited,
            n,
            go,
            nv_acc,
        )

    state = jax.lax.while_loop(lambda s: s[6], body, init)
    _, z, d, _, _, n, _, nv = state
    return z, d, n, nv


@eqx.filter_jit  # one compilation per shape and setting, however often it is called
def posterior(
    model: PLRNNStateSpace,
    x: Float[ArrayLike, "T N"],
    z_init: Float[ArrayLike, "T M"],
    inputs: Float[ArrayLike, "T K"] | None = None,
    *,
    key: PRNGKeyArray,
    single_flip: bool | Bool[Array, ""] = False,
    linear: bool = False,
    eps: float = 1e-5,
    tol: float = 1e-2,
    max_passes: int = 200,
    cov_floor: float = 1e-4,
) -> Posterior:
    """The E-step's Laplace posterior N(z*, V) (Suppl. 7.1.3, eq. 22).

    **Arguments:**

    - `model`: the state-space model.
    - `x`: the observations, shape ``(T, N)``.
    - `z_init`: where the pattern iteration starts (d₀ = 1[z_init > 0]): the previous
      EM iteration's mode, or a draw from N(0, I) at the start of a stage.
    - `inputs`: the inputs s_t, shape ``(T, K)``, or None.
    - `key`: draws the hashing vector of the revisit detection.
    - `single_flip`: flip only the violated entry of largest |z_k| per pass (the
      authors' rule for the first 10 EM iterations of a stage); else all of them.
    - `linear`: the LDS stage: one exact solve, no pattern.
    - `eps`: the singularity guard εI (authors: 1e-5).
    - `tol`: the pattern iteration goes on while the violation error
      Err = Σ_violated |z_k| rises by less than ``tol · Err`` (authors' tol2: 1e-2).
    - `max_passes`: the most solves per E-step (the authors' loop had no cap).
    - `cov_floor`: floor of V's diagonal (authors: 1e-4; their LDS stage: 1e-9).

    **Returns:**

    A `Posterior`.
    """
    dtype = model.A.dtype
    x = jnp.asarray(x, dtype)
    z_init = jnp.asarray(z_init, dtype)
    if linear:
        d = jnp.ones_like(z_init)
        H, v = hessian(model, x, d, inputs, linear=True, eps=eps)
        factors = H.pivots()
        z = H.solve(v, factors)
        n, nv = jnp.asarray(1), jnp.asarray(0)
    else:
        z, d, n, nv = _pattern_iteration(
            model,
            x,
            inputs,
            z_init,
            jnp.asarray(single_flip),
            key,
            eps=eps,
            tol=tol,
            max_passes=max_passes,
        )
        H, _ = hessian(model, x, d, inputs, eps=eps)
        factors = H.pivots()
    v_diag, v_lower = H.inverse_bands(factors)
    M = z.shape[1]
    eye = jnp.eye(M, dtype=dtype)
    floored = jnp.maximum(jnp.diagonal(v_diag, axis1=1, axis2=2), cov_floor)
    v_diag = jnp.where(eye > 0, floored[:, :, None], v_diag)
    return Posterior(z, d, v_diag, v_lower, n, nv, n >= max_passes)
