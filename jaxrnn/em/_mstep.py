"""The M-step: closed-form regressions on the E-step's expected sums, with the
line-attractor penalty as a ridge (Schmidt et al., Sect. 3.4, eq. 4, Suppl. 7.1.3).

With u_t = (z_{t−1}, φ(z_{t−1}), s_t, 1) the regressors of step t and the expected sums
G = Σ_{t≥2} E[u_t u_tᵀ], R = Σ_{t≥2} E[z_t u_tᵀ], unit i's row θ_i = (A_ii, W_i·, C_i·, h_i)
(W_ii ≡ 0) maximises −(1/2σ) Σ_t E(z_{i,t} − θ_iᵀ u_t)² − (λ/2)(A_ii − 1)²
− (τ/2)(Σ_j W_ij² + h_i²), the last two terms for the regularised units i ∈ R only
(eq. 4 as Gaussian priors: MAP). Its normal equations are
(G_i + σΛ_i) θ_i = R_i + σλ e_{A}, Λ_i = diag(λ, τ, …, τ, 0 (C), τ) — the authors'
row-wise ridge regression. The observation model is the regression of x_t on E[g(z_t)]:
B = (Σ x_t E[g_t]ᵀ)(Σ E[g_t g_tᵀ])⁻¹ and Γ = diag(Σ E[(x_t − B g_t)(x_t − B g_t)ᵀ])/T,
floored; μ₀ = E[z_1] − C s_1; Σ stays fixed.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float

from ._moments import Moments
from ._state_space import PLRNNStateSpace

__all__ = ["SufficientStatistics", "sufficient_statistics", "m_step"]


class SufficientStatistics(eqx.Module):
    """The expected sums of the M-step (the authors' E1 … E5, F1, F2, Zt0, Zt1, phiZ,
    arranged as regression blocks).

    **Arguments:**

    - `G`: Σ_{t≥2} E[u_t u_tᵀ] with u_t = (z_{t−1}, φ(z_{t−1}), s_t, 1), shape
      ``(2M + K + 1, 2M + K + 1)``.
    - `R`: Σ_{t≥2} E[z_t u_tᵀ], shape ``(M, 2M + K + 1)``.
    - `obs_gg`: Σ_t E[g(z_t) g(z_t)ᵀ] over observed steps, shape ``(M, M)``.
    - `obs_xg`: Σ_t x_t E[g(z_t)]ᵀ, shape ``(N, M)``.
    - `obs_xx`: Σ_t x_t x_tᵀ (diagonal only), shape ``(N,)``.
    - `n_obs`: the number of observed steps.
    - `z1`: E[z_1], shape ``(M,)``.
    - `s1`: s_1, shape ``(K,)``.
    """

    G: Float[Array, "P P"]
    R: Float[Array, "M P"]
    obs_gg: Float[Array, "M M"]
    obs_xg: Float[Array, "N M"]
    obs_xx: Float[Array, " N"]
    n_obs: Float[Array, ""]
    z1: Float[Array, " M"]
    s1: Float[Array, " K"]


@eqx.filter_jit  # one program per shape and setting when called on its own
def sufficient_statistics(
    mom: Moments,
    x: Float[ArrayLike, "T N"],
    inputs: Float[ArrayLike, "T K"] | None = None,
    *,
    observation_identity: bool = False,
) -> SufficientStatistics:
    """The expected sums of the M-step from one E-step's `Moments`.

    **Arguments:**

    - `mom`: the `Moments`.
    - `x`: the observations, shape ``(T, N)``; NaN rows are missing.
    - `inputs`: the inputs s_t, shape ``(T, K)``, or None.
    - `observation_identity`: x = B z + η (the LDS stage, or g = identity) instead of
      x = B φ(z) + η.

    **Returns:**

    The `SufficientStatistics`.
    """
    dtype = mom.z.dtype
    x = jnp.asarray(x, dtype)
    T, M = mom.z.shape
    s = jnp.zeros((T, 0), dtype) if inputs is None else jnp.asarray(inputs, dtype)
    seen = jnp.all(jnp.isfinite(x), axis=-1)
    x = jnp.where(seen[:, None], x, 0.0)
    zp, pp = mom.z[:-1], mom.phi[:-1]
    sn = s[1:]
    ones = jnp.ones((T - 1, 1), dtype)
    E3 = jnp.sum(mom.zz[:-1], 0)
    E4 = jnp.sum(mom.phiz[:-1], 0)  # [j, k] = Σ E[φ_j z_k]
    E1 = jnp.sum(mom.phiphi[:-1], 0)
    z_s = zp.T @ sn  # Σ E[z_{t−1}] s_tᵀ
    p_s = pp.T @ sn
    s_s = sn.T @ sn
    zsum, psum, ssum = zp.sum(0)[:, None], pp.sum(0)[:, None], sn.sum(0)[:, None]
    G = jnp.block(
        [
            [E3, E4.T, z_s, zsum],
            [E4, E1, p_s, psum],
            [z_s.T, p_s.T, s_s, ssum],
            [zsum.T, psum.T, ssum.T, jnp.full((1, 1), T - 1, dtype)],
        ]
    )
    R = jnp.concatenate(
        [
            jnp.sum(mom.z_zprev, 0),
            jnp.sum(mom.z_phiprev, 0),
            mom.z[1:].T @ sn,
            mom.z[1:].sum(0)[:, None] * ones[:1],
        ],
        axis=1,
    )
    g_mean = mom.z if observation_identity else mom.phi
    g_sq = mom.zz if observation_identity else mom.phiphi
    w = seen.astype(dtype)
    return SufficientStatistics(
        G=G,
        R=R,
        obs_gg=jnp.einsum("t,tij->ij", w, g_sq),
        obs_xg=x.T @ g_mean,
        obs_xx=jnp.sum(x * x, 0),
        n_obs=jnp.sum(w),
        z1=mom.z[0],
        s1=s[0],
    )


@eqx.filter_jit  # one program per shape and setting when called on its own
def m_step(
    model: PLRNNStateSpace,
    stats: SufficientStatistics,
    *,
    regularised: Bool[ArrayLike, " M"],
    lam: Float[ArrayLike, ""] = 0.0,
    tau: Float[ArrayLike, ""] = 0.0,
    learn_B: bool | Bool[ArrayLike, ""] = True,
    learn_C: bool = False,
    linear: bool = False,
    gamma_floor: float = 1e-5,
) -> PLRNNStateSpace:
    """New parameters from the expected sums (Suppl. 7.1.3, eq. 23; see the module).

    **Arguments:**

    - `model`: the current parameters (σ, and B or C where they are held fixed).
    - `stats`: the `SufficientStatistics`.
    - `regularised`: which units carry the line-attractor prior, shape ``(M,)``.
    - `lam`: λ, the strength of A_ii → 1 (the authors' τ_code).
    - `tau`: τ, the strength of W_ij → 0 and h_i → 0 (the authors' τ_code).
    - `learn_B`: update B (the authors freeze it from the third annealing stage on);
      Γ is updated either way.
    - `learn_C`: update C (the authors hold C fixed).
    - `linear`: the LDS stage: z_t = W z_{t−1} + h + C s_t with W full (its diagonal
      returned in ``A``), no prior.
    - `gamma_floor`: the floor of Γ (authors: 1e-5).

    **Returns:**

    The updated `PLRNNStateSpace`.
    """
    dtype = model.A.dtype
    M, K = model.C.shape
    P = 2 * M + K + 1
    sigma = model.sigma
    G, R = stats.G, stats.R
    idx = jnp.arange(P)
    unit = jnp.arange(M)[:, None]
    # regressors of unit i: z_i (LDS: all z), φ_j for j ≠ i (LDS: none), s (if learned), 1
    use_z = jnp.ones((M, M), bool) if linear else (idx[None, :M] == unit)
    use_phi = jnp.zeros((M, M), bool) if linear else (idx[None, :M] != unit)
    use_s = jnp.full((M, K), learn_C)
    mask = jnp.concatenate([use_z, use_phi, use_s, jnp.ones((M, 1), bool)], axis=1)
    # a held C moves its drive to the target side
    target = R if learn_C else R - model.C @ G[2 * M : 2 * M + K, :]
    reg = jnp.asarray(regularised, bool) & (not linear)
    lam, tau = jnp.asarray(lam, dtype), jnp.asarray(tau, dtype)
    ridge_row = (
        jnp.concatenate(
            [
                jnp.where(idx[None, :M] == unit, lam, 0.0),  # A_ii → 1 (only z_i is a regressor)
                jnp.full((M, M), tau),
                jnp.zeros((M, K), dtype),
                jnp.full((M, 1), tau),
            ],
            axis=1,
        )
        * reg[:, None]
    )
    pull = jnp.where(idx[None, :M] == unit, lam, 0.0) * reg[:, None]  # σλ e_A
    pull = jnp.concatenate([pull, jnp.zeros((M, M + K + 1), dtype)], axis=1)
    mm = mask[:, :, None] & mask[:, None, :]
    Gi = (
        jnp.where(mm, G[None], 0.0)
        + jnp.where(mask, sigma * ridge_row, 1.0)[:, :, None] * (jnp.eye(P, dtype=dtype)[None])
    )
    rhs = jnp.where(mask, target + sigma * pull, 0.0)
    theta = jnp.linalg.solve(Gi, rhs[:, :, None])[:, :, 0]  # (M, P)
    if linear:
        Wfull = theta[:, :M]
        A, W = jnp.diagonal(Wfull), Wfull * (1 - jnp.eye(M, dtype=dtype))
    else:
        A = jnp.diagonal(theta[:, :M])
        W = theta[:, M : 2 * M] * (1 - jnp.eye(M, dtype=dtype))
    C = theta[:, 2 * M : 2 * M + K] if learn_C else model.C
    h = theta[:, -1]
    B_new = jnp.linalg.solve(stats.obs_gg.T, stats.obs_xg.T).T
    B = jnp.where(jnp.asarray(learn_B), B_new, model.B)
    resid = (
        stats.obs_xx
        - 2 * jnp.sum(stats.obs_xg * B, axis=1)
        + jnp.einsum("nm,mk,nk->n", B, stats.obs_gg, B)
    )
    Gamma = jnp.maximum(resid / jnp.maximum(stats.n_obs, 1.0), gamma_floor)
    mu0 = stats.z1 - C @ stats.s1
    return PLRNNStateSpace(A, W, h, C, mu0, B, Gamma, sigma, model.observation)


def penalty(
    model: PLRNNStateSpace,
    regularised: Bool[ArrayLike, " M"],
    lam: Float[ArrayLike, ""],
    tau: Float[ArrayLike, ""],
) -> Float[Array, ""]:
    """The log prior of the line-attractor penalty as the authors monitor it:
    −(λ/2) Σ_{i∈R} (A_ii − 1)² − (τ/2) (Σ_{i∈R} Σ_j W_ij² + Σ_{i∈R} h_i²).

    **Arguments:**

    - `model`: the parameters.
    - `regularised`: the units R, shape ``(M,)`` bool.
    - `lam`: λ.
    - `tau`: τ.

    **Returns:**

    The log prior (a scalar; 0 for λ = τ = 0).
    """
    reg = jnp.asarray(regularised, model.A.dtype)
    M = model.latent_size
    W = model.W * (1 - jnp.eye(M, dtype=model.W.dtype))
    lam, tau = jnp.asarray(lam), jnp.asarray(tau)
    return -0.5 * lam * jnp.sum(reg * (model.A - 1) ** 2) - 0.5 * tau * (
        jnp.sum(reg[:, None] * W**2) + jnp.sum(reg * model.h**2)
    )
