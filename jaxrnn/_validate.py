"""Argument checks shared by the constructors: one message naming the argument."""

from __future__ import annotations

import numbers

__all__ = ["check_size"]


def check_size(owner: str, name: str, value, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; a TypeError/ValueError naming ``owner.name``
    otherwise (bools and non-integral numbers are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer() \
                and not isinstance(value, bool):
            value = int(value)
        else:
            raise TypeError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
