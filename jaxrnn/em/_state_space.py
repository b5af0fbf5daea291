"""The PLRNN as a Gaussian state-space model, as the EM fits it (Schmidt et al., eq. 1, Sect. 3.4,
Suppl. 7.1.3).

    z_1 = μ₀ + C s_1 + ε_1,
    z_t = A z_{t−1} + W φ(z_{t−1}) + h + C s_t + ε_t,      ε_t ~ N(0, σ I)
    x_t = B g(z_t) + η_t,                                   η_t ~ N(0, diag Γ)

with A diagonal, W off-diagonal, φ = relu and g = φ (the paper's model, ``observation
= "relu"``) or g = identity (``"identity"``). Σ = σI is isotropic and fixed (the
annealing protocol sets σ per stage); the first state has no separate Σ₀.
"""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..models import PLRNN

__all__ = ["PLRNNStateSpace"]


class PLRNNStateSpace(eqx.Module):
    """The PLRNN state-space model of the EM (Schmidt et al., eq. 1 with x_t = B φ(z_t) + η_t).

    **Arguments:**

    - `A`: the diagonal of A, shape ``(M,)``.
    - `W`: the coupling matrix, shape ``(M, M)``; its diagonal is ignored (W is
      off-diagonal, eq. 1) except in the LDS stage, where `A` is 0 and `W` is full.
    - `h`: the bias, shape ``(M,)``.
    - `C`: the input weights, shape ``(M, K)`` (K = 0: no inputs).
    - `mu0`: the mean of the first state, shape ``(M,)``.
    - `B`: the observation matrix, shape ``(N, M)``.
    - `Gamma`: the diagonal of the observation-noise covariance, shape ``(N,)``.
    - `sigma`: the process-noise variance σ (Σ = σI), a scalar.
    - `observation`: ``"relu"`` (x = B φ(z) + η, the paper's) or ``"identity"``
      (x = B z + η).
    """

    A: Float[Array, " M"]
    W: Float[Array, "M M"]
    h: Float[Array, " M"]
    C: Float[Array, "M K"]
    mu0: Float[Array, " M"]
    B: Float[Array, "N M"]
    Gamma: Float[Array, " N"]
    sigma: Float[Array, ""]
    observation: Literal["relu", "identity"] = eqx.field(static=True, default="relu")

    @property
    def latent_size(self) -> int:
        return self.A.shape[-1]

    @property
    def observed_size(self) -> int:
        return self.B.shape[-2]

    def g(self, z: Float[Array, "*batch M"]) -> Float[Array, "*batch M"]:
        """The observation nonlinearity: φ = relu or the identity."""
        return jax.nn.relu(z) if self.observation == "relu" else z

    def drift(
        self, z_prev: Float[Array, "*batch M"], *, linear: bool = False
    ) -> Float[Array, "*batch M"]:
        """A z + W φ(z) with W's diagonal removed; ``linear``: (diag(A) + W) z, the linear
        dynamical system of the EM's first annealing stage (W's diagonal then lives in A)."""
        W = self.W * (1.0 - jnp.eye(self.latent_size, dtype=self.W.dtype))
        return self.A * z_prev + (z_prev if linear else jax.nn.relu(z_prev)) @ W.T

    def input_drive(self, inputs: Float[ArrayLike, "T K"] | None, T: int) -> Float[Array, "T M"]:
        """C s_t for every step (zeros without inputs)."""
        if inputs is None or self.C.shape[-1] == 0:
            return jnp.zeros((T, self.latent_size), self.A.dtype)
        return jnp.asarray(inputs, self.A.dtype) @ self.C.T

    def free_run(
        self,
        n_steps: int,
        inputs: Float[ArrayLike, "T K"] | None = None,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Float[Array, "T N"], Float[Array, "T M"]]:
        """A run of ``n_steps`` states from μ₀ (z_1 = μ₀ + C s_1), noise-free unless ``key``
        is given (then ε ~ N(0, σI) and η ~ N(0, Γ) are drawn). Returns ``(x, z)`` with
        x_t = B g(z_t) (+ η_t), shapes ``(n_steps, N)`` and ``(n_steps, M)``."""
        drive = self.input_drive(inputs, n_steps)
        M, N = self.latent_size, self.observed_size
        if key is None:
            eps = jnp.zeros((n_steps, M), self.A.dtype)
            eta = jnp.zeros((n_steps, N), self.A.dtype)
        else:
            k1, k2 = jax.random.split(key)
            eps = jnp.sqrt(self.sigma) * jax.random.normal(k1, (n_steps, M), self.A.dtype)
            eta = jnp.sqrt(self.Gamma) * jax.random.normal(k2, (n_steps, N), self.A.dtype)
        z1 = self.mu0 + drive[0] + eps[0]

        def step(z, inp):
            d, e = inp
            z = self.drift(z) + self.h + d + e
            return z, z

        _, rest = jax.lax.scan(step, z1, (drive[1:], eps[1:]))
        z = jnp.concatenate([z1[None], rest])
        return self.g(z) @ self.B.T + eta, z

    def log_joint(
        self,
        z: Float[Array, "T M"],
        x: Float[ArrayLike, "T N"],
        inputs: Float[ArrayLike, "T K"] | None = None,
        *,
        linear: bool = False,
    ) -> Float[Array, ""]:
        """log p(X, Z | θ) with the 2π constants dropped (Suppl. 7.1.3; missing
        observations, NaN rows of x, are left out). ``linear``: of the LDS
        z_t = (diag(A) + W) z_{t−1} + h + C s_t + ε_t, x_t = B z_t + η_t."""
        x = jnp.asarray(x, self.A.dtype)
        T = z.shape[0]
        drive = self.input_drive(inputs, T)
        seen = jnp.all(jnp.isfinite(x), axis=-1)
        r1 = z[0] - self.mu0 - drive[0]
        r = z[1:] - self.drift(z[:-1], linear=linear) - self.h - drive[1:]
        gz = z if linear else self.g(z)
        e = jnp.where(seen[:, None], jnp.nan_to_num(x) - gz @ self.B.T, 0.0)
        quad = (jnp.sum(r1**2) + jnp.sum(r**2)) / self.sigma + jnp.sum(e**2 / self.Gamma)
        logdet = T * self.latent_size * jnp.log(self.sigma) + jnp.sum(seen) * jnp.sum(
            jnp.log(self.Gamma)
        )
        return -0.5 * (quad + logdet)

    def to_plrnn(self, *, n_regularised: int = 0) -> PLRNN:
        """The same model as a `jaxrnn.PLRNN` (dynamics A, W, h, C, learned μ₀, process
        noise √σ per unit, observation x = B g(z) with Γ), so that the analysis tools —
        fixed points, cycles, basins, Lyapunov spectra — and `jaxrnn.simulate` apply to
        an EM fit.

        **Arguments:**

        - `n_regularised`: how many leading units carried the line-attractor prior (a
          label for the analysis; the fitted values are what they are).

        **Returns:**

        A `jaxrnn.PLRNN`.
        """
        M = self.latent_size
        plrnn = PLRNN.from_arrays(
            self.A,
            self.W * (1.0 - jnp.eye(M, dtype=self.W.dtype)),
            self.h,
            self.C,
            self.B,
            n_regularised=n_regularised,
            observation_link=self.observation,
            noise_std=jnp.full((M,), jnp.sqrt(self.sigma)),
            mu0=self.mu0,
        )
        return eqx.tree_at(
            lambda p: p.observation.log_noise_var,
            plrnn,
            jnp.log(self.Gamma),  # type: ignore
        )

    def log_likelihood_constant(self, T: int) -> float:
        """The dropped constant −½ (M + N) T log 2π."""
        return -0.5 * (self.latent_size + self.observed_size) * T * math.log(2 * math.pi)
