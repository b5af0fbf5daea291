"""The three procedures of Caruso & Jarne as operators from systems to systems.

- ``rescale(system, τ)``   R_τ: the vector field becomes τ F (eq. 6).
- ``discretise(system, Δ)`` D_Δ: the one-step map ``h ↦ h + Δ F(h, x)`` (eq. 10),
  or the one-step map of any diffrax solver.
- ``linearise(system)``     L: every activation σ replaced by its first-order
  Taylor expansion at 0, σ(0) + σ'(0) φ (eq. 13); or, with ``at=``, the affine
  Jacobian approximation of any system around an operating point.

All three are pure: they return new systems (pytrees), so ``jit``, ``vmap``
(over τ, Δ, parameters) and ``grad`` pass through them. The commutation results
``D_Δ∘R_τ = D_{τΔ}``, ``D_Δ∘L = L∘D_Δ`` and ``L∘R_τ = R_τ∘L`` are checked in
``tests/test_commutation.py`` and ``experiments/commutation.py``.
"""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._activations_user import is_activation
from ._solvers import get_solver
from ._system_kinds import (
    AbstractContinuousSystem,
    AbstractDiscreteSystem,
    AbstractSystem,
    AffineMap,
    LinearFlow,
)
from ._validate import check_value

__all__ = ["Rescaled", "Discretised", "rescale", "discretise", "linearise"]


class Rescaled(AbstractContinuousSystem):
    """R_τ applied to a continuous system: with ``t = τ s``,
    ``dh̃/ds = τ F(τ s, h̃, x̃)`` where ``x̃(s) = x(τ s)`` (Caruso & Jarne, eq. 6).

    Inputs are read at the rescaled time: a sampled input array on the grid
    ``s_k = kΔ`` is the original input on the grid ``t_k = kτΔ``; a callable
    input ``x(t)`` of the original system becomes ``lambda s: x(tau * s)``.

    **Arguments:**

    - `system`: the continuous system F being rescaled.
    - `tau`: the factor τ > 0 (a scalar array, so it can be traced and differentiated).
    """

    system: AbstractContinuousSystem
    tau: Float[Array, ""]

    @property
    def state_size(self):
        return self.system.state_size

    @property
    def input_size(self):
        return self.system.input_size

    def vector_field(self, t, y, x):
        return self.tau * self.system.vector_field(self.tau * t, y, x)


class Discretised(AbstractDiscreteSystem):
    """D_Δ applied to a continuous system: one step of size Δ with the input
    held at ``x`` over the step. ``method="euler"`` is ``h + Δ F(h, x)``
    (Caruso & Jarne, eq. 10); a diffrax solver gives that solver's one-step map.
    The map is taken from t = 0 (exact for autonomous systems such as CTRNNs).

    **Arguments:**

    - `system`: the continuous system being discretised.
    - `dt`: the step Δ > 0 (a scalar array).
    - `method`: ``"euler"``, a solver name or a diffrax solver instance.
    """

    system: AbstractContinuousSystem
    dt: Float[Array, ""]
    method: Any = eqx.field(static=True)

    @property
    def state_size(self):
        return self.system.state_size

    @property
    def input_size(self):
        return self.system.input_size

    def step(self, y, x, key=None):
        t0 = jnp.zeros_like(self.dt)
        if isinstance(self.method, str):  # "euler": the hand-written path
            return y + self.dt * self.system.vector_field(t0, y, x)
        term = diffrax.ODETerm(lambda t, y_, args: self.system.vector_field(t, y_, args))
        state = self.method.init(term, t0, self.dt, y, x)
        y1, _, _, _, _ = self.method.step(term, t0, self.dt, y, x, state, made_jump=False)
        return y1


def rescale(system: AbstractContinuousSystem, tau: ArrayLike) -> Rescaled:
    """R_τ (τ > 0): ``s ↦ t = τ s``; the vector field becomes τ F (Caruso & Jarne, eq. 6).

    R_τ is invertible: ``rescale(rescale(sys, τ), 1/τ)`` is the original flow.

    **Arguments:**

    - `system`: a continuous system (a flow).
    - `tau`: τ > 0, checked when concrete.

    **Returns:**

    The `Rescaled` system ``dh̃/ds = τ F(τ s, h̃, x̃)``.
    """
    if not isinstance(system, AbstractContinuousSystem):
        raise TypeError(
            f"rescale needs a continuous system, got {type(system).__name__}; "
            "for a map, rescale the continuous system before discretising it"
        )
    tau = jnp.asarray(tau)
    if tau.ndim != 0:
        raise ValueError(f"tau must be a scalar (use jax.vmap for a grid), got shape {tau.shape}")
    tau = check_value(tau, lambda xp, v: ~(v > 0), "tau must be positive")
    return Rescaled(system, tau)


def discretise(
    system: AbstractContinuousSystem, dt: ArrayLike, method: str | diffrax.AbstractSolver = "euler"
) -> Discretised:
    """D_Δ: the one-step map of ``system`` with step Δ = ``dt``.

    ``method`` is ``"euler"`` (forward Euler, ``h_{k+1} = h_k + Δ F(h_k, x_k)``,
    eq. 10), another solver name (``"rk4"``, ``"heun"``, ``"tsit5"``, …) or a
    diffrax solver instance.

    **Arguments:**

    - `system`: a continuous system (a flow).
    - `dt`: the step Δ > 0, checked when concrete.
    - `method`: the one-step method (default ``"euler"``).

    **Returns:**

    The `Discretised` map (a discrete system).
    """
    if not isinstance(system, AbstractContinuousSystem):
        raise TypeError(f"discretise needs a continuous system, got {type(system).__name__}")
    dt = jnp.asarray(dt)
    if dt.ndim != 0:
        raise ValueError(f"dt must be a scalar (use jax.vmap for a grid), got shape {dt.shape}")
    dt = check_value(dt, lambda xp, v: ~(v > 0), "dt must be positive")
    return Discretised(system, dt, get_solver(method))


def _float_dtype(system) -> jnp.dtype:
    for leaf in jax.tree_util.tree_leaves(system):
        if jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            return jnp.result_type(leaf)
    return jnp.zeros(()).dtype


def _affine_coefficients(system: AbstractSystem, y0, x0, t):
    """(J_y, J_x, F(y0, x0)) of the system's right-hand side at (y0, x0)."""
    if isinstance(system, AbstractContinuousSystem):
        fn = lambda y, x: system.vector_field(t, y, x)  # noqa: E731
    elif isinstance(system, AbstractDiscreteSystem):
        fn = lambda y, x: system.step(y, x)  # noqa: E731
    else:
        raise TypeError(f"linearise needs a jaxrnn system, got {type(system).__name__}")
    value = fn(y0, x0)
    # Reverse mode: diffrax RK stages run in a loop that only supports reverse mode.
    jy, jx = jax.jacrev(fn, argnums=(0, 1))(y0, x0)
    return jy, jx, value


def linearise(
    system: AbstractSystem,
    at: ArrayLike | None = None,
    x: ArrayLike | None = None,
    *,
    t: ArrayLike = 0.0,
    one_sided_slope: float | None = None,
) -> LinearFlow | AffineMap:
    """L: the linearised system, as a `LinearFlow` (for a flow) or an `AffineMap`
    (for a map).

    - ``at=None`` (Caruso & Jarne, eq. 13): every activation σ in the system is
      replaced by its first-order Taylor expansion at 0, ``σ(0) + σ'(0) φ``
      (φ for tanh and hard-tanh, 0.5 + 0.25 φ for the sigmoid). This works on a
      CTRNN vector field and on any system built from one (its rescaled
      flow, its Euler or RK map), because the activations are found anywhere
      in the system's pytree. For a CTRNN the result is
      ``h' = (σ'(0) W - λI) h + σ'(0) W_in x + σ(0) + σ'(0) b``. ReLU has no
      derivative at 0: pass ``one_sided_slope`` (0 or 1) to choose one.
    - ``at=h0`` (and input ``x=x0``, default 0): the Jacobian approximation
      ``F(h0, x0) + J_h (h - h0) + J_x (x - x0)`` of any system.

    **Arguments:**

    - `system`: a flow or a map.
    - `at`: the state h0 to linearise at, or ``None`` for the Taylor expansion of
      the activations at 0 (eq. 13).
    - `x`: the input x0 of the Jacobian approximation (default 0).
    - `t`: the time at which a non-autonomous vector field is evaluated.
    - `one_sided_slope`: the slope used for ReLU at 0 (0 or 1) when ``at=None``.

    **Returns:**

    A `LinearFlow` ``h' = A h + B x + c`` for a flow, an `AffineMap`
    ``h_{k+1} = M h_k + N x_k + c`` for a map.
    """
    dtype = _float_dtype(system)
    n, k = system.state_size, system.input_size
    x0 = jnp.zeros((k,), dtype) if x is None else jnp.asarray(x, dtype)
    if x0.shape != (k,):
        raise ValueError(f"linearise: x must have shape ({k},), got {x0.shape}")
    t = jnp.asarray(t, dtype)
    if at is None:
        found = []

        def taylor(node):
            if is_activation(node):
                found.append(node.name)
                return node.taylor(one_sided_slope)
            return node

        target = jax.tree_util.tree_map(taylor, system, is_leaf=is_activation)
        if not found and not isinstance(system, (LinearFlow, AffineMap)):
            raise ValueError(
                f"{type(system).__name__} has no activation to linearise; pass at=<state> "
                "for the Jacobian approximation around an operating point"
            )
        y0 = jnp.zeros((n,), dtype)
    else:
        target = system
        y0 = jnp.asarray(at, dtype)
        if y0.shape != (n,):
            raise ValueError(f"linearise: at must have shape ({n},), got {y0.shape}")
    jy, jx, value = _affine_coefficients(target, y0, x0, t)
    offset = value - jy @ y0 - jx @ x0
    if isinstance(system, AbstractContinuousSystem):
        return LinearFlow(jy, jx, offset)
    return AffineMap(jy, jx, offset)
