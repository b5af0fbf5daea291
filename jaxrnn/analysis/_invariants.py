"""Motion invariants of skew-symmetric networks (Casoni et al.).

For a CTRNN with no leak (λ = 0), no input and a skew-symmetric W (A = -Aᵀ):

- rate form ``z' = A σ(z) (+ no bias)``: ``H(z) = Σ_i S(z_i)`` is conserved, since
  ``dH/dt = σ(z)ᵀ A σ(z) = 0``;
- activation form ``z' = σ(A z + b)``: ``H(z) = Σ_i S((A z + b)_i)`` is conserved,
  since ``dH/dt = σ(Az + b)ᵀ A σ(Az + b) = 0``;

where S is the activation's primitive (S' = σ): log cosh for tanh, the
piecewise quadratic for hard-tanh, z²/2 for the identity. In 2-D with
``A = [[0, -ω], [ω, 0]]`` and tanh, ``H = log(cosh x · cosh y)`` (Casoni et al., Fig. 1).

The conservation holds for any σ with a primitive; what odd, bounded, sign-
preserving activations add is that the level sets of H are closed curves, so
orbits are closed. For the sigmoid and ReLU, S stays bounded along some
directions to infinity, and orbits need not close.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validate import concrete
from ..models import CTRNN

__all__ = ["energy", "invariant_drift", "check_invariant_exists"]


def check_invariant_exists(model: CTRNN, *, atol: float = 1e-12) -> None:
    """Raise ``ValueError`` saying why ``model`` has no invariant of this kind (checks on
    parameters that are traced, e.g. under ``jit``, are left to the caller)."""
    if not isinstance(model, CTRNN):
        raise ValueError(f"energy is defined for CTRNNs, got {type(model).__name__}")
    W_in, decay, W, bias = (
        concrete(x) for x in (model.input_weight, model.decay, model.W, model.bias)
    )
    if model.input_size and W_in is not None and np.any(W_in != 0):
        raise ValueError("no invariant: the network is driven by inputs (W_in != 0)")
    if decay is not None and np.any(decay != 0):
        raise ValueError("no invariant: the leak -λh dissipates it (decay must be 0)")
    if model.recurrent != "skew" and W is not None:
        if not np.allclose(W, -W.T, atol=atol):
            raise ValueError("no invariant: W is not skew-symmetric (use recurrent='skew')")
    if model.form == "rate" and bias is not None and np.any(bias != 0):
        raise ValueError("no invariant: in the rate form a bias b gives dH/dt = σ(z)ᵀ b != 0")
    try:
        model.activation.primitive(jnp.zeros(()))
    except NotImplementedError as e:
        raise ValueError(f"no invariant known: {e}") from None


def energy(model: CTRNN, z: Float[Array, "*batch n"]) -> Float[Array, "*batch"]:
    """The conserved quantity H(z) of a skew-symmetric CTRNN (see module docstring).

    ``z`` may carry leading batch/time axes. Raises ``ValueError`` for networks
    with no such invariant (leak, inputs, non-skew W, bias in the rate form,
    activation without a primitive).

    **Arguments:**

    - `model`: a CTRNN with skew-symmetric W, no leak and no input (Casoni et al.).
    - `z`: states, shape ``(..., n)``.

    **Returns:**

    H(z), shape ``(...)``.
    """
    check_invariant_exists(model)
    z = jnp.asarray(z)
    S = model.activation.primitive
    if model.form == "rate":
        return jnp.sum(S(z), axis=-1)
    u = jnp.einsum("ij,...j->...i", model.W, z) + model.bias
    return jnp.sum(S(u), axis=-1)


def invariant_drift(model: CTRNN, ys: Float[Array, "T n"]) -> Float[Array, " T"]:
    """Relative change of the invariant along a trajectory, ``|H(z_t) − H(z_0)| / |H(z_0)|``
    (absolute change where H(z_0) = 0). NaN states (after divergence) give NaN.

    **Arguments:**

    - `model`: the skew-symmetric CTRNN that produced the trajectory (see `energy`).
    - `ys`: the trajectory, shape ``(T, n)``, ``ys[0]`` the initial state.

    **Returns:**

    The drift at every saved state, shape ``(T,)`` (0 at ``t = 0``).
    """
    H = energy(model, ys)
    scale = jnp.where(jnp.abs(H[0]) > 0, jnp.abs(H[0]), 1.0)
    return jnp.abs(H - H[0]) / scale
