"""The two kinds of dynamical system everything else in jaxrnn takes.

- A *continuous* system is a vector field ``vector_field(t, y, x) -> dy/dt``.
- A *discrete* system is a map ``step(y, x, key=None) -> y_next``.

``x`` is always an array of shape ``(input_size,)``, of shape ``(0,)`` when the
system has no inputs, so that scans and vmaps never special-case inputs.
``key`` is only used by stochastic maps (process noise); deterministic maps
ignore it.

`LinearFlow` and `AffineMap` are the canonical affine systems that
``linearise`` returns: their matrices are plain arrays, ready for eigenvalues.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

__all__ = [
    "AbstractAutonomousFlow",
    "AbstractAutonomousMap",
    "AbstractSystem",
    "AbstractContinuousSystem",
    "AbstractDiscreteSystem",
    "LinearFlow",
    "AffineMap",
]


class AbstractSystem(eqx.Module):
    """Anything with a state of size ``state_size`` driven by ``input_size`` inputs."""

    @property
    @abc.abstractmethod
    def state_size(self) -> int: ...

    @property
    @abc.abstractmethod
    def input_size(self) -> int: ...


class AbstractContinuousSystem(AbstractSystem):
    """An ODE ``y'(t) = f(t, y, x(t))``."""

    @abc.abstractmethod
    def vector_field(
        self, t: Float[ArrayLike, ""], y: Float[Array, " n"], x: Float[Array, " k"]
    ) -> Float[Array, " n"]:
        """dy/dt at time ``t``, state ``y`` and input value ``x``."""


class AbstractDiscreteSystem(AbstractSystem):
    """A map ``y_{k+1} = F(y_k, x_k)`` (optionally stochastic, given a key)."""

    @abc.abstractmethod
    def step(
        self,
        y: Float[Array, " n"],
        x: Float[Array, " k"],
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " n"]:
        """The next state."""

    def initial_state(self, dtype=None) -> Float[Array, " n"]:
        """The state a trial starts from when none is given: zero, unless the model
        learns it (the PLRNN's μ₀)."""
        return jnp.zeros((self.state_size,), dtype)


class AbstractAutonomousFlow(AbstractContinuousSystem):
    """A flow without inputs whose state size is fixed by the class (``dimension``)."""

    dimension: ClassVar[int]

    @property
    def state_size(self):
        return self.dimension

    @property
    def input_size(self):
        return 0


class AbstractAutonomousMap(AbstractDiscreteSystem):
    """A map without inputs whose state size is fixed by the class (``dimension``)."""

    dimension: ClassVar[int]

    @property
    def state_size(self):
        return self.dimension

    @property
    def input_size(self):
        return 0


class LinearFlow(AbstractContinuousSystem):
    """The affine ODE ``y' = A y + B x + c`` (Caruso & Jarne, eq. 13 with c = b).

    **Arguments:**

    - `A`: the state matrix, shape ``(n, n)``.
    - `B`: the input matrix, shape ``(n, k)``.
    - `c`: the constant term, shape ``(n,)``.
    """

    A: Float[Array, "n n"]
    B: Float[Array, "n k"]
    c: Float[Array, " n"]

    def __init__(self, A, B=None, c=None):
        self.A = jnp.asarray(A)
        n = self.A.shape[0]
        self.B = jnp.zeros((n, 0), self.A.dtype) if B is None else jnp.asarray(B)
        self.c = jnp.zeros((n,), self.A.dtype) if c is None else jnp.asarray(c)
        if self.A.shape != (n, n) or self.B.shape[0] != n or self.c.shape != (n,):
            raise ValueError(
                f"LinearFlow: shapes A{self.A.shape}, B{self.B.shape}, c{self.c.shape} "
                f"do not fit a state of size {n}"
            )

    @property
    def state_size(self):
        return self.A.shape[0]

    @property
    def input_size(self):
        return self.B.shape[1]

    def vector_field(self, t, y, x):
        return self.A @ y + self.B @ x + self.c


class AffineMap(AbstractDiscreteSystem):
    """The affine map ``y_{k+1} = M y_k + N x_k + c``.

    **Arguments:**

    - `M`: the state matrix, shape ``(n, n)``.
    - `N`: the input matrix, shape ``(n, k)``.
    - `c`: the constant term, shape ``(n,)``.
    """

    M: Float[Array, "n n"]
    N: Float[Array, "n k"]
    c: Float[Array, " n"]

    def __init__(self, M, N=None, c=None):
        self.M = jnp.asarray(M)
        n = self.M.shape[0]
        self.N = jnp.zeros((n, 0), self.M.dtype) if N is None else jnp.asarray(N)
        self.c = jnp.zeros((n,), self.M.dtype) if c is None else jnp.asarray(c)
        if self.M.shape != (n, n) or self.N.shape[0] != n or self.c.shape != (n,):
            raise ValueError(
                f"AffineMap: shapes M{self.M.shape}, N{self.N.shape}, c{self.c.shape} "
                f"do not fit a state of size {n}"
            )

    @property
    def state_size(self):
        return self.M.shape[0]

    @property
    def input_size(self):
        return self.N.shape[1]

    def step(self, y, x, key=None):
        return self.M @ y + self.N @ x + self.c
