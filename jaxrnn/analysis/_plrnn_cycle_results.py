"""The result of the PLRNN cycle search: `PLRNNCycles`, and how raw solutions become one
(minimal period, canonical rotation, duplicates merged, stability from the product of
the region matrices ``W_k ⋯ W_1``; Schmidt et al., Sect. 3)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..models.plrnn._regions import region_matrices
from ._classify import classify, is_stable
from ._dedupe import dedupe_points

__all__ = ["PLRNNCycles", "package_cycles"]


@dataclass(frozen=True)
class PLRNNCycles:
    """Fixed points (order 1) or k-cycles of a PLRNN, one row per solution.

    ``points[i]`` is ``(k, M)``: the cycle's states in visiting order;
    ``patterns[i]`` the ``(k, M)`` region indicators; ``eigenvalues[i]`` those of
    the product Jacobian ``W_k ⋯ W_1`` (for a fixed point, of ``A + W D_Ω``).

    **Arguments:**

    - `order`: the cycle length k (1 for fixed points).
    - `points`: shape ``(n, k, M)``, each cycle's states in visiting order.
    - `patterns`: shape ``(n, k, M)``, the region indicators D_Ω of those states.
    - `eigenvalues`: shape ``(n, M)``, the eigenvalues of the product Jacobian.
    - `stable`: shape ``(n,)``, whether every eigenvalue has |λ| < 1.
    - `kinds`: the classification of each solution (`classify`).
    - `n_singular`: region sequences skipped because ``I − W_k⋯W_1`` was singular
      (e.g. on a line attractor, where the solutions are not isolated).
    - `notes`: remarks on how the search went (a switch of method, a limit hit).
    """

    order: int
    points: np.ndarray
    patterns: np.ndarray
    eigenvalues: np.ndarray
    stable: np.ndarray
    kinds: tuple[str, ...]
    n_singular: int
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return self.points.shape[0]

    def __repr__(self) -> str:
        what = "fixed points" if self.order == 1 else f"{self.order}-cycles"
        rows = [
            f"  {np.round(p[0], 6).tolist()}{' ...' if self.order > 1 else ''}  {k}"
            for p, k in zip(self.points, self.kinds)
        ]
        notes = ["  note: " + n for n in self.notes]
        return (
            f"PLRNNCycles({len(self)} {what}"
            + (":\n" if rows or notes else "")
            + "\n".join(rows + notes)
            + ")"
        )


def _minimal_and_canonical(zs_list, pats_list, k, tol):
    """Drop solutions of smaller period; rotate each cycle to start at its
    lexicographically smallest state."""
    out_z, out_p = [], []
    for zs, pats in zip(zs_list, pats_list):
        scale = 1.0 + np.max(np.abs(zs))
        if any(k % p == 0 and np.max(np.abs(zs[p] - zs[0])) <= tol * scale for p in range(1, k)):
            continue
        start = min(range(k), key=lambda j: tuple(np.round(zs[j], 9)))
        out_z.append(np.roll(zs, -start, axis=0))
        out_p.append(np.roll(pats, -start, axis=0))
    return out_z, out_p


def package_cycles(plrnn, order, zs_list, pats_list, n_singular, dedupe_tol, notes):
    zs_list, pats_list = _minimal_and_canonical(zs_list, pats_list, order, dedupe_tol)
    keep = dedupe_points(np.asarray([np.ravel(z) for z in zs_list]), dedupe_tol) if zs_list else []
    zs_list = [zs_list[i] for i in keep]
    pats_list = [pats_list[i] for i in keep]
    A_diag = np.asarray(plrnn.A)
    W = np.asarray(plrnn.W)
    eigs = []
    for pats in pats_list:
        P = np.eye(A_diag.shape[0])
        for d in pats:
            P = region_matrices(A_diag, W, d) @ P
        eigs.append(np.linalg.eigvals(P))
    M = plrnn.state_size
    notes = list(notes)
    if n_singular:
        notes.append(
            f"{n_singular} region sequence(s) have singular I - W_k...W_1: no isolated "
            "solution there (possibly a continuum, e.g. a line attractor, or none)"
        )
    return PLRNNCycles(
        order=order,
        points=np.asarray(zs_list).reshape(len(zs_list), order, M),
        patterns=np.asarray(pats_list, dtype=np.int8).reshape(len(pats_list), order, M),
        eigenvalues=np.asarray(eigs).reshape(len(eigs), M),
        stable=np.array([is_stable(e, True) for e in eigs], dtype=bool),
        kinds=tuple(classify(e, True) for e in eigs),
        n_singular=int(n_singular),
        notes=tuple(notes),
    )
