"""Discrete → continuous PLRNN conversion (Schmidt et al., Suppl. 7.1.2, eqs. 9–20).

In each linear region (orthant) Ω the PLRNN map is affine,
``z ↦ W_Ω z + h`` with ``W_Ω = A + W D_Ω`` (eq. 9). The piecewise-linear ODE
``ζ' = W̃_Ω ζ + h̃_Ω`` reproduces one step of the map after a time Δt,
``ζ(0) = z_0 ⇒ ζ(Δt) = F(z_0)`` (eq. 11), when

- ``W̃_Ω = (1/Δt) V log(Λ) V⁻¹`` from the eigendecomposition ``W_Ω = V Λ V⁻¹``
  (eq. 19): a real logarithm exists only if ``W_Ω`` is diagonalisable with no
  zero or negative real eigenvalue;
- ``h̃_Ω = -W̃_Ω (I - W_Ω)⁻¹ h`` (eq. 20), so that map and flow share their
  fixed points. We compute it in the general form ``h̃_Ω = [∫_0^Δt e^{W̃_Ω s} ds]⁻¹ h``,
  which is eq. 20 wherever ``I - W_Ω`` is invertible and stays exact when
  ``W_Ω`` has an eigenvalue 1 (the line attractor of an rPLRNN). Inputs held
  constant over a step transform the same way, ``C̃_Ω = [∫ e^{W̃ s} ds]⁻¹ C``.

The conversion is exact for trajectories that stay in one region over a step.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ..._system_kinds import AbstractContinuousSystem
from ..._validate import concrete
from ._plrnn_map import PLRNN
from ._regions import region_index, region_indicators

__all__ = ["ContinuousPLRNN", "to_continuous"]

MAX_CONVERTIBLE_LATENT = 14


class ContinuousPLRNN(AbstractContinuousSystem):
    """``ζ' = W̃_Ω ζ + h̃_Ω + C̃_Ω s`` with Ω the orthant of ζ (Schmidt et al., Suppl. 7.1.2):
    the flow whose time-Δ map is the PLRNN in every region, ``W̃_Ω = log(W_Ω)/Δ``.

    **Arguments:**

    - `W_tilde`: shape ``(2^M, M, M)``, the region-wise state matrices W̃_Ω.
    - `h_tilde`: shape ``(2^M, M)``, the region-wise constant terms h̃_Ω.
    - `C_tilde`: shape ``(2^M, M, K)``, the region-wise input matrices C̃_Ω.
    - `dt`: the PLRNN's sampling step Δ.
    """

    W_tilde: Float[Array, "R M M"]
    h_tilde: Float[Array, "R M"]
    C_tilde: Float[Array, "R M K"]
    dt: Float[Array, ""]

    @property
    def state_size(self):
        return self.W_tilde.shape[-1]

    @property
    def input_size(self):
        return self.C_tilde.shape[-1]

    def vector_field(self, t, z, s):
        r = region_index(z)
        return self.W_tilde[r] @ z + self.h_tilde[r] + self.C_tilde[r] @ s


def _pattern(bits_row) -> str:
    on = [str(i) for i, b in enumerate(np.asarray(bits_row)) if b]
    return "Ω={" + ",".join(on) + "}"


def to_continuous(plrnn: PLRNN, dt: ArrayLike, *, rtol: float = 1e-9) -> ContinuousPLRNN:
    """The continuous-time PLRNN equivalent to ``plrnn`` sampled at step ``dt``.

    Converts all 2^M regions (M ≤ 14). Raises ``ValueError`` naming the region
    when a region matrix ``A + W D_Ω`` has a zero or negative real eigenvalue,
    or is not diagonalisable. Under ``jit`` the same checks raise at run time
    through ``equinox.error_if``.

    **Arguments:**

    - `plrnn`: the discrete PLRNN (Schmidt et al., eq. 1).
    - `dt`: the sampling step Δ > 0 of the PLRNN's time series.
    - `rtol`: relative tolerance of the diagonalisability and eigenvalue checks.

    **Returns:**

    The `ContinuousPLRNN` (Suppl. 7.1.2).
    """
    M = plrnn.state_size
    if M > MAX_CONVERTIBLE_LATENT:
        raise ValueError(
            f"to_continuous converts all 2^M regions; M={M} exceeds {MAX_CONVERTIBLE_LATENT}"
        )
    dtype = plrnn.A.dtype
    dt = jnp.asarray(dt, dtype)
    bits = jnp.asarray(region_indicators(M, dtype))
    WO = jax.vmap(plrnn.region_matrix)(bits)  # (R, M, M)
    lam, V = jax.vmap(jnp.linalg.eig)(WO)
    Vinv = jnp.linalg.inv(V)
    mu = jnp.log(lam) / dt  # eigenvalues of W̃_Ω (eq. 19)
    W_tilde = jnp.real(jnp.einsum("rij,rj,rjk->rik", V, mu, Vinv))
    # h̃ = [∫_0^Δt e^{W̃ s} ds]⁻¹ h: eigenvalue-wise μ/(λ − 1), → 1/Δt at λ = 1.
    # Where I − W_Ω is invertible this is eq. 20, -W̃ (I − W_Ω)⁻¹ h; it also
    # covers the line attractors of the rPLRNN (λ = 1), where eq. 20 is undefined.
    near_one = jnp.abs(lam - 1.0) <= 1e-12
    safe = jnp.where(near_one, 1.0, lam - 1.0)
    gain = jnp.where(near_one, 1.0 / dt, mu / safe)
    G = jnp.einsum("rij,rj,rjk->rik", V, gain, Vinv)
    h_tilde = jnp.real(jnp.einsum("rij,j->ri", G, plrnn.h.astype(G.dtype)))
    C_tilde = jnp.real(jnp.einsum("rij,jk->rik", G, plrnn.C.astype(G.dtype)))

    tol = rtol * jnp.maximum(1.0, jnp.max(jnp.abs(lam), axis=-1, keepdims=True))
    bad_log = jnp.any((jnp.abs(lam.imag) <= tol) & (lam.real <= tol), axis=-1)
    bad_diag = jnp.linalg.cond(V) > 1.0 / jnp.sqrt(rtol) ** 2
    problems = (
        (bad_log, "has a zero or negative real eigenvalue (no real matrix logarithm)"),
        (bad_diag, "is not diagonalisable"),
    )
    known = concrete(bad_log) is not None
    for mask, what in problems:
        if known:
            hits = np.flatnonzero(np.asarray(mask))
            if hits.size:
                r = int(hits[0])
                raise ValueError(
                    f"to_continuous: region {_pattern(bits[r])} matrix A + W D_Ω {what}"
                    f" (eigenvalues {np.round(np.asarray(lam[r]), 6).tolist()});"
                    f" {hits.size} of {2**M} regions affected"
                )
        else:
            W_tilde = eqx.error_if(W_tilde, jnp.any(mask), f"to_continuous: a region matrix {what}")
    return ContinuousPLRNN(W_tilde, h_tilde, C_tilde, dt)
