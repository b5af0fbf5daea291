"""Moments of ReLU-transformed Gaussians (Schmidt et al., Suppl. 7.1.3, the E-step's expectations).

For a Gaussian posterior q(z) = N(μ, V) and φ = relu, the M-step needs E[φ(z_k)],
E[z_k φ(z_l)], E[φ(z_k)²] and E[φ(z_k) φ(z_l)]. With v_k = V_kk, σ_k = √v_k,
f_k = N(0; μ_k, v_k) (the density of z_k at 0) and F_k = Φ(μ_k / σ_k) = P(z_k > 0):

- E[φ(z_k)] = μ_k F_k + v_k f_k                          (exact)
- E[z_k φ(z_l)] = (μ_k μ_l + V_kl) F_l + μ_k v_l f_l     (exact)
- E[φ(z_k)²] = (μ_k² + v_k) F_k + μ_k v_k f_k             (exact)
- E[φ(z_k) φ(z_l)], k ≠ l: the bivariate truncated second moment. `relu_cross_exact`
  computes it from the bivariate-normal orthant probability (Rosenbaum 1961);
  `relu_cross_authors` is the approximation of the authors' code (products of
  conditional moments at zero), exact when V_kl = 0 and biased low for correlated
  pairs near the threshold (μ = 0, unit variances, ρ = 0.9: 0.238 against 0.455).

Every function broadcasts over its arguments and is jit-, vmap- and grad-able.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr
from jaxtyping import Array, ArrayLike, Float

__all__ = [
    "relu_mean",
    "relu_cross_z",
    "relu_square",
    "relu_cross_exact",
    "relu_cross_authors",
    "bivariate_normal_cdf",
]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(48)


def _float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.result_type(float))


def _npdf(x):
    return jnp.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _density_at_zero(mu, v):
    """N(0; μ, v)."""
    return jnp.exp(-0.5 * mu * mu / v) / jnp.sqrt(2.0 * math.pi * v)


def relu_mean(mu: Float[ArrayLike, "*a"], v: Float[ArrayLike, "*b"]) -> Float[Array, "*out"]:
    """E[relu(z)] for z ~ N(μ, v): ``μ Φ(μ/σ) + v N(0; μ, v)``.

    **Arguments:**

    - `mu`: the mean μ.
    - `v`: the variance v > 0.

    **Returns:**

    The expectation, broadcast over the arguments.
    """
    mu, v = _float(mu), _float(v)
    return mu * ndtr(mu / jnp.sqrt(v)) + v * _density_at_zero(mu, v)


def relu_square(mu: Float[ArrayLike, "*a"], v: Float[ArrayLike, "*b"]) -> Float[Array, "*out"]:
    """E[relu(z)²] for z ~ N(μ, v): ``(μ² + v) Φ(μ/σ) + μ v N(0; μ, v)``.

    **Arguments:**

    - `mu`: the mean μ.
    - `v`: the variance v > 0.

    **Returns:**

    The expectation, broadcast over the arguments.
    """
    mu, v = _float(mu), _float(v)
    return (mu * mu + v) * ndtr(mu / jnp.sqrt(v)) + mu * v * _density_at_zero(mu, v)


def relu_cross_z(
    mu_k: Float[ArrayLike, "*a"],
    mu_l: Float[ArrayLike, "*b"],
    v_l: Float[ArrayLike, "*c"],
    v_kl: Float[ArrayLike, "*d"],
) -> Float[Array, "*out"]:
    """E[z_k relu(z_l)] for jointly Gaussian (z_k, z_l) with means μ_k, μ_l, Var z_l = v_l
    and Cov = v_kl: ``(μ_k μ_l + v_kl) Φ(μ_l/σ_l) + μ_k v_l N(0; μ_l, v_l)`` (exact).

    **Arguments:**

    - `mu_k`: the mean of z_k.
    - `mu_l`: the mean of z_l.
    - `v_l`: the variance of z_l.
    - `v_kl`: the covariance of z_k and z_l.

    **Returns:**

    The expectation, broadcast over the arguments.
    """
    mu_k, mu_l, v_l, v_kl = map(_float, (mu_k, mu_l, v_l, v_kl))
    return (mu_k * mu_l + v_kl) * ndtr(mu_l / jnp.sqrt(v_l)) + mu_k * v_l * _density_at_zero(
        mu_l, v_l
    )


def bivariate_normal_cdf(
    a: Float[ArrayLike, "*a"], b: Float[ArrayLike, "*b"], rho: Float[ArrayLike, "*c"]
) -> Float[Array, "*out"]:
    """Φ₂(a, b; ρ) = P(u ≤ a, w ≤ b) for standard normals with correlation ρ.

    Plackett's identity with r = sin θ: ``Φ(a)Φ(b) + (1/2π) ∫₀^{asin ρ}
    exp(−(a² + b² − 2ab sin θ) / (2 cos² θ)) dθ``, by 48-point Gauss–Legendre (the
    integrand is smooth on the whole interval; |ρ| is clipped to 1 − 1e-12).

    **Arguments:**

    - `a`: the upper limit of u.
    - `b`: the upper limit of w.
    - `rho`: the correlation ρ.

    **Returns:**

    The probability, broadcast over the arguments.
    """
    a, b, rho = jnp.broadcast_arrays(*map(_float, (a, b, rho)))
    rho = jnp.clip(rho, -1.0 + 1e-12, 1.0 - 1e-12)
    top = jnp.arcsin(rho)
    nodes = jnp.asarray(_GL_NODES, a.dtype)
    weights = jnp.asarray(_GL_WEIGHTS, a.dtype)
    theta = 0.5 * top[..., None] * (nodes + 1.0)
    s, c2 = jnp.sin(theta), jnp.cos(theta) ** 2
    aa, bb = a[..., None], b[..., None]
    integrand = jnp.exp(-(aa * aa + bb * bb - 2.0 * aa * bb * s) / (2.0 * c2))
    integral = 0.5 * top * jnp.sum(weights * integrand, axis=-1)
    return ndtr(a) * ndtr(b) + integral / (2.0 * math.pi)


def relu_cross_exact(
    mu_k: Float[ArrayLike, "*a"],
    mu_l: Float[ArrayLike, "*b"],
    v_k: Float[ArrayLike, "*c"],
    v_l: Float[ArrayLike, "*d"],
    v_kl: Float[ArrayLike, "*e"],
) -> Float[Array, "*out"]:
    """E[relu(z_k) relu(z_l)] for jointly Gaussian (z_k, z_l), exactly.

    With σ the standard deviations, ρ = v_kl/(σ_k σ_l), α = μ_k/σ_k, β = μ_l/σ_l,
    s = √(1 − ρ²), P = Φ₂(α, β; ρ) and standardised u, w truncated at u > −α, w > −β:
    ``σ_k σ_l (E[uw; ·] + β E[u; ·] + α E[w; ·] + αβ P)`` with
    E[u; ·] = ϕ(α)Φ((β − ρα)/s) + ρ ϕ(β)Φ((α − ρβ)/s) (and E[w; ·] symmetrically) and
    E[uw; ·] = ρP − ρα ϕ(α)Φ((β − ρα)/s) − ρβ ϕ(β)Φ((α − ρβ)/s) + s ϕ(α)ϕ((β − ρα)/s)
    (Rosenbaum 1961, Sect. 2).

    **Arguments:**

    - `mu_k`: the mean of z_k.
    - `mu_l`: the mean of z_l.
    - `v_k`: the variance of z_k.
    - `v_l`: the variance of z_l.
    - `v_kl`: their covariance.

    **Returns:**

    The expectation, broadcast over the arguments.
    """
    mu_k, mu_l, v_k, v_l, v_kl = map(_float, (mu_k, mu_l, v_k, v_l, v_kl))
    sk, sl = jnp.sqrt(v_k), jnp.sqrt(v_l)
    rho = jnp.clip(v_kl / (sk * sl), -1.0 + 1e-12, 1.0 - 1e-12)
    s = jnp.sqrt(1.0 - rho * rho)
    al, be = mu_k / sk, mu_l / sl
    p = bivariate_normal_cdf(al, be, rho)
    g_a = _npdf(al) * ndtr((be - rho * al) / s)  # ϕ(α) P(w > −β | u = −α)
    g_b = _npdf(be) * ndtr((al - rho * be) / s)
    e_u = g_a + rho * g_b
    e_w = g_b + rho * g_a
    e_uw = rho * p - rho * al * g_a - rho * be * g_b + s * _npdf(al) * _npdf((be - rho * al) / s)
    return sk * sl * (e_uw + be * e_u + al * e_w + al * be * p)


def relu_cross_authors(
    mu_k: Float[ArrayLike, "*a"],
    mu_l: Float[ArrayLike, "*b"],
    v_k: Float[ArrayLike, "*c"],
    v_l: Float[ArrayLike, "*d"],
    v_kl: Float[ArrayLike, "*e"],
) -> Float[Array, "*out"]:
    """The authors' approximation of E[relu(z_k) relu(z_l)], symmetrised.

    With the conditional moments at zero s²_{k|l} = v_k − v_kl²/v_l and
    m_{k|l} = μ_k − v_kl μ_l / v_l (and l|k alike):
    ``Ê_kl = s²_{l|k} f_l [s²_{k|l} N(0; m_{k|l}, s²_{k|l}) + m_{k|l} Φ(m_{k|l}/s_{k|l})]
    + [v_k μ_l f_k + (μ_k μ_l + v_kl) F_k] Φ(μ_l / s_{l|k})``, returned as
    (Ê_kl + Ê_lk)/2. Exact when v_kl = 0; kept to reproduce the published fits.

    **Arguments:**

    - `mu_k`: the mean of z_k.
    - `mu_l`: the mean of z_l.
    - `v_k`: the variance of z_k.
    - `v_l`: the variance of z_l.
    - `v_kl`: their covariance.

    **Returns:**

    The expectation, broadcast over the arguments.
    """
    mu_k, mu_l, v_k, v_l, v_kl = map(_float, (mu_k, mu_l, v_k, v_l, v_kl))

    def one(mk, ml, vk, vl):
        s2_kl = jnp.maximum(vk - v_kl * v_kl / vl, 1e-300)
        s2_lk = jnp.maximum(vl - v_kl * v_kl / vk, 1e-300)
        m_kl = mk - v_kl * ml / vl
        f_l, f_k = _density_at_zero(ml, vl), _density_at_zero(mk, vk)
        first = (
            s2_lk
            * f_l
            * (s2_kl * _density_at_zero(m_kl, s2_kl) + m_kl * ndtr(m_kl / jnp.sqrt(s2_kl)))
        )
        second = (vk * ml * f_k + (mk * ml + v_kl) * ndtr(mk / jnp.sqrt(vk))) * ndtr(
            ml / jnp.sqrt(s2_lk)
        )
        return first + second

    return 0.5 * (one(mu_k, mu_l, v_k, v_l) + one(mu_l, mu_k, v_l, v_k))
