"""`ArrayInput`: the annotation of arguments that jaxrnn converts with ``jnp.asarray``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from jaxtyping import ArrayLike

__all__ = ["ArrayInput"]

ArrayInput: TypeAlias = ArrayLike | Sequence[Any]
"""An array, a number, or a (nested) list or tuple of numbers: what ``jnp.asarray`` takes.
jaxtyping's ``ArrayLike`` leaves out lists and tuples; arguments such as an initial state
``y0 = (1.0, 0.0)`` or ``PLRNN.from_arrays(A=[0.9, 0.5], ...)`` are annotated with this."""
