"""The diffrax path of `simulate`: any diffrax solver on ``y' = F(t, y, x(t))``, with
sampled inputs turned into a linear interpolation through the samples and the divergence
convention enforced by a ``diffrax.Event``.

``diffrax_path`` is a module-level ``eqx.filter_jit`` function taking the system as an
argument, and the vector field is an ``eqx.Module`` (not a lambda), so a repeated call
with new weights of the same shapes reuses the compiled program.
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._system_kinds import AbstractContinuousSystem

__all__ = ["diffrax_path"]


class _DrivenField(eqx.Module):
    """``(t, y) ↦ F(t, y, x(t))`` with ``x`` a callable, an interpolation or no input."""

    system: AbstractContinuousSystem
    inputs: Callable | None
    n_inputs_dtype: Float[Array, " 0"]

    def __call__(self, t, y, args):
        x = self.n_inputs_dtype if self.inputs is None else self.inputs(t)
        return self.system.vector_field(t, y, x)


class _Diverged(eqx.Module):
    """Event condition: the state's norm passed the threshold (also NaN/inf)."""

    threshold_sq: float

    def __call__(self, t, y, args, **kwargs):
        return ~(jnp.sum(jnp.square(y)) <= self.threshold_sq)


@eqx.debug.assert_max_traces(max_traces=None)  # counts traces (tests assert one per shape)
def _diffrax_path(
    system: AbstractContinuousSystem,
    y0: Float[Array, " n"],
    t0: Float[Array, ""],
    t1: Float[Array, ""],
    dt: Float[Array, ""] | None,
    grid: Float[Array, " grid"] | None,
    xs: Float[Array, "grid-1 k"] | None,
    input_fn: Callable | None,
    save_ts: Float[Array, " saved"] | None,
    solver: diffrax.AbstractSolver,
    stepsize_controller: diffrax.AbstractStepSizeController,
    max_steps: int,
    threshold: float | None,
    adjoint: diffrax.AbstractAdjoint,
) -> tuple[Float[Array, " saved"], Float[Array, "saved n"], Bool[Array, ""]]:
    if xs is not None:
        # One more sample at t1 (the last one held) so the interpolation covers [t0, t1].
        assert grid is not None
        input_fn = diffrax.LinearInterpolation(
            ts=grid, ys=jnp.concatenate([xs, xs[-1:]], 0)
        ).evaluate
    field = _DrivenField(system, input_fn, jnp.zeros((0,), y0.dtype))
    saveat = diffrax.SaveAt(t1=True) if save_ts is None else diffrax.SaveAt(ts=save_ts)
    event = None if threshold is None else diffrax.Event(_Diverged(float(threshold) ** 2))
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        solver,
        t0,
        t1,
        dt,
        y0,
        saveat=saveat,
        stepsize_controller=stepsize_controller,
        max_steps=max_steps,
        event=event,
        adjoint=adjoint,
    )
    ts = t1[None] if save_ts is None else save_ts
    ys = sol.ys
    assert ys is not None
    if threshold is None:
        return ts, jnp.where(jnp.isfinite(ys), ys, jnp.nan), jnp.asarray(False)
    # The event fires at the end of a step; saved points inside that step may already lie
    # past the threshold. Apply the convention: NaN from the first state over the threshold.
    over = ~(jnp.sum(jnp.square(ys), axis=-1) <= float(threshold) ** 2)
    over = jax.lax.cummax(over.astype(jnp.int32), axis=0).astype(bool)
    ys = jnp.where(over[:, None], jnp.nan, ys)
    return ts, ys, jnp.asarray(sol.event_mask) | jnp.any(over)


diffrax_path = eqx.filter_jit(_diffrax_path)
