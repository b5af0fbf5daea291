"""Fixed points and slow points of any smooth system, from many initial states at once.

Minimises ``q(h) = ½‖r(h)‖²`` with ``r(h) = F(h, x)`` for a flow or
``r(h) = F(h, x) − h`` for a map, by a vmapped Levenberg–Marquardt iteration
(Gauss–Newton steps ``(JᵀJ + μI)⁻¹ Jᵀ r`` with adaptive damping μ), which
converges quadratically at isolated fixed points and still descends q at slow
points (Sussillo & Barak 2013). Candidates with ``q < tol`` are fixed points;
with ``slow_points=True`` those with ``tol ≤ q < slow_tol`` are kept as slow
points. Duplicates are merged by distance. Each point comes with its Jacobian
(∂F/∂h), eigenvalues, stability and a classification.

Works for every system of the core API: CTRNNs, rescaled, linearised and
discretised systems, PLRNN maps (a.e. differentiable), baselines.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._system_kinds import AbstractContinuousSystem, AbstractDiscreteSystem, AbstractSystem
from ._classify import classify, is_stable
from ._dedupe import dedupe_points

__all__ = ["FixedPoints", "find_fixed_points"]


@dataclass(frozen=True)
class FixedPoints:
    """Fixed (and slow) points found, as NumPy arrays, one row per point.

    ``eigenvalues`` are those of ∂F/∂h: stability means Re λ < 0 for a flow and
    |λ| < 1 for a map (``discrete``).

    **Arguments:**

    - `points`: shape ``(k, n)``, the points.
    - `q`: shape ``(k,)``, the residual ``q = ½‖r‖²`` (r = F(h) for a flow,
      F(h) − h for a map).
    - `jacobians`: shape ``(k, n, n)``, ∂F/∂h at each point.
    - `eigenvalues`: shape ``(k, n)``, complex.
    - `stable`: shape ``(k,)``, asymptotic stability of each point.
    - `kinds`: the classification of each point (`classify`).
    - `slow`: shape ``(k,)``, ``True`` for slow points (``tol ≤ q < slow_tol``).
    - `discrete`: whether the system is a map.
    """

    points: np.ndarray  # (k, n)
    q: np.ndarray  # (k,) residual ½‖r‖²
    jacobians: np.ndarray  # (k, n, n)
    eigenvalues: np.ndarray  # (k, n) complex
    stable: np.ndarray  # (k,) bool
    kinds: tuple[str, ...]
    slow: np.ndarray  # (k,) bool: True for slow points
    discrete: bool

    def __len__(self) -> int:
        return self.points.shape[0]

    def __repr__(self) -> str:
        rows = [
            f"  {np.round(p, 6).tolist()}  q={qq:.1e}  {k}{' (slow)' if s else ''}"
            for p, qq, k, s in zip(self.points, self.q, self.kinds, self.slow)
        ]
        return f"FixedPoints({len(self)} found" + (":\n" + "\n".join(rows) if rows else "") + ")"


def _residual_fn(system: AbstractSystem, x):
    if isinstance(system, AbstractContinuousSystem):
        return lambda h: system.vector_field(jnp.zeros((), h.dtype), h, x)
    if isinstance(system, AbstractDiscreteSystem):
        return lambda h: system.step(h, x) - h
    raise TypeError(f"find_fixed_points needs a jaxrnn system, got {type(system).__name__}")


def _levenberg_marquardt(r, h0, n_iter, damping):
    n = h0.shape[0]
    eye = jnp.eye(n, dtype=h0.dtype)

    def q_of(h):
        v = r(h)
        return 0.5 * jnp.sum(v * v)

    def body(carry, _):
        h, mu, q = carry
        v = r(h)
        J = jax.jacrev(r)(h)  # reverse mode: also works through diffrax one-step maps
        step = jnp.linalg.solve(J.T @ J + mu * eye, J.T @ v)
        h_new = h - step
        q_new = q_of(h_new)
        better = q_new < q
        h = jnp.where(better, h_new, h)
        q = jnp.where(better, q_new, q)
        mu = jnp.where(better, mu / 3.0, mu * 2.0)
        mu = jnp.clip(mu, 1e-12, 1e12)
        return (h, mu, q), None

    (h, _, q), _ = jax.lax.scan(
        body, (h0, jnp.asarray(damping, h0.dtype), q_of(h0)), None, length=n_iter
    )
    return h, q


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces (tests assert one per shape)
def _solve(system, x, h0, n_iter, damping):
    """Levenberg–Marquardt from every row of ``h0`` at once (vmap)."""
    r = _residual_fn(system, x)
    return jax.vmap(lambda h: _levenberg_marquardt(r, h, n_iter, damping))(h0)


@eqx.filter_jit
def _jacobians(system, x, points):
    if isinstance(system, AbstractContinuousSystem):
        return jax.vmap(jax.jacrev(lambda h: system.vector_field(jnp.zeros((), h.dtype), h, x)))(
            points
        )
    return jax.vmap(jax.jacrev(lambda h: system.step(h, x)))(points)


def find_fixed_points(
    system: AbstractSystem,
    initial_states: Float[ArrayLike, "m n"],
    *,
    x: ArrayLike | None = None,
    n_iter: int = 100,
    tol: float | None = None,
    slow_points: bool = False,
    slow_tol: float = 1e-3,
    dedupe_tol: float = 1e-6,
    damping: float = 1e-3,
) -> FixedPoints:
    """Fixed points (and, on request, slow points) reached from ``initial_states``.

    **Arguments:**

    - ``system``: a flow (F(h) = 0) or a map (F(h) = h).
    - ``initial_states``: ``(m, n)`` starting points, all optimised at once (vmap).
    - ``x``: the constant input (default zeros).
    - ``n_iter``: Levenberg–Marquardt iterations.
    - ``tol``: q below which a point counts as fixed (default 1e-20 in float64,
      1e-10 in float32).
    - ``slow_points``: also keep slow points, ``tol ≤ q < slow_tol``.
    - ``slow_tol``: the residual under which a point counts as slow.
    - ``dedupe_tol``: relative distance under which two points are one.
    - ``damping``: the initial Levenberg–Marquardt damping μ in
      ``(JᵀJ + μ I) δ = −Jᵀ r``.

    **Returns:**

    `FixedPoints`, one row per distinct point found.
    """
    h0 = jnp.asarray(initial_states)
    if h0.ndim != 2 or h0.shape[1] != system.state_size:
        raise ValueError(f"initial_states must have shape (m, {system.state_size}), got {h0.shape}")
    if not jnp.issubdtype(h0.dtype, jnp.floating):
        h0 = h0.astype(jnp.zeros(()).dtype)
    if tol is None:
        tol = 1e-20 if h0.dtype == jnp.float64 else 1e-10
    k = system.input_size
    x = jnp.zeros((k,), h0.dtype) if x is None else jnp.asarray(x, h0.dtype)
    points, q = (
        np.asarray(a) for a in _solve(system, x, h0, n_iter, jnp.asarray(damping, h0.dtype))
    )
    limit = slow_tol if slow_points else tol
    ok = np.flatnonzero(np.isfinite(q) & (q < limit))
    keep = (
        dedupe_points(points, dedupe_tol, ok[np.argsort(q[ok], kind="stable")]) if ok.size else ok
    )
    pts = points[keep]
    discrete = isinstance(system, AbstractDiscreteSystem)
    n = system.state_size
    # Jacobians at every optimised point (one shape per call, so one compilation), kept ones
    # selected afterwards
    J = (
        np.asarray(_jacobians(system, x, jnp.asarray(points)))[keep]
        if len(keep)
        else np.zeros((0, n, n))
    )
    ev = np.linalg.eigvals(J) if len(keep) else np.zeros((0, n), complex)
    return FixedPoints(
        points=pts,
        q=q[keep],
        jacobians=J,
        eigenvalues=ev,
        stable=np.array([is_stable(e, discrete) for e in ev], dtype=bool),
        kinds=tuple(classify(e, discrete) for e in ev),
        slow=q[keep] >= tol,
        discrete=discrete,
    )
