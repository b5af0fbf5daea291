"""Argument resolution of `simulate`: the sampled-input array, the time grid
(``dt``, the static number of steps, ``t1``) and the divergence threshold, with the
checks that can be made on concrete values (Caruso & Jarne's Euler grid ``t_k = t0 + kΔ``)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ._validate import check_value, concrete

__all__ = [
    "checked_y0",
    "inputs_array",
    "is_concrete",
    "check_dt",
    "resolve_grid",
    "flow_grid",
    "grid_indices",
    "diffrax_inputs",
    "diffrax_saveat",
    "static_threshold",
]


def is_concrete(x) -> bool:
    return concrete(x) is not None


def checked_y0(system, y0, inputs):
    """``y0`` as a real floating array of the system's state shape (integers become the
    default float); complex ``y0`` or inputs are refused."""
    y0 = jnp.asarray(y0)
    if jnp.issubdtype(y0.dtype, jnp.complexfloating):
        raise TypeError(f"y0 must be real, got dtype {y0.dtype}")
    if inputs is not None and not callable(inputs):
        if jnp.issubdtype(jnp.asarray(inputs).dtype, jnp.complexfloating):
            raise TypeError(f"inputs must be real, got dtype {jnp.asarray(inputs).dtype}")
    if not jnp.issubdtype(y0.dtype, jnp.floating):
        y0 = y0.astype(jnp.zeros(()).dtype)
    if y0.shape != (system.state_size,):
        raise ValueError(
            f"y0 must have shape ({system.state_size},) for {type(system).__name__}, got {y0.shape}"
        )
    return y0


def inputs_array(inputs, n_steps, k, dtype, what):
    if inputs is None:
        if k != 0:
            raise ValueError(f"the system takes {k} inputs; pass inputs of shape ({n_steps}, {k})")
        return jnp.zeros((n_steps, 0), dtype)
    inputs = jnp.asarray(inputs, dtype)
    if inputs.shape != (n_steps, k):
        raise ValueError(
            f"inputs must have shape (n_steps, input_size) = ({n_steps}, {k}) {what}, "
            f"got {inputs.shape}"
        )
    return inputs


def check_dt(dt):
    """The step must be finite and > 0 (backward integration is not supported): a known
    value is refused at once, a traced one inside the program (``eqx.error_if``).
    Returns ``dt`` (use it, or the traced check is dropped)."""
    if dt is None:
        return None
    return check_value(dt, lambda xp, v: ~xp.isfinite(v) | (v <= 0), "dt must be finite and > 0")


def resolve_grid(t0, t1, dt, n_steps):
    """(dt, n_steps, t1): n_steps static, dt and t1 possibly traced."""
    dt = check_dt(dt)
    if n_steps is not None:
        n_steps = int(n_steps)
        if n_steps < 0:
            raise ValueError(f"n_steps must be >= 0, got {n_steps}")
        if dt is None:
            if t1 is None:
                raise ValueError("give dt= (or t1=) together with n_steps=")
            dt = (t1 - t0) / max(n_steps, 1)
            if is_concrete(dt) and float(np.asarray(dt)) <= 0 and n_steps > 0:
                raise ValueError(
                    f"t1 must be > t0 (dt = (t1 - t0)/n_steps = "
                    f"{float(np.asarray(dt))}); backward integration is not "
                    "supported"
                )
        return dt, n_steps, t0 + n_steps * dt
    if t1 is None or dt is None:
        raise ValueError("a continuous system needs t1= and dt=, or n_steps= and dt=")
    if not (is_concrete(t1) and is_concrete(dt) and is_concrete(t0)):
        raise ValueError(
            "with traced t1 or dt (e.g. under vmap) the number of steps is not static: "
            "pass n_steps= together with dt="
        )
    span = float(t1) - float(t0)
    n = int(round(span / float(dt)))
    if n < 1 or abs(n * float(dt) - span) > 1e-9 * max(1.0, abs(span)):
        raise ValueError(
            f"t1 - t0 = {span} is not a positive whole number of steps dt = {float(dt)}; "
            "pass n_steps= instead"
        )
    return dt, n, t1


def static_threshold(value) -> float | None:
    """The divergence threshold as a static Python float (one compilation per value)."""
    return None if value is None else float(value)


def flow_grid(t0, t1, dt, n_steps, dtype, adaptive: bool, saveat):
    """(t0, t1, dt, n_steps, grid) of a flow: the grid ``t0 + kΔ`` ending exactly on
    ``t1``, or no grid (``dt``, ``n_steps`` and ``grid`` None) for an adaptive solve
    without ``dt``."""
    t0 = jnp.asarray(t0, dtype)
    if adaptive and n_steps is None and dt is None:
        if t1 is None or saveat is None:
            raise ValueError("adaptive solves without dt= need t1= and saveat=")
        return t0, jnp.asarray(t1, dtype), None, None, None
    dt, n, t1 = resolve_grid(t0, t1, dt, n_steps)
    dt, t1 = jnp.asarray(dt, dtype), jnp.asarray(t1, dtype)
    grid = t0 + dt * jnp.arange(n + 1, dtype=dtype)
    # t0 + n·Δ may round past t1: end the grid on t1 exactly (diffrax checks saveat ⊂ [t0, t1])
    return t0, t1, dt, n, jnp.minimum(grid, t1).at[-1].set(t1)


def grid_indices(save_ts, t0, dt, n):
    """(save_ts, k): the grid indices of save times that must lie on ``t0 + kΔ``; off-grid
    times are refused at once when known, inside the program when traced."""
    idx = jnp.round((save_ts - t0) / dt).astype(jnp.int32)
    tol = 1e-9 * jnp.maximum(1.0, jnp.max(jnp.abs(save_ts)))
    off = jnp.any(jnp.abs(t0 + idx * dt - save_ts) > tol) | jnp.any((idx < 0) | (idx > n))
    message = "for solver='euler', saveat times must lie on the grid t0 + kΔ"
    if is_concrete(off):
        if bool(off):
            raise ValueError(message)
        return save_ts, idx
    return eqx.error_if((save_ts, idx), off, message)  # on every output


def diffrax_inputs(inputs, k, n, grid, dtype):
    """(input function, sampled inputs) for the diffrax path (at most one is not None)."""
    if inputs is None:
        if k != 0:
            raise ValueError(f"the system takes {k} inputs; pass inputs")
        return None, None
    if callable(inputs):
        return inputs, None
    if grid is None:
        raise ValueError("sampled inputs need the grid: pass dt= (or n_steps=)")
    return None, inputs_array(inputs, n, k, dtype, "sampled on the grid t0 + kΔ")


def diffrax_saveat(saveat, grid, dtype):
    """The times diffrax saves at: the grid, None for ``"t1"``, or the given times."""
    if saveat is None:
        return grid
    if isinstance(saveat, str):
        if saveat != "t1":
            raise ValueError(f"saveat must be None, 't1' or an array of times, got {saveat!r}")
        return None
    return jnp.asarray(saveat, dtype)
