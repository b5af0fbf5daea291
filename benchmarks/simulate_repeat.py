"""A repeated eager ``simulate`` call: compiled once, then reused with new weights.

``simulate`` resolves its arguments in Python and runs the Euler/map scan or the diffrax
solve through module-level ``eqx.filter_jit`` functions that take the system as an
argument, so a second call with new weights of the same shapes does not trace or compile
again. The baseline, timed in the same run, is the first call (trace + compile + run),
which is what every call cost when ``simulate`` built fresh closures per call. Each
repeat uses a CTRNN with new random weights (8 units, 500 steps, Δ = 0.01).

    python benchmarks/simulate_repeat.py
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import machine, table  # noqa: E402

import jaxrnn  # noqa: E402


def _call(solver: str, seed: int) -> float:
    model = jaxrnn.CTRNN(8, key=jax.random.PRNGKey(seed))
    t0 = time.perf_counter()
    sol = jaxrnn.simulate(model, 0.1 * jnp.ones(8), dt=0.01, n_steps=500, solver=solver)
    jax.block_until_ready(sol.ys)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    rows = []
    for solver in ("euler", "tsit5"):
        first = _call(solver, 0)
        again = min(_call(solver, seed) for seed in range(1, args.repeats + 1))
        rows.append([solver, f"{first * 1e3:.1f}", f"{again * 1e3:.2f}", f"{first / again:.0f}x"])
    print(machine())
    print(table(["solver", "first call (ms, compiles)", "repeat, new weights (ms, best)",
                 "first / repeat"], rows))


if __name__ == "__main__":
    main()
