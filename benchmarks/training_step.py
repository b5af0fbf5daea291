"""rPLRNN training step on the addition problem (M = 40, T = 500): jaxrnn vs PyTorch,
and the achieved FLOP/s against this machine's small-matmul ceiling.

One training step = forward over T steps for a batch of B trials, squared error
at the last step + the line-attractor penalty (τ = 5, mean reductions, M_reg =
20), backward, gradient clipping, an Adam update.

- **jaxrnn**: the `Trainer`'s compiled update program (a ``lax.scan`` of update
  steps; each step a ``lax.scan`` over time, ``vmap`` over the batch), timed per
  update step over a chunk of steps.
- **PyTorch, authors' style**: a Python loop over time; A as ``torch.diag`` of
  a vector and W masked (off-diagonal) inside every step; ``nn.Linear`` for the
  inputs and the read-out (how the authors' published code does it).
- **PyTorch, fastest we could write**: A and masked W formed once per forward,
  the input projection for all T steps in one matmul, ``addmm`` per step; the
  faster of eager and a ``torch.jit.script``-ed loop.

FLOP/s: the model's FLOPs per step are counted analytically (forward
``2BM² + 2BMK + 6BM`` per time step, backward twice that) and divided by the
step time; the ceiling is a loop of T dependent (B×M)·(M×M) matmuls, forward
and the two backward products, timed in the same run in JAX (``lax.scan``), once with
the states laid out (B, M) and once (M, B); the faster layout is the ceiling.

PyTorch is optional (``pip install torch==2.13.0``, the CPU build); without it
only the jaxrnn rows are printed.

    python benchmarks/training_step.py --batch 16 500
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _timing import best_time, machine, table  # noqa: E402

from jaxrnn.training import Trainer, config_from_dict  # noqa: E402

M, K, T = 40, 2, 500


def jax_step_time(B: int, steps: int, unroll_chunk: int) -> float:
    cfg = config_from_dict({
        "name": "bench", "task": {"name": "addition", "T": T, "n_train": B * steps,
                                  "n_test": 10},
        "model": {"name": "rplrnn", "hidden_size": M, "tau": 5.0, "reduction": "mean"},
        "train": {"batch_size": B, "epochs": 1, "chunk_steps": steps, "clip_norm": 10.0,
                  "eval_batch_size": 10}})
    tr = Trainer(cfg)
    idx = jnp.asarray(tr.epoch_batches(0)[:steps])
    live = jnp.ones(steps, bool)
    state = [tr.init_state()]

    def run():  # the trainer's compiled chunk of update steps (a population of one)
        s = state[0]
        params, opt_state, _, _, losses, _ = tr._chunk_fn(
            s.params, s.opt_state, s.hyper, jnp.asarray(s.alive), jnp.asarray(s.above),
            tr.objective.train_data, idx, live)
        state[0] = s.replace(params=params, opt_state=opt_state)
        return losses

    jax.block_until_ready(run())  # compile
    return best_time(run, repeats=3) / steps


def matmul_ceiling(B: int) -> tuple[float, float]:
    """FLOP/s of T dependent (B×M)@(M×M) matmuls plus the two backward products, with
    the states stored (B, M) and, as the training step's large-batch reverse pass keeps
    them, transposed (M, B): the faster of the two is the ceiling."""
    W = jax.random.normal(jax.random.PRNGKey(0), (M, M)) / np.sqrt(M)
    z0 = jax.random.normal(jax.random.PRNGKey(1), (B, M))
    g = jax.random.normal(jax.random.PRNGKey(2), (B, M))

    @jax.jit
    def loop(z, W, g):
        def body(carry, _):
            z, acc, g = carry
            z = z @ W  # forward product
            g = g @ W.T  # backward: input gradient
            acc = acc + z.T @ g  # backward: weight gradient
            return (z * 0.5, acc, g * 0.5), None
        (z, acc, g), _ = jax.lax.scan(body, (z, jnp.zeros((M, M)), g), None, length=T)
        return z, acc, g

    @jax.jit
    def loop_t(z, W, g):  # the same products on (M, B) states
        def body(carry, _):
            z, acc, g = carry
            z = W.T @ z
            g = W @ g
            acc = acc + z @ g.T
            return (z * 0.5, acc, g * 0.5), None
        (z, acc, g), _ = jax.lax.scan(body, (z, jnp.zeros((M, M)), g), None, length=T)
        return z, acc, g

    flop = 3 * 2 * B * M * M * T
    rates = []
    for fn, args in ((loop, (z0, W, g)), (loop_t, (z0.T, W, g.T))):
        jax.block_until_ready(fn(*args))
        rates.append(flop / best_time(lambda fn=fn, args=args: fn(*args), repeats=5))
    return rates[0], rates[1]


def model_flops(B: int) -> float:
    fwd = T * (2 * B * M * M + 2 * B * M * K + 6 * B * M)
    return 3 * fwd


# ---------------------------------------------------------------- PyTorch baselines
def torch_models():
    import torch
    from torch import nn

    class AuthorsPLRNN(nn.Module):
        """Python loop over time; diag(A) and the W mask applied inside every step."""

        def __init__(self):
            super().__init__()
            self.A = nn.Parameter(torch.rand(M) * 0.4 + 0.5)
            self.W = nn.Parameter(torch.randn(M, M) * 0.5 / M**0.5)
            self.h = nn.Parameter(torch.zeros(M))
            self.C = nn.Linear(K, M, bias=False)
            self.B = nn.Linear(M, 1, bias=False)
            self.register_buffer("mask", 1 - torch.eye(M))

        def forward(self, s):
            z = torch.zeros(s.shape[0], M)
            for t in range(s.shape[1]):
                A = torch.diag(self.A)
                W = self.W * self.mask
                z = z @ A + torch.relu(z) @ W.t() + self.C(s[:, t]) + self.h
            return self.B(z)

        def penalty(self, n_reg=M // 2, tau=5.0):
            W = self.W * self.mask
            return tau * (((self.A[:n_reg] - 1) ** 2).mean() + (W[:n_reg] ** 2).mean()
                          + (self.h[:n_reg] ** 2).mean())

    class FastPLRNN(AuthorsPLRNN):
        """Everything that can leave the time loop does (eager PyTorch)."""

        def forward(self, s):
            W_t = (self.W * self.mask).t()
            drive = (self.C(s) + self.h).unbind(1)  # all input projections in one matmul
            z = torch.zeros(s.shape[0], M)
            for d in drive:
                z = torch.addmm(d, torch.relu(z), W_t) + z * self.A
            return self.B(z)

    class ScriptedPLRNN(AuthorsPLRNN):
        """The same loop compiled with TorchScript."""

        def forward(self, s):
            W_t = (self.W * self.mask).t()
            return self.B(_scripted_loop(self.C(s) + self.h, self.A, W_t))

    @torch.jit.script
    def _scripted_loop(drive, A, W_t):
        z = torch.zeros(drive.shape[0], drive.shape[2])
        for t in range(drive.shape[1]):
            z = torch.addmm(drive[:, t], torch.relu(z), W_t) + z * A
        return z

    return AuthorsPLRNN, (FastPLRNN, ScriptedPLRNN)


def torch_step_time(cls, B: int, steps: int, T: int = T, clip: float = 10.0) -> float:
    import torch

    from jaxrnn.tasks import addition_problem

    torch.manual_seed(0)
    model = cls()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = addition_problem(jax.random.PRNGKey(0), B, T)
    x, y = torch.tensor(np.asarray(x)), torch.tensor(np.asarray(y))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((model(x) - y) ** 2).sum(-1).mean() + model.penalty()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return None

    for _ in range(3):  # warm-up (TorchScript profiles its first runs)
        step()
    return best_time(lambda: [step() for _ in range(steps)], repeats=2) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[16, 500])
    ap.add_argument("--steps", type=int, default=20, help="update steps per timing round")
    ap.add_argument("--torch-steps", type=int, default=3)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch threads (default 1: the authors' main.py sets 1)")
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.torch_threads)
        Authors, Fast = torch_models()
    except ImportError:
        torch = None
        print("(PyTorch not installed: jaxrnn rows only)")
    speed, flops = [], []
    for B in args.batch:
        t_jax = jax_step_time(B, args.steps, 1)
        row = [B, t_jax * 1e3]
        if torch is not None:
            t_auth = torch_step_time(Authors, B, args.torch_steps)
            t_fast = min(torch_step_time(cls, B, args.torch_steps) for cls in Fast)
            row += [t_auth * 1e3, t_fast * 1e3, t_auth / t_jax, t_fast / t_jax]
        speed.append(row)
        rates = matmul_ceiling(B)
        ceiling = max(rates)
        achieved = model_flops(B) / t_jax
        flops.append([B, achieved / 1e9, rates[0] / 1e9, rates[1] / 1e9, achieved / ceiling])
    print(f"# rPLRNN training step, addition, M = {M}, T = {T}; {machine()}"
          + (f"; torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""))
    header = ["B", "jaxrnn ms/step"]
    if torch is not None:
        header += ["PyTorch authors' style ms", "PyTorch fastest ms", "x authors' style",
                   "x fastest PyTorch"]
    print(table(header, speed))
    print()
    print("# achieved FLOP/s of the jaxrnn training step vs a loop of the same small matmuls")
    print(table(["B", "achieved GFLOP/s", "ceiling (B, M) GFLOP/s", "ceiling (M, B) GFLOP/s",
                 "fraction of the higher ceiling"], flops))


if __name__ == "__main__":
    main()
