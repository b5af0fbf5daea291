"""Sweep files: what ``jaxrnn sweep SWEEP.yaml`` reads.

A sweep file names a base (a system, or a training config) and grid axes::

    name: ctrnn_tau_dt
    kind: system                  # or: training
    base:                         # system: a CTRNN; training: a config file path
      model: ctrnn
      hidden_size: 8
      activation: tanh
      gain: 1.5
      seed: 0
    measure: {name: euler_error, n_steps: 200}      # system sweeps only
    set: {train.epochs: 5}                          # training sweeps only: base overrides
    axes:
      tau: {logspace: [-1, 1, 25]}                  # 10^-1 … 10^1, 25 points
      dt: {linspace: [0.01, 0.5, 25]}
      seed: {range: [0, 4]}                         # 0, 1, 2, 3
      model.tau: [0.0, 1.0, 5.0]                    # or a plain list
    outputs: [euler_error, euler_stable]            # default: all
    heatmap: {x: dt, y: tau, value: euler_error, log: true, vmax: 10, contour: euler_stable}
    chunk_size: 4096                                # system sweeps: points per program call
    memory_budget: 2.0e9                            # … or bytes per call

Every problem is a `SweepError` whose one line names the file and key.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field

import numpy as np

from .._config_files import document_fields, read_yaml_mapping
from ._sweep_checks import (
    SweepError,
    check_heatmap,
    check_kind_name_base,
    check_sections,
    number,
)

__all__ = [
    "SweepError",
    "SweepSpec",
    "load_sweep",
    "parse_sweep",
    "axis_values",
]


def _doc(doc: str, **kwargs):
    return field(metadata={"doc": doc}, **kwargs)


@document_fields
@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (see the module docstring for an example)."""

    name: str = _doc("the sweep's name (default output directory: runs/<name>)")
    kind: str = _doc(
        "system (a grid of one system, one vmapped program) or training (a "
        "population of training runs, one vmapped program)"
    )
    base: dict | str = _doc(
        "system: the CTRNN's settings (model, hidden_size, activation, "
        "gain, decay, seed); training: the path of a training config, "
        "relative to the sweep file"
    )
    axes: dict[str, np.ndarray] = _doc(
        "grid axes: a list, {linspace: [a, b, n]}, "
        "{logspace: [a, b, n]} or {range: [start, stop]}; "
        "the grid is their Cartesian product"
    )
    measure: dict = _doc(
        "system sweeps: what to compute at each point ({name: euler_error | trajectory, ...})",
        default_factory=dict,
    )
    set: dict = _doc(
        "training sweeps: overrides of the base config (dotted keys)", default_factory=dict
    )
    outputs: list[str] | None = _doc("the result columns to keep (default: all)", default=None)
    heatmap: dict | None = _doc(
        "for 2-D grids: {x, y, value, log, vmax, contour}, drawn to heatmap.png", default=None
    )
    chunk_size: int | None = _doc("system sweeps: grid points per program call", default=None)
    memory_budget: float | None = _doc(
        "system sweeps: bytes per program call (chooses chunk_size from XLA's memory estimate)",
        default=None,
    )
    dtype: str = _doc(
        "system sweeps: float64 (needs jax_enable_x64; the CLI turns it on) or float32",
        default="float64",
    )
    path: pathlib.Path | None = _doc(
        "where the file was read from (set by load_sweep, not a key of the file)", default=None
    )

    def base_path(self) -> pathlib.Path:
        """The training base config, relative to the sweep file."""
        if not isinstance(self.base, str):
            raise SweepError(f"sweep {self.name!r}: a training sweep's 'base' is a config file")
        p = pathlib.Path(self.base)
        return p if p.is_absolute() or self.path is None else self.path.parent / p


def axis_values(name: str, spec) -> np.ndarray:
    """An axis from a list, ``{linspace: [a, b, n]}``, ``{logspace: [a, b, n]}`` (10^a … 10^b)
    or ``{range: [start, stop]}`` / ``{range: [start, stop, step]}`` (integers).

    **Arguments:**

    - `name`: the axis's name (a dotted config key or a system setting), used in errors.
    - `spec`: the axis as written in the sweep file.

    **Returns:**

    The axis values, a 1-D array. Raises `SweepError` naming the axis when ``spec``
    is not one of the forms above.
    """
    key = f"axes.{name}"
    if isinstance(spec, list):
        if not spec:
            raise SweepError(f"sweep key '{key}': empty list")
        values = [number(v, f"{key}[{i}]") for i, v in enumerate(spec)]
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in spec)
        return np.asarray(spec if ints else values)
    if isinstance(spec, dict) and len(spec) == 1:
        ((how, args),) = spec.items()
        where = f"{key}.{how}"
        if how not in ("linspace", "logspace", "range"):
            raise SweepError(
                f"sweep key '{where}': unknown axis form (use a list, linspace, logspace or range)"
            )
        if not isinstance(args, list):
            raise SweepError(f"sweep key '{where}': expected a list of numbers, got {args!r}")
        nums = [number(v, f"{where}[{i}]") for i, v in enumerate(args)]
        if how == "range":
            if len(nums) not in (2, 3) or any(not float(v).is_integer() for v in nums):
                raise SweepError(
                    f"sweep key '{where}': expected [start, stop] or "
                    f"[start, stop, step] integers, got {args!r}"
                )
            values = np.arange(*[int(v) for v in nums])
        else:
            if len(nums) != 3 or not float(nums[2]).is_integer() or nums[2] < 1:
                raise SweepError(
                    f"sweep key '{where}': expected [start, stop, count], got {args!r}"
                )
            fn = np.linspace if how == "linspace" else np.logspace
            values = fn(nums[0], nums[1], int(nums[2]))
        if values.size == 0:
            raise SweepError(f"sweep key '{where}': the axis is empty")
        return values
    raise SweepError(
        f"sweep key '{key}': expected a list or one of linspace/logspace/range, got {spec!r}"
    )


def parse_sweep(raw: object, path: pathlib.Path | None = None) -> SweepSpec:
    """A validated `SweepSpec` from a mapping (as read from YAML).

    **Arguments:**

    - `raw`: the mapping (the sweep file's contents).
    - `path`: the file it came from (training sweeps resolve ``base`` against it).

    **Returns:**

    The `SweepSpec`. Raises `SweepError` naming the offending key.
    """
    if not isinstance(raw, dict):
        raise SweepError(f"sweep file {path}: expected a mapping at the top level")
    kind, name, base = check_kind_name_base(raw, path)
    axes = {str(k): axis_values(str(k), v) for k, v in raw["axes"].items()}
    check_sections(raw, kind)
    outputs = raw.get("outputs")
    if outputs is not None and (
        not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs)
    ):
        raise SweepError(f"sweep key 'outputs': expected a list of names, got {outputs!r}")
    chunk = raw.get("chunk_size")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise SweepError(f"sweep key 'chunk_size': expected an integer >= 1, got {chunk!r}")
    budget = raw.get("memory_budget")
    if budget is not None and number(budget, "memory_budget") <= 0:
        raise SweepError(f"sweep key 'memory_budget': must be > 0 bytes, got {budget!r}")
    dtype = raw.get("dtype", "float64")
    if dtype not in ("float32", "float64"):
        raise SweepError(f"sweep key 'dtype': must be float32 or float64, got {dtype!r}")
    heatmap = check_heatmap(raw.get("heatmap"), axes)
    return SweepSpec(
        name=name,
        kind=kind,
        base=base,
        axes=axes,
        measure=raw.get("measure", {}),
        set=raw.get("set", {}),
        outputs=outputs,
        heatmap=heatmap,
        chunk_size=chunk,
        memory_budget=None if budget is None else float(budget),
        dtype=dtype,
        path=path,
    )


def load_sweep(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and validate a sweep file.

    **Arguments:**

    - `path`: the YAML sweep file.

    **Returns:**

    The `SweepSpec`. Raises `SweepError` naming the file and the offending key.
    """
    path = pathlib.Path(path)
    return parse_sweep(read_yaml_mapping(path, "sweep", SweepError), path)
