"""Piecewise-linear RNN and its line-attractor-regularised variant (seed 003)."""

from __future__ import annotations

from typing import Literal

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._systems import AbstractDiscreteSystem
from ._observation import CategoricalObservation, GaussianObservation, make_observation

__all__ = ["PLRNN"]


def _offdiag(M: int, dtype) -> Array:
    return 1.0 - jnp.eye(M, dtype=dtype)


class PLRNN(AbstractDiscreteSystem):
    r"""The PLRNN ``z_t = A z_{t-1} + W relu(z_{t-1}) + C s_t + h + ε_t`` (seed 003, eq. 1).

    A is diagonal (stored as the vector ``A``); W is off-diagonal *by
    construction*: the stored ``W_raw`` is multiplied by an off-diagonal mask
    wherever it is used, so neither initialisation, ``from_arrays`` nor a
    gradient step can make W's diagonal non-zero. ε ~ N(0, diag(noise_std²))
    is sampled only when ``step`` receives a key and the model has
    ``noise_std``.

    **Arguments:**

    - ``latent_size``: M.
    - ``input_size``: K, the number of input channels s_t.
    - ``n_regularised``: M_reg. The first M_reg units start at A = 1, W rows
      0, h = 0 (Fig. S1): with the line-attractor penalty this is the rPLRNN.
    - ``init``: ``"random"`` (A ~ U[0.5, 0.9), W ~ N(0, 0.25/M) off the
      diagonal, h = 0) or ``"identity"`` (A = 1, W = 0, h = 0: the iPLRNN).
      C ~ N(0, 1/K) in both cases.
    - ``observation_size``, ``observation`` (``"gaussian"`` or
      ``"categorical"``), ``observation_link`` (g = ``"identity"`` or ``"relu"``):
      the observation model (eq. 2 or 3); none when ``observation_size == 0``.
    - ``noise_std``: √diag(Σ) (scalar or per unit), or None for a deterministic map.
    """

    A: Float[Array, " M"]
    W_raw: Float[Array, "M M"]
    C: Float[Array, "M K"]
    h: Float[Array, " M"]
    noise_std: Float[Array, " M"] | None
    observation: GaussianObservation | CategoricalObservation | None
    n_regularised: int = eqx.field(static=True)

    def __init__(
        self,
        latent_size: int,
        input_size: int = 0,
        *,
        n_regularised: int = 0,
        init: Literal["random", "identity"] = "random",
        observation_size: int = 0,
        observation: Literal["gaussian", "categorical"] = "gaussian",
        observation_link: Literal["identity", "relu"] = "identity",
        noise_std: ArrayLike | None = None,
        dtype=None,
        key: PRNGKeyArray,
    ):
        M, K = latent_size, input_size
        if M < 1 or K < 0:
            raise ValueError(f"PLRNN needs latent_size >= 1 and input_size >= 0, got {M}, {K}")
        if not 0 <= n_regularised <= M:
            raise ValueError(
                f"n_regularised must lie in [0, latent_size={M}], got {n_regularised}"
            )
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        ka, kw, kc, ko = jax.random.split(key, 4)
        if init == "random":
            A = jax.random.uniform(ka, (M,), dtype, 0.5, 0.9)
            W = jax.random.normal(kw, (M, M), dtype) * (0.5 / math.sqrt(M)) * _offdiag(M, dtype)
        elif init == "identity":
            A = jnp.ones((M,), dtype)
            W = jnp.zeros((M, M), dtype)
        else:
            raise ValueError(f"init must be 'random' or 'identity', got {init!r}")
        h = jnp.zeros((M,), dtype)
        # Fig. S1: regularised units start as perfect integrators.
        A = A.at[:n_regularised].set(1.0)
        W = W.at[:n_regularised, :].set(0.0)
        self.A = A
        self.W_raw = W
        self.C = jax.random.normal(kc, (M, K), dtype) / math.sqrt(max(K, 1))
        self.h = h
        self.noise_std = (
            None if noise_std is None else jnp.broadcast_to(jnp.asarray(noise_std, dtype), (M,))
        )
        self.observation = (
            make_observation(observation, M, observation_size, observation_link, dtype=dtype, key=ko)
            if observation_size > 0
            else None
        )
        self.n_regularised = n_regularised

    @classmethod
    def from_arrays(
        cls,
        A: ArrayLike,
        W: ArrayLike,
        h: ArrayLike,
        C: ArrayLike | None = None,
        B: ArrayLike | None = None,
        *,
        n_regularised: int = 0,
        observation: Literal["gaussian", "categorical"] = "gaussian",
        observation_link: Literal["identity", "relu"] = "identity",
        noise_std: ArrayLike | None = None,
    ) -> "PLRNN":
        """A PLRNN with explicit parameters. ``A`` may be the diagonal vector or a
        diagonal matrix; ``W`` must have a zero diagonal (self-coupling belongs in A)."""
        A = jnp.asarray(A)
        if A.ndim == 2:
            if not isinstance(A, jax.core.Tracer) and not np.allclose(
                np.asarray(A), np.diag(np.diag(np.asarray(A)))
            ):
                raise ValueError("PLRNN.from_arrays: A must be diagonal")
            A = jnp.diagonal(A)
        M = A.shape[0]
        W = jnp.asarray(W, A.dtype)
        h = jnp.asarray(h, A.dtype)
        if W.shape != (M, M):
            raise ValueError(f"PLRNN.from_arrays: W must have shape ({M}, {M}), got {W.shape}")
        if not isinstance(W, jax.core.Tracer) and np.any(np.diag(np.asarray(W)) != 0):
            raise ValueError(
                "PLRNN.from_arrays: W must have a zero diagonal (put self-coupling in A)"
            )
        if h.shape != (M,):
            raise ValueError(f"PLRNN.from_arrays: h must have shape ({M},), got {h.shape}")
        C = jnp.zeros((M, 0), A.dtype) if C is None else jnp.asarray(C, A.dtype)
        if C.ndim != 2 or C.shape[0] != M:
            raise ValueError(f"PLRNN.from_arrays: C must have shape ({M}, K), got {C.shape}")
        obs = None
        if B is not None:
            B = jnp.atleast_2d(jnp.asarray(B, A.dtype))
            if B.shape[1] != M:
                raise ValueError(f"PLRNN.from_arrays: B must have shape (N, {M}), got {B.shape}")
            obs = (
                GaussianObservation(B, link=observation_link)
                if observation == "gaussian"
                else CategoricalObservation(B)
            )
        template = cls(M, C.shape[1], n_regularised=n_regularised, noise_std=noise_std,
                       dtype=A.dtype, key=jax.random.PRNGKey(0))
        return eqx.tree_at(
            lambda m: (m.A, m.W_raw, m.C, m.h, m.observation),
            template,
            (A, W, C, h, obs),
            is_leaf=lambda x: x is None,
        )

    # ----------------------------------------------------------------- maths
    @property
    def W(self) -> Float[Array, "M M"]:
        """The coupling matrix, off-diagonal by construction."""
        return self.W_raw * _offdiag(self.A.shape[0], self.W_raw.dtype)

    @property
    def state_size(self) -> int:
        return self.A.shape[0]

    @property
    def input_size(self) -> int:
        return self.C.shape[1]

    def step(self, z, s, key=None):
        """``A z + W relu(z) + C s + h (+ ε)`` (eq. 1)."""
        z_next = self.A * z + self.W @ jax.nn.relu(z) + self.C @ s + self.h
        if key is not None and self.noise_std is not None:
            z_next = z_next + self.noise_std * jax.random.normal(key, z.shape, z.dtype)
        return z_next

    def region_matrix(self, d: Float[Array, " M"]) -> Float[Array, "M M"]:
        """``W_Ω = A + W D_Ω`` for the region with indicator vector d = diag(D_Ω)."""
        return jnp.diag(self.A) + self.W * d[None, :]

    def jacobian(self, z: Float[Array, " M"]) -> Float[Array, "M M"]:
        """∂F/∂z at z: the region matrix of z's orthant, D_Ω = diag(1[z > 0])."""
        return self.region_matrix((z > 0).astype(z.dtype))

    def observe(self, z: Float[Array, " M"]) -> Float[Array, " N"]:
        """The observation model's mean (Gaussian) or logits (categorical)."""
        if self.observation is None:
            raise ValueError("this PLRNN has no observation model (observation_size=0)")
        return self.observation(z)
