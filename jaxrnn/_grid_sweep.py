"""Batch sweeps: a function of numeric settings evaluated over a whole grid as ONE
jit-compiled, vmapped program.

``sweep(fn, {"tau": [...], "dt": [...]})`` forms the Cartesian product of the
axes, evaluates ``fn(tau=…, dt=…)`` for every grid point with ``jax.vmap``, in
chunks of equal size (the last one padded, so there is a single compilation),
and returns a `SweepResult`: one row per grid point. ``fn`` returns a scalar, an
array, or a dict of them; it builds whatever system it needs from its arguments
(``jaxrnn.rescale(model, tau)``, ``jaxrnn.simulate(..., dt=dt, n_steps=N)``, …).

- ``chunk_size`` bounds the points per program call; ``memory_budget`` (bytes)
  chooses it from XLA's own estimate of the program's temporary memory.
- With more than one device, each chunk is sharded along the grid axis over all of
  them (``jax.sharding``), those of every process in a multi-process program
  (`jaxrnn.initialize_distributed`); the same code runs on 1 CPU, 1 GPU, 8 GPUs or N
  hosts. Every process gets every result; only process 0 writes chunk files.
"""

from __future__ import annotations

import itertools
import math
import os
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from numpy.typing import DTypeLike

from ._distributed import agree, is_writer
from ._files import save_npz, write_csv

__all__ = ["SweepResult", "sweep", "grid_points"]


@dataclass(frozen=True)
class SweepResult:
    """The result of `sweep`: one entry per grid point (row) for every parameter and
    output; ``grid(name)`` reshapes a column to the grid's shape.

    **Arguments:**

    - `axes`: ``{name: values}``, the sweep's axes in order.
    - `params`: ``{name: array (n_points,)}``, each point's parameter values.
    - `outputs`: ``{name: array (n_points, ...)}``, what ``fn`` returned at each point.
    """

    axes: dict
    params: dict
    outputs: dict

    def __len__(self) -> int:
        return len(next(iter(self.params.values()))) if self.params else 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    def grid(self, name: str) -> np.ndarray:
        """An output (or parameter) reshaped to the grid's shape (+ its own trailing axes)."""
        values = self.outputs[name] if name in self.outputs else self.params[name]
        return np.asarray(values).reshape(self.shape + np.shape(values)[1:])

    def rows(self) -> list[dict]:
        """The tidy table: one dict per grid point (array outputs flattened to lists)."""
        out = []
        for i in range(len(self)):
            row = {k: float(v[i]) for k, v in self.params.items()}
            for k, v in self.outputs.items():
                x = np.asarray(v[i])
                row[k] = x.item() if x.ndim == 0 else x.tolist()
            out.append(row)
        return out

    def to_csv(self, path) -> None:
        """The tidy table (`rows`) as a CSV file, written atomically (its folder is made
        when missing)."""
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_csv(path, self.rows())


def grid_points(axes: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The Cartesian product of named axes as flat arrays (last axis fastest).

    **Arguments:**

    - `axes`: ``{name: values}`` with non-empty 1-D numeric values.

    **Returns:**

    ``{name: array (n_points,)}``, ``n_points`` the product of the axes' lengths.
    """
    names = list(axes)
    values = [np.atleast_1d(np.asarray(axes[n])) for n in names]
    for n, v in zip(names, values):
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"sweep axis {n!r} must be a non-empty 1-D list of numbers")
        if not np.issubdtype(v.dtype, np.number):
            raise ValueError(f"sweep axis {n!r} must hold numbers, got {v.dtype}")
    prod = list(itertools.product(*[range(v.size) for v in values]))
    return {n: v[[p[i] for p in prod]] for i, (n, v) in enumerate(zip(names, values))}


def _as_dict(out):
    return out if isinstance(out, Mapping) else {"value": out}


def _placed(chunk: dict, sharding, multi: bool):
    """The chunk's arrays on the mesh: each process places the shards of its devices
    (every process holds the whole grid, so no data moves between them)."""
    if sharding is None:
        return chunk
    if not multi:
        return jax.device_put(chunk, sharding)
    return {
        k: jax.make_array_from_callback(v.shape, sharding, lambda i, v=v: v[i])
        for k, v in chunk.items()
    }


def _memory_per_point(batched, params, probe: int) -> float:
    sample = {k: jnp.asarray(v[:1]).repeat(probe) for k, v in params.items()}
    compiled = batched.lower(sample).compile()
    analysis = compiled.memory_analysis()
    if analysis is None:
        return 0.0
    used = analysis.temp_size_in_bytes + analysis.output_size_in_bytes
    return used / probe


def sweep(
    fn: Callable[..., object],
    axes: Mapping[str, object],
    *,
    chunk_size: int | None = None,
    memory_budget: float | None = None,
    shard: bool = True,
    dtype: DTypeLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
) -> SweepResult:
    """Evaluate ``fn(**point)`` at every point of the grid spanned by ``axes``.

    **Arguments:**

    - ``fn``: a JAX-traceable function of the axis names (keyword arguments),
      returning an array or a dict of arrays.
    - ``axes``: ``{name: values}``; the grid is their Cartesian product.
    - ``chunk_size``: points per compiled call (default: all, or what
      ``memory_budget`` allows).
    - ``memory_budget``: bytes of device memory one call may use (estimated
      by XLA from a probe compilation).
    - ``shard``: shard each chunk over all devices (of every process) when there are
      several; with False every process evaluates every point on its first device.
    - ``dtype``: dtype of the parameters (default: JAX's default float).
    - ``progress``: called as ``progress(points_done, n_points)`` after every chunk.
    - ``checkpoint_dir``: a directory where every finished chunk's outputs are
      saved (``chunk-<start>-<stop>.npz``, written atomically); chunks already
      there are loaded instead of computed, so an interrupted sweep resumes
      where it stopped. The grid and ``chunk_size`` must be the same as before.

    **Returns:**

    A `SweepResult` with one row per grid point.
    """
    params = grid_points(axes)
    n = len(next(iter(params.values())))
    dtype = jnp.zeros(()).dtype if dtype is None else dtype
    params = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
    devices = jax.devices()  # every process's: one global mesh
    n_dev = len(devices) if shard else 1
    multi = shard and jax.process_count() > 1
    batched = jax.jit(jax.vmap(lambda p: _as_dict(fn(**p))))

    if chunk_size is None:
        chunk_size = n
        if memory_budget is not None:
            per_point = _memory_per_point(batched, params, probe=64)
            if per_point > 0:
                chunk_size = max(1, int(memory_budget // per_point))
    chunk_size = max(1, min(chunk_size, n))
    chunk_size = n_dev * math.ceil(chunk_size / n_dev)  # equal shards
    sharding = None
    if n_dev > 1:
        mesh = Mesh(np.asarray(devices), ("grid",))
        sharding = NamedSharding(mesh, PartitionSpec("grid"))
    done = set()  # chunks finished before, seen alike by every process
    if checkpoint_dir is not None:
        done = {c.name for c in pathlib.Path(checkpoint_dir).glob("chunk-*.npz")}
        agree(",".join(sorted(done)), f"the finished chunks in {checkpoint_dir}")

    pieces = []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        idx = np.arange(start, start + chunk_size)
        idx[stop - start :] = stop - 1  # pad with the last point: one program shape
        saved = (
            None
            if checkpoint_dir is None
            else pathlib.Path(checkpoint_dir) / f"chunk-{start}-{stop}-of-{n}.npz"
        )
        if saved is not None and saved.name in done:
            with np.load(saved) as f:
                pieces.append({k: f[k] for k in f.files})
        else:
            out = batched(_placed({k: v[idx] for k, v in params.items()}, sharding, multi))
            if multi:  # every process gets every point's outputs
                out = multihost_utils.process_allgather(out, tiled=True)
            piece = jax.tree_util.tree_map(lambda a, m=stop - start: np.asarray(a)[:m], out)
            if saved is not None and is_writer():
                save_npz(saved, piece)
            pieces.append(piece)
        if progress is not None:
            progress(stop, n)
    outputs = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    return SweepResult(
        {k: np.atleast_1d(np.asarray(v)) for k, v in axes.items()},
        {k: v for k, v in params.items()},
        outputs,
    )
