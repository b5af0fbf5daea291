"""Run a sweep file: one vmapped program over the grid, ``results.csv``, a heat map.

System sweeps go through `jaxrnn.sweep` (chunked, sharded over local devices);
training sweeps through `jaxrnn.training.train_population` (every grid point a
member of one vmapped population). Output directory::

    sweep.yaml      the sweep file as run
    results.csv     one row per grid point: the axis values, then the outputs
    heatmap.png     for 2-D grids: the chosen output over the two axes
    population/     training sweeps: the population's run directory (resumable)
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from .._distributed import barrier, is_writer
from .._grid_sweep import grid_points, sweep
from .._validate import require_x64
from ..training import POPULATION_KEYS, load_config, population_configs, train_population
from ..training._checkpoint import write_csv
from ..training._objectives import objective_class
from ..training._population import check_population
from ..training._run_lock import RunExists
from ._sweep_file import SweepError, SweepSpec
from ._system_studies import make_study

__all__ = ["run_sweep", "plot_heatmap"]


def _outputs(spec: SweepSpec, available) -> list[str]:
    if spec.outputs is None:
        return list(available)
    for o in spec.outputs:
        if o not in available:
            raise SweepError(
                f"sweep key 'outputs': unknown output {o!r} (available: {', '.join(available)})"
            )
    return list(spec.outputs)


def plot_heatmap(
    rows: list[dict],
    x: str,
    y: str,
    value: str,
    path: str | os.PathLike[str],
    *,
    log: bool = False,
    title: str = "",
    vmax: float | None = None,
    contour: str | None = None,
) -> None:
    """``value`` over the (x, y) grid as an image, axes labelled with the grid values;
    values above ``vmax`` (and inf) show as ``vmax``; ``contour`` draws the 0.5 level of
    another output (e.g. a 0/1 stability flag).

    **Arguments:**

    - `rows`: the sweep's rows (one dict per grid point, as in ``results.csv``).
    - `x`: the column on the horizontal axis.
    - `y`: the column on the vertical axis.
    - `value`: the column shown as colour.
    - `path`: the PNG file written (atomically).
    - `log`: colour by log10 of the value.
    - `title`: the figure's title.
    - `vmax`: the top of the colour scale (default: the largest finite value).
    - `contour`: a column whose 0.5 level is drawn over the image.
    """
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is untouched

    xs = sorted({r[x] for r in rows})
    ys = sorted({r[y] for r in rows})

    def as_grid(name):
        grid = np.full((len(ys), len(xs)), np.nan)
        for r in rows:
            v = r[name]
            grid[ys.index(r[y]), xs.index(r[x])] = np.nan if v is None else float(v)
        return grid

    grid = as_grid(value)
    if vmax is not None:
        grid = np.where(np.isnan(grid), np.nan, np.minimum(grid, vmax))
    fig = Figure(figsize=(6.4, 5))
    ax = fig.subplots()
    shown = np.log10(np.where(grid > 0, grid, np.nan)) if log else grid
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis")
    label = f"log10 {value}" if log else value
    fig.colorbar(im, ax=ax, label=label + (f" (clipped at {vmax:g})" if vmax is not None else ""))
    if contour is not None and min(grid.shape) >= 2:
        cs = ax.contour(as_grid(contour), levels=[0.5], colors="w", linewidths=1.5)
        ax.clabel(cs, fmt={0.5: contour}, fontsize=8)

    def ticks(vals):
        idx = np.unique(np.linspace(0, len(vals) - 1, min(len(vals), 6)).round().astype(int))
        return idx, [f"{vals[i]:.3g}" for i in idx]

    ax.set_xticks(*ticks(xs))
    ax.set_yticks(*ticks(ys))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or value, fontsize=10)
    fig.tight_layout()
    tmp = pathlib.Path(path).with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    tmp.replace(path)


def _heatmap_settings(spec: SweepSpec, outputs) -> dict | None:
    """The heatmap to draw (x, y, value, contour, vmax, log), checked; None for no heatmap."""
    names = list(spec.axes)
    if len(names) != 2 and not spec.heatmap:
        return None
    hm = spec.heatmap or {}
    x, y = hm.get("x", names[-1]), hm.get("y", names[0])
    value = hm.get("value", outputs[0])
    if value not in outputs:
        raise SweepError(
            f"sweep key 'heatmap.value': {value!r} is not an output ({', '.join(outputs)})"
        )
    if len(names) != 2:
        raise SweepError(f"sweep key 'heatmap': needs a 2-D grid, this one has {len(names)} axes")
    contour = hm.get("contour")
    if contour is not None and contour not in outputs:
        raise SweepError(
            f"sweep key 'heatmap.contour': {contour!r} is not an output ({', '.join(outputs)})"
        )
    vmax = hm.get("vmax")
    return {
        "x": x,
        "y": y,
        "value": value,
        "log": bool(hm.get("log", False)),
        "vmax": None if vmax is None else float(vmax),
        "contour": contour,
    }


def _heatmap(spec: SweepSpec, rows, settings: dict | None, out: pathlib.Path) -> None:
    if settings is None:
        return
    plot_heatmap(
        rows,
        settings["x"],
        settings["y"],
        settings["value"],
        out / "heatmap.png",
        log=settings["log"],
        title=spec.name,
        vmax=settings["vmax"],
        contour=settings["contour"],
    )


def _prepare_system(spec: SweepSpec):
    """Build and check a system sweep; returns (run(out, progress) -> rows, outputs)."""
    if spec.dtype == "float64":
        require_x64(f"sweep {spec.name!r} (dtype: float64)")
    dtype = jnp.float64 if spec.dtype == "float64" else jnp.float32
    if not isinstance(spec.base, dict):
        raise SweepError(f"sweep {spec.name!r}: a system sweep's 'base' is a mapping")
    fn, available = make_study(spec.base, spec.measure, tuple(spec.axes), dtype)
    outputs = _outputs(spec, available)

    def run(out: pathlib.Path, progress: bool, resume: bool, stop):
        def report(done, total):
            if progress and is_writer():
                print(f"{spec.name}: {done}/{total} grid points", file=sys.stderr, flush=True)
            if stop is not None and stop():  # after a chunk is kept: resumes from there
                raise KeyboardInterrupt

        chunks = out / "chunks"  # finished chunks: an interrupted sweep resumes from them
        if is_writer():
            chunks.mkdir(exist_ok=True)
        barrier("jaxrnn sweep: chunks directory")
        done = sum(
            int(c.name.split("-")[2]) - int(c.name.split("-")[1])
            for c in chunks.glob("chunk-*-*-of-*.npz")
        )
        if done and progress and is_writer():
            print(
                f"{spec.name}: resuming, {done} grid points already done",
                file=sys.stderr,
                flush=True,
            )
        result = sweep(
            lambda **p: {k: v for k, v in fn(**p).items() if k in outputs},
            spec.axes,
            chunk_size=spec.chunk_size,
            memory_budget=spec.memory_budget,
            dtype=dtype,
            progress=report,
            checkpoint_dir=chunks,
        )
        return result.rows()

    return run, outputs


def _prepare_training(spec: SweepSpec):
    """Check a training sweep down to every grid point's config; returns (run, outputs)."""
    for a in spec.axes:
        if a not in POPULATION_KEYS or a == "name":
            raise SweepError(
                f"sweep key 'axes.{a}': a training sweep can vary "
                f"{', '.join(k for k in POPULATION_KEYS if k != 'name')} "
                "(settings that keep array shapes)"
            )
    base_path = spec.base_path()
    if not base_path.is_file():
        raise SweepError(f"sweep key 'base': config file {base_path} not found")
    overrides = [f"{k}={v}" for k, v in spec.set.items()]
    base = load_config(base_path, overrides)
    available = objective_class(base.task.name).sweep_columns
    outputs = _outputs(spec, available)
    points = grid_points(spec.axes)
    n = len(next(iter(points.values())))
    to_py = lambda v: v.item() if hasattr(v, "item") else v  # noqa: E731
    changes = [{k: to_py(points[k][i]) for k in spec.axes} for i in range(n)]
    check_population(population_configs(base, changes))  # every grid point's config validates

    def run(out: pathlib.Path, progress: bool, resume: bool, stop):
        summaries = train_population(
            base,
            changes,
            out / "population",
            resume=resume and (out / "population").exists(),
            progress=progress,
            stop=stop,
        )
        return [
            {**c, **{o: s.get(o) for o in outputs}, "status": s["status"]}
            for c, s in zip(changes, summaries)
        ]

    return run, outputs


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike[str],
    *,
    progress: bool = True,
    resume: bool = False,
    stop: Callable[[], bool] | None = None,
) -> list[dict]:
    """Run a sweep into directory ``out``.

    The whole sweep (every axis, every grid point's config, the outputs and the
    heatmap) is checked before anything is created: a bad sweep leaves no directory.

    **Arguments:**

    - `spec`: the validated sweep (`load_sweep`).
    - `out`: the output directory (``results.csv``, ``heatmap.png``, the run
      directories of a training sweep).
    - `progress`: show progress bars.
    - `resume`: continue an interrupted sweep in ``out`` (otherwise an existing
      ``out`` is refused).
    - `stop`: asked after every chunk (of grid points, or of a training sweep's
      steps); once it returns True the call raises KeyboardInterrupt, as Ctrl-C would,
      and ``resume`` continues from what was kept (see `jaxrnn.training.train`).

    **Returns:**

    The rows of ``results.csv``, one dict per grid point.
    """
    out = pathlib.Path(out)
    if (out / "results.csv").exists() and not resume:
        raise RunExists(f"{out} already holds a sweep's results: choose another --out")
    if spec.kind == "training" and (out / "population").exists() and not resume:
        raise RunExists(f"{out} already holds a training sweep: pass --resume to continue it")
    if spec.kind == "system" and (out / "chunks").exists() and not resume:
        raise RunExists(f"{out} holds an interrupted sweep: pass --resume to finish it")
    run, outputs = (_prepare_system if spec.kind == "system" else _prepare_training)(spec)
    heatmap = _heatmap_settings(spec, outputs)
    barrier("jaxrnn sweep: checked")  # every process has looked before any writes
    if is_writer():  # several processes: process 0 writes the shared files
        out.mkdir(parents=True, exist_ok=True)
        if spec.path is not None and spec.path.resolve() != (out / "sweep.yaml").resolve():
            shutil.copyfile(spec.path, out / "sweep.yaml")
    barrier("jaxrnn sweep: directory")
    rows = run(out, progress, resume, stop)
    if is_writer():
        write_csv(out / "results.csv", rows)
        _heatmap(spec, rows, heatmap, out)
        if (out / "chunks").is_dir():  # results.csv holds them now
            shutil.rmtree(out / "chunks")
    barrier("jaxrnn sweep: written")
    return rows
