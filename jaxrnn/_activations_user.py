"""User-defined activations (`CustomActivation`), the declared properties of any activation, and
the lookup of an activation by name or callable (`get_activation`)."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from ._activations import AbstractActivation, Affine, HardTanh, Identity, ReLU, Sigmoid, Tanh

__all__ = ["CustomActivation", "get_activation", "is_activation", "is_odd", "is_bounded"]


class CustomActivation(AbstractActivation):
    """A user activation: any elementwise callable, with optional primitive.

    σ(0) and σ'(0) are computed from the function (σ'(0) by autodiff) unless
    given. ``odd``/``bounded`` are declared by the user (defaults: False).

    **Arguments:**

    - `fn`: the elementwise function σ, traceable by JAX.
    - `primitive_fn`: an antiderivative of σ (used by the energy of the
      skew-symmetric networks, Casoni et al.); default: none, integrated numerically.
    - `declared_odd`: whether σ(-x) = -σ(x) (the invariants of Casoni et al. need it).
    - `declared_bounded`: whether σ is bounded.
    - `slope`: σ'(0) if known (default: computed by autodiff at 0).
    """

    fn: Callable = eqx.field(static=True)
    primitive_fn: Callable | None = eqx.field(static=True, default=None)
    declared_odd: bool = eqx.field(static=True, default=False)
    declared_bounded: bool = eqx.field(static=True, default=False)
    slope: float | None = eqx.field(static=True, default=None)
    name = "custom"
    odd = False
    bounded = False

    def __call__(self, x):
        return self.fn(x)

    @property
    def value_at_zero(self):
        return float(self.fn(jnp.zeros(())))

    @property
    def slope_at_zero(self):
        if self.slope is not None:
            return self.slope
        return float(jax.grad(lambda u: self.fn(u))(jnp.zeros(())))

    def primitive(self, x):
        if self.primitive_fn is None:
            return super().primitive(x)
        return self.primitive_fn(x)


def is_odd(act: AbstractActivation) -> bool:
    """Whether σ(-x) = -σ(x) (for user activations: as declared)."""
    if isinstance(act, CustomActivation):
        return act.declared_odd
    if isinstance(act, Affine):
        return act.value == 0.0
    return act.odd


def is_bounded(act: AbstractActivation) -> bool:
    """Whether σ is bounded (for user activations: as declared)."""
    if isinstance(act, CustomActivation):
        return act.declared_bounded
    if isinstance(act, Affine):
        return act.slope == 0.0
    return act.bounded


_BUILTIN = {
    "tanh": Tanh,
    "hardtanh": HardTanh,
    "hard_tanh": HardTanh,
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "identity": Identity,
    "linear": Identity,
}


def get_activation(spec: str | Callable | AbstractActivation) -> AbstractActivation:
    """An activation from a name, an `AbstractActivation`, or any elementwise callable.

    **Arguments:**

    - `spec`: a name (``tanh``, ``hardtanh``, ``relu``, ``sigmoid``, ``identity``),
      an `AbstractActivation` (returned as is) or an elementwise callable (wrapped
      in a `CustomActivation`).

    **Returns:**

    The `AbstractActivation`. Raises `ValueError` for an unknown name.
    """
    if isinstance(spec, AbstractActivation):
        return spec
    if isinstance(spec, str):
        try:
            return _BUILTIN[spec.lower()]()
        except KeyError:
            raise ValueError(
                f"unknown activation {spec!r}; expected one of "
                f"{sorted(set(_BUILTIN) - {'hard_tanh', 'linear'})} or a callable"
            ) from None
    if callable(spec):
        return CustomActivation(fn=spec)
    raise TypeError(f"activation must be a name or a callable, got {type(spec).__name__}")


def is_activation(node) -> bool:
    """``is_leaf`` predicate that stops tree traversal at activations."""
    return isinstance(node, AbstractActivation)
