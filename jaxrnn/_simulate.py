"""One ``simulate`` for maps and flows, over a hand-written Euler scan or diffrax.

- Discrete system (a map): ``simulate(map, y0, n_steps, inputs=None, key=None)``.
- Continuous system (a flow): ``simulate(flow, y0, t1=..., dt=..., solver=...)``
  (or ``n_steps=`` with ``dt=``, which lets Δ be traced, e.g. vmapped). The
  default ``solver="euler"`` is a ``lax.scan`` of ``h + Δ F(t_k, h, x_k)``
  (Caruso & Jarne, eq. 10); any diffrax solver (Tsit5, Dopri5, Kvaerno5, …, with
  adaptive step control when ``rtol``/``atol`` or a controller is given) runs
  through ``diffrax.diffeqsolve``, with sampled inputs turned into a linear
  interpolation through the samples.

Either way the result is a `Trajectory` with ``ts`` and ``ys`` (the initial
state included, shape ``(n_saved, state)``) and a ``diverged`` flag.

**Divergence convention.** When the state's Euclidean norm passes
``divergence_threshold`` (or becomes non-finite), the run is flagged
``diverged = True``; every saved state from that point on is NaN. The Euler
and map paths freeze the state internally so no inf/NaN enters gradients; the
diffrax path stops the solve with a ``diffrax.Event``. ``None`` disables the check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from ._simulate_args import (
    checked_y0,
    diffrax_inputs,
    diffrax_saveat,
    flow_grid,
    grid_indices,
    inputs_array,
    static_threshold,
)
from ._simulate_diffrax import diffrax_path
from ._simulate_scan import euler_path, map_path
from ._solvers import get_solver
from ._system_kinds import AbstractContinuousSystem, AbstractDiscreteSystem
from ._typing import ArrayInput
from .models.plrnn._parallel import parallel_plrnn_rollout
from .models.plrnn._plrnn_map import PLRNN

__all__ = ["Trajectory", "simulate", "DEFAULT_DIVERGENCE_THRESHOLD"]

DEFAULT_DIVERGENCE_THRESHOLD = 1e8
"""`simulate` flags a trajectory as diverged once any |state| exceeds this (or is not finite)."""


class Trajectory(eqx.Module):
    """What `simulate` returns.

    **Arguments:**

    - `ts`: saved times, shape ``(n_saved,)`` (step indices for a map).
    - `ys`: saved states, shape ``(n_saved, state)``; after divergence the states
      are frozen at the first non-finite or over-threshold value.
    - `diverged`: whether the run passed the divergence threshold.
    """

    ts: Float[Array, " n"]
    ys: Float[Array, "n d"]
    diverged: Bool[Array, ""]


def simulate(
    system: AbstractContinuousSystem | AbstractDiscreteSystem,
    y0: ArrayInput,
    n_steps: int | None = None,
    *,
    inputs: ArrayLike | Callable | None = None,
    key: PRNGKeyArray | None = None,
    t0: ArrayLike = 0.0,
    t1: ArrayLike | None = None,
    dt: ArrayLike | None = None,
    solver: Any = "euler",
    saveat: str | ArrayLike | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    stepsize_controller: diffrax.AbstractStepSizeController | None = None,
    max_steps: int | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    divergence_threshold: float | None = DEFAULT_DIVERGENCE_THRESHOLD,
    unroll: int = 1,
) -> Trajectory:
    """Simulate a map or a flow from ``y0``; see the module docstring.

    **Arguments:**

    - ``system``: a discrete system (map) or continuous system (flow).
    - ``y0``: the initial state, shape ``(state,)``.
    - ``n_steps``: number of steps (maps; flows with ``dt``). For a map it
      defaults to ``len(inputs)``.
    - ``inputs``: an array ``(n_steps, input_size)`` (input ``x_k`` drives the
      step from ``y_k``; for a flow, the sample at ``t_k = t0 + kΔ``), or, for a
      flow, a callable ``t -> x(t)``.
    - ``key``: process-noise key for stochastic maps (one split per step).
    - ``t0, t1, dt``: the time grid of a flow.
    - ``solver``: ``"euler"`` (hand-written ``lax.scan``), a solver name
      (``"rk4"``, ``"tsit5"``, ``"dopri5"``, ``"kvaerno5"``, ``"diffrax_euler"``, …)
      or a diffrax solver instance. For a PLRNN map, ``"parallel"`` evaluates the
      whole trajectory at once by the exact Newton/DEER pattern iteration
      (`jaxrnn.models.parallel_plrnn_rollout`); any other value runs the map's scan.
    - ``saveat``: ``None`` (every grid point), ``"t1"`` (final state only), or
      an array of times (for Euler they must lie on the grid).
    - ``rtol, atol, stepsize_controller``: adaptive step control (diffrax
      solvers; the saved grid stays ``t0 + kΔ`` unless ``saveat`` says otherwise).
    - ``max_steps, adjoint``: passed to ``diffrax.diffeqsolve``.
    - ``divergence_threshold``: see the divergence convention; ``None`` disables it.
    - ``unroll``: ``lax.scan`` unrolling of the Euler and map paths.

    **Returns:**

    A `Trajectory` ``(ts, ys, diverged)``: for a map ``ts = 0, 1, …, n_steps`` and
    ``ys[k] = y_k``; for a flow the saved times and states (the initial one first).
    """
    y0 = checked_y0(system, y0, inputs)
    threshold = static_threshold(divergence_threshold)
    if isinstance(system, AbstractDiscreteSystem):
        parallel = isinstance(solver, str) and solver == "parallel"
        return _simulate_map(system, y0, n_steps, inputs, key, saveat, threshold, unroll, parallel)
    if not isinstance(system, AbstractContinuousSystem):
        raise TypeError(f"simulate needs a jaxrnn system, got {type(system).__name__}")
    adaptive = stepsize_controller is not None or rtol is not None or atol is not None
    t0, t1, dt, n, grid = flow_grid(t0, t1, dt, n_steps, y0.dtype, adaptive, saveat)
    solver = get_solver(solver)
    if isinstance(solver, str):  # "euler": the hand-written lax.scan path
        if adaptive or grid is None or dt is None or n is None:
            raise ValueError("the hand-written Euler path has fixed steps; use a diffrax solver")
        return _simulate_euler(system, y0, t0, dt, n, grid, inputs, saveat, threshold, unroll)
    if stepsize_controller is None:
        stepsize_controller = diffrax.ConstantStepSize()
        if adaptive:
            tols = (1e-6 if rtol is None else rtol, 1e-9 if atol is None else atol)
            stepsize_controller = diffrax.PIDController(rtol=tols[0], atol=tols[1])
    if max_steps is None:
        max_steps = (n or 0) + 8 if not adaptive else max(4096, 16 * (n or 0))
    input_fn, xs = diffrax_inputs(inputs, system.input_size, n, grid, y0.dtype)
    ts, ys, diverged = diffrax_path(
        system,
        y0,
        t0,
        t1,
        dt,
        grid,
        xs,
        input_fn,
        diffrax_saveat(saveat, grid, y0.dtype),
        solver,
        stepsize_controller,
        int(max_steps),
        threshold,
        diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
    )
    return Trajectory(ts, ys, diverged)


def _simulate_map(
    system, y0, n_steps, inputs, key, saveat, threshold, unroll, parallel=False
) -> Trajectory:
    """A map: ``y_{k+1} = f(y_k, x_k)`` over ``n_steps`` (default ``len(inputs)``)."""
    if n_steps is None:
        if inputs is None or callable(inputs):
            raise ValueError("simulate(map, ...) needs n_steps= or an inputs array")
        n_steps = jnp.shape(inputs)[0]
    if callable(inputs):
        raise TypeError("a map takes sampled inputs (an array), not a callable")
    xs = inputs_array(inputs, n_steps, system.input_size, y0.dtype, "for a map")
    if saveat not in (None, "t1"):
        raise ValueError("for a map, saveat must be None or 't1'")
    ts = jnp.arange(n_steps + 1, dtype=y0.dtype)
    if parallel:
        ys, diverged = _parallel_map_path(system, y0, xs, key, threshold, saveat is None)
        return Trajectory(ts if saveat is None else ts[-1:], ys, diverged)
    ys, diverged = map_path(system, y0, xs, key, n_steps, threshold, saveat is None, unroll)
    return Trajectory(ts if saveat is None else ts[-1:], ys, diverged)


def _parallel_map_path(system, y0, xs, key, threshold, save_all):
    """A noise-free PLRNN by the parallel pattern iteration, with the divergence
    convention of the scan (NaN from the first state past the threshold on)."""
    if not isinstance(system, PLRNN):
        raise TypeError(f"solver='parallel' evaluates PLRNN maps, got {type(system).__name__}")
    if key is not None and system.noise_std is not None:
        raise ValueError("solver='parallel' evaluates the noise-free PLRNN; pass key=None")
    states = parallel_plrnn_rollout(system.A, system.W, system.h, system.C, y0[None], xs[:, None])
    ys = jnp.concatenate([y0[None], states.states[:, 0]], axis=0)
    if threshold is not None:
        past = jnp.cumsum(~(jnp.sum(ys * ys, axis=1) <= threshold**2)) > 0  # inf, NaN too
        ys = jnp.where(past[:, None], jnp.nan, ys)
    diverged = jnp.any(jnp.isnan(ys)) if threshold is not None else states.diverged[0]
    return (ys if save_all else ys[-1:]), diverged


def _simulate_euler(system, y0, t0, dt, n, grid, inputs, saveat, threshold, unroll):
    """A flow by the hand-written Euler scan ``h + Δ F(t_k, h, x_k)`` (Caruso & Jarne, eq. 10)."""
    k, dtype = system.input_size, y0.dtype
    if callable(inputs):
        xs = jax.vmap(inputs)(grid[:-1])
        xs = inputs_array(xs, n, k, dtype, "(returned by the inputs callable)")
    else:
        xs = inputs_array(inputs, n, k, dtype, "sampled on the grid t0 + kΔ")
    if isinstance(saveat, str) and saveat != "t1":
        raise ValueError(f"saveat must be None, 't1' or an array of times, got {saveat!r}")
    save_all = saveat is None or not isinstance(saveat, str)
    ys, diverged = euler_path(system, y0, dt, grid, xs, n, threshold, save_all, unroll)
    if saveat is None:
        return Trajectory(grid, ys, diverged)
    if isinstance(saveat, str):
        return Trajectory(grid[-1:], ys, diverged)
    save_ts, idx = grid_indices(jnp.asarray(saveat, dtype), t0, dt, n)
    return Trajectory(save_ts, ys[idx], diverged)
