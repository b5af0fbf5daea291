"""Classic ground-truth systems: Lorenz-63, Rössler (flows) and the Hénon map."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._systems import AbstractContinuousSystem, AbstractDiscreteSystem

__all__ = ["Lorenz63", "Rossler", "Henon"]


class Lorenz63(AbstractContinuousSystem):
    """``x' = σ(y − x), y' = x(ρ − z) − y, z' = xy − βz`` (σ 10, ρ 28, β 8/3 by default)."""

    sigma: Float[Array, ""] = eqx.field(default=10.0, converter=jnp.asarray)
    rho: Float[Array, ""] = eqx.field(default=28.0, converter=jnp.asarray)
    beta: Float[Array, ""] = eqx.field(default=8.0 / 3.0, converter=jnp.asarray)

    @property
    def state_size(self):
        return 3

    @property
    def input_size(self):
        return 0

    def vector_field(self, t, y, x):
        a, b, c = y[0], y[1], y[2]
        return jnp.stack([self.sigma * (b - a), a * (self.rho - c) - b, a * b - self.beta * c])


class Rossler(AbstractContinuousSystem):
    """``x' = −y − z, y' = x + a y, z' = b + z(x − c)`` (a 0.2, b 0.2, c 5.7 by default)."""

    a: Float[Array, ""] = eqx.field(default=0.2, converter=jnp.asarray)
    b: Float[Array, ""] = eqx.field(default=0.2, converter=jnp.asarray)
    c: Float[Array, ""] = eqx.field(default=5.7, converter=jnp.asarray)

    @property
    def state_size(self):
        return 3

    @property
    def input_size(self):
        return 0

    def vector_field(self, t, y, x):
        return jnp.stack([-y[1] - y[2], y[0] + self.a * y[1], self.b + y[2] * (y[0] - self.c)])


class Henon(AbstractDiscreteSystem):
    """``x' = 1 − a x² + y, y' = b x`` (a 1.4, b 0.3 by default)."""

    a: Float[Array, ""] = eqx.field(default=1.4, converter=jnp.asarray)
    b: Float[Array, ""] = eqx.field(default=0.3, converter=jnp.asarray)

    @property
    def state_size(self):
        return 2

    @property
    def input_size(self):
        return 0

    def step(self, y, x, key=None):
        return jnp.stack([1.0 - self.a * y[0] ** 2 + y[1], self.b * y[0]])
