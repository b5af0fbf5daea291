"""Trees known by their shapes only: what a checkpoint loads into and a model's
non-trainable part, traced with ``jax.eval_shape`` instead of built (building would
draw, and compile, an initialisation only to overwrite or drop it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["shapes_of", "static_part"]

# what tracing raises where an initialisation needs concrete values (the npRNN's)
_NEEDS_VALUES = (
    jax.errors.TracerArrayConversionError,
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerBoolConversionError,
    jax.errors.TracerIntegerConversionError,
)


def shapes_of(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with its arrays as ``jax.ShapeDtypeStruct`` (non-array leaves kept),
    or built when ``fn`` needs concrete values."""
    try:
        return eqx.filter_eval_shape(fn, *args)
    except _NEEDS_VALUES:
        return fn(*args)


def _trainable(x: Any) -> bool:
    """A floating-point array, built or traced: a trained parameter."""
    is_array = isinstance(x, jax.ShapeDtypeStruct) or eqx.is_array(x)
    return is_array and jnp.issubdtype(x.dtype, jnp.inexact)


def static_part(build: Callable[[], Any]) -> Any:
    """The non-trainable part of the model ``build()`` makes (``eqx.partition`` by
    `eqx.is_inexact_array`), from its traced shapes where that leaves no traced array."""
    static = eqx.partition(shapes_of(build), _trainable)[1]
    if any(isinstance(x, jax.ShapeDtypeStruct) for x in jax.tree_util.tree_leaves(static)):
        static = eqx.partition(build(), eqx.is_inexact_array)[1]  # a non-float array leaf
    return static
