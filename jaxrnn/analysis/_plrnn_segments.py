"""Exact maps of segments and points under a PLRNN's region-wise affine pieces (Eisenmann et al.):
splitting at region boundaries, images, preimages through each region's inverse, and
rays cut at the region boundary; the geometry behind `stable_manifold` and
`unstable_manifold`."""

from __future__ import annotations

import numpy as np

from ..models.plrnn._regions import region_indicators, region_matrices, region_of

__all__ = ["split", "forward", "backward", "ray_to_boundary", "inverse_points"]


def split(segs):
    """Split segments (n, 2, M) where they cross coordinate hyperplanes."""
    out = []
    for a, b in segs:
        d = b - a
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -a / d
        cuts = np.unique(t[np.isfinite(t) & (t > 1e-12) & (t < 1 - 1e-12)])
        ts = np.concatenate([[0.0], cuts, [1.0]])
        for t0, t1 in zip(ts[:-1], ts[1:]):
            out.append((a + t0 * d, a + t1 * d))
    return np.asarray(out).reshape(-1, 2, segs.shape[-1])


def forward(segs, A, W, h):
    """Exact image of a set of segments under the PLRNN map."""
    segs = split(segs)
    if segs.size == 0:
        return segs
    regions = region_of(0.5 * (segs[:, 0] + segs[:, 1]))
    mats = region_matrices(A, W, regions)
    return np.einsum("nij,nkj->nki", mats, segs) + h[None, None, :]


def backward(segs, A, W, h, regions, inverses):
    """Exact preimage: for every region, pull back with its inverse and clip to it."""
    out = []
    rel = segs - h[None, None, :]
    for d, Winv in zip(regions, inverses):
        pre = np.einsum("ij,nkj->nki", Winv, rel)  # (n, 2, M)
        a, b = pre[:, 0], pre[:, 1]
        lo, hi = np.zeros(len(segs)), np.ones(len(segs))
        diff = b - a
        sign = np.where(d > 0.5, 1.0, -1.0)[None, :]  # require sign·z(t) ≥ 0
        sa, sd = sign * a, sign * diff
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -sa / sd
        lo = np.maximum(lo, np.max(np.where(sd > 0, t, -np.inf), axis=1))
        hi = np.minimum(hi, np.min(np.where(sd < 0, t, np.inf), axis=1))
        infeasible = np.any((sd == 0) & (sa < 0), axis=1)
        keep = (hi - lo > 1e-12) & ~infeasible
        if keep.any():
            a_, d_ = a[keep], diff[keep]
            out.append(np.stack([a_ + lo[keep, None] * d_, a_ + hi[keep, None] * d_], axis=1))
    if not out:
        return np.zeros((0, 2, segs.shape[-1]))
    return np.concatenate(out)


def ray_to_boundary(p, v, cap):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -p / v
    t = t[np.isfinite(t) & (t > 1e-15)]
    return min(cap, float(t.min())) if t.size else cap


def inverse_points(pts, A, W, h):
    """Region-wise inverse of points (the unique preimage of an invertible PLRNN map)."""
    M = pts.shape[1]
    out = np.full_like(pts, np.nan)
    for d in region_indicators(M, numpy=True):
        pre = np.linalg.solve(region_matrices(A, W, d), (pts - h).T).T
        ok = np.all(region_of(pre) == d[None], axis=1) & np.isnan(out[:, 0])
        out[ok] = pre[ok]
    return out[~np.isnan(out[:, 0])]
