"""One de-duplication of numerically found points (fixed points, cycles), for every
analysis tool."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["dedupe_points"]


def dedupe_points(
    points: np.ndarray, tol: float, order: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """Indices of a subset of ``points`` (n, d) in which no two lie within ``tol``,
    relative to ``1 + ‖p‖`` (Euclidean); points are visited in ``order`` (best first;
    default: as given), so the first of each cluster is kept."""
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    kept: list[int] = []
    for i in range(len(points)) if order is None else order:
        p = points[i]
        if all(np.linalg.norm(p - points[j]) > tol * (1 + np.linalg.norm(p)) for j in kept):
            kept.append(int(i))
    return np.asarray(kept, dtype=int)
