"""Reproduce Fig. 2 of the rPLRNN paper (seed 003, Sect. 4.1) at a chosen size.

For each task (addition, multiplication, sequential MNIST), model and sequence
length T, trains ``configs/<task>_<model>.yaml`` with the size overrides given
here, then plots the best-epoch test loss and fraction correct against T and
writes ``results.csv``, ``results.md`` and ``fig2.png`` into ``--out``.

Each run gets its own run directory under ``--out``: finished runs are skipped
and interrupted ones resumed, so the script can be stopped and restarted.

CPU-sized (what the README's table used; once with ``--lr 3e-3 --out runs/fig2`` and
once with ``--lr 1e-3 --out runs/fig2_lr1e-3``)::

    python experiments/fig2_benchmarks.py --tasks addition multiplication \\
        --models rplrnn iplrnn irnn lstm --T 100 200 400 --n-train 10000 --n-test 2000 \\
        --epochs 40 --batch-size 32 --lr 3e-3 --schedule cosine --out runs/fig2
    python experiments/fig2_benchmarks.py --tasks mnist --models rplrnn lstm iplrnn \\
        --n-train 20000 --n-test 10000 --epochs 20 --batch-size 64 --lr 3e-3 \\
        --mnist-dir ../shared/data/mnist --out runs/fig2_mnist

Full size on a GPU (the paper's protocol)::

    python experiments/fig2_benchmarks.py --tasks addition multiplication mnist \\
        --models rnn l2rnn irnn nprnn plrnn iplrnn rplrnn lstm \\
        --T 100 200 300 400 500 600 700 --n-train 100000 --n-test 10000 --epochs 100 \\
        --batch-size 16 --lr 1e-3 --out runs/fig2_full --mnist-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jaxrnn.training import TrainingDiverged, load_config, train  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
PUBLISHED = {  # rPLRNN fraction correct from the authors' result files (REFERENCE §3)
    ("addition", "rplrnn"): {100: 1.0, 200: 1.0, 300: 1.0, 400: 0.99, 500: 0.94, 600: 0.28,
                             700: 0.08},
    ("multiplication", "rplrnn"): {100: 1.0, 200: 1.0, 300: 1.0, 400: 1.0, 600: 0.51, 700: 0.46,
                                   900: 0.16},
    ("mnist", "rplrnn"): {784: 0.955},
    ("mnist", "lstm"): {784: 0.935},
    ("mnist", "iplrnn"): {784: 0.91},
    ("mnist", "irnn"): {784: 0.75},
    ("mnist", "plrnn"): {784: 0.38},
}


def run_one(task, model, T, args) -> dict:
    name = f"{task}_{model}" + ("" if task == "mnist" else f"_T{T}")
    run_dir = pathlib.Path(args.out) / name
    summary_path = run_dir / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        if summary.get("status") == "completed" or summary.get("status", "").startswith("stopped"):
            print(f"[skip] {name}: already completed")
            return summary
    overrides = [f"name={name}", f"seed={args.seed}", f"train.epochs={args.epochs}",
                 f"train.batch_size={args.batch_size}", f"train.learning_rate={args.lr}",
                 f"train.schedule={args.schedule}", f"task.n_train={args.n_train}",
                 f"task.n_test={args.n_test}"]
    if task == "mnist":
        if args.mnist_dir:
            overrides.append(f"task.data_dir={args.mnist_dir}")
        overrides += [f"task.n_train={min(args.n_train, 20000)}",
                      f"task.n_test={min(args.n_test, 10000)}"]
    else:
        overrides.append(f"task.T={T}")
    config = load_config(ROOT / "configs" / f"{task}_{model}.yaml", overrides)
    resume = (run_dir / "config.yaml").is_file()
    print(f"[{'resume' if resume else 'train'}] {name}", flush=True)
    try:
        return train(None if resume else config, run_dir, resume=resume, progress=args.progress)
    except TrainingDiverged as e:  # the paper's protocol: keep the best epoch before it
        print(f"[diverged] {name}: {e}", flush=True)
        return json.loads(summary_path.read_text())


def main(argv=None):
    p = argparse.ArgumentParser(description="Fig. 2 of the rPLRNN paper at a chosen size")
    p.add_argument("--tasks", nargs="+", default=["addition", "multiplication"],
                   choices=["addition", "multiplication", "mnist"])
    p.add_argument("--models", nargs="+", default=["rplrnn", "iplrnn", "irnn", "lstm"])
    p.add_argument("--T", nargs="+", type=int, default=[100, 200, 400])
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mnist-dir", default=None, help="MNIST IDX directory (else $JAXRNN_DATA)")
    p.add_argument("--out", default="runs/fig2")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    args = p.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rows = []
    for task in args.tasks:
        for model in args.models:
            for T in ([784] if task == "mnist" else args.T):
                s = run_one(task, model, T, args)
                rows.append({"task": task, "model": model, "T": T, "status": s["status"][:7],
                             "best_test_loss": s["best_test_loss"],
                             "best_test_frac_correct": s["best_test_frac_correct"],
                             "best_epoch": s["best_epoch"], "epochs": s["epochs_completed"],
                             "wall_time_s": s["wall_time_s"],
                             "published": PUBLISHED.get((task, model), {}).get(T, "")})
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| task | model | T | best test loss | best test fraction correct | published "
             "(rPLRNN paper) | wall time |", "| --- | --- | --- | --- | --- | --- | --- |"]
    fmt = lambda v, spec: "n/a" if v is None else format(v, spec)  # noqa: E731
    for r in rows:
        note = "" if r["status"].startswith("complet") else " (diverged)"
        lines.append(f"| {r['task']} | {r['model']} | {r['T']} | {fmt(r['best_test_loss'], '.2e')} | "
                     f"{fmt(r['best_test_frac_correct'], '.3f')}{note} | {r['published']} | "
                     f"{r['wall_time_s']:.0f} s |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    fig, axes = plt.subplots(2, len(args.tasks), figsize=(4.5 * len(args.tasks), 7),
                             squeeze=False)
    for j, task in enumerate(args.tasks):
        for model in args.models:
            pts = sorted((r["T"], r["best_test_loss"] or np.nan, r["best_test_frac_correct"] or 0.0)
                         for r in rows if r["task"] == task and r["model"] == model)
            Ts = [p[0] for p in pts]
            axes[0, j].semilogy(Ts, [p[1] for p in pts], "o-", label=model)
            axes[1, j].plot(Ts, [p[2] for p in pts], "o-", label=model)
        pub = PUBLISHED.get((task, "rplrnn"), {})
        if pub:
            ks = sorted(pub)
            axes[1, j].plot(ks, [pub[k] for k in ks], "k:", label="rplrnn (published)")
        axes[0, j].set_title(task)
        axes[0, j].set_ylabel("best test loss")
        axes[1, j].set_ylabel("best test fraction correct")
        axes[1, j].set_xlabel("T")
        axes[1, j].set_ylim(-0.02, 1.02)
        axes[1, j].legend(fontsize=7)
    fig.suptitle(f"n_train={args.n_train}, n_test={args.n_test}, {args.epochs} epochs, "
                 f"batch {args.batch_size}, lr {args.lr} ({args.schedule})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "fig2.png", dpi=110)
    print(f"wrote {out / 'results.csv'}, {out / 'results.md'}, {out / 'fig2.png'}")


if __name__ == "__main__":
    main()
