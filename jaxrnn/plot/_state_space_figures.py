"""State-space figures (matplotlib): flow field, nullclines, fixed points by type,
manifolds, basins, trajectories; 3-D projections for M > 2."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from .._system_kinds import AbstractContinuousSystem, AbstractDiscreteSystem

__all__ = ["state_space", "trajectory_3d", "FIXED_POINT_STYLE"]

FIXED_POINT_STYLE = {  # kind prefix -> (marker, facecolor)
    "stable": ("o", "k"),
    "unstable": ("o", "none"),
    "saddle": ("X", "tab:orange"),
    "non-hyperbolic": ("D", "tab:purple"),
}


def _style(kind: str):
    for prefix, style in FIXED_POINT_STYLE.items():
        if kind.startswith(prefix):
            return style
    return ("s", "grey")


def _field(system, pts, x):
    if isinstance(system, AbstractContinuousSystem):
        return jax.vmap(lambda p: system.vector_field(0.0, p, x))(pts)
    if isinstance(system, AbstractDiscreteSystem):
        return jax.vmap(lambda p: system.step(p, x) - p)(pts)  # the map's displacement
    raise TypeError(f"state_space needs a jaxrnn system, got {type(system).__name__}")


def state_space(
    system,
    ax: Any = None,
    *,
    xlim: tuple[float, float] = (-3, 3),
    ylim: tuple[float, float] = (-3, 3),
    dims: tuple[int, ...] = (0, 1),
    slice_at: ArrayLike | None = None,
    x: object | None = None,
    resolution: int = 25,
    nullclines: bool = True,
    fixed_points: Any | None = None,
    manifolds: Sequence[Any] = (),
    basins: Any | None = None,
    basin_grid: tuple[np.ndarray, np.ndarray] | None = None,
    trajectories: Sequence[ArrayLike] = (),
    title: str | None = None,
):
    """Draw a 2-D state-space picture of ``system`` on ``ax``: the flow field (arrows of
    ``f(z)`` for flows, of the displacement ``F(z) − z`` for maps) on a grid over
    ``dims``, its nullclines, and any analysis results passed in.

    **Arguments:**

    - `system`: a flow or a map of the core API (a CTRNN, a PLRNN, …).
    - `ax`: a matplotlib ``Axes`` (default: a new figure's axes).
    - `xlim`: the range of the first plotted coordinate.
    - `ylim`: the range of the second plotted coordinate.
    - `dims`: the two state coordinates plotted.
    - `slice_at`: the state whose other coordinates are held fixed (default 0).
    - `x`: the constant input (default 0).
    - `resolution`: grid points per axis of the arrows and nullclines.
    - `nullclines`: draw the zero sets of the two plotted components.
    - `fixed_points`: a `FixedPoints` or `PLRNNCycles` result, marked by kind.
    - `manifolds`: `Manifold` objects (stable blue, unstable red).
    - `basins`: a `Basins` result computed on the grid ``basin_grid``.
    - `basin_grid`: ``(X, Y)``, the meshgrid arrays of the basins' initial states.
    - `trajectories`: arrays ``(T, M)`` drawn as lines.
    - `title`: the axes' title.

    **Returns:**

    The ``Axes`` drawn on.
    """
    import matplotlib.pyplot as plt

    ax = plt.gca() if ax is None else ax
    M = system.state_size
    i, j = dims
    base = np.zeros(M) if slice_at is None else np.asarray(slice_at, dtype=float)
    xs = jnp.zeros((system.input_size,)) if x is None else jnp.asarray(x)
    if basins is not None and basin_grid is not None:
        X, Y = basin_grid
        labels = np.asarray(basins.labels).reshape(X.shape)
        ax.pcolormesh(X, Y, labels, shading="nearest", cmap="Pastel1", alpha=0.8)
    gx = np.linspace(xlim[0], xlim[1], resolution)
    gy = np.linspace(ylim[0], ylim[1], resolution)
    GX, GY = np.meshgrid(gx, gy)
    pts = np.tile(base, (GX.size, 1))
    pts[:, i], pts[:, j] = GX.ravel(), GY.ravel()
    V = np.asarray(_field(system, jnp.asarray(pts), xs))
    ax.quiver(
        GX,
        GY,
        V[:, i].reshape(GX.shape),
        V[:, j].reshape(GX.shape),
        color="0.55",
        angles="xy",
        width=0.002,
    )
    if nullclines:
        fine = 200
        FX, FY = np.meshgrid(
            np.linspace(xlim[0], xlim[1], fine), np.linspace(ylim[0], ylim[1], fine)
        )
        fp = np.tile(base, (FX.size, 1))
        fp[:, i], fp[:, j] = FX.ravel(), FY.ravel()
        FV = np.asarray(_field(system, jnp.asarray(fp), xs))
        for dim, color in ((i, "tab:green"), (j, "tab:purple")):  # dz_dim/dt = 0
            ax.contour(
                FX,
                FY,
                FV[:, dim].reshape(FX.shape),
                levels=[0],
                colors=color,
                linewidths=0.8,
                linestyles="--",
            )
    for man in manifolds:
        colour = "tab:blue" if man.kind == "stable" else "tab:red"
        if man.dimension == 1 and len(man.segments):
            seg = man.segments[:, :, [i, j]]
            from matplotlib.collections import LineCollection

            ax.add_collection(LineCollection(seg, colors=colour, linewidths=1.0))
        else:
            ax.plot(man.points[:, i], man.points[:, j], ".", ms=1, color=colour)
    for ys in trajectories:
        ys = np.asarray(ys)
        ax.plot(ys[:, i], ys[:, j], "-", lw=0.6, color="k", alpha=0.6)
    if fixed_points is not None:
        points = np.asarray(fixed_points.points)
        if points.ndim == 2:  # FixedPoints: (n, M) -> one-point cycles (n, 1, M)
            points = points[:, None, :]
        for cyc, kind in zip(points, fixed_points.kinds):  # PLRNNCycles: (n, k, M)
            marker, face = _style(kind)
            ax.scatter(
                cyc[:, i],
                cyc[:, j],
                marker=marker,
                facecolors=face,
                edgecolors="k",
                s=45,
                zorder=5,
                label=kind,
            )
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        if uniq:
            ax.legend(uniq.values(), uniq.keys(), fontsize=7, loc="best")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(f"z{i + 1}")
    ax.set_ylabel(f"z{j + 1}")
    if title:
        ax.set_title(title)
    return ax


def trajectory_3d(
    ys: ArrayLike,
    dims: tuple[int, ...] = (0, 1, 2),
    ax: Any = None,
    *,
    points: ArrayLike | None = None,
    title: str | None = None,
):
    """A 3-D projection of a trajectory onto ``dims``, with optional marked points.

    **Arguments:**

    - `ys`: the trajectory, shape ``(T, M)``.
    - `dims`: the three state coordinates plotted.
    - `ax`: a matplotlib 3-D ``Axes`` (default: a new figure's).
    - `points`: states ``(k, M)`` to mark (e.g. fixed points or a cycle).
    - `title`: the axes' title.

    **Returns:**

    The ``Axes`` drawn on.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.figure().add_subplot(projection="3d")
    ys = np.asarray(ys)
    a, b, c = dims
    ax.plot(ys[:, a], ys[:, b], ys[:, c], lw=0.5)
    if points is not None:
        p = np.asarray(points).reshape(-1, ys.shape[1])
        ax.scatter(p[:, a], p[:, b], p[:, c], color="tab:red", s=20)  # pyright: ignore[reportArgumentType] (a 3-D axes: the third is zs)
    ax.set_xlabel(f"z{a + 1}")
    ax.set_ylabel(f"z{b + 1}")
    ax.set_zlabel(f"z{c + 1}")
    if title:
        ax.set_title(title)
    return ax
