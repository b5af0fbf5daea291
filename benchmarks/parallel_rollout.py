"""Sequential scan vs the parallel-in-time PLRNN (exact Newton/DEER pattern iteration):
wall time, Newton iterations and FLOPs, on whatever device JAX has (this CPU, or a GPU).

For each T ∈ {100, 784, 10⁴}, B ∈ {1, 16, 500}, M ∈ {8, 40} (float32, as training runs):
an rPLRNN at the authors' initialisation (M_reg = M/2, K = 2) driven by addition-task
inputs from z₀ = 0, evaluated

- **sequential**: `plrnn_rollout(..., method="sequential")` (one ``lax.scan`` of T steps);
- **parallel**: `parallel_plrnn_rollout` (each iteration one associative scan over the
  T affine maps (J_t, b_t)), iterated until no ReLU pattern changes.

Times are best of 3 after a compile, forward (all states) and forward + gradient of
``Σ z_T²`` (the training case: the hand-written reverse pass against the adjoint
associative scan). A trained model's dynamics need more iterations than an initial one:
the rows marked "trained" use the committed addition T = 40 PLRNN (M = 40).

FLOPs per iteration of the parallel method are counted analytically: forming J_t
(B·M² per step) and the associative scan (≈ 2T combines, each a (M×M)(M×M) product and a
matrix-vector product: 2M³ + 2M²), against the sequential scan's ``2BM² + 2BMK + 4BM``
per step. Depth: T dependent steps against ≈ 2 log₂ T scan levels per iteration. The
last table is a prediction for an H100-class GPU from these counts (assumptions printed
with it), not a measurement. Cases whose parallel state (T·B·M² floats, about four
copies) exceeds ``--memory-gb`` are skipped and say so; the parallel iterations of one
call are capped at ``--flop-budget`` FLOPs, and a case that does not converge within it
reports "> cap" iterations, the capped forward time, and no gradient.

    python benchmarks/parallel_rollout.py [--T 100 784 10000] [--B 1 16 500] [--M 8 40]
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import best_time, machine, table  # noqa: E402

import jaxrnn  # noqa: E402
from jaxrnn.models import parallel_plrnn_rollout, plrnn_rollout  # noqa: E402
from jaxrnn.training import load_model  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
TRAINED = ROOT / "experiments/fig2/populations/authors/addition_plrnn_T40/members/seed0"
K = 2

# GPU prediction (H100-class, float32): stated assumptions, not measurements
STEP_LATENCY = 6e-6  # s per sequential time step (a while-loop iteration of small kernels)
LEVEL_LATENCY = 15e-6  # s per associative-scan level (a few fused kernels)
GPU_FLOPS = 2e13  # sustained FLOP/s of batched small matmuls (peak fp32 ≈ 6.7e13)


def _flops(T, B, M):
    seq = T * (2 * B * M * M + 2 * B * M * K + 4 * B * M)
    per_iteration = T * B * M * M + 2 * T * B * (2 * M**3 + 2 * M * M)
    return seq, per_iteration


@jax.jit
def _sequential(A, W, h, C, z0, s):
    return plrnn_rollout(A, W, h, C, z0, s)


@jax.jit(static_argnames="cap")
def _parallel(A, W, h, C, z0, s, cap):
    out = parallel_plrnn_rollout(A, W, h, C, z0, s, max_iterations=cap)
    return out.states[-1], out.iterations, out.converged


def _loss(method):
    def f(params, z0, s):
        return jnp.sum(plrnn_rollout(*params, z0, s, method=method) ** 2)

    return jax.jit(jax.grad(f))


GRADS = {m: _loss(m) for m in ("sequential", "parallel")}


def _inputs(T, B, rng):
    marks = rng.uniform(size=(T, B)) < 2.0 / T
    return jnp.asarray(np.stack([rng.uniform(size=(T, B)), marks], -1), jnp.float32)


def case(model, T, B, rng, memory_gb, flop_budget):
    """((times, iterations, converged, rel. difference), GB needed, FLOPs); the parallel
    method is capped at the iterations the FLOP budget allows."""
    M = model.state_size
    need = 4 * 4 * T * B * M * M / 2**30
    seq_flops, it_flops = _flops(T, B, M)
    if need > memory_gb:
        return None, need, seq_flops, it_flops
    cap = max(1, min(T, int(flop_budget // it_flops)))
    s, z0 = _inputs(T, B, rng), jnp.zeros((B, M), jnp.float32)
    params = (model.A, model.W, model.h, model.C)
    ref = _sequential(*params, z0, s)
    last, iters, done = _parallel(*params, z0, s, cap)
    converged = bool(np.all(done))
    err = float(jnp.max(jnp.abs(last - ref)) / (jnp.max(jnp.abs(ref)) + 1e-30))
    times = [best_time(lambda: _sequential(*params, z0, s), repeats=3),
             best_time(lambda: _parallel(*params, z0, s, cap), repeats=3)]
    for method in ("sequential", "parallel") if converged else ("sequential",):
        jax.block_until_ready(GRADS[method](params, z0, s))
        times.append(best_time(lambda m=method: GRADS[m](params, z0, s), repeats=3))
    times += [math.nan] * (4 - len(times))  # no gradient of an unconverged solution
    return (times, int(np.max(iters)), converged, err), need, seq_flops, it_flops


def gpu_prediction(T, B, M, iters):
    seq_flops, it_flops = _flops(T, B, M)
    seq = max(T * STEP_LATENCY, seq_flops / GPU_FLOPS)
    par = iters * (2 * math.log2(max(T, 2)) * LEVEL_LATENCY + it_flops / GPU_FLOPS)
    return seq, par


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--T", type=int, nargs="+", default=[100, 784, 10_000])
    p.add_argument("--B", type=int, nargs="+", default=[1, 16, 500])
    p.add_argument("--M", type=int, nargs="+", default=[8, 40])
    p.add_argument("--memory-gb", type=float, default=6.0)
    p.add_argument("--flop-budget", type=float, default=3e11,
                   help="caps the parallel iterations of one call at this many FLOPs")
    args = p.parse_args(argv)
    print(machine())
    rng = np.random.default_rng(0)
    models = [(f"init M={M}", jaxrnn.PLRNN(M, K, n_regularised=M // 2, dtype=jnp.float32,
                                           key=jax.random.PRNGKey(M))) for M in args.M]
    if TRAINED.is_dir():
        models.append(("trained M=40", load_model(TRAINED)))
    rows, predicted = [], []
    for name, model in models:
        M = model.state_size
        for T in args.T:
            for B in args.B:
                res, need, seq_flops, it_flops = case(model, T, B, rng, args.memory_gb,
                                                      args.flop_budget)
                if res is None:
                    rows.append([name, T, B, f"skipped: ~{need:.0f} GB"] + [""] * 8)
                    continue
                (seq_f, par_f, seq_g, par_g), iters, converged, err = res
                rows.append([name, T, B, f"{1e3 * seq_f:.3g}", f"{1e3 * par_f:.3g}",
                             f"{seq_f / par_f:.2g}", f"{1e3 * seq_g:.3g}", f"{1e3 * par_g:.3g}",
                             f"{seq_g / par_g:.2g}", iters if converged else f"> {iters}",
                             f"{seq_flops:.2g}",
                             f"{iters * it_flops:.2g}"])
                if converged:
                    predicted.append((name, T, B, M, iters))
                print(f"{name} T={T} B={B}: seq {seq_f * 1e3:.3g} ms, par {par_f * 1e3:.3g} ms, "
                      f"{iters} iterations{'' if converged else ' (capped)'}, rel. difference "
                      f"{err:.1e}", flush=True)
    print()
    print(table(["model", "T", "B", "seq fwd ms", "par fwd ms", "seq/par fwd", "seq grad ms",
                 "par grad ms", "seq/par grad", "iterations", "seq FLOPs", "par FLOPs"], rows))
    print()
    print(f"Predicted for an H100-class GPU (float32): a sequential step costs "
          f"{STEP_LATENCY * 1e6:.0f} µs of latency, a scan level {LEVEL_LATENCY * 1e6:.0f} µs, "
          f"matmul work runs at {GPU_FLOPS:.0e} FLOP/s; the iterations are those measured "
          f"above.")
    out = []
    for name, T, B, M, iters in predicted:
        seq, par = gpu_prediction(T, B, M, iters)
        out.append([name, T, B, iters, f"{seq * 1e3:.3g}", f"{par * 1e3:.3g}",
                    f"{seq / par:.2g}"])
    print(table(["model", "T", "B", "iterations", "seq ms", "par ms", "seq/par"], out))


if __name__ == "__main__":
    main()
