"""Homoclinic points of a PLRNN saddle: transversal intersections of its unstable and
stable manifolds (Eisenmann et al.; by the Smale–Birkhoff theorem a transversal homoclinic point
implies chaotic dynamics near the saddle). Both manifolds are unions of segments (piecewise
linear), so the intersections are solved exactly, segment against segment."""

from __future__ import annotations

import numpy as np

from ._dedupe import dedupe_points
from ._plrnn_manifolds import Manifold

__all__ = ["homoclinic_points"]


def homoclinic_points(
    unstable: Manifold, stable: Manifold, *, exclude_radius: float = 1e-6, tol: float = 1e-9
) -> np.ndarray:
    """Intersections of the unstable and stable manifold segments of one saddle, other
    than the saddle itself: within a region each is a small linear system
    ``a + s(b − a) = c + t(d − c)``, 0 ≤ s, t ≤ 1 (Eisenmann et al., Sect. 4: homoclinic
    intersections signal chaos).

    **Arguments:**

    - `unstable`: the saddle's unstable manifold (`unstable_manifold`, 1-D).
    - `stable`: the same saddle's stable manifold (`stable_manifold`, 1-D).
    - `exclude_radius`: intersections this close to the saddle are the saddle itself.
    - `tol`: the tolerance of the parameter range and of parallel segments.

    **Returns:**

    The homoclinic points, shape ``(k, M)``, duplicates merged.
    """
    if unstable.dimension != 1 or stable.dimension != 1:
        raise ValueError("homoclinic_points needs one-dimensional manifolds (segments)")
    U, S = unstable.segments, stable.segments
    lo_u, hi_u = np.minimum(U[:, 0], U[:, 1]), np.maximum(U[:, 0], U[:, 1])
    lo_s, hi_s = np.minimum(S[:, 0], S[:, 1]), np.maximum(S[:, 0], S[:, 1])
    found = []
    for i in range(len(U)):
        cand = np.flatnonzero(np.all((lo_s <= hi_u[i] + tol) & (hi_s >= lo_u[i] - tol), axis=1))
        if cand.size == 0:
            continue
        a, du = U[i, 0], U[i, 1] - U[i, 0]
        c, ds = S[cand, 0], S[cand, 1] - S[cand, 0]
        mats = np.stack([np.broadcast_to(du, ds.shape), -ds], axis=2)  # (n, M, 2)
        rhs = c - a
        sol, res = _lstsq_batch(mats, rhs)
        s_, t_ = sol[:, 0], sol[:, 1]
        pts = a[None] + s_[:, None] * du[None]
        ok = (s_ >= -tol) & (s_ <= 1 + tol) & (t_ >= -tol) & (t_ <= 1 + tol) & (res <= tol)
        ok &= np.linalg.norm(pts - unstable.saddle, axis=1) > exclude_radius
        found.extend(pts[ok])
    found = np.asarray(found).reshape(-1, unstable.saddle.size)
    return found[dedupe_points(found, 1e-7)] if len(found) else found


def _lstsq_batch(mats, rhs):
    """Least-squares solutions of (n, M, 2) systems and their residual norms."""
    AtA = np.einsum("nmi,nmj->nij", mats, mats)
    Atb = np.einsum("nmi,nm->ni", mats, rhs)
    det = AtA[:, 0, 0] * AtA[:, 1, 1] - AtA[:, 0, 1] * AtA[:, 1, 0]
    safe = np.where(np.abs(det) > 1e-300, det, np.inf)
    sol = np.stack(
        [
            (AtA[:, 1, 1] * Atb[:, 0] - AtA[:, 0, 1] * Atb[:, 1]) / safe,
            (AtA[:, 0, 0] * Atb[:, 1] - AtA[:, 1, 0] * Atb[:, 0]) / safe,
        ],
        axis=1,
    )
    res = np.linalg.norm(np.einsum("nmi,ni->nm", mats, sol) - rhs, axis=1)
    res = np.where(np.isfinite(safe), res, np.inf)
    return sol, res
