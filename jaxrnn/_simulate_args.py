"""Argument resolution of `simulate`: the sampled-input array, the time grid
(``dt``, the static number of steps, ``t1``) and the divergence threshold, with the
checks that can be made on concrete values (seed 000's Euler grid ``t_k = t0 + kΔ``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._validate import check_value, concrete

__all__ = ["inputs_array", "is_concrete", "check_dt", "resolve_grid", "static_threshold"]


def is_concrete(x) -> bool:
    return concrete(x) is not None


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
