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
- With more than one device, every device evaluates a chunk of its own at once (the
  devices of every process in a multi-process program, `jaxrnn.initialize_distributed`):
  device k of D takes chunks k, k + D, … with the same one-device program, so every
  point is computed in the same chunk, with the same bits, as on one device. The same
  code runs on 1 CPU, 1 GPU, 8 GPUs or N hosts. Every process gets every result; only
  process 0 writes chunk files.
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


def _memory_per_point(batched, params, probe: int) -> float:
    sample = {k: jnp.asarray(v[:1]).repeat(probe) for k, v in params.items()}
    compiled = batched.lower(sample).compile()
    analysis = compiled.memory_analysis()
    if analysis is None:
        return 0.0
    used = analysis.temp_size_in_bytes + analysis.output_size_in_bytes
    return used / probe


def _chunk_file(checkpoint_dir, start: int, stop: int, n: int):
    if checkpoint_dir is None:
        return None
    return pathlib.Path(checkpoint_dir) / f"chunk-{start}-{stop}-of-{n}.npz"


def _round(batched, params, chunks, mine, size, n, checkpoint_dir, done) -> list[dict]:
    """Chunks ``chunks[k]`` on devices k (this process computes those of ``mine``, or
    reads them when finished before); every chunk's outputs, in every process."""
    spans = [(j * size, min((j + 1) * size, n)) for j in chunks]
    files = [_chunk_file(checkpoint_dir, a, b, n) for a, b in spans]
    saved = [f for f in files if f is not None and f.name in done]
    if len(saved) == len(files):
        out = []
        for f in saved:
            with np.load(f) as z:
                out.append({k: z[k] for k in z.files})
        return out
    local = []
    for k, d in mine:
        start, stop = spans[k]
        idx = np.arange(start, start + size)
        idx[stop - start :] = stop - 1  # pad with the last point: one program shape
        local.append(batched(jax.device_put({q: v[idx] for q, v in params.items()}, d)))
    local = [jax.tree_util.tree_map(np.asarray, o) for o in local]  # (size, ...) each
    stacked = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *local)
    if len(mine) < len(chunks):  # every process gets every device's chunk
        stacked = multihost_utils.process_allgather(stacked, tiled=True)
    out = []
    for k, (start, stop) in enumerate(spans):
        piece = {q: np.asarray(v)[k][: stop - start] for q, v in stacked.items()}
        f = files[k]
        if f is not None and f.name not in done and is_writer():
            save_npz(f, piece)
        out.append(piece)
    return out


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
    - ``chunk_size``: points per compiled call on one device (default: all, or what
      ``memory_budget`` allows); D devices evaluate D chunks at once.
    - ``memory_budget``: bytes of device memory one call may use (estimated
      by XLA from a probe compilation).
    - ``shard``: spread the chunks over all devices (of every process) when there are
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
    devices = jax.devices() if shard else jax.local_devices()[:1]
    devices = sorted(devices, key=lambda d: (d.process_index, d.id))  # every process's
    mine = [(k, d) for k, d in enumerate(devices) if d.process_index == jax.process_index()]
    batched = jax.jit(jax.vmap(lambda p: _as_dict(fn(**p))))

    if chunk_size is None:
        chunk_size = math.ceil(n / len(devices))
        if memory_budget is not None:
            per_point = _memory_per_point(batched, params, probe=64)
            if per_point > 0:
                chunk_size = max(1, int(memory_budget // per_point))
    chunk_size = max(1, min(chunk_size, n))
    done = set()  # chunks finished before, seen alike by every process
    if checkpoint_dir is not None:
        done = {c.name for c in pathlib.Path(checkpoint_dir).glob("chunk-*.npz")}
        agree(",".join(sorted(done)), f"the finished chunks in {checkpoint_dir}")
    n_chunks = math.ceil(n / chunk_size)
    pieces = []
    for first in range(0, n_chunks, len(devices)):  # one chunk per device at once
        chunks = [min(first + k, n_chunks - 1) for k in range(len(devices))]
        pieces += _round(batched, params, chunks, mine, chunk_size, n, checkpoint_dir, done)
        if progress is not None:
            progress(min((first + len(devices)) * chunk_size, n), n)
    pieces = pieces[:n_chunks]
    outputs = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    return SweepResult(
        {k: np.atleast_1d(np.asarray(v)) for k, v in axes.items()},
        {k: v for k, v in params.items()},
        outputs,
    )
