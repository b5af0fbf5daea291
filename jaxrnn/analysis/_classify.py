"""Classification of fixed points (and cycles) from the eigenvalues of their Jacobian."""

from __future__ import annotations

import numpy as np
from jaxtyping import ArrayLike

__all__ = ["classify", "is_stable", "n_unstable"]


def n_unstable(eigenvalues: ArrayLike, discrete: bool, tol: float = 1e-9) -> int:
    """Number of unstable directions: |λ| > 1 (maps) or Re λ > 0 (flows).

    **Arguments:**

    - `eigenvalues`: the eigenvalues of the Jacobian (flow) or of the map's
      derivative (map) at the fixed point or cycle.
    - `discrete`: ``True`` for a map (compare |λ| with 1), ``False`` for a flow
      (compare Re λ with 0).
    - `tol`: how close to the stability boundary counts as on it.

    **Returns:**

    The count, an ``int``.
    """
    ev = np.asarray(eigenvalues)
    return int(np.sum(np.abs(ev) > 1 + tol) if discrete else np.sum(np.real(ev) > tol))


def is_stable(eigenvalues: ArrayLike, discrete: bool, tol: float = 1e-9) -> bool:
    """Asymptotically stable: all |λ| < 1 (maps) or all Re λ < 0 (flows).

    **Arguments:**

    - `eigenvalues`: the eigenvalues of the Jacobian (flow) or of the map's
      derivative (map) at the fixed point or cycle.
    - `discrete`: ``True`` for a map (compare |λ| with 1), ``False`` for a flow
      (compare Re λ with 0).
    - `tol`: how close to the stability boundary counts as on it.

    **Returns:**

    ``True`` when every eigenvalue is inside the stability boundary by more than ``tol``.
    """
    ev = np.asarray(eigenvalues)
    return bool(np.all(np.abs(ev) < 1 - tol) if discrete else np.all(np.real(ev) < -tol))


def classify(eigenvalues: ArrayLike, discrete: bool, tol: float = 1e-9) -> str:
    """'stable node', 'stable spiral', 'unstable node', 'unstable spiral',
    'saddle (k unstable)', or 'non-hyperbolic' (an eigenvalue on the stability
    boundary: |λ| = 1 for maps, Re λ = 0 for flows, e.g. a line attractor or a centre).

    **Arguments:**

    - `eigenvalues`: the eigenvalues of the Jacobian (flow) or of the map's
      derivative (map) at the fixed point or cycle.
    - `discrete`: ``True`` for a map (compare |λ| with 1), ``False`` for a flow
      (compare Re λ with 0).
    - `tol`: how close to the stability boundary counts as on it.

    **Returns:**

    One of the labels above, a ``str``.
    """
    ev = np.asarray(eigenvalues)
    margin = np.abs(ev) - 1 if discrete else np.real(ev)
    if np.any(np.abs(margin) <= tol):
        return "non-hyperbolic"
    k = n_unstable(ev, discrete, tol)
    spiral = bool(np.any(np.abs(np.imag(ev)) > tol))
    if k == 0:
        return "stable spiral" if spiral else "stable node"
    if k == ev.size:
        return "unstable spiral" if spiral else "unstable node"
    return f"saddle ({k} unstable)"
