"""Fig. 3 of the rPLRNN paper at CPU size: reconstruction quality of the bursting neuron
against the line-attractor penalty τ (Schmidt et al., Sect. 4.2, Suppl. 7.1.5).

For each latent size M in ``--sizes`` one population (τ × seeds) is trained as
ONE vmapped program from ``configs/reconstruction_bursting_neuron.yaml``
(generalised teacher forcing with adaptive α, half the units regularised, eq. 4
sums), with τ ∈ {0, 10, 10², …, 10⁵}/1500 as in the paper. Every member's best
checkpoint (lowest D_stsp) is then run FREELY from the first point of each of
the three series for 1501 steps (0.75 s at 0.5 ms) and scored: D_stsp (30 bins
per dimension), D_H (σ = 20) and the spectrum error split at 50 Hz (low:
≤ 50 Hz, the slow burst envelope; high: > 50 Hz, the spikes).

Writes ``fig3.png`` (the four measures against τ, mean ± s.e.m. over seeds,
one line per M, plus an example free-running V trace), ``results.csv`` and
``table.md``.

    python experiments/fig3_bursting_neuron.py --out runs/fig3 --sizes 8 14 --seeds 3 --epochs 100
"""

from __future__ import annotations

import argparse
import csv
import pathlib

import matplotlib

matplotlib.use("Agg")
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxrnn.metrics import (  # noqa: E402
    hellinger_distance,
    spectrum_error_split,
    state_space_divergence,
)
from jaxrnn.training import Trainer, free_run, load_config, population_configs  # noqa: E402
from jaxrnn.training import train_population  # noqa: E402
from jaxrnn.training._checkpoint import load_tree  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
TAUS = [0.0] + [10.0**k / 1500 for k in range(1, 6)]
DT_SECONDS = 0.5e-3


def score(model, series):
    """Free runs from each series' start, scored against the series."""
    gen = np.stack([np.asarray(free_run(model, jnp.asarray(s[0]), s.shape[0])) for s in series])
    gen = np.clip(np.nan_to_num(gen, nan=1e6, posinf=1e6, neginf=-1e6), -1e6, 1e6)
    true = np.asarray(series, float)
    d_stsp = state_space_divergence(true.reshape(-1, 3), gen.reshape(-1, 3))
    d_h = np.mean([float(hellinger_distance(t, g)) for t, g in zip(true, gen)])
    split = np.mean([[float(v) for v in spectrum_error_split(t, g, DT_SECONDS)]
                     for t, g in zip(true, gen)], axis=0)
    return {"d_stsp": float(d_stsp), "d_h": float(d_h), "spec_low": float(split[0]),
            "spec_high": float(split[1])}, gen


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/fig3")
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 14])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--figure", default=None, help="also copy the figure here")
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, examples = [], {}
    for M in args.sizes:
        base = load_config(ROOT / "configs" / "reconstruction_bursting_neuron.yaml",
                           [f"model.hidden_size={M}", f"train.epochs={args.epochs}",
                            f"name=fig3_M{M}"])
        changes = [{"model.tau": tau, "seed": s} for tau in TAUS for s in range(args.seeds)]
        pop_dir = out / f"M{M}"
        summaries = train_population(base, changes, pop_dir,
                                     resume=(pop_dir / "population.yaml").exists(),
                                     progress=False)
        members = population_configs(base, changes)
        trainer = Trainer(members[0])
        series = np.asarray(trainer.objective.eval_series)
        for member, change, summ in zip(members, changes, summaries):
            params = load_tree(pop_dir / "members" / member.name / "best.eqx", trainer.member_params())
            metrics, gen = score(eqx.combine(params, trainer.static), series)
            rows.append({"M": M, "tau_x1500": round(change["model.tau"] * 1500, 6),
                         "seed": change["seed"], "best_epoch": summ["best_epoch"],
                         "status": summ["status"], **metrics})
            key = (M, change["model.tau"])
            if key not in examples or metrics["d_stsp"] < examples[key][0]:
                examples[key] = (metrics["d_stsp"], gen[0])
        print(f"M = {M}: {len(members)} members trained in one program", flush=True)

    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    names = [("d_stsp", "D_stsp"), ("d_h", "D_H (spectrum error)"),
             ("spec_low", "spectrum error <= 50 Hz"), ("spec_high", "spectrum error > 50 Hz")]
    table = ["| M | τ·1500 | " + " | ".join(n for _, n in names) + " |",
             "|---|---|" + "---|" * len(names)]
    fig, axes = plt.subplots(1, 5, figsize=(20, 3.6))
    xs = np.arange(len(TAUS))
    for M in args.sizes:
        stats = []
        for tau in TAUS:
            sel = [r for r in rows if r["M"] == M and abs(r["tau_x1500"] - tau * 1500) < 1e-6]
            vals = {k: np.array([r[k] for r in sel]) for k, _ in names}
            stats.append(vals)
            table.append(f"| {M} | {tau * 1500:g} | " + " | ".join(
                f"{np.median(vals[k]):.3g} ({np.min(vals[k]):.3g}–{np.max(vals[k]):.3g})"
                for k, _ in names) + " |")
        for ax, (k, label) in zip(axes, names):
            mean = np.array([np.mean(s[k]) for s in stats])
            sem = np.array([np.std(s[k]) / np.sqrt(len(s[k])) for s in stats])
            ax.errorbar(xs, mean, sem, marker="o", capsize=3, label=f"M = {M}")
            ax.set_xticks(xs, ["0"] + [f"1e{k}" for k in range(1, 6)])
            ax.set_xlabel("τ · 1500")
            ax.set_title(label, fontsize=10)
    axes[0].legend()
    M_ex = args.sizes[-1]
    best_tau = min(TAUS, key=lambda t: examples[(M_ex, t)][0])
    t_ms = np.arange(series.shape[1]) * 0.5
    axes[4].plot(t_ms, series[0, :, 0], "k", lw=0.8, label="truth")
    axes[4].plot(t_ms, examples[(M_ex, best_tau)][1][:, 0], "C3", lw=0.8, label="free run")
    axes[4].set_xlabel("time (ms)")
    axes[4].set_title(f"V, M = {M_ex}, τ·1500 = {best_tau * 1500:g}", fontsize=10)
    axes[4].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "fig3.png", dpi=110)
    if args.figure:
        fig.savefig(args.figure, dpi=80)
    (out / "table.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
