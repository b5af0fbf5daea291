"""Solvers named by string, and the classical RK4 that diffrax does not ship."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import diffrax
import numpy as np

__all__ = ["RK4", "get_solver"]

_rk4_tableau = diffrax.ButcherTableau(
    a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
    b_error=np.zeros(4),
    c=np.array([0.5, 0.5, 1.0]),
)


class RK4(diffrax.AbstractERK):
    """The classical fourth-order Runge–Kutta method (fixed steps only: it has
    no embedded error estimate, so it cannot drive adaptive step control).

    **Arguments:**

    - `scan_kind`: how diffrax loops over the stages (``None``, ``"lax"``,
      ``"checkpointed"`` or ``"bounded"``; see `diffrax.AbstractRungeKutta`).
    """

    tableau: ClassVar[diffrax.ButcherTableau] = _rk4_tableau
    interpolation_cls: ClassVar[Callable[..., diffrax.ThirdOrderHermitePolynomialInterpolation]] = (
        diffrax.ThirdOrderHermitePolynomialInterpolation.from_k
    )

    def order(self, terms):
        return 4


_SOLVERS = {
    "rk4": RK4,
    "heun": diffrax.Heun,
    "midpoint": diffrax.Midpoint,
    "ralston": diffrax.Ralston,
    "bosh3": diffrax.Bosh3,
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "kvaerno5": diffrax.Kvaerno5,
    "diffrax_euler": diffrax.Euler,
}


def get_solver(spec) -> diffrax.AbstractSolver | str:
    """``"euler"`` (jaxrnn's hand-written path), another solver name, or a diffrax solver."""
    if isinstance(spec, diffrax.AbstractSolver):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key == "euler":
            return "euler"
        if key in _SOLVERS:
            return _SOLVERS[key]()
        raise ValueError(
            f"unknown solver {spec!r}; expected 'euler', one of {sorted(_SOLVERS)} "
            "or a diffrax solver instance"
        )
    raise TypeError(f"solver must be a name or a diffrax solver, got {type(spec).__name__}")
