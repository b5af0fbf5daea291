"""`MemberMesh`: the member axis of a population (or any stacked tree) sharded over every
device of every process (``jax.devices()``), padded to a multiple of the device count.

On one device it does nothing, so a single-device run is the program it always was (bit
for bit). On D devices a population of P members is padded to ``D * ceil(P / D)`` by
repeating the last member, placed with a ``NamedSharding`` over a one-axis ``Mesh``
(each process places the shards of its own devices from the host copy every process
holds), and a program mapped with `MemberMesh.map` runs on every device as the same
vmapped program over that device's own members (``shard_map``): one compiled program
per shape, no communication. Results come back to every process with one gather, the
padding dropped.

Why ``shard_map`` and not XLA's automatic partitioning of the whole population's
program: each device then runs exactly the per-member program over its own block, with
no collective the partitioner might insert, whatever the mesh. What it does not give is
the one-device bits: the vmapped step gives the same bits for any number of members on
one device (measured: 10 or 20 rPLRNNs, 313 Adam steps, float64, identical), but a
program compiled for a mesh of several devices rounds differently in the last bit (one
of one device does not; automatic partitioning does too), and training amplifies that
(20 rPLRNNs, addition T = 100, float64, one device against two: 6e-17 after one step,
3e-12 after 50, 0.1 after 313).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["MemberMesh"]


class MemberMesh:
    """How the P members of a population lie on the devices.

    **Arguments:**

    - `size`: P, the number of members.
    - `devices`: the devices to shard over (default: ``jax.devices()``, every
      process's).

    Attributes: ``size`` (P), ``n_devices`` (D) and ``padded`` (P rounded up to a
    multiple of D).
    """

    def __init__(self, size: int, devices: list | None = None):
        devices = jax.devices() if devices is None else list(devices)
        self.size, self.n_devices = int(size), len(devices)
        self.padded = self.n_devices * math.ceil(self.size / self.n_devices)
        self.multi = jax.process_count() > 1
        self.mesh = Mesh(np.asarray(devices), ("members",)) if self.n_devices > 1 else None

    @property
    def sharded(self) -> bool:
        """Whether members are spread over several devices (False: one device, no-op)."""
        return self.mesh is not None

    def _sharding(self, axis: int, ndim: int) -> NamedSharding:
        assert self.mesh is not None
        spec: list[str | None] = [None] * ndim
        spec[axis] = "members"
        return NamedSharding(self.mesh, PartitionSpec(*spec))

    def _spec(self, axis: int | None) -> PartitionSpec:
        return PartitionSpec() if axis is None else PartitionSpec(*([None] * axis), "members")

    def map(
        self, fn: Callable, in_axes: Sequence[int | None], out_axes: Sequence[int | None] | int
    ) -> Callable:
        """``fn`` run on every device over its own members (``jax.shard_map``): an
        argument with a member axis (its position in ``in_axes``; None: replicated)
        arrives as the device's block of members, and the outputs' blocks (member axis
        at ``out_axes``) make up the global outputs. ``fn`` itself on one device.

        **Arguments:**

        - `fn`: a function of member-stacked arguments (vmapped over them).
        - `in_axes`: per positional argument, its member axis, or None.
        - `out_axes`: the outputs' member axes (one int for all).

        **Returns:**

        The mapped function (to be jit-compiled).
        """
        if self.mesh is None:
            return fn
        outs = (
            self._spec(out_axes)
            if isinstance(out_axes, int)
            else tuple(self._spec(a) for a in out_axes)
        )
        return jax.shard_map(
            fn,
            mesh=self.mesh,
            in_specs=tuple(self._spec(a) for a in in_axes),
            out_specs=outs,
            check_vma=False,
        )

    def replicated(self, tree: Any) -> Any:
        """``tree`` (the same in every process) as arrays replicated on every device."""
        if self.mesh is None:
            return tree
        everywhere = NamedSharding(self.mesh, PartitionSpec())

        def one(x):
            x = np.asarray(x)
            return jax.make_array_from_callback(x.shape, everywhere, lambda i: x[i])

        return jax.tree_util.tree_map(one, tree)

    def place(self, tree: Any, axis: int = 0) -> Any:
        """``tree``'s leaves (member axis ``axis`` of size P, the same host values in
        every process) padded to ``padded`` members and sharded over the devices.

        **Arguments:**

        - `tree`: a pytree of arrays with the member axis at ``axis``.
        - `axis`: the member axis.

        **Returns:**

        The placed tree (``tree`` itself on one device).
        """
        if self.mesh is None:
            return tree
        extra = self.padded - self.size

        def one(x):
            x = np.asarray(x)
            if x.shape[axis] != self.size:
                raise ValueError(
                    f"member axis {axis} has size {x.shape[axis]}, the population {self.size}"
                )
            if extra:
                last = np.take(x, [self.size - 1], axis=axis)
                x = np.concatenate([x, np.repeat(last, extra, axis=axis)], axis=axis)
            sharding = self._sharding(axis, x.ndim)
            return jax.make_array_from_callback(x.shape, sharding, lambda i: x[i])

        return jax.tree_util.tree_map(one, tree)

    def gather(self, tree: Any, axis: int = 0) -> Any:
        """Every member's values of a placed tree in every process (one collective when
        the devices span several processes), the padding dropped; as local arrays.

        **Arguments:**

        - `tree`: a tree of placed arrays (member axis at ``axis``, ``padded`` long).
        - `axis`: the member axis.

        **Returns:**

        The tree with the first ``size`` members (``tree`` itself on one device).
        """
        if self.mesh is None:
            return tree
        if self.multi:
            tree = multihost_utils.process_allgather(tree, tiled=True)
        keep = lambda x: jnp.asarray(np.take(np.asarray(x), range(self.size), axis=axis))  # noqa: E731
        return jax.tree_util.tree_map(keep, tree)
