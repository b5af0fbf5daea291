"""One ``simulate`` for maps and flows, over a hand-written Euler scan or diffrax.

- Discrete system (a map): ``simulate(map, y0, n_steps, inputs=None, key=None)``.
- Continuous system (a flow): ``simulate(flow, y0, t1=..., dt=..., solver=...)``
  (or ``n_steps=`` with ``dt=``, which lets Δ be traced, e.g. vmapped). The
  default ``solver="euler"`` is a ``lax.scan`` of ``h + Δ F(t_k, h, x_k)``
  (seed 000, eq. 10); any diffrax solver (Tsit5, Dopri5, Kvaerno5, …, with
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

from ._simulate_args import inputs_array, is_concrete, resolve_grid, static_threshold
from ._simulate_diffrax import diffrax_path
from ._simulate_scan import euler_path, map_path
from ._solvers import get_solver
from ._system_kinds import AbstractContinuousSystem, AbstractDiscreteSystem

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
    y0: ArrayLike,
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
      or a diffrax solver instance.
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
    y0 = jnp.asarray(y0)
    if jnp.issubdtype(y0.dtype, jnp.complexfloating):
        raise TypeError(f"y0 must be real, got dtype {y0.dtype}")
    if (
        inputs is not None
        and not callable(inputs)
        and jnp.issubdtype(jnp.asarray(inputs).dtype, jnp.complexfloating)
    ):
        raise TypeError(f"inputs must be real, got dtype {jnp.asarray(inputs).dtype}")
    if not jnp.issubdtype(y0.dtype, jnp.floating):
        y0 = y0.astype(jnp.zeros(()).dtype)
    if y0.shape != (system.state_size,):
        raise ValueError(
            f"y0 must have shape ({system.state_size},) for {type(system).__name__}, got {y0.shape}"
        )
    dtype = y0.dtype
    k = system.input_size

    if isinstance(system, AbstractDiscreteSystem):
        if n_steps is None:
            if inputs is None or callable(inputs):
                raise ValueError("simulate(map, ...) needs n_steps= or an inputs array")
            n_steps = jnp.shape(inputs)[0]
        if callable(inputs):
            raise TypeError("a map takes sampled inputs (an array), not a callable")
        xs = inputs_array(inputs, n_steps, k, dtype, "for a map")
        if saveat not in (None, "t1"):
            raise ValueError("for a map, saveat must be None or 't1'")
        ts = jnp.arange(n_steps + 1, dtype=dtype)
        ys, diverged = map_path(
            system,
            y0,
            xs,
            key,
            n_steps,
            static_threshold(divergence_threshold),
            saveat is None,
            unroll,
        )
        return Trajectory(ts if saveat is None else ts[-1:], ys, diverged)

    if not isinstance(system, AbstractContinuousSystem):
        raise TypeError(f"simulate needs a jaxrnn system, got {type(system).__name__}")
    t0 = jnp.asarray(t0, dtype)
    adaptive = stepsize_controller is not None or rtol is not None or atol is not None
    if adaptive and n_steps is None and dt is None:
        if t1 is None or saveat is None:
            raise ValueError("adaptive solves without dt= need t1= and saveat=")
        grid = None
        n_steps_in = None
        t1 = jnp.asarray(t1, dtype)
    else:
        dt, n_steps_in, t1 = resolve_grid(t0, t1, dt, n_steps)
        dt = jnp.asarray(dt, dtype)
        t1 = jnp.asarray(t1, dtype)
        grid = t0 + dt * jnp.arange(n_steps_in + 1, dtype=dtype)
        # t0 + n·Δ may round past t1: end the grid on t1 exactly (diffrax checks saveat ⊂ [t0, t1])
        grid = jnp.minimum(grid, t1).at[-1].set(t1)

    solver = get_solver(solver)
    if isinstance(solver, str):  # "euler": the hand-written lax.scan path
        if adaptive:
            raise ValueError("the hand-written Euler path has fixed steps; use a diffrax solver")
        assert grid is not None and dt is not None and n_steps_in is not None  # not adaptive
        if callable(inputs):
            xs = jax.vmap(inputs)(grid[:-1])
            xs = inputs_array(xs, n_steps_in, k, dtype, "(returned by the inputs callable)")
        else:
            xs = inputs_array(inputs, n_steps_in, k, dtype, "sampled on the grid t0 + kΔ")
        save_all = saveat is None or not isinstance(saveat, str)
        if isinstance(saveat, str) and saveat != "t1":
            raise ValueError(f"saveat must be None, 't1' or an array of times, got {saveat!r}")
        ys, diverged = euler_path(
            system,
            y0,
            dt,
            grid,
            xs,
            n_steps_in,
            static_threshold(divergence_threshold),
            save_all,
            unroll,
        )
        if saveat is None:
            return Trajectory(grid, ys, diverged)
        if isinstance(saveat, str):
            return Trajectory(grid[-1:], ys, diverged)
        save_ts = jnp.asarray(saveat, dtype)
        idx = jnp.round((save_ts - t0) / dt).astype(jnp.int32)
        tol = 1e-9 * jnp.maximum(1.0, jnp.max(jnp.abs(save_ts)))
        off = jnp.any(jnp.abs(t0 + idx * dt - save_ts) > tol) | jnp.any(
            (idx < 0) | (idx > n_steps_in)
        )
        message = "for solver='euler', saveat times must lie on the grid t0 + kΔ"
        if is_concrete(off):  # known now: refuse at once; traced: inside the program
            if bool(off):
                raise ValueError(message)
        else:
            save_ts, idx = eqx.error_if((save_ts, idx), off, message)  # on every output
        return Trajectory(save_ts, ys[idx], diverged)

    # ---- diffrax path
    if inputs is None:
        if k != 0:
            raise ValueError(f"the system takes {k} inputs; pass inputs")
        input_fn, xs = None, None
    elif callable(inputs):
        input_fn, xs = inputs, None
    else:
        if grid is None:
            raise ValueError("sampled inputs need the grid: pass dt= (or n_steps=)")
        input_fn = None
        xs = inputs_array(inputs, n_steps_in, k, dtype, "sampled on the grid t0 + kΔ")
    if stepsize_controller is None:
        if adaptive:
            stepsize_controller = diffrax.PIDController(
                rtol=1e-6 if rtol is None else rtol, atol=1e-9 if atol is None else atol
            )
        else:
            stepsize_controller = diffrax.ConstantStepSize()
    if saveat is None:
        save_ts = grid
    elif isinstance(saveat, str):
        if saveat != "t1":
            raise ValueError(f"saveat must be None, 't1' or an array of times, got {saveat!r}")
        save_ts = None
    else:
        save_ts = jnp.asarray(saveat, dtype)
    if max_steps is None:
        n_grid = n_steps_in or 0
        max_steps = n_grid + 8 if not adaptive else max(4096, 16 * n_grid)
    ts, ys, diverged = diffrax_path(
        system,
        y0,
        t0,
        t1,
        dt,
        grid,
        xs,
        input_fn,
        save_ts,
        solver,
        stepsize_controller,
        int(max_steps),
        static_threshold(divergence_threshold),
        diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
    )
    return Trajectory(ts, ys, diverged)
