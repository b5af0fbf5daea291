"""Stable and unstable manifolds of PLRNN saddles, piecewise exactly (Eisenmann et al.).

Inside one linear region Ω the PLRNN map is affine, ``F(z) = W_Ω z + h`` with
``W_Ω = A + W D_Ω``, so the local manifolds of a saddle are flat: the saddle
plus the span of the eigenvectors with |λ| > 1 (unstable) or |λ| < 1 (stable),
cut to the saddle's region. They are continued region by region:

- unstable: split each piece where it crosses a coordinate hyperplane (a region
  boundary), map each part forward with its region's affine map;
- stable: pull each piece back with every region's inverse affine map,
  ``z = W_Ω⁻¹ (z' − h)``, keeping the part of the preimage that lies in Ω.

Both are exact for one-dimensional manifolds, which are returned as
segments (each inside one region). Higher-dimensional manifolds are returned
as point sets: a grid on the local piece, iterated. The region-wise inverse
requires an invertible map: every ``W_Ω`` non-singular with determinants of
one sign (checked first). For a k-cycle the manifolds are those of the
cycle's first point under the k-th iterate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import ArrayLike

from ..models import PLRNN
from ..models.plrnn._regions import region_indicators, region_matrices, region_of
from ._plrnn_cycle_results import PLRNNCycles
from ._plrnn_segments import backward, forward, inverse_points, ray_to_boundary, split

__all__ = [
    "Manifold",
    "check_invertible",
    "stable_manifold",
    "unstable_manifold",
]

MAX_REGIONS_LATENT = 16


@dataclass(frozen=True)
class Manifold:
    """A traced manifold of a PLRNN saddle (Eisenmann et al., Sect. 3).

    **Arguments:**

    - `kind`: ``"stable"`` or ``"unstable"``.
    - `saddle`: the saddle's state, shape ``(M,)``.
    - `dimension`: the manifold's dimension (number of eigenvalues with |λ| > 1
      for unstable, < 1 for stable).
    - `eigenvalues`: the eigenvalues of the saddle's region matrix (or cycle product).
    - `segments`: shape ``(n, 2, M)``, the straight pieces of a 1-D manifold
      (empty for higher dimensions).
    - `regions`: shape ``(n, M)``, the region indicators of each segment.
    - `points`: shape ``(p, M)``: the point set of a higher-dimensional manifold
      (for a 1-D manifold, the segment endpoints).
    - `n_iterations`: continuation steps actually taken.
    """

    kind: str
    saddle: np.ndarray
    dimension: int
    eigenvalues: np.ndarray
    segments: np.ndarray
    regions: np.ndarray
    points: np.ndarray
    n_iterations: int

    @property
    def length(self) -> float:
        return float(np.sum(np.linalg.norm(self.segments[:, 1] - self.segments[:, 0], axis=1)))

    def __len__(self) -> int:
        return self.segments.shape[0] if self.dimension == 1 else self.points.shape[0]


def _parts(plrnn: PLRNN, s):
    A = np.asarray(plrnn.A, dtype=float)
    W = np.asarray(plrnn.W, dtype=float)
    h = np.asarray(plrnn.h, dtype=float)
    if s is not None:
        h = h + np.asarray(plrnn.C, dtype=float) @ np.asarray(s, dtype=float)
    return A, W, h


def check_invertible(plrnn: PLRNN, *, tol: float = 1e-12) -> None:
    """Raise ``ValueError`` unless every ``A + W D_Ω`` is non-singular with one sign of
    determinant (the condition under which the PLRNN map is invertible; Eisenmann et al.).

    **Arguments:**

    - `plrnn`: the PLRNN (every one of its 2^M regions is checked).
    - `tol`: |det| at or below this counts as singular.
    """
    M = plrnn.state_size
    if M > MAX_REGIONS_LATENT:
        raise ValueError(f"the invertibility check enumerates 2^M regions; M={M} is too large")
    A, W, _ = _parts(plrnn, None)
    regions = region_indicators(M, numpy=True)
    dets = np.linalg.det(region_matrices(A, W, regions))
    bad = np.flatnonzero(np.abs(dets) <= tol)
    if bad.size:
        on = ",".join(str(i) for i in np.flatnonzero(regions[bad[0]]))
        raise ValueError(
            f"the map is not invertible: det(A + W D_Ω) = {dets[bad[0]]:.3g} in "
            f"region Ω={{{on}}} ({bad.size} singular regions)"
        )
    if not (np.all(dets > 0) or np.all(dets < 0)):
        i, j = np.flatnonzero(dets > 0)[0], np.flatnonzero(dets < 0)[0]
        raise ValueError(
            "the map is not invertible: det(A + W D_Ω) changes sign between "
            f"regions {regions[i].astype(int).tolist()} ({dets[i]:.3g}) and "
            f"{regions[j].astype(int).tolist()} ({dets[j]:.3g})"
        )


def _saddle_point(plrnn, saddle, index):
    if isinstance(saddle, PLRNNCycles):
        return np.asarray(saddle.points[index, 0], dtype=float), saddle.order
    p = np.asarray(saddle, dtype=float)
    if p.ndim != 1 or p.shape[0] != plrnn.state_size:
        raise ValueError(
            f"saddle must be a state of shape ({plrnn.state_size},) or a PLRNNCycles result"
        )
    return p, 1


def _local(plrnn, p, order, A, W, h, kind, local_length):
    """The flat local manifold: (eigenvalues, basis) of the selected directions."""
    z = p.copy()
    P = np.eye(p.size)
    for _ in range(order):
        Wz = region_matrices(A, W, region_of(z))
        P = Wz @ P
        z = Wz @ z + h
    if np.max(np.abs(z - p)) > 1e-8 * (1 + np.max(np.abs(p))):
        raise ValueError("the given saddle is not a fixed point (or cycle point) of the map")
    ev, V = np.linalg.eig(P)
    pick = np.abs(ev) > 1 if kind == "unstable" else np.abs(ev) < 1
    if not pick.any() or pick.all():
        raise ValueError(f"not a saddle: eigenvalues {np.round(ev, 6).tolist()}")
    return ev[pick], V[:, pick]


def _trace(plrnn, saddle, kind, *, index, s, n_iter, max_segments, local_length, n_points):
    check_invertible(plrnn)
    A, W, h = _parts(plrnn, s)
    p, order = _saddle_point(plrnn, saddle, index)
    ev, V = _local(plrnn, p, order, A, W, h, kind, local_length)
    M = p.size
    if kind == "stable":
        regions = region_indicators(M, numpy=True)
        inverses = np.linalg.inv(region_matrices(A, W, regions))
        step = lambda segs: backward(segs, A, W, h, regions, inverses)  # noqa: E731
    else:
        step = lambda segs: forward(segs, A, W, h)  # noqa: E731

    if ev.size == 1 and np.isreal(ev[0]):
        v = np.real(V[:, 0])
        v = v / np.linalg.norm(v)
        pieces = [
            np.array(
                [
                    [p, p + ray_to_boundary(p, v, local_length) * v],
                    [p, p - ray_to_boundary(p, -v, local_length) * v],
                ]
            )
        ]
        current, total, it = pieces[0], 2, 0
        for it in range(1, n_iter + 1):  # noqa: B007 (the count is returned)
            for _ in range(order):
                current = step(current)
            pieces.append(current)
            total += len(current)
            if total > max_segments or len(current) == 0:
                break
        segs = split(np.concatenate(pieces))
        segs = segs[np.linalg.norm(segs[:, 1] - segs[:, 0], axis=1) > 1e-14]
        regions_of = region_of(0.5 * (segs[:, 0] + segs[:, 1]))
        return Manifold(kind, p, 1, ev, segs, regions_of, segs.reshape(-1, M), it)

    # Higher-dimensional (or complex) directions: a point set.
    basis = np.linalg.qr(np.concatenate([np.real(V), np.imag(V)], axis=1))[0][:, : ev.size]
    rng = np.random.default_rng(0)
    coeffs = rng.uniform(-1, 1, (n_points, basis.shape[1]))
    pts = p[None] + local_length * coeffs @ basis.T
    pts = pts[np.all(region_of(pts) == region_of(p[None]), axis=1)]
    clouds = [pts]
    if kind == "unstable":
        for _ in range(n_iter * order):
            pts = np.einsum("nij,nj->ni", region_matrices(A, W, region_of(pts)), pts) + h
            clouds.append(pts)
    else:
        for _ in range(n_iter * order):
            pts = inverse_points(pts, A, W, h)
            clouds.append(pts)
    all_pts = np.concatenate(clouds)
    return Manifold(
        kind, p, int(ev.size), ev, np.zeros((0, 2, M)), np.zeros((0, M)), all_pts, n_iter
    )


def unstable_manifold(
    plrnn: PLRNN,
    saddle: ArrayLike | PLRNNCycles,
    *,
    index: int = 0,
    s: ArrayLike | None = None,
    n_iter: int = 12,
    max_segments: int = 20000,
    local_length: float = 10.0,
    n_points: int = 2000,
) -> Manifold:
    """The unstable manifold of a saddle fixed point (a state, or a `PLRNNCycles` entry
    ``index`` for a cycle), continued forward for ``n_iter`` iterations or until
    ``max_segments``. The local piece extends up to ``local_length`` inside the region.

    **Arguments:**

    - `plrnn`: the PLRNN (its map must be invertible, see `check_invertible`).
    - `saddle`: the saddle's state ``(M,)``, or a `PLRNNCycles` result.
    - `index`: which row of a `PLRNNCycles` result (a fixed point or a cycle).
    - `s`: the constant input (default 0).
    - `n_iter`: continuation steps (iterations of the map or its inverse).
    - `max_segments`: stop continuing once this many segments exist.
    - `local_length`: how far the local piece reaches from the saddle along its
      eigenvectors, cut to the saddle's region.
    - `n_points`: points sampled on the local piece of a manifold of dimension > 1.

    **Returns:**

    The `Manifold`: segments for a 1-D manifold, points for higher dimensions.
    """
    return _trace(
        plrnn,
        saddle,
        "unstable",
        index=index,
        s=s,
        n_iter=n_iter,
        max_segments=max_segments,
        local_length=local_length,
        n_points=n_points,
    )


def stable_manifold(
    plrnn: PLRNN,
    saddle: ArrayLike | PLRNNCycles,
    *,
    index: int = 0,
    s: ArrayLike | None = None,
    n_iter: int = 12,
    max_segments: int = 20000,
    local_length: float = 10.0,
    n_points: int = 2000,
) -> Manifold:
    """The stable manifold of a saddle, continued backward with the region-wise inverse
    map ``z = W_Ω⁻¹ (z' − h − C s)``.

    **Arguments:**

    - `plrnn`: the PLRNN (its map must be invertible, see `check_invertible`).
    - `saddle`: the saddle's state ``(M,)``, or a `PLRNNCycles` result.
    - `index`: which row of a `PLRNNCycles` result (a fixed point or a cycle).
    - `s`: the constant input (default 0).
    - `n_iter`: continuation steps (iterations of the map or its inverse).
    - `max_segments`: stop continuing once this many segments exist.
    - `local_length`: how far the local piece reaches from the saddle along its
      eigenvectors, cut to the saddle's region.
    - `n_points`: points sampled on the local piece of a manifold of dimension > 1.

    **Returns:**

    The `Manifold`: segments for a 1-D manifold, points for higher dimensions.
    """
    return _trace(
        plrnn,
        saddle,
        "stable",
        index=index,
        s=s,
        n_iter=n_iter,
        max_segments=max_segments,
        local_length=local_length,
        n_points=n_points,
    )
