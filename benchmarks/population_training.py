"""Population training: P rPLRNNs in one vmapped program vs P sequential runs.

The same P configs (addition problem, M = 40, different seeds and penalty
strengths τ) trained for the same number of update steps, once as one
population (`Trainer(..., members=...)`: one compiled program, parameters
stacked on a leading axis) and once one after the other (a `Trainer` per
model, as a Python loop over runs would). Reported: time per update step of
all P models (steady state, compiled), and the end-to-end time including
compilation and data set-up.

    python benchmarks/population_training.py --population 32
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import best_time, machine, table  # noqa: E402

from jaxrnn.training import Trainer, config_from_dict, population_configs  # noqa: E402


def base_config(T, B, steps):
    return config_from_dict({
        "name": "pop", "task": {"name": "addition", "T": T, "n_train": B * steps, "n_test": 10},
        "model": {"name": "rplrnn", "hidden_size": 40, "reduction": "mean"},
        "train": {"batch_size": B, "epochs": 1, "chunk_steps": steps, "eval_batch_size": 10}})


def run_chunk(tr):
    """One chunk of update steps by the trainer's compiled program (its buffers donated
    and replaced each call, as in training)."""
    idx = jnp.asarray(tr.epoch_batches(0))
    live = jnp.ones(idx.shape[0], bool)
    state = [tr.init_state()]

    def go():
        s = state[0]
        params, opt_state, _, _, losses, _ = tr._chunk_fn(
            s.params, s.opt_state, s.hyper, jnp.asarray(s.alive), jnp.asarray(s.above),
            tr.objective.train_data, idx, live)
        state[0] = s.replace(params=params, opt_state=opt_state)
        return losses
    return go


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=32)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args(argv)
    P = args.population
    base = base_config(args.T, args.batch, args.steps)
    changes = [{"seed": i, "model.tau": [0.0, 1.0, 5.0, 25.0][i % 4]} for i in range(P)]
    members = population_configs(base, changes)

    t0 = time.perf_counter()
    pop = Trainer(members[0], members=members)
    go = run_chunk(pop)
    jax.block_until_ready(go())
    pop_total = time.perf_counter() - t0
    pop_step = best_time(go, repeats=3) / args.steps

    t0 = time.perf_counter()
    seq_step = 0.0
    for m in members:
        tr = Trainer(m)
        go1 = run_chunk(tr)
        jax.block_until_ready(go1())
        seq_step += best_time(go1, repeats=1) / args.steps
    seq_total = time.perf_counter() - t0

    print(f"# population training, {P} rPLRNNs (M = 40, addition T = {args.T}, batch "
          f"{args.batch}); {machine()}")
    print(table(["", "population (1 program)", f"{P} sequential runs", "speed-up"], [
        [f"ms per update step of all {P} models", pop_step * 1e3, seq_step * 1e3,
         seq_step / pop_step],
        [f"end to end, {args.steps} steps incl. set-up + compile (s)", pop_total, seq_total,
         seq_total / pop_total],
    ]))


if __name__ == "__main__":
    main()
