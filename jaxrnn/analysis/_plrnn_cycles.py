"""Exact fixed points and k-cycles of a PLRNN (seed 003, Sect. 3; SCYFI).

In the linear region with indicator ``d = diag(D_Ω)`` the PLRNN map is affine,
``F(z) = W_Ω z + h_s`` with ``W_Ω = A + W D_Ω`` and ``h_s = h + C s`` for a
constant input s. A k-cycle visiting regions ``d_1, …, d_k`` is a fixed point of
the composite affine map ``z ↦ W_k ⋯ W_1 z + c``; solving ``(I − W_k⋯W_1) z_1 = c``
gives the only candidate, which is *real* iff each ``z_j`` lies in its region
(``1[z_j > 0] = d_j``). Stability: eigenvalues of the product ``W_k ⋯ W_1``.

- ``method="exhaustive"`` solves all 2^(M·k) region sequences in vmapped,
  chunked batches: exact, practical up to M ≈ 20 for fixed points on a CPU.
- ``method="scyfi"`` (Eisenmann et al. 2023): from random region sequences,
  solve, read off the candidate's own regions, and re-solve from those until
  they agree. Cheap for large M; may miss solutions.

Duplicates are merged by distance (not by rounding). Sequences whose matrix
``I − W_k⋯W_1`` is singular have no isolated solution (for instance the
continuum of fixed points of a line attractor); they are counted in
``n_singular`` and named in ``notes``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, PRNGKeyArray

from .._validate import x64_enabled
from ..models import PLRNN
from ..models.plrnn._regions import region_matrices
from ._classify import classify, is_stable
from ._dedupe import dedupe_points

__all__ = ["PLRNNCycles", "fixed_points", "cycles", "trajectory_seeds"]


@dataclass(frozen=True)
class PLRNNCycles:
    """Fixed points (order 1) or k-cycles of a PLRNN, one row per solution.

    ``points[i]`` is ``(k, M)``: the cycle's states in visiting order;
    ``patterns[i]`` the ``(k, M)`` region indicators; ``eigenvalues[i]`` those of
    the product Jacobian ``W_k ⋯ W_1`` (for a fixed point, of ``A + W D_Ω``).
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


MAX_SEQUENCES = 1 << 22  # the exhaustive search's default work limit, order · 2^(M·order)


def _affine_pieces(plrnn: PLRNN, s):
    M = plrnn.state_size
    h = plrnn.h + plrnn.C @ s
    return plrnn.A, plrnn.W, h, M  # A as its diagonal


def _solve_sequence(A_diag, W, h, bits, tol):
    """bits: (k, M) region indicators. Returns (z (k, M), product (M, M), consistent, singular)."""
    k, M = bits.shape
    eye = jnp.eye(M, dtype=W.dtype)
    mats = region_matrices(A_diag, W, bits)  # (k, M, M)

    def compose(carry, Wj):
        P, c = carry
        return (Wj @ P, Wj @ c + h), None

    (P, c), _ = jax.lax.scan(compose, (eye, jnp.zeros((M,), W.dtype)), mats)
    lu, piv = jax.scipy.linalg.lu_factor(eye - P)  # one factorisation: |det| and the solve
    singular = jnp.prod(jnp.abs(jnp.diagonal(lu))) <= tol
    z1 = jax.scipy.linalg.lu_solve((lu, piv), c)

    def forward(z, Wj):
        return Wj @ z + h, z

    _, zs = jax.lax.scan(forward, z1, mats)  # zs[j] = z_{j+1}, visited in region bits[j]
    pos = zs > tol
    neg = zs < -tol
    consistent = jnp.all(jnp.where(bits > 0.5, ~neg, ~pos)) & ~singular & jnp.all(jnp.isfinite(zs))
    return zs, P, consistent, singular


@functools.partial(jax.jit, static_argnames=("M", "order", "size", "total", "tol"))
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces (tests assert one per shape)
def _exhaustive_chunk(A_diag, W, h, start, *, M, order, size, total, tol):
    """Solve the region sequences with codes start … start + size − 1 (one compiled program
    per shape, reused for every chunk and every model of that shape)."""
    wide = M * order > 30
    codes = start + jnp.arange(size, dtype=jnp.int64 if wide else jnp.int32)
    bits = _decode(codes, M, order, W.dtype)
    zs, _, ok, sing = jax.vmap(lambda b: _solve_sequence(A_diag, W, h, b, tol))(bits)
    live = codes < total
    return zs, bits, ok & live, jnp.sum(sing & live)


@functools.partial(jax.jit, static_argnames=("max_iter", "tol"))
@eqx.debug.assert_max_traces(max_traces=None)
def _scyfi(A_diag, W, h, bits0, *, max_iter, tol):
    """SCYFI: re-seed each start from its candidate's own regions until they agree."""

    def refine(bits):
        def body(carry, _):
            b, done = carry
            zs, _, ok, _ = _solve_sequence(A_diag, W, h, b, tol)
            done = done | ok
            return (jnp.where(done, b, (zs > 0).astype(b.dtype)), done), None

        (b, done), _ = jax.lax.scan(body, (bits, jnp.asarray(False)), None, length=max_iter)
        zs, _, ok, _ = _solve_sequence(A_diag, W, h, b, tol)
        return zs, b, ok & done

    return jax.vmap(refine)(bits0)


def _decode(codes, M, k, dtype):
    """Integer codes → (n, k, M) bits; bit (j·M + i) of the code is d_{j,i}."""
    shifts = jnp.arange(M * k, dtype=codes.dtype)
    bits = (codes[:, None] >> shifts[None, :]) & 1
    return bits.reshape(codes.shape[0], k, M).astype(dtype)


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


def _package(plrnn, order, zs_list, pats_list, n_singular, dedupe_tol, notes):
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


def cycles(
    plrnn: PLRNN,
    order: int = 1,
    *,
    method: str = "exhaustive",
    s: ArrayLike | None = None,
    chunk_size: int = 1 << 14,
    n_init: int = 2000,
    max_iter: int = 100,
    key: PRNGKeyArray | None = None,
    seeds: ArrayLike | None = None,
    tol: float = 1e-10,
    dedupe_tol: float = 1e-8,
    max_sequences: int = MAX_SEQUENCES,
) -> PLRNNCycles:
    """All k-cycles (``order = k``) of ``plrnn`` under the constant input ``s``.

    ``method="exhaustive"`` enumerates every region sequence (2^(M·k) of them,
    in vmapped chunks of ``chunk_size``); ``method="scyfi"`` runs ``n_init``
    random starts for at most ``max_iter`` re-seedings each, plus the region sequences
    in ``seeds`` (``(n, k, M)`` indicators, e.g. ``trajectory_seeds(ys, k)``: the
    regions a long trajectory visits, which finds cycles embedded in an attractor). ``tol`` is the
    boundary tolerance of the region test (and the singularity threshold on
    |det(I − W_k⋯W_1)|); ``dedupe_tol`` the relative distance merging duplicates.

    The exhaustive search refuses up front (a ValueError naming the limit) when
    ``order · 2^(M·order)`` exceeds ``max_sequences`` (default 2^22, about 40 s
    on 2 CPU cores: 2^20 fixed-point regions take 9 s and each further unit
    ×2.2); use ``method="scyfi"`` beyond it.
    """
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    M = plrnn.state_size
    dtype = plrnn.A.dtype
    s = jnp.zeros((plrnn.input_size,), dtype) if s is None else jnp.asarray(s, dtype)
    A_diag, W, h, _ = _affine_pieces(plrnn, s)
    zs_list, pats_list, n_singular, notes = [], [], 0, []

    if method == "exhaustive":
        n_bits = M * order
        if not exhaustive_feasible(M, order, max_sequences):
            raise ValueError(
                f"exhaustive search over 2^{n_bits} region sequences (M = {M}, order {order}) "
                f"exceeds the limit order·2^(M·order) <= max_sequences = {max_sequences:,} "
                "(about a minute on 2 CPU cores); use method='scyfi', the heuristic search"
            )
        if n_bits > 31 and not x64_enabled():
            raise ValueError(
                f"exhaustive search over 2^{n_bits} sequences needs 64-bit integers: "
                "enable jax_enable_x64 (or use method='scyfi')"
            )
        total = 1 << n_bits
        size = min(chunk_size, total)
        for start in range(0, total, size):
            zs, bits, ok, sing = _exhaustive_chunk(
                A_diag, W, h, start, M=M, order=order, size=size, total=total, tol=tol
            )
            n_singular += int(sing)
            ok = np.asarray(ok)
            if ok.any():
                zs_list += list(np.asarray(zs)[ok])
                pats_list += list(np.asarray(bits)[ok])
    elif method == "scyfi":
        key = jax.random.PRNGKey(0) if key is None else key
        bits0 = jax.random.bernoulli(key, 0.5, (n_init, order, M)).astype(dtype)
        if seeds is not None:
            seeds = jnp.asarray(seeds, dtype)
            if seeds.ndim != 3 or seeds.shape[1:] != (order, M):
                raise ValueError(f"seeds must have shape (n, {order}, {M}), got {seeds.shape}")
            bits0 = jnp.concatenate([bits0, seeds])

        zs, bits, ok = _scyfi(A_diag, W, h, bits0, max_iter=max_iter, tol=tol)
        ok = np.asarray(ok)
        zs_list, pats_list = list(np.asarray(zs)[ok]), list(np.asarray(bits)[ok])
        notes.append(
            f"scyfi: {int(ok.sum())} of {bits0.shape[0]} starts converged "
            f"within {max_iter} re-seedings"
        )
    else:
        raise ValueError(f"method must be 'exhaustive' or 'scyfi', got {method!r}")
    return _package(plrnn, order, zs_list, pats_list, n_singular, dedupe_tol, notes)


def exhaustive_feasible(M: int, order: int, max_sequences: int | None = None) -> bool:
    """Whether ``cycles(..., method="exhaustive")`` accepts M units and this order."""
    limit = MAX_SEQUENCES if max_sequences is None else max_sequences
    return M * order < 63 and order * (1 << (M * order)) <= limit


def trajectory_seeds(ys: ArrayLike, order: int, n: int | None = None, stride: int = 1):
    """Region sequences ``(n, order, M)`` of the windows of a trajectory ``ys`` (T, M):
    seeds for ``cycles(..., method="scyfi", seeds=...)``."""
    bits = (np.asarray(ys) > 0).astype(np.float64)
    starts = np.arange(0, bits.shape[0] - order + 1, stride)
    if n is not None:
        starts = starts[:n]
    return bits[starts[:, None] + np.arange(order)[None, :]]


def fixed_points(plrnn: PLRNN, *, method: str = "exhaustive", **kwargs) -> PLRNNCycles:
    """All fixed points of a PLRNN: ``cycles(plrnn, order=1, ...)``; ``points[i, 0]``
    is the i-th fixed point."""
    return cycles(plrnn, 1, method=method, **kwargs)
