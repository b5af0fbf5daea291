"""The expectations of the E-step's Laplace posterior that the M-step needs (Schmidt et al.,
Suppl. 7.1.3): E[z], E[φ(z)] and the second moments within a step and across
neighbouring steps, from the mean and the two block bands of V."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._estep import Posterior
from ._relu_moments import (
    relu_cross_authors,
    relu_cross_exact,
    relu_cross_z,
    relu_mean,
    relu_square,
)

__all__ = ["Moments", "moments"]


class Moments(eqx.Module):
    """Per-step expectations under the Laplace posterior (Suppl. 7.1.3), with
    g the model's φ (relu) or the identity (LDS stage).

    **Arguments:**

    - `z`: E[z_t], shape ``(T, M)``.
    - `phi`: E[φ(z_t)], shape ``(T, M)``.
    - `zz`: E[z_t z_tᵀ], shape ``(T, M, M)``.
    - `phiphi`: E[φ(z_t) φ(z_t)ᵀ], shape ``(T, M, M)``.
    - `phiz`: E[φ(z_t) z_tᵀ], shape ``(T, M, M)``.
    - `z_zprev`: E[z_{t+1} z_tᵀ], shape ``(T − 1, M, M)``.
    - `z_phiprev`: E[z_{t+1} φ(z_t)ᵀ], shape ``(T − 1, M, M)``.
    """

    z: Float[Array, "T M"]
    phi: Float[Array, "T M"]
    zz: Float[Array, "T M M"]
    phiphi: Float[Array, "T M M"]
    phiz: Float[Array, "T M M"]
    z_zprev: Float[Array, "Tm1 M M"]
    z_phiprev: Float[Array, "Tm1 M M"]


@eqx.filter_jit  # one program per shape and setting when called on its own
def moments(
    post: Posterior,
    *,
    linear: bool = False,
    cross: Literal["authors", "exact"] = "authors",
) -> Moments:
    """The expectations the M-step needs, from the posterior's mean and V's two bands.

    **Arguments:**

    - `post`: the `Posterior`.
    - `linear`: φ = identity (the LDS stage): plain Gaussian moments.
    - `cross`: E[φ(z_k) φ(z_l)] for k ≠ l at one step: ``"authors"`` (their
      approximation, to reproduce the published fits) or ``"exact"`` (the bivariate
      orthant integral). All other moments are exact.

    **Returns:**

    The `Moments`.
    """
    mu, vd, vl = post.mean, post.cov_diag, post.cov_lower
    outer = mu[:, :, None] * mu[:, None, :]
    zz = vd + outer
    z_zprev = vl + mu[1:, :, None] * mu[:-1, None, :]
    if linear:
        return Moments(mu, mu, zz, zz, zz, z_zprev, z_zprev)
    var = jnp.diagonal(vd, axis1=1, axis2=2)  # (T, M)
    phi = relu_mean(mu, var)
    # E[φ(z_j) z_k] at one step: [t, j, k] = E[z_k φ(z_j)]
    phiz = relu_cross_z(mu[:, None, :], mu[:, :, None], var[:, :, None], vd)
    # E[z_{t+1,k} φ(z_{t,l})]: [t, k, l], Cov(z_{t+1,k}, z_{t,l}) = V_{t+1,t}[k, l]
    z_phiprev = relu_cross_z(mu[1:, :, None], mu[:-1, None, :], var[:-1, None, :], vl)
    f = relu_cross_exact if cross == "exact" else relu_cross_authors
    pp = f(mu[:, :, None], mu[:, None, :], var[:, :, None], var[:, None, :], vd)
    M = mu.shape[1]
    eye = jnp.eye(M, dtype=mu.dtype)
    pp = jnp.where(eye > 0, relu_square(mu, var)[:, :, None], pp)
    return Moments(mu, phi, zz, pp, phiz, z_zprev, z_phiprev)
