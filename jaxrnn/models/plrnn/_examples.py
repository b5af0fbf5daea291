"""Two small PLRNNs with known dynamics, for examples, tests and experiments."""

from __future__ import annotations

import jax.numpy as jnp

from ._plrnn_map import PLRNN

__all__ = ["bistable_plrnn", "chaotic_plrnn"]


def bistable_plrnn() -> PLRNN:
    """Mutual inhibition, A = diag(0.9, 0.85), W = [[0, −0.5], [−0.6, 0]], h = (0.3, 0.35):
    stable nodes at (3, −9.67) and (−8.67, 2.33), a saddle at (0.456, 0.509) whose stable
    manifold separates their basins; an invertible map (all det(A + W D_Ω) > 0).

    **Returns:**

    The 2-unit `PLRNN` (no inputs), in JAX's default float.
    """
    return PLRNN.from_arrays(
        jnp.array([0.9, 0.85]), jnp.array([[0.0, -0.5], [-0.6, 0.0]]), jnp.array([0.3, 0.35])
    )


def chaotic_plrnn() -> PLRNN:
    """A chaotic 2-D PLRNN (largest Lyapunov exponent ≈ 0.112) with an invertible map:
    A = diag(1.177, 0.426), W = [[0, 1.185], [−1.821, 0]], h = (−0.18, 0.265); its attractor
    holds saddle 12- and 13-cycles (found by a random search with ``lyapunov_spectrum``).

    **Returns:**

    The 2-unit `PLRNN` (no inputs), in JAX's default float.
    """
    return PLRNN.from_arrays(
        jnp.array([1.177, 0.426]),
        jnp.array([[0.0, 1.185], [-1.821, 0.0]]),
        jnp.array([-0.18, 0.265]),
    )
