"""Argument checks shared by the constructors: one message naming the argument."""

from __future__ import annotations

import numbers

__all__ = ["check_size", "require_x64", "X64Required"]


def check_size(owner: str, name: str, value, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; a TypeError/ValueError naming ``owner.name``
    otherwise (bools and non-integral numbers are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if (
            isinstance(value, numbers.Real)
            and float(value).is_integer()
            and not isinstance(value, bool)
        ):
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
    import jax

    if not jax.config.jax_enable_x64:
        raise X64Required(
            f"{what} needs float64, but jax_enable_x64 is off: call "
            "jax.config.update('jax_enable_x64', True) (or set JAX_ENABLE_X64=1) first"
        )
