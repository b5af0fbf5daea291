"""Eisenmann et al., use 2: a chaotic PLRNN, its saddle cycle's manifolds and homoclinic points.

The 2-D PLRNN below (found by a random search with ``lyapunov_spectrum``) has an
invertible map and a chaotic attractor. SCYFI, seeded with the regions a long
trajectory visits, finds saddle 12-cycles embedded in the attractor; the
manifolds of the first are traced piecewise exactly, and their transversal
intersections (homoclinic points) prove chaos. Writes ``chaos.png`` and
``summary.txt``.

    python experiments/plrnn_chaos.py --out runs/plrnn_chaos
"""

from __future__ import annotations

import argparse
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxrnn  # noqa: E402
from jaxrnn.systems import chaotic_plrnn  # noqa: E402
from jaxrnn.analysis import (  # noqa: E402
    cycles,
    fixed_points,
    homoclinic_points,
    kaplan_yorke_dimension,
    lyapunov_spectrum,
    stable_manifold,
    trajectory_seeds,
    unstable_manifold,
)



def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/plrnn_chaos")
    p.add_argument("--order", type=int, default=12, help="cycle order to search")
    p.add_argument("--n-iter", type=int, default=2, help="manifold continuation iterations")
    args = p.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plrnn = chaotic_plrnn()
    z0 = jnp.array([0.1, -0.2])
    spec = lyapunov_spectrum(plrnn, z0, 100_000, transient=1000)
    ys = np.asarray(jaxrnn.simulate(plrnn, z0, 20_000).ys[1000:])
    fps = fixed_points(plrnn)
    found = cycles(plrnn, args.order, method="scyfi", n_init=200,
                   seeds=trajectory_seeds(ys[:3000], args.order, stride=5))
    lines = [
        "Chaotic 2-D PLRNN: A = diag(1.177, 0.426), W = [[0, 1.185], [-1.821, 0]], "
        "h = (-0.18, 0.265)",
        f"Lyapunov spectrum (1e5 steps): {np.round(np.asarray(spec), 4).tolist()}, Kaplan-Yorke "
        f"dimension {kaplan_yorke_dimension(spec):.3f}",
        repr(fps),
        repr(found),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    axes[0].plot(ys[:, 0], ys[:, 1], ",", color="k", alpha=0.5)
    axes[1].plot(ys[:, 0], ys[:, 1], ",", color="0.6")
    if len(found):
        U = unstable_manifold(plrnn, found, index=0, n_iter=args.n_iter)
        S = stable_manifold(plrnn, found, index=0, n_iter=args.n_iter)
        H = homoclinic_points(U, S)
        lines.append(f"saddle {args.order}-cycle #0 (eigenvalues of the product Jacobian "
                     f"{np.round(found.eigenvalues[0], 6).tolist()}): W^u {len(U.segments)} "
                     f"segments, W^s {len(S.segments)} segments, {len(H)} homoclinic points")
        from matplotlib.collections import LineCollection

        axes[1].add_collection(LineCollection(U.segments, colors="tab:red", linewidths=0.5))
        axes[1].add_collection(LineCollection(S.segments, colors="tab:blue", linewidths=0.5))
        axes[1].plot(H[:, 0], H[:, 1], "o", ms=2.5, mfc="none", mec="tab:green",
                     label=f"{len(H)} homoclinic points")
        axes[1].plot(found.points[0, :, 0], found.points[0, :, 1], "kX", ms=7,
                     label=f"saddle {args.order}-cycle")
        axes[1].legend(fontsize=8)
    lo, hi = ys.min(0) - 0.3, ys.max(0) + 0.3
    for ax in axes:
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
    axes[0].set_title(f"chaotic attractor, largest exponent {float(spec[0]):.3f}")
    axes[1].set_title("W^u (red), W^s (blue) of a saddle cycle")
    fig.tight_layout()
    fig.savefig(out / "chaos.png", dpi=110)
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
