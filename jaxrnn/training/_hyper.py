"""A population member's traced settings (`Hyper`): the settings that vary between
members without changing array shapes enter the one compiled update program as arrays."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._config import Config
from ._model_zoo import n_regularised_units, penalty_strengths

__all__ = ["Hyper", "hyper_of"]


class Hyper(NamedTuple):
    """A member's traced settings: penalty strengths, M_reg and the forcing α (arrays, so
    that one compiled program serves a population whose members differ in them).

    **Arguments:**

    - `tau_A`: τ_A of the line-attractor penalty (eq. 4).
    - `tau_W`: τ_W of the penalty.
    - `tau_h`: τ_h of the penalty.
    - `n_reg`: M_reg, the number of regularised units.
    - `alpha`: the teacher-forcing strength α (reconstruction).
    """

    tau_A: jax.Array
    tau_W: jax.Array
    tau_h: jax.Array
    n_reg: jax.Array
    alpha: jax.Array


def hyper_of(config: Config, dtype) -> Hyper:
    """The `Hyper` settings of one member config, as arrays of ``dtype``."""
    m = config.model
    taus = [jnp.asarray(v, dtype) for v in penalty_strengths(m)]
    n_reg = n_regularised_units(m)
    return Hyper(
        taus[0],
        taus[1],
        taus[2],
        jnp.asarray(n_reg, jnp.int32),
        jnp.asarray(config.forcing.alpha, dtype),
    )
