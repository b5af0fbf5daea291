"""`vmap_members`: ``jax.vmap`` over a leading member axis (populations of models, grids
of settings) that runs a member axis of size one as the unbatched function."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax

__all__ = ["vmap_members"]


def vmap_members(fn: Callable, in_axes: Sequence[int | None]) -> Callable:
    """``jax.vmap(fn, in_axes)`` (outputs mapped on axis 0), except that when every mapped
    argument has a member axis of size one, ``fn`` is called once on the squeezed
    arguments and its outputs get the axis back.

    Why: XLA compiles a vmap over a size-one axis to other kernels than the unbatched
    function (other fusions, other float rounding), so a population of one would not
    reproduce a single run bit for bit. The sizes are static under ``jit``: this is a
    choice of program at trace time, not a branch in it.

    **Arguments:**

    - `fn`: the per-member function.
    - `in_axes`: per positional argument, 0 (mapped on its leading axis) or None.

    **Returns:**

    The mapped function.
    """
    batched = jax.vmap(fn, tuple(in_axes))

    def call(*args):
        mapped = [a for a, ax in zip(args, in_axes) if ax is not None]
        sizes = {x.shape[0] for x in jax.tree_util.tree_leaves(mapped)}
        if sizes != {1}:
            return batched(*args)
        first = lambda t: jax.tree_util.tree_map(lambda x: x[0], t)  # noqa: E731
        out = fn(*(a if ax is None else first(a) for a, ax in zip(args, in_axes)))
        return jax.tree_util.tree_map(lambda x: x[None], out)

    return call
