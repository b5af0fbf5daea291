"""State-space divergence D_stsp = KL(p_true ‖ p_gen) (Schmidt et al., Sect. 4.2).

Two estimates of the occupation densities of a true series and a FREE run of a
model (arrays shaped (time, dims)):

- ``method="bins"``: histograms with ``n_bins`` bins per dimension over the true
  data's range, Laplace-smoothed with α: ``p_k = (c_k + α) / (N + α K)`` over the
  K bins; generated points outside the true range are dropped but still count in
  N, so mass that leaves the true data's range raises the divergence.
- ``method="gmm"`` (for higher dimensions): each series is a Gaussian mixture
  with one component per time point, ``p(x) = (1/T) Σ_t N(x; x_t, σ²I)``; the
  KL is estimated by Monte Carlo with samples drawn from p_true.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

__all__ = ["state_space_divergence"]


def _binned(x_true, x_gen, n_bins, alpha):
    x_true, x_gen = np.asarray(x_true, float), np.asarray(x_gen, float)
    d = x_true.shape[1]
    if n_bins**d > 5e7:
        raise ValueError(f"{n_bins}^{d} bins is too many for the binned D_stsp; use method='gmm'")
    lo, hi = x_true.min(axis=0), x_true.max(axis=0)
    edges = [np.linspace(lo[i], hi[i], n_bins + 1) for i in range(d)]
    c_true, _ = np.histogramdd(x_true, bins=edges)
    c_gen, _ = np.histogramdd(x_gen, bins=edges)  # points outside the range are dropped
    K = c_true.size
    p = (c_true.ravel() + alpha) / (x_true.shape[0] + alpha * K)
    q = (c_gen.ravel() + alpha) / (x_gen.shape[0] + alpha * K)
    return float(np.sum(p * (np.log(p) - np.log(q))))


@eqx.filter_jit  # one compilation per shape and (sigma2, n_samples), however often it is called
def _gmm(x_true, x_gen, sigma2, n_samples, key):
    x_true, x_gen = jnp.asarray(x_true), jnp.asarray(x_gen)
    d = x_true.shape[1]
    k1, k2 = jax.random.split(key)
    centres = x_true[jax.random.randint(k1, (n_samples,), 0, x_true.shape[0])]
    samples = centres + jnp.sqrt(sigma2) * jax.random.normal(k2, (n_samples, d), x_true.dtype)

    def log_mix(points, comps):
        sq = jnp.sum((points[:, None, :] - comps[None, :, :]) ** 2, axis=-1)
        return (
            jax.scipy.special.logsumexp(-0.5 * sq / sigma2, axis=1)
            - jnp.log(comps.shape[0])
            - 0.5 * d * jnp.log(2 * jnp.pi * sigma2)
        )

    return jnp.mean(log_mix(samples, x_true) - log_mix(samples, x_gen))


def state_space_divergence(
    x_true: Float[ArrayLike, "T d"],
    x_gen: Float[ArrayLike, "T2 d"],
    *,
    method: str = "bins",
    n_bins: int = 30,
    alpha: float = 1e-5,
    sigma2: float = 1.0,
    n_samples: int = 2000,
    key: PRNGKeyArray | None = None,
) -> float | Float[Array, ""]:
    """D_stsp = KL(p_true ‖ p_gen) between the state-space occupation of ``x_true`` and
    ``x_gen``. ``method="bins"`` (default; 30 bins per dimension, α = 1e-5) or
    ``method="gmm"`` (σ² = 1, Monte Carlo with ``n_samples`` draws; differentiable in
    ``x_gen``). Schmidt et al., Sect. 4.2.

    **Arguments:**

    - `x_true`: the true series, shape ``(T, d)``.
    - `x_gen`: the generated series (a free run), shape ``(T2, d)``.
    - `method`: ``"bins"`` or ``"gmm"``.
    - `n_bins`: bins per dimension over the true data's range (bins).
    - `alpha`: the Laplace smoothing of the bin counts (bins).
    - `sigma2`: the variance σ² of each mixture component (gmm).
    - `n_samples`: Monte Carlo samples drawn from p_true (gmm).
    - `key`: the PRNG key of those samples (gmm; default ``PRNGKey(0)``).

    **Returns:**

    The divergence: a ``float`` for bins, a scalar array for gmm.
    """
    x_true, x_gen = jnp.atleast_2d(x_true), jnp.atleast_2d(x_gen)  # no host copy: may be traced
    if x_true.ndim != 2 or x_gen.ndim != 2 or x_true.shape[1] != x_gen.shape[1]:
        raise ValueError(
            f"x_true and x_gen must be (time, dims) with equal dims, got "
            f"{np.shape(x_true)} and {np.shape(x_gen)}"
        )
    if method == "bins":
        return _binned(x_true, x_gen, n_bins, alpha)
    if method == "gmm":
        return _gmm(x_true, x_gen, sigma2, n_samples, jax.random.PRNGKey(0) if key is None else key)
    raise ValueError(f"method must be 'bins' or 'gmm', got {method!r}")
