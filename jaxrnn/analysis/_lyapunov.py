"""Lyapunov spectra by QR re-orthonormalisation (Benettin et al. 1980).

- Maps ``z_{t+1} = F(z_t)``: ``Q_{t+1} R_{t+1} = J(z_t) Q_t`` along the orbit;
  ``λ_i = (1/N) Σ_t log |R_t,ii|`` per step.
- Flows ``z' = f(z)``: the variational equation ``Q' = J(z) Q`` is integrated
  with the state (`Variational`) by ``simulate`` with any of its solvers (a
  diffrax solver such as Tsit5 by default) over intervals of ``renorm_every``
  steps of size ``dt``, then re-orthonormalised; ``λ_i = (1/T) Σ log |R_ii|``.

A transient is discarded first. Everything is a ``lax.scan``, so the spectrum is
jit-able, vmappable over initial states and differentiable with respect to the
system's parameters (usable as a training loss).
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._simulate import simulate
from .._solvers import get_solver
from .._system_kinds import AbstractContinuousSystem, AbstractDiscreteSystem
from ..models import PLRNN

__all__ = ["lyapunov_spectrum", "kaplan_yorke_dimension", "Variational"]


def _qr_positive(M):
    Q, R = jnp.linalg.qr(M)
    signs = jnp.where(jnp.diagonal(R) < 0, -1.0, 1.0).astype(M.dtype)
    return Q * signs[None, :], R * signs[:, None]


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces (tests assert one per shape)
def _map_spectrum(system, xs, z0, n_steps, transient, renorm_every):
    if xs is None:  # a plain callable map
        step, jac = system, jax.jacfwd(system)
    else:

        def step(z):
            return system.step(z, xs)

        jac = system.jacobian if isinstance(system, PLRNN) else jax.jacfwd(step)
    z = jax.lax.fori_loop(0, transient, lambda _, v: step(v), z0)
    n = z0.shape[0]

    def block(carry, _):
        z, Q = carry

        def one(c, _):
            z, Q = c
            return (step(z), jac(z) @ Q), None

        (z, Q), _ = jax.lax.scan(one, (z, Q), None, length=renorm_every)
        Q, R = _qr_positive(Q)
        return (z, Q), jnp.log(jnp.abs(jnp.diagonal(R)))

    n_blocks = n_steps // renorm_every
    _, logs = jax.lax.scan(block, (z, jnp.eye(n, dtype=z0.dtype)), None, length=n_blocks)
    return jnp.sum(logs, axis=0) / (n_blocks * renorm_every)


class Variational(AbstractContinuousSystem):
    """A flow together with its variational equation: state ``[z, vec(Q)]``,
    ``z' = f(z)``, ``Q' = J(z) Q`` (Q is n × n, stored row-major)."""

    system: AbstractContinuousSystem
    x: Array

    @property
    def state_size(self):
        n = self.system.state_size
        return n + n * n

    @property
    def input_size(self):
        return 0

    def vector_field(self, t, y, _):
        n = self.system.state_size
        z, Q = y[:n], y[n:].reshape(n, n)
        fz, jvp = jax.linearize(lambda v: self.system.vector_field(t, v, self.x), z)
        return jnp.concatenate([fz, jax.vmap(jvp, in_axes=1, out_axes=1)(Q).ravel()])


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)
def _flow_spectrum(system, x, z0, n_steps, dt, transient, renorm_every, solver):
    n = z0.shape[0]
    var = Variational(system, x)
    eye = jnp.eye(n, dtype=z0.dtype)

    def advance(z, Q):
        y = simulate(
            var,
            jnp.concatenate([z, Q.ravel()]),
            n_steps=renorm_every,
            dt=dt,
            solver=solver,
            saveat="t1",
            divergence_threshold=None,
        ).ys[0]
        return y[:n], y[n:].reshape(n, n)

    z = jax.lax.fori_loop(0, transient // renorm_every, lambda _, v: advance(v, eye)[0], z0)

    def block(carry, _):
        z, Q = carry
        z, Q = advance(z, Q)
        Q, R = _qr_positive(Q)
        return (z, Q), jnp.log(jnp.abs(jnp.diagonal(R)))

    n_blocks = n_steps // renorm_every
    _, logs = jax.lax.scan(block, (z, eye), None, length=n_blocks)
    return jnp.sum(logs, axis=0) / (n_blocks * dt * renorm_every)


def lyapunov_spectrum(
    system: AbstractDiscreteSystem | AbstractContinuousSystem | Callable,
    y0: Float[ArrayLike, " n"],
    n_steps: int,
    *,
    dt: float | None = None,
    transient: int = 0,
    renorm_every: int = 1,
    x: ArrayLike | None = None,
    solver: str | diffrax.AbstractSolver = "tsit5",
) -> Float[Array, " n"]:
    """The Lyapunov spectrum (descending), per step for maps, per unit time for flows.

    **Arguments:**

    - ``system``: a PLRNN, any discrete or continuous system of the core API
      (with constant input ``x``, default 0), or a plain callable map ``z ↦ F(z)``.
    - ``y0``: the initial state, shape ``(n,)``.
    - ``n_steps``: steps (maps) or solver steps of size ``dt`` (flows) over which
      the exponents are averaged, after the ``transient``.
    - ``dt``: the solver step of a flow (required for flows, ignored for maps).
    - ``transient``: steps discarded before averaging (the tangent vectors align).
    - ``renorm_every``: steps between QR re-orthonormalisations.
    - ``x``: the constant input of a core-API system (default 0).
    - ``solver``: the diffrax solver for flows (name or instance).

    **Returns:**

    The n exponents in descending order, shape ``(n,)``: mean log growth per
    step for a map, per unit time for a flow.
    """
    z0 = jnp.asarray(y0)
    if not jnp.issubdtype(z0.dtype, jnp.floating):
        z0 = z0.astype(jnp.zeros(()).dtype)
    if n_steps < renorm_every:
        raise ValueError(f"n_steps ({n_steps}) must be >= renorm_every ({renorm_every})")
    if isinstance(system, AbstractContinuousSystem):
        if dt is None:
            raise ValueError("a continuous system needs dt= (the solver step)")
        k = system.input_size
        xs = jnp.zeros((k,), z0.dtype) if x is None else jnp.asarray(x, z0.dtype)
        spec = _flow_spectrum(
            system,
            xs,
            z0,
            n_steps,
            jnp.asarray(dt, z0.dtype),
            transient,
            renorm_every,
            get_solver(solver),
        )
    else:
        if isinstance(system, AbstractDiscreteSystem):
            k = system.input_size
            xs = jnp.zeros((k,), z0.dtype) if x is None else jnp.asarray(x, z0.dtype)
        elif callable(system):
            xs = None
        else:
            raise TypeError(
                f"lyapunov_spectrum needs a system or a callable map, got {type(system).__name__}"
            )
        spec = _map_spectrum(system, xs, z0, n_steps, transient, renorm_every)
    return -jnp.sort(-spec)


def kaplan_yorke_dimension(spectrum: ArrayLike) -> float:
    """``D_KY = j + Σ_{i≤j} λ_i / |λ_{j+1}|`` with j the largest index whose partial
    sum is non-negative (0 if λ_1 < 0; the full dimension if all partial sums are ≥ 0).

    **Arguments:**

    - `spectrum`: the Lyapunov exponents (any order; sorted here), e.g. from
      `lyapunov_spectrum`.

    **Returns:**

    D_KY, a ``float``.
    """
    lam = np.sort(np.asarray(spectrum, dtype=float))[::-1]
    partial = np.cumsum(lam)
    if partial[0] < 0:
        return 0.0
    j = int(np.max(np.flatnonzero(partial >= 0)))
    if j == lam.size - 1:
        return float(lam.size)
    return float(j + 1 + partial[j] / abs(lam[j + 1]))
