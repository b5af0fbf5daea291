"""Piecewise-linear RNN and its line-attractor-regularised variant (Schmidt et al.)."""

from __future__ import annotations

import math
import typing
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..._system_kinds import AbstractDiscreteSystem
from ..._typing import ArrayInput
from ..._validate import check_size, check_value, concrete
from .._observation import CategoricalObservation, GaussianObservation, make_observation
from ._regions import region_matrices

__all__ = ["PLRNN", "INITS", "PLRNNInit", "authors_input_std"]


def _offdiag(M: int, dtype, traced: bool = True) -> Array:
    """1 − I (exact in every dtype). Outside a trace it is built on the host: eagerly,
    ``jnp.eye`` and the subtraction would compile programs of their own for every M."""
    if traced:
        return 1.0 - jnp.eye(M, dtype=dtype)
    return jax.device_put(np.asarray(1.0 - np.eye(M), dtype=dtype))


PLRNNInit = Literal["authors", "identity", "uniform"]
"""The PLRNN's initialisation schemes (see `PLRNN`)."""
INITS: tuple[str, ...] = typing.get_args(PLRNNInit)
"""The names of `PLRNNInit`, in order."""


def authors_input_std(M: int) -> float:
    """The std of the authors' input weights C: ``√(1/M) · √2 · exp(1.2 / max(M, 6) − 2.4)``
    (≈ 0.021 for M = 40)."""
    return math.sqrt(2.0 / M) * math.exp(1.2 / max(M, 6) - 2.4)


def _spectral_radius(a) -> Array:
    value = concrete(a)
    if value is None:
        return jnp.max(jnp.abs(jnp.linalg.eigvals(a)))
    return jnp.asarray(np.max(np.abs(np.linalg.eigvals(value.astype(np.float64)))))


def _authors_recurrence(key, M: int, dtype) -> Array:
    """``AW ~ N(0, 1/M)``, multiplied by ``1/(1 + √M)`` while its spectral radius exceeds 1."""
    aw = jax.random.normal(key, (M, M), dtype) / math.sqrt(M)
    rho = _spectral_radius(aw)
    shrink = 1.0 + math.sqrt(M)
    # the loop "while ρ > 1: AW /= (1 + √M)" runs k = ceil(log ρ / log(1 + √M)) times
    k = jnp.where(rho > 1, jnp.ceil(jnp.log(rho) / math.log(shrink)), 0.0)
    return aw * jnp.asarray(shrink, dtype) ** (-k.astype(dtype))


class PLRNN(AbstractDiscreteSystem):
    r"""The PLRNN ``z_t = A z_{t-1} + W relu(z_{t-1}) + C s_t + h + ε_t`` (Schmidt et al., eq. 1).

    A is diagonal (stored as the vector ``A``); W is off-diagonal *by
    construction*: the stored ``W_raw`` is multiplied by an off-diagonal mask
    wherever it is used, so neither initialisation, ``from_arrays`` nor a
    gradient step can make W's diagonal non-zero. ε ~ N(0, diag(noise_std²))
    is sampled only when ``step`` receives a key and the model has
    ``noise_std``. A trial starts from ``initial_state()``: the learned μ₀
    when the model has one (``learn_z0``), else 0.

    **Initialisation** (``init``), for M latent units and K inputs:

    - ``"authors"`` (default; the scheme of the rPLRNN authors' code, which
      produced the paper's result files): ``AW ~ N(0, 1/M)`` elementwise,
      multiplied by ``1/(1 + √M)`` while its spectral radius exceeds 1, so
      ρ(A + W) ≤ 1 (the draw's ρ is close to 1 by the circular law: about half
      the draws are kept as they are, the others divided once, to ρ ≈ 0.14 at
      M = 40); ``A = diag(AW)``, ``W = AW − A``;
      ``C ~ N(0, 1/M) · √2 · exp(1.2/max(M, 6) − 2.4)`` (std ≈ 0.021 at
      M = 40: inputs enter weakly); ``h ~ N(0, 1/M)``; read-out
      ``B ~ N(0, 1/M)``; ``μ₀ ~ U[0, 1)``. With the default-scale inputs of
      the former scheme instead (C std ≈ 0.71 for K = 2, A near the edge),
      the rPLRNN overflows within 3 epochs on the addition problem at
      T = 200; with this one it solves it.
    - ``"identity"`` (the iPLRNN): as ``"authors"``, then ``A = I``,
      ``W = 0``, ``h = 0``.
    - ``"uniform"`` (jaxrnn's former default, kept for the reconstruction
      runs measured with it): ``A ~ U[0.5, 0.9)``, ``W ~ N(0, 0.25/M)`` off
      the diagonal, ``h = 0``, ``C ~ N(0, 1/K)``, ``B ~ N(0, 1/M)``,
      ``μ₀ ~ U[0, 1)``.

    In every scheme the first ``n_regularised`` units then start as perfect
    integrators, ``A_ii = 1``, ``W[i, :] = 0``, ``h_i = 0`` (Fig. S1): with
    the line-attractor penalty (eq. 4) this is the rPLRNN.

    **Arguments:**

    - ``latent_size``: M.
    - ``input_size``: K, the number of input channels s_t.
    - ``n_regularised``: M_reg, the regularised (line-attractor) units.
    - ``init``: ``"authors"``, ``"identity"`` or ``"uniform"`` (above).
    - ``learn_z0``: give the model a trainable initial state μ₀ (as the
      authors' code does); otherwise trials start from z₀ = 0.
    - ``observation_size``: N, the observation model's output size; no
      observation model when 0.
    - ``observation``: ``"gaussian"`` (eq. 2) or ``"categorical"`` (eq. 3).
    - ``observation_link``: g of the Gaussian model, ``"identity"`` or ``"relu"``.
    - ``noise_std``: √diag(Σ) (scalar or per unit), or None for a deterministic map.
    - ``dtype``: the parameters' dtype (default: JAX's default float).
    - ``key``: the PRNG key of the initial parameters.
    """

    A: Float[Array, " M"]
    W_raw: Float[Array, "M M"]
    C: Float[Array, "M K"]
    h: Float[Array, " M"]
    mu0: Float[Array, " M"] | None
    noise_std: Float[Array, " M"] | None
    observation: GaussianObservation | CategoricalObservation | None
    n_regularised: int = eqx.field(static=True)

    def __init__(
        self,
        latent_size: int,
        input_size: int = 0,
        *,
        n_regularised: int = 0,
        init: PLRNNInit = "authors",
        learn_z0: bool = False,
        observation_size: int = 0,
        observation: Literal["gaussian", "categorical"] = "gaussian",
        observation_link: Literal["identity", "relu"] = "identity",
        noise_std: ArrayLike | None = None,
        dtype=None,
        key: PRNGKeyArray,
    ):
        M = check_size("PLRNN", "latent_size", latent_size, 1)
        K = check_size("PLRNN", "input_size", input_size, 0)
        observation_size = check_size("PLRNN", "observation_size", observation_size, 0)
        if not 0 <= n_regularised <= M:
            raise ValueError(f"n_regularised must lie in [0, latent_size={M}], got {n_regularised}")
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        ka, kw, kc, ko, kh, kz = jax.random.split(key, 6)
        if init == "uniform":
            A = jax.random.uniform(ka, (M,), dtype, 0.5, 0.9)
            W = jax.random.normal(kw, (M, M), dtype) * (0.5 / math.sqrt(M))
            W = W * _offdiag(M, dtype, isinstance(W, Tracer))
            h = jnp.zeros((M,), dtype)
            C = jax.random.normal(kc, (M, K), dtype) / math.sqrt(max(K, 1))
        else:
            aw = _authors_recurrence(kw, M, dtype)
            A = jnp.diagonal(aw)
            W = aw * _offdiag(M, dtype, isinstance(aw, Tracer))
            h = jax.random.normal(kh, (M,), dtype) / math.sqrt(M)
            C = jax.random.normal(kc, (M, K), dtype) * authors_input_std(M)
            if init == "identity":
                A, W, h = jnp.ones((M,), dtype), jnp.zeros((M, M), dtype), jnp.zeros((M,), dtype)
        if n_regularised:  # Fig. S1: regularised units start as perfect integrators.
            A = A.at[:n_regularised].set(1.0)
            W = W.at[:n_regularised, :].set(0.0)
            h = h.at[:n_regularised].set(0.0)
        self.A = A
        self.W_raw = W
        self.C = C
        self.h = h
        self.mu0 = jax.random.uniform(kz, (M,), dtype) if learn_z0 else None
        self.noise_std = (
            None if noise_std is None else jnp.broadcast_to(jnp.asarray(noise_std, dtype), (M,))
        )
        self.observation = (
            make_observation(
                observation, M, observation_size, observation_link, dtype=dtype, key=ko
            )
            if observation_size > 0
            else None
        )
        self.n_regularised = n_regularised

    @classmethod
    def from_arrays(
        cls,
        A: ArrayInput,
        W: ArrayInput,
        h: ArrayInput,
        C: ArrayInput | None = None,
        B: ArrayInput | None = None,
        *,
        n_regularised: int = 0,
        observation: Literal["gaussian", "categorical"] = "gaussian",
        observation_link: Literal["identity", "relu"] = "identity",
        noise_std: ArrayLike | None = None,
        mu0: ArrayInput | None = None,
    ) -> PLRNN:
        """A PLRNN with explicit parameters. ``A`` may be the diagonal vector or a
        diagonal matrix; ``W`` must have a zero diagonal (self-coupling belongs in A);
        ``mu0``, if given, is a learned initial state (else trials start from 0)."""
        a = jnp.asarray(A)
        if a.ndim == 2:
            a = check_value(
                a,
                lambda xp, v: xp.abs(v - xp.diag(xp.diagonal(v))) > 1e-8,
                "PLRNN.from_arrays: A must be diagonal",
            )
            a = jnp.diagonal(a)
        M = a.shape[0]
        W = jnp.asarray(W, a.dtype)
        h = jnp.asarray(h, a.dtype)
        if W.shape != (M, M):
            raise ValueError(f"PLRNN.from_arrays: W must have shape ({M}, {M}), got {W.shape}")
        W = check_value(
            W,
            lambda xp, v: xp.diagonal(v) != 0,
            "PLRNN.from_arrays: W must have a zero diagonal (put self-coupling in A)",
        )
        if h.shape != (M,):
            raise ValueError(f"PLRNN.from_arrays: h must have shape ({M},), got {h.shape}")
        C = jnp.zeros((M, 0), a.dtype) if C is None else jnp.asarray(C, a.dtype)
        if C.ndim != 2 or C.shape[0] != M:
            raise ValueError(f"PLRNN.from_arrays: C must have shape ({M}, K), got {C.shape}")
        obs = None
        if B is not None:
            B = jnp.atleast_2d(jnp.asarray(B, a.dtype))
            if B.shape[1] != M:
                raise ValueError(f"PLRNN.from_arrays: B must have shape (N, {M}), got {B.shape}")
            obs = (
                GaussianObservation(B, link=observation_link)
                if observation == "gaussian"
                else CategoricalObservation(B)
            )
        if mu0 is not None:
            mu0 = jnp.asarray(mu0, a.dtype)
            if mu0.shape != (M,):
                raise ValueError(f"PLRNN.from_arrays: mu0 must have shape ({M},), got {mu0.shape}")
        # the constructor's checks and structure, traced only (every array is replaced:
        # a concrete template would draw, and compile, a random initialisation for nothing)
        template = jax.eval_shape(
            lambda: cls(
                M,
                C.shape[1],
                n_regularised=n_regularised,
                noise_std=noise_std,
                dtype=a.dtype,
                key=jax.random.PRNGKey(0),
            )
        )
        sigma = (
            None if noise_std is None else jnp.broadcast_to(jnp.asarray(noise_std, a.dtype), (M,))
        )
        return eqx.tree_at(
            lambda m: (m.A, m.W_raw, m.C, m.h, m.mu0, m.noise_std, m.observation),
            template,
            (a, W, C, h, mu0, sigma, obs),
            is_leaf=lambda x: x is None,
        )

    # ----------------------------------------------------------------- maths
    @property
    def W(self) -> Float[Array, "M M"]:
        """The coupling matrix, off-diagonal by construction."""
        W = self.W_raw
        return W * _offdiag(W.shape[0], W.dtype, isinstance(W, Tracer))

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

    def initial_state(self, dtype=None) -> Float[Array, " M"]:
        """z₀ of a trial: the learned μ₀, or 0 when the model has none."""
        if self.mu0 is None:
            return jnp.zeros((self.state_size,), self.A.dtype if dtype is None else dtype)
        return self.mu0 if dtype is None else self.mu0.astype(dtype)

    def region_matrix(self, d: Float[Array, " M"]) -> Float[Array, "M M"]:
        """``W_Ω = A + W D_Ω`` for the region with indicator vector d = diag(D_Ω)."""
        return jnp.asarray(region_matrices(self.A, self.W, d))

    def jacobian(self, z: Float[Array, " M"]) -> Float[Array, "M M"]:
        """∂F/∂z at z: the region matrix of z's orthant, D_Ω = diag(1[z > 0])."""
        return self.region_matrix((z > 0).astype(z.dtype))

    def observe(self, z: Float[Array, " M"]) -> Float[Array, " N"]:
        """The observation model's mean (Gaussian) or logits (categorical)."""
        if self.observation is None:
            raise ValueError("this PLRNN has no observation model (observation_size=0)")
        return self.observation(z)
