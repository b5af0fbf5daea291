"""Basins of attraction from many initial states at once (vmap).

Every initial state is iterated for ``n_steps`` (the whole batch as one vmapped
program); the final state is then iterated ``period_check`` more steps and
assigned to the nearest attractor — a stable fixed point or a stable cycle
(from ``cycles(..., order=k)`` up to ``max_order``, or as given) — when it lies
within ``match_tol`` of one of the attractor's points. Divergent runs (state
norm past ``divergence_threshold``) get label ``DIVERGENT``; the rest
``UNMATCHED`` (e.g. a chaotic attractor or a cycle longer than ``max_order``).
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from .._simulate import simulate
from ..models import PLRNN
from ._plrnn_cycles import cycles as find_cycles

__all__ = ["Basins", "basins", "DIVERGENT", "UNMATCHED"]

DIVERGENT = -1
"""Basin label of initial states whose orbit diverges."""
UNMATCHED = -2
"""Basin label of initial states that reach no attractor found."""


@dataclass(frozen=True)
class Basins:
    """What `basins` returns.

    **Arguments:**

    - `labels`: shape ``(n,)``; ``labels[i]`` is the index into ``attractors`` of
      initial state i, or ``DIVERGENT`` (-1) / ``UNMATCHED`` (-2).
    - `attractors`: the attractors as ``(k, M)`` arrays of their points.
    - `kinds`: ``"fixed point"`` or ``"k-cycle"`` for each attractor.
    - `fractions`: ``{label: share of the initial states}``.
    - `final_states`: shape ``(n, M)``, each run's last state.
    """

    labels: np.ndarray
    attractors: list  # list of (k, M) arrays: the points of each attractor
    kinds: list
    fractions: dict
    final_states: np.ndarray


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces (tests assert one per shape)
def _tails(plrnn, z0, inputs, n_steps, threshold):
    """The states after ``n_steps`` (the last ``len(inputs) - n_steps`` of them) and the
    divergence flag of every initial state, one vmapped program."""

    def run(z):
        traj = simulate(plrnn, z, inputs=inputs, divergence_threshold=threshold)
        return traj.ys[n_steps:], traj.diverged

    return jax.vmap(run)(z0)


def basins(
    plrnn: PLRNN,
    initial_states: ArrayLike,
    *,
    n_steps: int = 500,
    attractors: list | None = None,
    max_order: int = 2,
    s: ArrayLike | None = None,
    match_tol: float = 1e-4,
    divergence_threshold: float = 1e6,
    period_check: int = 12,
) -> Basins:
    """Assign each of ``initial_states`` to an attractor of ``plrnn`` (Eisenmann et al.,
    basins of the PLRNN map ``z_{t+1} = A z_t + W φ(z_t) + h + C s``, eq. 1).

    **Arguments:**

    - `plrnn`: the PLRNN.
    - `initial_states`: shape ``(n, M)``, iterated together as one vmapped program.
    - `n_steps`: iterations before a run's state is matched to an attractor.
    - `attractors`: the attractors as ``(k, M)`` point arrays (default: every
      stable fixed point and cycle found by `cycles` up to ``max_order``).
    - `max_order`: the longest cycle searched for when ``attractors`` is not given.
    - `s`: the constant input (default 0).
    - `match_tol`: the distance within which all of a run's last
      ``period_check`` states must lie on an attractor's points.
    - `divergence_threshold`: a state norm past which a run is ``DIVERGENT``.
    - `period_check`: extra iterations checked against the attractor (at least
      the longest cycle's period), so that a transient passing by does not count.

    **Returns:**

    `Basins`: a label per initial state and each attractor's share.
    """
    z0 = jnp.asarray(initial_states)
    M = plrnn.state_size
    if z0.ndim != 2 or z0.shape[1] != M:
        raise ValueError(f"initial_states must have shape (n, {M}), got {z0.shape}")
    if attractors is None:
        attractors, kinds = [], []
        for k in range(1, max_order + 1):
            found = find_cycles(plrnn, k, s=s)
            for pts, stable in zip(found.points, found.stable):
                if stable:
                    attractors.append(np.asarray(pts))
                    kinds.append("fixed point" if k == 1 else f"{k}-cycle")
    else:
        attractors = [np.atleast_2d(np.asarray(a, dtype=float)) for a in attractors]
        kinds = ["fixed point" if a.shape[0] == 1 else f"{a.shape[0]}-cycle" for a in attractors]
    K = plrnn.input_size
    inputs = jnp.broadcast_to(
        jnp.zeros((K,), z0.dtype) if s is None else jnp.asarray(s, z0.dtype),
        (n_steps + period_check, K),
    )

    tails, diverged = (
        np.asarray(a) for a in _tails(plrnn, z0, inputs, n_steps, float(divergence_threshold))
    )
    labels = np.full(z0.shape[0], UNMATCHED, dtype=int)
    labels[diverged] = DIVERGENT
    for j, pts in enumerate(attractors):
        # distance of every tail state to the attractor's point set; require all tail
        # states to lie on the attractor (so a transient passing by does not count)
        d = np.min(np.linalg.norm(tails[:, :, None, :] - pts[None, None], axis=-1), axis=-1)
        on = np.all(d < match_tol, axis=1) & ~diverged
        labels[on & (labels == UNMATCHED)] = j
    n = labels.size
    fractions = {int(u): float(np.sum(labels == u)) / n for u in np.unique(labels)}
    return Basins(labels, attractors, kinds, fractions, tails[:, -1])
