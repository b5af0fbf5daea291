"""The fixed-step paths of `simulate`: a map iterated by ``lax.scan``, and the hand-written
explicit Euler discretisation of a flow, ``h_{k+1} = h_k + Δ F(t_k, h_k, x_k)`` (Caruso & Jarne,
eq. 10).

Both are module-level ``eqx.filter_jit`` functions that take the system as an argument:
a repeated call with new weights of the same shapes reuses the compiled program.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ._system_kinds import AbstractContinuousSystem, AbstractDiscreteSystem

__all__ = ["map_path", "euler_path"]


def _iterate(step, y0, xs, n_steps, threshold, save_all, unroll):
    """``y_{k+1} = step(y_k, xs_k)`` by ``lax.scan``, with the divergence convention."""

    def body(carry, xk):
        y, diverged = carry
        y_next = step(y, xk)
        if threshold is None:
            return (y_next, diverged), (y_next if save_all else None)
        ok = jnp.sum(jnp.square(y_next)) <= threshold**2  # False for inf and NaN
        diverged = diverged | ~ok
        y_keep = jnp.where(diverged, y, y_next)
        out = jnp.where(diverged, jnp.nan, y_next) if save_all else None
        return (y_keep, diverged), out

    (y_last, diverged), ys = jax.lax.scan(
        body, (y0, jnp.asarray(False)), xs, length=n_steps, unroll=unroll
    )
    if save_all:
        assert ys is not None
        return jnp.concatenate([y0[None], ys], axis=0), diverged
    final = jnp.where(diverged, jnp.nan, y_last)
    return final[None], diverged


@eqx.debug.assert_max_traces(max_traces=None)  # counts traces (tests assert one per shape)
def _map_path(
    system: AbstractDiscreteSystem,
    y0: Float[Array, " n"],
    xs: Float[Array, "steps k"],
    key: PRNGKeyArray | None,
    n_steps: int,
    threshold: float | None,
    save_all: bool,
    unroll: int,
) -> tuple[Float[Array, "saved n"], Bool[Array, ""]]:
    if key is None:
        return _iterate(
            lambda y, x: system.step(y, x), y0, xs, n_steps, threshold, save_all, unroll
        )
    keys = jax.random.split(key, n_steps)
    return _iterate(
        lambda y, xk: system.step(y, xk[0], key=xk[1]),
        y0,
        (xs, keys),
        n_steps,
        threshold,
        save_all,
        unroll,
    )


@eqx.debug.assert_max_traces(max_traces=None)
def _euler_path(
    system: AbstractContinuousSystem,
    y0: Float[Array, " n"],
    dt: Float[Array, ""],
    grid: Float[Array, " grid"],
    xs: Float[Array, "grid-1 k"],
    n_steps: int,
    threshold: float | None,
    save_all: bool,
    unroll: int,
) -> tuple[Float[Array, "saved n"], Bool[Array, ""]]:
    def step(y, tx):
        return y + dt * system.vector_field(tx[0], y, tx[1])

    return _iterate(step, y0, (grid[:-1], xs), n_steps, threshold, save_all, unroll)


map_path = eqx.filter_jit(_map_path)
euler_path = eqx.filter_jit(_euler_path)
