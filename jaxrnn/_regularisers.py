"""Regularisers: the line-attractor penalty of the rPLRNN (seed 003, eq. 4)."""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .models._plrnn import PLRNN

__all__ = ["line_attractor_penalty"]


def line_attractor_penalty(
    plrnn: PLRNN,
    tau_A: ArrayLike,
    tau_W: ArrayLike,
    tau_h: ArrayLike | None = None,
    reduction: Literal["sum", "mean"] = "sum",
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
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    m = plrnn.n_regularised
    if m == 0:
        return jnp.zeros((), plrnn.A.dtype)
    tau_h = tau_W if tau_h is None else tau_h
    reduce = jnp.sum if reduction == "sum" else jnp.mean
    a_term = reduce(jnp.square(plrnn.A[:m] - 1.0))
    w_term = reduce(jnp.square(plrnn.W[:m, :]))
    h_term = reduce(jnp.square(plrnn.h[:m]))
    return tau_A * a_term + tau_W * w_term + tau_h * h_term
