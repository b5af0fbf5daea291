"""``simulate(solver="euler")`` against a bare ``lax.scan`` and ``diffrax.diffeqsolve(Euler)``.

The same CTRNN (``h' = −h + tanh(W h + b)``), the same step Δ and number of
steps, every state saved; all three jitted, timed after compilation, best of
several rounds. The bare scan is the floor: a hand-written loop with nothing
but the Euler update. ``simulate`` is shown with its default per-step
divergence check and with ``divergence_threshold=None``; both with and without
a batch of initial states (vmap). Goal: within 1.2× of the bare scan.

    python benchmarks/simulate_euler.py
"""

from __future__ import annotations

import argparse
import sys
import pathlib

import diffrax
import jax
import jax.numpy as jnp

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import best_time, machine, table  # noqa: E402

import jaxrnn  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    N, dt = args.steps, 0.01
    rows = []
    for M in args.hidden:
        model = jaxrnn.CTRNN(M, key=jax.random.PRNGKey(0), gain=1.2)
        W, b = model.W, model.bias

        def bare(y0):
            def body(h, _):
                h = h + dt * (-h + jnp.tanh(W @ h + b))
                return h, h
            _, ys = jax.lax.scan(body, y0, None, length=N)
            return jnp.concatenate([y0[None], ys])

        def ours(y0, threshold):
            return jaxrnn.simulate(model, y0, N, dt=dt, solver="euler",
                                   divergence_threshold=threshold).ys

        def dfx(y0):
            term = diffrax.ODETerm(lambda t, y, a: model.vector_field(t, y, jnp.zeros((0,))))
            ts = dt * jnp.arange(N + 1)
            return diffrax.diffeqsolve(term, diffrax.Euler(), 0.0, N * dt, dt, y0,
                                       saveat=diffrax.SaveAt(ts=ts), max_steps=N + 8).ys

        variants = {
            "bare lax.scan": bare,
            "simulate (euler, no divergence check)": lambda y: ours(y, None),
            "simulate (euler, default check)": lambda y: ours(y, 1e8),
            "diffrax Euler": dfx,
        }
        for batched in (False, True):
            shape = (args.batch, M) if batched else (M,)
            y0 = jax.random.normal(jax.random.PRNGKey(1), shape)
            times = {}
            for name, fn in variants.items():
                f = jax.jit(jax.vmap(fn) if batched else fn)
                jax.block_until_ready(f(y0))
                times[name] = best_time(lambda: f(y0), repeats=5)
            base = times["bare lax.scan"]
            for name, t in times.items():
                rows.append([M, args.batch if batched else 1, name, t * 1e3, t / base])
    print(f"# simulate(euler) vs bare scan vs diffrax, {N} steps; {machine()}")
    print(table(["M", "batch", "variant", "ms per call", "x bare scan"], rows))


if __name__ == "__main__":
    main()
