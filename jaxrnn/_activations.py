"""Activations that know their own calculus.

Each activation is a small `eqx.Module` with no array leaves. Besides the
function σ itself it states

- ``value_at_zero`` σ(0) and ``slope_at_zero`` σ'(0): what the linearisation
  operator L needs (Caruso & Jarne, eq. 13: σ(φ) → σ(0) + σ'(0) φ). ``None`` means
  "undefined" (ReLU has a kink at 0);
- ``primitive`` S with S' = σ and S(0) = 0: what the motion invariants of
  skew-symmetric networks need (Casoni et al., H(z) = Σ_i S(z_i));
- ``odd`` and ``bounded``: the properties Casoni et al.'s invariance results use.

Because the fields are static, two activations of the same kind compare equal
and never trigger a retrace; a whole system's activations can be swapped with
one ``jax.tree_util.tree_map(..., is_leaf=is_activation)`` (that is how
``linearise`` works). User activations (`CustomActivation`) and the lookup by
name (`get_activation`) are in ``_activations_user.py``.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

__all__ = ["AbstractActivation", "Tanh", "HardTanh", "ReLU", "Sigmoid", "Identity", "Affine"]

_LOG2 = 0.6931471805599453


class AbstractActivation(eqx.Module):
    """An elementwise activation σ together with the facts analysis needs."""

    name: ClassVar[str]
    odd: ClassVar[bool]
    bounded: ClassVar[bool]

    @abc.abstractmethod
    def __call__(self, x: ArrayLike) -> Array:
        """σ(x), elementwise."""

    @property
    @abc.abstractmethod
    def value_at_zero(self) -> float:
        """σ(0)."""

    @property
    @abc.abstractmethod
    def slope_at_zero(self) -> float | None:
        """σ'(0), or ``None`` where σ is not differentiable at 0."""

    def primitive(self, x: ArrayLike) -> Array:
        """S(x) = ∫_0^x σ(u) du (so S' = σ and S(0) = 0), elementwise."""
        raise NotImplementedError(
            f"activation {self.name!r} has no known primitive; supply one with "
            "CustomActivation(fn, primitive=...)"
        )

    def taylor(self, one_sided_slope: float | None = None) -> Affine:
        """First-order Taylor expansion at 0: φ ↦ σ(0) + σ'(0) φ (Caruso & Jarne, eq. 13).

        ``one_sided_slope`` is used where σ'(0) is undefined (ReLU: 0 or 1) and
        ignored otherwise.
        """
        slope = self.slope_at_zero
        if slope is None:
            if one_sided_slope is None:
                raise ValueError(
                    f"activation {self.name!r} is not differentiable at 0, so its "
                    "linearisation is undefined; pass one_sided_slope= (e.g. 0.0 or 1.0)"
                )
            slope = float(one_sided_slope)
        return Affine(value=float(self.value_at_zero), slope=float(slope))


class Tanh(AbstractActivation):
    """σ = tanh; odd, bounded, σ(0) = 0, σ'(0) = 1, S = log cosh."""

    name = "tanh"
    odd = True
    bounded = True

    def __call__(self, x):
        return jnp.tanh(x)

    @property
    def value_at_zero(self):
        return 0.0

    @property
    def slope_at_zero(self):
        return 1.0

    def primitive(self, x):
        # log cosh x = |x| + log(1 + e^{-2|x|}) - log 2, stable for large |x|.
        ax = jnp.abs(x)
        return ax + jnp.log1p(jnp.exp(-2.0 * ax)) - _LOG2


class HardTanh(AbstractActivation):
    """σ = clip(x, -1, 1); odd, bounded; S = x²/2 on [-1, 1], |x| - 1/2 outside."""

    name = "hardtanh"
    odd = True
    bounded = True

    def __call__(self, x):
        return jnp.clip(x, -1.0, 1.0)

    @property
    def value_at_zero(self):
        return 0.0

    @property
    def slope_at_zero(self):
        return 1.0

    def primitive(self, x):
        ax = jnp.abs(x)
        return jnp.where(ax <= 1.0, 0.5 * x * x, ax - 0.5)


class ReLU(AbstractActivation):
    """σ = max(x, 0); neither odd nor bounded; σ'(0) undefined; S = relu(x)²/2."""

    name = "relu"
    odd = False
    bounded = False

    def __call__(self, x):
        return jax.nn.relu(x)

    @property
    def value_at_zero(self):
        return 0.0

    @property
    def slope_at_zero(self):
        return None

    def primitive(self, x):
        r = jax.nn.relu(x)
        return 0.5 * r * r


class Sigmoid(AbstractActivation):
    """σ = 1/(1 + e^{-x}); bounded, not odd; σ(0) = 1/2, σ'(0) = 1/4;
    S = softplus(x) - log 2."""

    name = "sigmoid"
    odd = False
    bounded = True

    def __call__(self, x):
        return jax.nn.sigmoid(x)

    @property
    def value_at_zero(self):
        return 0.5

    @property
    def slope_at_zero(self):
        return 0.25

    def primitive(self, x):
        return jax.nn.softplus(x) - _LOG2


class Identity(AbstractActivation):
    """σ(x) = x: the linear network; S = x²/2."""

    name = "identity"
    odd = True
    bounded = False

    def __call__(self, x):
        return jnp.asarray(x)

    @property
    def value_at_zero(self):
        return 0.0

    @property
    def slope_at_zero(self):
        return 1.0

    def primitive(self, x):
        return 0.5 * jnp.square(x)


class Affine(AbstractActivation):
    """σ(x) = value + slope·x: what L puts in place of a nonlinear activation
    (Caruso & Jarne, eq. 13: σ(0) + σ'(0) φ).

    **Arguments:**

    - `value`: σ(0), the constant term.
    - `slope`: σ'(0), the slope.
    """

    value: float = eqx.field(static=True)
    slope: float = eqx.field(static=True)

    name = "affine"
    odd = False  # odd only when value == 0; see `is_odd`
    bounded = False

    def __call__(self, x):
        return self.value + self.slope * jnp.asarray(x)

    @property
    def value_at_zero(self):
        return self.value

    @property
    def slope_at_zero(self):
        return self.slope

    def primitive(self, x):
        return self.value * x + 0.5 * self.slope * jnp.square(x)
