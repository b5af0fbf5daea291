"""Region algebra of the PLRNN, used by the model, its conversion and every analysis.

The ReLU splits state space into 2^M linear regions (orthants) Ω, one per
indicator vector ``d = diag(D_Ω) ∈ {0, 1}^M`` with ``d_i = 1[z_i > 0]``. In region
Ω the map of Schmidt et al., eq. 1 is affine with the *region matrix*

    W_Ω = A + W D_Ω

(Eisenmann et al., eq. 3; Schmidt et al., Suppl. eq. 9). Region ``r`` (an integer) has
``d_i = bit i of r``. Every function here works on NumPy arrays (returning NumPy)
and on JAX arrays (returning JAX, traceable).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

__all__ = ["region_indicators", "region_index", "region_of", "region_matrices"]


def _xp(*arrays):
    return np if all(isinstance(a, (np.ndarray, np.generic, float, int)) for a in arrays) else jnp


def region_indicators(
    M: int, dtype: Any = None, *, numpy: bool = False
) -> Float[Array | np.ndarray, "R M"]:
    """All ``R = 2^M`` indicator vectors ``d = diag(D_Ω)``; row ``r`` has ``d_i`` = bit i of r.

    **Arguments:**

    - ``M``: the latent dimension.
    - ``dtype``: the dtype of the rows (default: JAX's default float; float64 for NumPy).
    - ``numpy``: return a NumPy array instead of a JAX one.
    """
    r = np.arange(2**M)[:, None]
    bits = (r >> np.arange(M)[None, :]) & 1
    if numpy:
        return bits.astype(float if dtype is None else dtype)
    return jnp.asarray(bits, dtype=jnp.zeros(()).dtype if dtype is None else dtype)


def region_index(z: Float[Array, "*batch M"]) -> Int[Array, "*batch"]:
    """The row of `region_indicators` for the orthant of ``z``: ``Σ_i 1[z_i > 0] 2^i``."""
    weights = 2 ** jnp.arange(z.shape[-1], dtype=jnp.int32)
    return jnp.sum((z > 0).astype(jnp.int32) * weights, axis=-1)


def region_of(z: Any) -> Any:
    """The indicator vector ``d = 1[z > 0]`` of the orthant of each point (same dtype
    as ``z``; NumPy in, NumPy out)."""
    return (z > 0).astype(z.dtype if _xp(z) is jnp else float)


def region_matrices(A_diag: Any, W: Any, d: Any) -> Any:
    """``W_Ω = A + W D_Ω`` (Eisenmann et al., eq. 3) for indicator vector(s) ``d`` of shape
    ``(..., M)``; returns shape ``(..., M, M)``. ``A_diag`` is the diagonal of A."""
    xp = _xp(A_diag, W, d)
    return xp.diag(A_diag) + W * d[..., None, :]
