"""Regularisers: the line-attractor penalty of the rPLRNN (Schmidt et al., eq. 4)."""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..._validate import check_value
from ._plrnn_map import PLRNN

__all__ = ["line_attractor_penalty", "masked_penalty"]


def line_attractor_penalty(
    plrnn: PLRNN,
    tau_A: ArrayLike,
    tau_W: ArrayLike,
    tau_h: ArrayLike | None = None,
    reduction: Literal["sum", "mean"] = "sum",
    n_regularised: ArrayLike | None = None,
) -> Float[Array, ""]:
    r"""The line-attractor penalty over the first ``M_reg = plrnn.n_regularised`` units.

    ``reduction="sum"`` (the paper's eq. 4)::

        L_reg = τ_A Σ_{i≤M_reg} (A_ii − 1)² + τ_W Σ_{i≤M_reg} Σ_{j≠i} W_ij² + τ_h Σ_{i≤M_reg} h_i²

    ``reduction="mean"`` (the authors' code): each sum replaced by the mean over
    its entries, ``(A[:M_reg] − 1)`` (M_reg entries), the rows ``W[:M_reg, :]``
    (M_reg·M entries; W's diagonal is structurally zero here) and ``h[:M_reg]``.

    ``tau_h=None`` uses ``tau_W`` for the h term, which is what the authors'
    code does and equals the paper's choice τ_A = τ_W = τ_h = τ.
    Returns 0 when ``n_regularised == 0``.

    ``n_regularised`` overrides ``plrnn.n_regularised`` and may be a traced integer:
    every term is a masked sum over the first M_reg units (one code path), so one
    compiled program serves a population of models with different M_reg.

    **Arguments:**

    - `plrnn`: the PLRNN.
    - `tau_A`: τ_A, the strength of the ``(A_ii − 1)²`` term.
    - `tau_W`: τ_W, the strength of the ``W_ij²`` term.
    - `tau_h`: τ_h, the strength of the ``h_i²`` term (default: ``tau_W``).
    - `reduction`: ``"sum"`` (eq. 4) or ``"mean"`` (the authors' code).
    - `n_regularised`: M_reg (default: ``plrnn.n_regularised``).

    **Returns:**

    L_reg, a scalar array.
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    tau_A, tau_W = _non_negative("tau_A", tau_A), _non_negative("tau_W", tau_W)
    if tau_h is not None:
        tau_h = _non_negative("tau_h", tau_h)
    m = plrnn.n_regularised if n_regularised is None else n_regularised
    return masked_penalty(plrnn, tau_A, tau_W, tau_h, reduction, m)


def _non_negative(name: str, value):
    """A penalty strength must be >= 0: a ValueError naming it for concrete values, an
    `equinox.error_if` runtime error under ``jit``."""
    return check_value(
        value,
        lambda xp, v: ~xp.isfinite(v) | (v < 0),
        f"line_attractor_penalty: {name} must be finite and >= 0",
    )


def masked_penalty(plrnn, tau_A, tau_W, tau_h, reduction, n_regularised):
    """Eq. 4 without the checks of `line_attractor_penalty`, for callers whose strengths
    were validated already (the trainer's, checked with the config): a traced check
    would put a host callback in every training step and keep the program out of
    JAX's persistent compilation cache."""
    tau_h = tau_W if tau_h is None else tau_h
    M = plrnn.A.shape[0]
    dtype = plrnn.A.dtype
    rows = (jnp.arange(M) < n_regularised).astype(dtype)
    count = jnp.sum(rows)
    a_term = jnp.sum(rows * jnp.square(plrnn.A - 1.0))
    w_term = jnp.sum(rows[:, None] * jnp.square(plrnn.W))
    h_term = jnp.sum(rows * jnp.square(plrnn.h))
    if reduction == "mean":
        safe = jnp.maximum(count, 1.0)
        a_term, w_term, h_term = a_term / safe, w_term / (safe * M), h_term / safe
    return jnp.asarray(tau_A * a_term + tau_W * w_term + tau_h * h_term)
