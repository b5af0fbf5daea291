"""Exhaustive PLRNN fixed-point search time vs M (all 2^M linear regions).

jaxrnn's search (vmapped, chunked solves under jit) against a baseline measured
in the same run: NumPy's batched ``np.linalg.solve`` over the same regions
(chunked the same way), for M up to --numpy-max. Prints a table with times,
regions per second and the speed-up. Runs on whatever device JAX uses (CPU
here; on a GPU machine the same command measures the GPU).

    python benchmarks/fixed_point_search.py --M 8 10 12 14 16 18 20
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import jaxrnn  # noqa: E402
from jaxrnn.analysis import fixed_points  # noqa: E402


def random_plrnn(M, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 1.5 / np.sqrt(M), (M, M))
    np.fill_diagonal(W, 0.0)
    return jaxrnn.PLRNN.from_arrays(rng.uniform(-1, 1, M), W, rng.normal(0, 1, M))


def numpy_search(plrnn, chunk):
    A, W, h = (np.asarray(a) for a in (plrnn.A, plrnn.W, plrnn.h))
    M = A.size
    found = 0
    for start in range(0, 2**M, chunk):
        codes = np.arange(start, min(start + chunk, 2**M))
        d = ((codes[:, None] >> np.arange(M)[None, :]) & 1).astype(float)
        lhs = np.eye(M)[None] - (np.diag(A)[None] + W[None] * d[:, None, :])
        z = np.linalg.solve(lhs, np.broadcast_to(h, (len(codes), M))[..., None])[..., 0]
        found += int(np.sum(np.all((z > 0) == (d > 0), axis=1)))
    return found


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--M", type=int, nargs="+", default=[8, 10, 12, 14, 16, 18, 20])
    p.add_argument("--chunk", type=int, default=1 << 14)
    p.add_argument("--numpy-max", type=int, default=18)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    print(f"device: {jax.devices()[0].device_kind} ({jax.devices()[0].platform}), float64, "
          f"chunk {args.chunk}")
    print(f"{'M':>3} {'regions':>9} {'found':>5} {'jaxrnn s':>9} {'regions/s':>11} "
          f"{'numpy s':>9} {'speed-up':>8}")
    for M in args.M:
        model = random_plrnn(M)
        fixed_points(model, chunk_size=args.chunk)  # compile
        t = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            found = fixed_points(model, chunk_size=args.chunk)
            t.append(time.perf_counter() - t0)
        ours = min(t)
        if M <= args.numpy_max:
            t0 = time.perf_counter()
            n_np = numpy_search(model, args.chunk)
            base = time.perf_counter() - t0
            assert n_np >= len(found)  # NumPy counts boundary duplicates too
            base_txt, ratio = f"{base:9.3f}", f"{base / ours:7.1f}x"
        else:
            base_txt, ratio = f"{'-':>9}", f"{'-':>8}"
        print(f"{M:3d} {2**M:9d} {len(found):5d} {ours:9.3f} {2**M / ours:11.3g} {base_txt} "
              f"{ratio}")


if __name__ == "__main__":
    main()
