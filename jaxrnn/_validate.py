"""Argument checks shared by the constructors: one message naming the argument."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["check_size", "concrete", "check_value", "require_x64", "x64_enabled", "X64Required"]

T = TypeVar("T")


def check_size(owner: str, name: str, value: object, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; a TypeError/ValueError naming ``owner.name``
    otherwise (bools and non-integral numbers are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class X64Required(ValueError):
    """float64 was asked for while ``jax_enable_x64`` is off."""


def require_x64(what: str) -> None:
    """Raise `X64Required` naming ``what`` unless ``jax_enable_x64`` is on. jaxrnn never
    turns it on itself (that would change the caller's whole process); the ``jaxrnn``
    command does, for the commands that need it."""

    if not x64_enabled():
        raise X64Required(
            f"{what} needs float64, but jax_enable_x64 is off: call "
            "jax.config.update('jax_enable_x64', True) (or set JAX_ENABLE_X64=1) first"
        )


def x64_enabled() -> bool:
    """Whether ``jax_enable_x64`` is on (read, never set)."""
    return bool(jax.config.read("jax_enable_x64"))


def concrete(x: object) -> np.ndarray | None:
    """``x`` as a NumPy array when its value is known now (Python and NumPy values, JAX
    arrays outside a transformation); ``None`` under ``jit``, ``vmap`` or ``grad``."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def check_value(x: T, bad: Callable, message: str, error: type[Exception] = ValueError) -> T:
    """Check a value that may be traced: ``bad(xp, value)`` (written for ``xp`` = NumPy or
    jax.numpy) says whether it is invalid. A known value that is bad raises ``error`` with
    ``message`` and the value at once; a traced one gets ``eqx.error_if`` (the check runs
    inside the program). Returns ``x`` (use the result, or the traced check is dropped)."""
    value = concrete(x)
    if value is not None:
        if bool(np.any(bad(np, value))):
            shown = value.item() if value.size == 1 else f"an array of shape {value.shape}"
            raise error(f"{message}, got {shown}")
        return x
    return eqx.error_if(x, jnp.any(bad(jnp, x)), message)
