"""Observation models of the PLRNN (Schmidt et al., eqs. 2 and 3)."""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

__all__ = ["GaussianObservation", "CategoricalObservation", "make_observation"]


class GaussianObservation(eqx.Module):
    """``x_t = B g(z_t) + η_t``, η ~ N(0, diag(γ)) (Schmidt et al., eq. 2); g is identity or ReLU.

    **Arguments:**

    - `B`: the observation matrix, shape ``(N, M)``.
    - `link`: g, ``"identity"`` or ``"relu"``.
    - `noise_var`: the initial noise variance γ (one value for all N channels).
    """

    B: Float[Array, "N M"]
    log_noise_var: Float[Array, " N"]
    link: Literal["identity", "relu"] = eqx.field(static=True)

    def __init__(self, B, link: Literal["identity", "relu"] = "identity", noise_var=1.0):
        if link not in ("identity", "relu"):
            raise ValueError(f"observation link must be 'identity' or 'relu', got {link!r}")
        self.B = jnp.asarray(B)
        self.log_noise_var = jnp.log(jnp.full((self.B.shape[0],), noise_var, self.B.dtype))
        self.link = link

    def __call__(self, z: Float[Array, " M"]) -> Float[Array, " N"]:
        """The mean ``B g(z)``."""
        g = jax.nn.relu(z) if self.link == "relu" else z
        return self.B @ g

    def log_likelihood(self, z, x) -> Float[Array, ""]:
        """log N(x; B g(z), diag γ)."""
        var = jnp.exp(self.log_noise_var)
        r = x - self(z)
        return -0.5 * jnp.sum(r * r / var + self.log_noise_var + math.log(2 * math.pi))


class CategoricalObservation(eqx.Module):
    """``p_i = softmax(B z_t)_i`` (Schmidt et al., eq. 3).

    **Arguments:**

    - `B`: the read-out matrix, shape ``(N, M)``, N the number of classes.
    """

    B: Float[Array, "N M"]

    def __init__(self, B):
        self.B = jnp.asarray(B)

    def __call__(self, z: Float[Array, " M"]) -> Float[Array, " N"]:
        """The logits ``B z`` (``jax.nn.softmax`` of them are the class probabilities)."""
        return self.B @ z

    def log_likelihood(self, z, label: Int[ArrayLike, ""]) -> Float[Array, ""]:
        """log p_label."""
        return jax.nn.log_softmax(self(z))[label]


def make_observation(
    kind: Literal["gaussian", "categorical"],
    latent_size: int,
    observation_size: int,
    link: Literal["identity", "relu"] = "identity",
    *,
    dtype,
    key: PRNGKeyArray,
):
    """A randomly initialised observation model, B ~ N(0, 1/M)."""
    B = jax.random.normal(key, (observation_size, latent_size), dtype) / math.sqrt(latent_size)
    if kind == "gaussian":
        return GaussianObservation(B, link=link)
    if kind == "categorical":
        return CategoricalObservation(B)
    raise ValueError(f"observation must be 'gaussian' or 'categorical', got {kind!r}")
