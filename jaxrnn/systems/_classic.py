"""Classic ground-truth systems: Lorenz-63, Rössler, Van der Pol (flows) and the Hénon map."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._system_kinds import AbstractAutonomousFlow, AbstractAutonomousMap

__all__ = ["Lorenz63", "Rossler", "VanDerPol", "Henon"]


class Lorenz63(AbstractAutonomousFlow):
    """``x' = σ(y − x), y' = x(ρ − z) − y, z' = xy − βz`` (σ 10, ρ 28, β 8/3 by default).

    **Arguments:**

    - `sigma`: σ, the Prandtl number.
    - `rho`: ρ, the Rayleigh number (chaotic at 28).
    - `beta`: β, the geometric factor.
    """

    dimension = 3
    sigma: Float[Array, ""] = eqx.field(default=10.0, converter=jnp.asarray)
    rho: Float[Array, ""] = eqx.field(default=28.0, converter=jnp.asarray)
    beta: Float[Array, ""] = eqx.field(default=8.0 / 3.0, converter=jnp.asarray)

    def vector_field(self, t, y, x):
        a, b, c = y[0], y[1], y[2]
        return jnp.stack([self.sigma * (b - a), a * (self.rho - c) - b, a * b - self.beta * c])


class Rossler(AbstractAutonomousFlow):
    """``x' = −y − z, y' = x + a y, z' = b + z(x − c)`` (a 0.2, b 0.2, c 5.7 by default).

    **Arguments:**

    - `a`: the growth of y.
    - `b`: the constant drive of z.
    - `c`: the threshold of x above which z grows (chaotic at 5.7).
    """

    dimension = 3
    a: Float[Array, ""] = eqx.field(default=0.2, converter=jnp.asarray)
    b: Float[Array, ""] = eqx.field(default=0.2, converter=jnp.asarray)
    c: Float[Array, ""] = eqx.field(default=5.7, converter=jnp.asarray)

    def vector_field(self, t, y, x):
        return jnp.stack([-y[1] - y[2], y[0] + self.a * y[1], self.b + y[2] * (y[0] - self.c)])


class VanDerPol(AbstractAutonomousFlow):
    """``x' = y, y' = μ(1 − x²) y − x`` (μ 1 by default): a relaxation oscillator whose
    limit cycle turns from near-sinusoidal (small μ) to slow-fast (large μ).

    **Arguments:**

    - `mu`: μ ≥ 0, the strength of the nonlinear damping.
    """

    dimension = 2
    mu: Float[Array, ""] = eqx.field(default=1.0, converter=jnp.asarray)

    def vector_field(self, t, y, x):
        return jnp.stack([y[1], self.mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


class Henon(AbstractAutonomousMap):
    """``x' = 1 − a x² + y, y' = b x`` (a 1.4, b 0.3 by default).

    **Arguments:**

    - `a`: the quadratic coefficient.
    - `b`: the contraction (the map's Jacobian determinant is −b).
    """

    dimension = 2
    a: Float[Array, ""] = eqx.field(default=1.4, converter=jnp.asarray)
    b: Float[Array, ""] = eqx.field(default=0.3, converter=jnp.asarray)

    def step(self, y, x, key=None):
        return jnp.stack([1.0 - self.a * y[0] ** 2 + y[1], self.b * y[0]])
