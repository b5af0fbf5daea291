"""Achieved FLOP/s of a τ × Δ sweep against this machine's matmul ceiling.

The sweep: ``jaxrnn.sweep`` over a τ × Δ grid of G points, each running
forward Euler on the τ-rescaled CTRNN (``h' = τ(−h + tanh(W h + b))``) for N
steps (``simulate(solver="euler", saveat="t1")``): one vmapped program. FLOPs
are counted analytically, ``G·N·(2M² + 8M)`` (tanh counted as one). The
ceiling: a ``lax.scan`` of N dependent (G×M)·(M×M) matmuls, timed in the same
run. On a GPU the same command measures the GPU (the issue's ≥ 10⁴ points ×
10⁴ steps: ``--grid 100 100 --steps 10000``).

    python benchmarks/sweep_flops.py --grid 32 32 --steps 2000 --hidden 64
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import best_time, machine, table  # noqa: E402

import jaxrnn  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, nargs=2, default=[32, 32])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--hidden", type=int, nargs="+", default=[16, 64])
    args = ap.parse_args(argv)
    n_tau, n_dt = args.grid
    N = args.steps
    G = n_tau * n_dt
    rows = []
    for M in args.hidden:
        model = jaxrnn.CTRNN(M, key=jax.random.PRNGKey(0), gain=0.8)
        y0 = jax.random.normal(jax.random.PRNGKey(1), (M,))

        def point(tau, dt):
            flow = jaxrnn.rescale(model, tau)
            return jaxrnn.simulate(flow, y0, N, dt=dt, solver="euler", saveat="t1",
                                   divergence_threshold=None).ys[-1]

        axes = {"tau": np.logspace(-1, 0, n_tau), "dt": np.logspace(-3, -1, n_dt)}
        jaxrnn.sweep(point, axes)  # compile
        t_sweep = best_time(lambda: jaxrnn.sweep(point, axes).outputs["value"], repeats=3)
        flops = G * N * (2 * M * M + 8 * M)

        W = jax.random.normal(jax.random.PRNGKey(2), (M, M)) / np.sqrt(M)
        z0 = jax.random.normal(jax.random.PRNGKey(3), (G, M))

        @jax.jit
        def ceiling(z):
            return jax.lax.scan(lambda z, _: (z @ W, None), z, None, length=N)[0]

        jax.block_until_ready(ceiling(z0))
        t_ceiling = best_time(lambda: ceiling(z0), repeats=3)
        achieved, peak = flops / t_sweep, 2 * G * N * M * M / t_ceiling
        rows.append([M, G, N, t_sweep, achieved / 1e9, peak / 1e9, achieved / peak])
    print(f"# tau x dt sweep (Euler, CTRNN) FLOP/s vs a matmul loop of the same shape; "
          f"{machine()}")
    print(table(["M", "grid points", "steps", "sweep s", "achieved GFLOP/s",
                 "ceiling GFLOP/s", "fraction"], rows))


if __name__ == "__main__":
    main()
