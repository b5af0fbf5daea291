"""The settings of the EM and its annealing protocol, the line-attractor units and the
authors' random initialisation (Schmidt et al., Suppl. 7.1.3; the authors' ``annealing.m``)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, get_args

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float, PRNGKeyArray

from ._state_space import PLRNNStateSpace

__all__ = ["EMSettings", "regularised_units", "authors_init", "STAGE_STARTS"]

StageStart = Literal["random", "previous"]
STAGE_STARTS: tuple[str, ...] = get_args(StageStart)
"""Where a stage's first E-step may start: ``random`` (the authors') or ``previous``."""


@dataclass(frozen=True)
class EMSettings:
    """The EM and its annealing protocol; the defaults are the authors' values
    (Suppl. 7.1.3; their ``annealing.m``).

    **Arguments:**

    - `sigmas`: the fixed process-noise variance σ (Σ = σI) of each stage; the first
      stage is the LDS.
    - `freeze_B_from`: the first stage (1-based) in which B is held fixed.
    - `tol`: a stage goes on while ℓ rises by more than ``tol · |ℓ_1|`` (or falls).
    - `max_iterations`: EM iterations per stage at most (the authors' MaxIter = 20
      allows 19).
    - `eps`: the singularity guard εI added to H.
    - `pattern_tol`: the sign-pattern iteration stops when its violation error rises
      by ``pattern_tol`` of itself (the authors' tol2).
    - `flip_all_after`: EM iterations of a stage that flip one violated entry per pass;
      later ones flip all (the authors' flipOnIt).
    - `max_passes`: the most linear solves per E-step (the authors' loop had no cap).
    - `stage_start`: where each stage's first E-step starts its pattern iteration:
      ``random`` (z ~ N(0, I), the authors') or ``previous`` (the previous stage's
      returned mode; the first stage always starts at random).
    - `cov_floor`: floor of V's diagonal in the PLRNN stages.
    - `lds_cov_floor`: floor of V's diagonal in the LDS stage.
    - `gamma_floor`: floor of the observation-noise variances Γ.
    - `cross_moment`: E[φ(z_k) φ(z_l)], k ≠ l: ``authors`` (their approximation) or
      ``exact`` (the bivariate orthant integral).
    - `reg_fraction`: the first ⌈reg_fraction · M⌉ units are regularised.
    - `observation`: ``relu`` (x = B φ(z) + η, the paper's) or ``identity``.
    - `learn_C`: learn the input weights C (the authors hold C fixed at 0).
    - `init_W_range`: W₀ ~ U(−r, r), shrunk by 0.95 until its spectral radius is < 1.
    - `init_h_std`: h₀ ~ N(0, std²).
    """

    sigmas: tuple[float, ...] = (1.0, 1.0, 0.1, 0.01, 0.001)
    freeze_B_from: int = 3
    tol: float = 1e-3
    max_iterations: int = 19
    eps: float = 1e-5
    pattern_tol: float = 1e-2
    flip_all_after: int = 10
    max_passes: int = 200
    stage_start: StageStart = "random"
    cov_floor: float = 1e-4
    lds_cov_floor: float = 1e-9
    gamma_floor: float = 1e-5
    cross_moment: Literal["authors", "exact"] = "authors"
    reg_fraction: float = 0.5
    observation: Literal["relu", "identity"] = "relu"
    learn_C: bool = False
    init_W_range: float = 1.5
    init_h_std: float = 0.5

    def __post_init__(self):
        problems = []
        if not self.sigmas or any(not (s > 0 and math.isfinite(s)) for s in self.sigmas):
            problems.append(f"sigmas must be positive and finite, got {list(self.sigmas)}")
        for name in ("tol", "eps", "pattern_tol", "cov_floor", "lds_cov_floor", "gamma_floor"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                problems.append(f"{name} must be positive and finite, got {value!r}")
        for name, least in (("max_iterations", 1), ("max_passes", 1), ("flip_all_after", 0)):
            if getattr(self, name) < least:
                problems.append(f"{name} must be >= {least}, got {getattr(self, name)!r}")
        if not 0.0 <= self.reg_fraction <= 1.0:
            problems.append(f"reg_fraction must be in [0, 1], got {self.reg_fraction!r}")
        for name, allowed in (
            ("cross_moment", ("authors", "exact")),
            ("observation", ("relu", "identity")),
            ("stage_start", STAGE_STARTS),
        ):
            if getattr(self, name) not in allowed:
                problems.append(
                    f"{name} must be {' or '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if self.init_W_range <= 0 or self.init_h_std < 0:
            problems.append("init_W_range must be > 0 and init_h_std >= 0")
        if problems:
            raise ValueError("EMSettings: " + "; ".join(problems))

    def replace(self, **changes) -> EMSettings:
        return dataclasses.replace(self, **changes)


def regularised_units(M: int, fraction: float = 0.5) -> np.ndarray:
    """The line-attractor units: the first ⌈fraction · M⌉ (the authors' R).

    **Arguments:**

    - `M`: the number of latent units.
    - `fraction`: the regularised fraction.

    **Returns:**

    A boolean mask of shape ``(M,)``.
    """
    n = math.ceil(fraction * M - 1e-9)
    return np.arange(M) < n


@eqx.filter_jit  # one program per shape and setting when called on its own
def authors_init(
    key: PRNGKeyArray,
    latent_size: int,
    x: Float[ArrayLike, "T N"],
    *,
    input_size: int = 0,
    settings: EMSettings = EMSettings(),
) -> PLRNNStateSpace:
    """The authors' random initialisation (their ``annealing.m``), as the LDS of stage 1:
    W₀ ~ U(−1.5, 1.5)^{M×M} multiplied by 0.95 until every |eig| < 1 (its diagonal
    stored in ``A``), h₀ ~ N(0, 0.5²), B₀ ~ N(0, 1), μ₀ ~ N(0, 1), C = 0, Σ = I and Γ₀ the
    sample variances of the data.

    **Arguments:**

    - `key`: the PRNG key.
    - `latent_size`: M.
    - `x`: the observations, shape ``(T, N)`` (NaN rows are missing).
    - `input_size`: K, the number of inputs (C = 0).
    - `settings`: the `EMSettings` (its init ranges, σ of the first stage, observation).

    **Returns:**

    The initial `PLRNNStateSpace` (the LDS of the first stage: W's diagonal in ``A``).
    """
    x = jnp.asarray(x)
    dtype = x.dtype
    M, N = latent_size, x.shape[-1]
    kW, kh, kB, kmu = jax.random.split(key, 4)
    r = settings.init_W_range
    W0 = jax.random.uniform(kW, (M, M), dtype, -r, r)
    rho = jnp.max(jnp.abs(jnp.linalg.eigvals(W0)))
    # the loop "while any |eig| >= 1: W *= 0.95" runs k = floor(log ρ / log(1/0.95)) + 1 times
    k = jnp.where(rho >= 1, jnp.floor(jnp.log(rho) / -math.log(0.95)) + 1, 0.0)
    W0 = W0 * jnp.asarray(0.95, dtype) ** k.astype(dtype)
    seen = jnp.all(jnp.isfinite(x), axis=-1)
    xs = jnp.where(seen[:, None], x, 0.0)
    n = jnp.sum(seen)
    mean = jnp.sum(xs, 0) / n
    var = jnp.sum(jnp.where(seen[:, None], (x - mean) ** 2, 0.0), 0) / (n - 1)
    return PLRNNStateSpace(
        A=jnp.diagonal(W0),
        W=W0 * (1 - jnp.eye(M, dtype=dtype)),
        h=settings.init_h_std * jax.random.normal(kh, (M,), dtype),
        C=jnp.zeros((M, input_size), dtype),
        mu0=jax.random.normal(kmu, (M,), dtype),
        B=jax.random.normal(kB, (N, M), dtype),
        Gamma=var,
        sigma=jnp.asarray(settings.sigmas[0], dtype),
        observation=settings.observation,
    )
