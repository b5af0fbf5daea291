"""How long do the rPLRNN's training-loss spikes last? The measurement behind the
divergence rule (``train.abort_loss`` / ``train.abort_patience``, see `jaxrnn.training.Trainer`).

Trains ``configs/addition_rplrnn.yaml`` with the divergence abort switched off
(``train.abort_loss: null``) and records every update step's training loss, then
reports, per epoch, the mean and largest loss, the longest run of consecutive
steps above ``--threshold`` and the test fraction correct. Writes ``steps.npy``
(all per-step losses), ``epochs.csv`` and ``spikes.png`` into ``--out``.

Resumable: the trainer state and the losses so far are saved after every epoch
and a restart continues from them.

    python experiments/loss_spikes.py --T 200 --batch-size 16 --clip 10 --epochs 40 \\
        --learn-z0 --out runs/loss_spikes_B16   # experiments/loss_spikes/ holds its output
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

import numpy as np

from jaxrnn.training import Trainer, load_config
from jaxrnn.training._checkpoint import load_tree, save_tree, write_csv

ROOT = pathlib.Path(__file__).resolve().parents[1]


def longest_run(mask: np.ndarray) -> int:
    best = cur = 0
    for m in mask:
        cur = cur + 1 if m else 0
        best = max(best, cur)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--clip", type=float, default=10.0)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=100.0)
    p.add_argument("--learn-z0", action="store_true", help="learn the initial state mu0")
    p.add_argument("--out", default="runs/loss_spikes")
    args = p.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config(ROOT / "configs" / "addition_rplrnn.yaml", [
        f"task.T={args.T}", f"train.batch_size={args.batch_size}",
        f"train.clip_norm={args.clip}", f"train.epochs={args.epochs}", f"seed={args.seed}",
        "train.abort_loss=null", f"model.learn_z0={'true' if args.learn_z0 else 'false'}"])
    tr = Trainer(cfg)
    state_path, steps_path = out / "state.eqx", out / "steps.npy"
    epoch, rows, steps, state = 0, [], np.zeros(0), tr.init_state()
    if state_path.is_file() and steps_path.is_file() and (out / "epochs.csv").is_file():
        state = load_tree(state_path, state)
        epoch = int(state.epoch)
        steps = np.load(steps_path)[: epoch * tr.batches_per_epoch]
        with open(out / "epochs.csv") as f:
            rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= epoch]
        print(f"resuming after epoch {epoch}")
    while epoch < args.epochs:
        t0 = time.perf_counter()
        state, losses, _ = tr.run_epoch(state)
        losses = np.asarray(losses)[:, 0]
        epoch += 1
        m = tr.evaluate(state.params)[0]
        over = losses > args.threshold
        row = {"epoch": epoch, "train_loss_mean": float(np.mean(losses)),
               "train_loss_median": float(np.median(losses)),
               "train_loss_max": float(np.max(losses)),
               "steps_above": int(over.sum()), "longest_run_above": longest_run(over),
               "test_frac_correct": m["test_frac_correct"], "test_loss": m["test_loss"],
               "epoch_s": round(time.perf_counter() - t0, 2)}
        rows.append(row)
        steps = np.concatenate([steps, losses])
        np.save(steps_path, steps)
        write_csv(out / "epochs.csv", rows)
        save_tree(state_path, state)
        print(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in row.items()), flush=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    x = np.arange(1, len(steps) + 1) / tr.batches_per_epoch
    ax[0].semilogy(x, np.maximum(np.asarray(steps, float), 1e-8), lw=0.3)
    ax[0].axhline(args.threshold, color="r", ls=":", label=f"threshold {args.threshold:g}")
    ax[0].set_ylabel("training loss per step")
    ax[0].legend()
    ax[1].plot([int(r["epoch"]) for r in rows], [float(r["test_frac_correct"]) for r in rows],
               "o-", ms=3)
    ax[1].set_ylabel("test fraction correct")
    ax[1].set_xlabel("epoch")
    fig.suptitle(f"rPLRNN, addition T={args.T}, B={args.batch_size}, clip {args.clip:g}, "
                 f"seed {args.seed}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "spikes.png", dpi=110)


if __name__ == "__main__":
    main()
