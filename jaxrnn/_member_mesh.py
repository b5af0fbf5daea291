"""`MemberMesh`: the member axis of a population (or any stacked tree) sharded over every
device of every process (``jax.devices()``), padded to a multiple of the device count.

On one device it does nothing, so a single-device run is the program it always was (bit
for bit). On D devices a population of P members is padded to ``D * ceil(P / D)`` by
repeating the last member, placed with a ``NamedSharding`` over a one-axis ``Mesh``
(each process places the shards of its own devices from the host copy every process
holds), and the jitted programs run SPMD over it: one program per shape, each device
computing its own members. Results come back to every process with one gather, the
padding dropped.
"""

from __future__ import annotations

import math
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
