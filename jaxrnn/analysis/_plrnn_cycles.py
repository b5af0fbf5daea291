"""Exact fixed points and k-cycles of a PLRNN (Schmidt et al., Sect. 3; SCYFI).

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

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, PRNGKeyArray

from .._validate import x64_enabled
from ..models import PLRNN
from ..models.plrnn._regions import region_matrices
from ._plrnn_cycle_results import PLRNNCycles, package_cycles

__all__ = ["PLRNNCycles", "fixed_points", "cycles", "trajectory_seeds"]


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
        # A start stops once its regions are consistent (done) or map to themselves
        # (stuck: every further iteration would repeat them); under vmap the loop runs
        # until every start has stopped or max_iter is reached.
        def body(carry):
            i, b, done, stuck = carry
            zs, _, ok, _ = _solve_sequence(A_diag, W, h, b, tol)
            done = done | ok
            new = jnp.where(done, b, (zs > 0).astype(b.dtype))
            return i + 1, new, done, ~done & jnp.all(new == b)

        def keep_going(carry):
            i, _, done, stuck = carry
            return (i < max_iter) & ~done & ~stuck

        start = (jnp.asarray(0), bits, jnp.asarray(False), jnp.asarray(False))
        _, b, done, _ = jax.lax.while_loop(keep_going, body, start)
        zs, _, ok, _ = _solve_sequence(A_diag, W, h, b, tol)
        return zs, b, ok & done

    return jax.vmap(refine)(bits0)


def _decode(codes, M, k, dtype):
    """Integer codes → (n, k, M) bits; bit (j·M + i) of the code is d_{j,i}."""
    shifts = jnp.arange(M * k, dtype=codes.dtype)
    bits = (codes[:, None] >> shifts[None, :]) & 1
    return bits.reshape(codes.shape[0], k, M).astype(dtype)


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

    A k-cycle solves ``z = W_k⋯W_1 z + Σ_j W_k⋯W_{j+1} (h + C s)`` in every region
    sequence, with ``W_j = A + W D_Ω(j)`` (Schmidt et al., Sect. 3; SCYFI: Eisenmann et al.).

    **Arguments:**

    - `plrnn`: the PLRNN.
    - `order`: the cycle length k (1: fixed points).
    - `method`: ``"exhaustive"`` (exact, every region sequence) or ``"scyfi"``
      (random starts and re-seeding, for large M·k).
    - `s`: the constant input (default 0).
    - `chunk_size`: region sequences per vmapped call (exhaustive).
    - `n_init`: random starts (scyfi).
    - `max_iter`: re-seedings per start (scyfi).
    - `key`: the PRNG key of the random starts (scyfi; default ``PRNGKey(0)``).
    - `seeds`: extra region sequences ``(n, k, M)`` to start from (scyfi).
    - `tol`: boundary tolerance of the region test and singularity threshold.
    - `dedupe_tol`: relative distance under which two solutions are one.
    - `max_sequences`: the exhaustive search's limit on ``order · 2^(M·order)``.

    **Returns:**

    `PLRNNCycles`, one row per distinct cycle (each listed once, from one of its points).
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
    return package_cycles(plrnn, order, zs_list, pats_list, n_singular, dedupe_tol, notes)


def exhaustive_feasible(M: int, order: int, max_sequences: int | None = None) -> bool:
    """Whether ``cycles(..., method="exhaustive")`` accepts M units and this order."""
    limit = MAX_SEQUENCES if max_sequences is None else max_sequences
    return M * order < 63 and order * (1 << (M * order)) <= limit


def trajectory_seeds(ys: ArrayLike, order: int, n: int | None = None, stride: int = 1):
    """Region sequences of the windows of a trajectory: seeds for
    ``cycles(..., method="scyfi", seeds=...)``.

    **Arguments:**

    - `ys`: a trajectory, shape ``(T, M)`` (e.g. ``simulate(plrnn, ...).ys``).
    - `order`: the window length k.
    - `n`: keep at most this many distinct sequences (default: all).
    - `stride`: the step between window starts.

    **Returns:**

    The distinct region indicators of the windows, shape ``(n, order, M)``.
    """
    bits = (np.asarray(ys) > 0).astype(np.float64)
    starts = np.arange(0, bits.shape[0] - order + 1, stride)
    if n is not None:
        starts = starts[:n]
    return bits[starts[:, None] + np.arange(order)[None, :]]


def fixed_points(plrnn: PLRNN, *, method: str = "exhaustive", **kwargs) -> PLRNNCycles:
    """All fixed points of a PLRNN: ``cycles(plrnn, order=1, ...)``, i.e. the solutions
    of ``z* = (I − A − W D_Ω)⁻¹ (h + C s)`` that lie in their region Ω.

    **Arguments:**

    - `plrnn`: the PLRNN.
    - `method`: ``"exhaustive"`` or ``"scyfi"`` (see `cycles`).
    - `kwargs`: any other argument of `cycles` (``s``, ``tol``, ``key``, …).

    **Returns:**

    `PLRNNCycles` of order 1; ``points[i, 0]`` is the i-th fixed point.
    """
    return cycles(plrnn, 1, method=method, **kwargs)
