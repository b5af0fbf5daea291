"""Fig. S3 of the rPLRNN paper at CPU size: addition-problem performance against the
latent size M, the penalty τ and the regularised fraction M_reg/M (Schmidt et al.).

For each M in ``--sizes``, ONE population (τ × M_reg/M × seeds) trains as a
single vmapped program (`train_population`); every member keeps its own run
directory and best checkpoint. Writes ``results.csv``, ``table.md`` and
``figS3.png`` (best test fraction correct against τ, one panel per M, one
line per M_reg/M, mean over seeds).

    python experiments/figS3_population.py --out runs/figS3 --sizes 10 20 40 --T 100 --epochs 10
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxrnn.training import config_from_dict, train_population  # noqa: E402

TAUS = [0.0, 1.0, 5.0, 25.0]
FRACTIONS = [0.25, 0.5, 1.0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/figS3")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40])
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--figure", default=None)
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out)
    rows = []
    for M in args.sizes:
        base = config_from_dict({
            "name": f"figS3_M{M}",
            "task": {"name": "addition", "T": args.T, "n_train": args.n_train, "n_test": 1000},
            "model": {"name": "rplrnn", "hidden_size": M, "reduction": "mean"},
            "train": {"learning_rate": 3e-3, "schedule": "cosine", "batch_size": 32,
                      "epochs": args.epochs}})
        changes = [{"model.tau": tau, "model.reg_fraction": f, "seed": s}
                   for tau in TAUS for f in FRACTIONS for s in range(args.seeds)]
        t0 = time.perf_counter()
        pop = out / f"M{M}"
        summaries = train_population(base, changes, pop,
                                     resume=(pop / "population.yaml").exists(), progress=False)
        print(f"M = {M}: {len(changes)} models in one program, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        for c, s in zip(changes, summaries):
            rows.append({"M": M, "tau": c["model.tau"], "reg_fraction": c["model.reg_fraction"],
                         "seed": c["seed"], "best_test_frac_correct": s["best_test_frac_correct"],
                         "status": s["status"]})
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    table = ["| M | M_reg/M | " + " | ".join(f"τ = {t:g}" for t in TAUS) + " |",
             "|---|---|" + "---|" * len(TAUS)]
    fig, axes = plt.subplots(1, len(args.sizes), figsize=(4.2 * len(args.sizes), 3.4),
                             squeeze=False)
    for ax, M in zip(axes[0], args.sizes):
        for f in FRACTIONS:
            means = []
            for tau in TAUS:
                v = [r["best_test_frac_correct"] or 0.0 for r in rows
                     if r["M"] == M and r["tau"] == tau and r["reg_fraction"] == f]
                means.append(float(np.mean(v)))
            table.append(f"| {M} | {f:g} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
            ax.plot(range(len(TAUS)), means, "o-", label=f"M_reg/M = {f:g}")
        ax.set_xticks(range(len(TAUS)), [f"{t:g}" for t in TAUS])
        ax.set_xlabel("τ")
        ax.set_title(f"M = {M}, addition T = {args.T}")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("best test fraction correct")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "figS3.png", dpi=100)
    if args.figure:
        fig.savefig(args.figure, dpi=80)
    (out / "table.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
