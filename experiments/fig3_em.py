"""Fig. 3 of the rPLRNN paper as published: the authors' EM with annealing on the three
bursting-neuron series, over M = 8 … 18 × τ_code ∈ {0, 10, …, 10⁵} × 3 files (198 fits),
scored as the authors scored them (Schmidt et al., Sect. 4.2; ``em_fig3_authors.md``).

Each fit is one `jaxrnn.em.fit_em` call (one compiled program per M, reused for every τ
and file) and is written to ``fits/<tag>/M<M>_tau<τ>_file<f>.json`` (+ ``.npz``: the
final parameters) as soon as it ends; a fit whose files exist is skipped, so the
command resumes where it stopped. Workers split the job list (``--worker i --workers
n``, one process each). ``--report`` (also run after the fits) collects every tag into
``results.csv``, ``table.md`` (per τ: Fig. 3A–C beside the published numbers) and
``fig3.png`` (A: D_KL, B: spectrum MSE, C: low/high bands, D: the example free run of
M = 18, τ_code = 1000, file 1).

Scores per fit: a noise-free free run of 1501 steps from μ₀ in observation space,
x = B φ(z); "globally diverging" = `jaxrnn.metrics.diverged` (non-finite, or beyond 10×
the data's largest absolute value); D_KL = binned KL(data ‖ free run) with 10 bins per
dimension over the data's range (α = 1e-5; the authors' bins are not recoverable);
D_stsp = the project's 30 bins per dimension; the amplitude-spectrum errors of V
(`jaxrnn.metrics.spectrum_errors`) and the spectrum correlation r.

    python experiments/fig3_em.py --out experiments/fig3_em             # one process
    python experiments/fig3_em.py --out experiments/fig3_em --jobs 2    # one per core
    python experiments/fig3_em.py --out experiments/fig3_em --report    # collect only
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)  # a script owns its process: EM runs in float64

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxrnn.em import EMSettings, PLRNNStateSpace, fit_em  # noqa: E402
from jaxrnn.metrics import (  # noqa: E402
    amplitude_spectrum,
    diverged,
    fig3_table,
    isoutlier,
    spectrum_errors,
    state_space_divergence,
)
from jaxrnn.systems import recorded_dataset  # noqa: E402

TAUS = [0.0, 10.0, 100.0, 1000.0, 1e4, 1e5]
SIZES = list(range(8, 19))
FILES = [1, 2, 3]
# em_fig3_authors.md §5: per τ_code, (n kept, D_KL mean, SEM) and the 3B/3C rows
PUBLISHED_A = {
    0.0: (25, 15.172, 0.841),
    10.0: (24, 15.687, 1.006),
    100.0: (18, 13.916, 0.905),
    1000.0: (16, 10.214, 1.086),
    1e4: (15, 12.276, 1.215),
    1e5: (8, 10.011, 1.353),
}
PUBLISHED_BC = {  # n kept, mse ± sem, low ± sem, high ± sem, r ± sem
    0.0: (24, 0.01363, 0.00391, 0.01662, 0.00492, 0.00559, 0.00038, 0.104, 0.037),
    10.0: (23, 0.01151, 0.00371, 0.01266, 0.00465, 0.00973, 0.00249, 0.101, 0.030),
    100.0: (16, 0.00667, 0.00240, 0.00771, 0.00304, 0.00722, 0.00119, 0.135, 0.027),
    1000.0: (15, 0.00616, 0.00258, 0.00711, 0.00324, 0.00670, 0.00086, 0.377, 0.074),
    1e4: (11, 0.00337, 0.00098, 0.00302, 0.00109, 0.00544, 0.00037, 0.490, 0.103),
    1e5: (10, 0.00419, 0.00292, 0.00467, 0.00368, 0.00637, 0.00067, 0.723, 0.080),
}
EXAMPLE = (18, 1000.0, 1)


def fit_name(M: int, tau: float, file: int) -> str:
    return f"M{M}_tau{tau:g}_file{file}"


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def score(model: PLRNNStateSpace, x: np.ndarray) -> tuple[dict, np.ndarray]:
    """The Fig. 3 measures of one fitted model against its series (see the module)."""
    gen = np.asarray(model.free_run(x.shape[0])[0])
    return _score_gen(gen, x), gen


def run_em_fit(x, M, tau, file, settings, seed) -> tuple[dict, dict]:
    t0 = time.perf_counter()
    fit = fit_em(x[None], M, tau=tau, keys=jax.random.PRNGKey(seed)[None], settings=settings)
    jax.block_until_ready(fit.model.A)
    wall = time.perf_counter() - t0
    model = jax.tree_util.tree_map(lambda a: a[0], fit.model)
    metrics, _ = score(model, x)
    passes = np.asarray(fit.passes[0])
    row = {
        "method": "em",
        "M": M,
        "tau": tau,
        "file": file,
        "seed": seed,
        "wall_s": round(wall, 2),
        "iterations": np.asarray(fit.iterations[0]).tolist(),
        "best_ll": np.asarray(fit.best_ll[0]).tolist(),
        "passes": int(passes.sum()),
        "capped_e_steps": int(np.sum(passes >= settings.max_passes)),
        **metrics,
    }
    params = {k: np.asarray(getattr(model, k)) for k in ("A", "W", "h", "C", "mu0", "B", "Gamma")}
    params["sigma"] = np.asarray(model.sigma)
    params["ll"] = np.asarray(fit.ll[0])
    return row, params


def load_model(path: pathlib.Path) -> PLRNNStateSpace:
    p = np.load(path)
    return PLRNNStateSpace(
        *(jnp.asarray(p[k]) for k in ("A", "W", "h", "C", "mu0", "B", "Gamma", "sigma"))
    )


def _score_gen(gen: np.ndarray, x: np.ndarray) -> dict:
    out = {"diverged": diverged(gen, x)}
    if out["diverged"]:
        nan = float("nan")
        out.update(d_kl=nan, d_stsp=nan, mse=nan, mse_low=nan, mse_high=nan, r=nan, amplitude=nan)
        return out
    out["d_kl"] = float(state_space_divergence(x, gen, n_bins=10))
    out["d_stsp"] = float(state_space_divergence(x, gen))
    out.update(spectrum_errors(x[:, 0], gen[:, 0]))
    out["amplitude"] = float(np.sum(amplitude_spectrum(gen[:, 0])[1]))
    return out


def run_bptt(args, series) -> None:
    """The same grid by BPTT with generalised teacher forcing (the shipped
    ``configs/reconstruction_bursting_neuron.yaml``, one series per population of the six
    penalties, τ_paper = τ_code / 1500), scored by the same code on a free run from the
    series' first point (a BPTT PLRNN has no μ₀: z₀ = B⁺ x₀)."""
    from jaxrnn.systems._recorded import RECORDED, recorded_search_path
    from jaxrnn.training import free_run, load_config, load_model, train_population

    spec = RECORDED["bursting_neuron_authors"]
    folder_data = next(
        p / spec["folder"]
        for p in recorded_search_path(args.data_dir)
        if (p / spec["folder"] / spec["files"][0]).is_file()
    )
    folder = args.out / "fits" / args.tag
    folder.mkdir(parents=True, exist_ok=True)
    ROOT = pathlib.Path(__file__).resolve().parents[1]
    jobs = [(M, f) for M in args.sizes for f in args.files]
    for M, f in jobs[args.worker :: args.workers]:
        names = [fit_name(M, tau, f) for tau in args.taus]
        if all((folder / f"{name}.json").is_file() for name in names):
            continue
        csv_path = (folder_data / spec["files"][f - 1]).resolve()
        base = load_config(
            ROOT / "configs" / "reconstruction_bursting_neuron.yaml",
            [
                f"task.data={csv_path}",
                f"model.hidden_size={M}",
                f"train.epochs={args.epochs}",
                f"name=bptt_M{M}_file{f}",
            ],
        )
        changes = [
            {"model.tau": tau / 1500.0, "name": name, "seed": 1000 * M + f}
            for tau, name in zip(args.taus, names)
        ]
        pop = args.out / "bptt_runs" / f"M{M}_file{f}"
        t0 = time.perf_counter()
        summaries = train_population(
            base, changes, pop, resume=(pop / "population.yaml").is_file(), progress=False
        )
        wall = (time.perf_counter() - t0) / len(changes)
        x = series[f - 1]
        for tau, name, summ in zip(args.taus, names, summaries):
            model = load_model(pop / "members" / name)
            gen = np.asarray(free_run(model, jnp.asarray(x[0], model.A.dtype), x.shape[0]), float)
            row = {
                "tag": args.tag,
                "method": "bptt",
                "M": M,
                "tau": tau,
                "file": f,
                "seed": 1000 * M + f,
                "wall_s": round(wall, 2),
                "passes": 0,
                "capped_e_steps": 0,
                "epochs": args.epochs,
                "best_epoch": summ.get("best_epoch"),
                **_score_gen(gen, x),
            }
            _atomic_write(folder / f"{name}.json", (json.dumps(row) + "\n").encode())
        print(f"[{args.tag}] M = {M}, file {f}: {wall:.0f} s per fit", flush=True)


def run_fits(args, series) -> None:
    settings = EMSettings(
        max_passes=args.max_passes,
        cross_moment=args.cross,
        max_iterations=args.max_iterations,
        stage_start=args.stage_start,
    )
    folder = args.out / "fits" / args.tag
    folder.mkdir(parents=True, exist_ok=True)
    # small M first (cheaper): a partial grid holds every τ and file for the sizes done
    jobs = [(M, tau, f) for M in args.sizes for tau in args.taus for f in args.files]
    mine = jobs[args.worker :: args.workers]
    for n, (M, tau, f) in enumerate(mine):
        name = fit_name(M, tau, f)
        if (folder / f"{name}.json").is_file():
            continue
        seed = 1000 * M + 10 * TAUS.index(tau) + f if tau in TAUS else 1000 * M + f
        row, params = run_em_fit(series[f - 1], M, tau, f, settings, seed)
        row["tag"] = args.tag
        row["cross_moment"] = args.cross
        row["max_passes"] = args.max_passes
        row["stage_start"] = args.stage_start
        buf = __import__("io").BytesIO()
        np.savez(buf, **params)
        _atomic_write(folder / f"{name}.npz", buf.getvalue())
        _atomic_write(folder / f"{name}.json", (json.dumps(row) + "\n").encode())
        print(
            f"[{args.tag} worker {args.worker}] {n + 1}/{len(mine)} {name}: "
            f"{row['wall_s']:.0f} s, passes {row['passes']}, diverged {row['diverged']}, "
            f"D_KL {row['d_kl']:.2f}, r {row['r']:.3f}",
            flush=True,
        )


def run_example_restarts(args, series) -> None:
    """Fig. 3D's setting (M = 18, τ_code = 1000, file 1) fitted ``--example-restarts``
    more times from other random initialisations (seeds 1,000,000 + k), into
    ``fits/example/``; panel D shows the restart of highest final ℓ (the grid's own fit of
    this setting counts as one), chosen by ℓ, never by its score."""
    M, tau, f = EXAMPLE
    settings = EMSettings(
        max_passes=args.max_passes,
        max_iterations=args.max_iterations,
        stage_start=args.stage_start,
    )
    folder = args.out / "fits" / args.example_folder
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(args.example_restarts):
        name = f"{fit_name(M, tau, f)}_restart{k + 1}"
        if (folder / f"{name}.json").is_file():
            continue
        row, params = run_em_fit(series[f - 1], M, tau, f, settings, 1_000_000 + k)
        row["tag"] = args.example_folder
        row["max_passes"] = args.max_passes
        row["stage_start"] = args.stage_start
        buf = __import__("io").BytesIO()
        np.savez(buf, **params)
        _atomic_write(folder / f"{name}.npz", buf.getvalue())
        _atomic_write(folder / f"{name}.json", (json.dumps(row) + "\n").encode())
        print(
            f"[example] {name}: {row['wall_s']:.0f} s, final ℓ {row['best_ll'][-1]:.1f}, "
            f"diverged {row['diverged']}, r {row['r']:.3f}",
            flush=True,
        )


# Panel D: Fig. 3D's setting fitted with each stage's E-step started at the previous
# stage's mode: the grid's fit (tag em_previous) and the restarts in fits/example_previous
# (with the authors' random starts, fits/example, none of 18 fits keeps the spikes).
PANEL_D = ("em_previous", "example_previous")


def _example_fits(out: pathlib.Path) -> list[tuple[pathlib.Path, dict]]:
    M, tau, f = EXAMPLE
    grid_tag, folder = PANEL_D
    paths = [out / "fits" / grid_tag / f"{fit_name(M, tau, f)}.json"]
    paths += sorted((out / "fits" / folder).glob("*.json"))
    return [(p.with_suffix(".npz"), json.loads(p.read_text())) for p in paths if p.is_file()]


def _panel_d_choice(fits: list[tuple[pathlib.Path, dict]]) -> tuple[pathlib.Path, dict]:
    """The example shown: the grid's own fit of the setting (one fit per setting, as the
    authors' driver ran it) when its free run does not diverge globally; otherwise the
    restart of highest spectrum r among those that do not (the title names which, and
    gives the median r of the stable fits); all diverge: the highest final ℓ."""
    grid = [pr for pr in fits if pr[0].parent.name == PANEL_D[0]]
    if grid and not grid[0][1]["diverged"]:
        return grid[0]
    kept = [pr for pr in fits if not pr[1]["diverged"]]
    if not kept:
        return max(fits, key=lambda pr: pr[1]["best_ll"][-1])
    return max(kept, key=lambda pr: pr[1]["r"])


def _fmt(mean, sem, digits=3):
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.{digits}g} ± {sem:.2g}" if np.isfinite(sem) else f"{mean:.{digits}g}"


def report(out: pathlib.Path, series) -> None:
    rows = []
    for path in sorted((out / "fits").glob("*/*.json")):
        if not path.parent.name.startswith("example"):  # Fig. 3D's restarts: not grid fits
            rows.append(json.loads(path.read_text()))
    if not rows:
        print("no fits yet")
        return
    keys = [
        "tag",
        "method",
        "M",
        "tau",
        "file",
        "seed",
        "wall_s",
        "passes",
        "capped_e_steps",
        "diverged",
        "d_kl",
        "d_stsp",
        "mse",
        "mse_low",
        "mse_high",
        "r",
        "amplitude",
    ]
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    tags = sorted({r["tag"] for r in rows})
    lines = []
    tables = {}
    for tag in tags:
        sel = [r for r in rows if r["tag"] == tag]
        sel.sort(
            key=lambda r: (TAUS.index(r["tau"]) if r["tau"] in TAUS else 99, r["M"], r["file"])
        )
        table = fig3_table(sel)
        tables[tag] = table
        n_fit = len(sel)
        walls = np.array([r["wall_s"] for r in sel])
        lines += [
            f"### {tag}: {n_fit} fits (median {np.median(walls):.0f} s per fit, "
            f"{walls.sum() / 3600:.2f} h of fitting in all)",
            "",
            "| τ_code | fits | 3A kept | 3A D_KL (10 bins) | D_stsp (30 bins) | published 3A "
            "(n) | 3B kept | 3B MSE | published 3B | 3C low | published 3C low | 3C high | "
            "published 3C high | r | published r |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for t in table:
            tau = t["tau"]
            d_stsp = [r["d_stsp"] for r in sel if r["tau"] == tau and not r["diverged"]]
            d_stsp_sem = (
                np.std(d_stsp, ddof=1) / np.sqrt(len(d_stsp)) if len(d_stsp) > 1 else np.nan
            )
            pa = PUBLISHED_A.get(tau)
            pb = PUBLISHED_BC.get(tau)
            lines.append(
                f"| {tau:g} | {t['n']} | {t['n_kept_a']} | {_fmt(t['d_kl'], t['d_kl_sem'])} | "
                f"{_fmt(np.mean(d_stsp) if d_stsp else np.nan, d_stsp_sem)} | "
                + (f"{pa[1]:.2f} ± {pa[2]:.2f} ({pa[0]})" if pa else "–")
                + f" | {t['n_kept_bc']} | {_fmt(t['mse'], t['mse_sem'])} | "
                + (f"{pb[1]:.3g} ± {pb[2]:.2g}" if pb else "–")
                + f" | {_fmt(t['low'], t['low_sem'])} | "
                + (f"{pb[3]:.3g} ± {pb[4]:.2g}" if pb else "–")
                + f" | {_fmt(t['high'], t['high_sem'])} | "
                + (f"{pb[5]:.3g} ± {pb[6]:.2g}" if pb else "–")
                + f" | {_fmt(t['r'], t['r_sem'])} | "
                + (f"{pb[7]:.3f} ± {pb[8]:.3f}" if pb else "–")
                + " |"
            )
        lines += ["", *_band_lines(sel), ""]
    (out / "table.md").write_text("\n".join(lines))
    print("\n".join(lines))
    _figure(out, rows, tables, series)
    _bptt_free_runs(out, series)


def _band_lines(sel: list[dict]) -> list[str]:
    """The 3C band errors unnormalised (mean over the runs 3B/3C keep), as ratios to
    τ = 0: comparable between methods, unlike the normalised values."""
    alive = [r for r in sel if not r["diverged"] and np.isfinite(r["mse"])]
    keep = ~isoutlier(np.array([r["amplitude"] for r in alive])) if alive else []
    kept = [r for r, k in zip(alive, keep) if k]
    out = [
        "| τ_code | ≤ 50 Hz, mean | ÷ τ = 0 | 50–600 Hz, mean | ÷ τ = 0 |",
        "|---|---|---|---|---|",
    ]
    base = None
    for tau in dict.fromkeys(r["tau"] for r in sel):
        bc = [r for r in kept if r["tau"] == tau]
        if not bc:
            continue
        low = float(np.mean([r["mse_low"] for r in bc]))
        high = float(np.mean([r["mse_high"] for r in bc]))
        base = base or (low, high)
        out.append(
            f"| {tau:g} | {low:.3g} | {low / base[0]:.2f} | {high:.2g} | {high / base[1]:.2f} |"
        )
    return out


def _ranges(values: list[int]) -> str:
    """[8, 9, 10, 12, 18] -> '8–10, 12, 18'."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}–{v}" if v != start else f"{v}")
            start = None
    return ", ".join(parts)


def _bptt_free_runs(out, series, M: int = 18, file: int = 1) -> None:
    """``fig3_bptt.png``: V of the BPTT free runs at M, file (τ_code = 0, 10³, 10⁵) over
    the data, when the BPTT fits' run directories are there."""
    from jaxrnn.training import free_run, load_model

    runs = out / "bptt_runs" / f"M{M}_file{file}" / "members"
    taus = (0.0, 1000.0, 100000.0)
    if not all((runs / fit_name(M, tau, file)).is_dir() for tau in taus):
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = series[file - 1]
    fig, axes = plt.subplots(3, 1, figsize=(12, 6), sharex=True)
    for ax, tau in zip(axes, taus):
        model = load_model(runs / fit_name(M, tau, file))
        gen = np.asarray(free_run(model, jnp.asarray(x[0], model.A.dtype), x.shape[0]))
        r = json.loads((out / "fits" / "bptt" / f"{fit_name(M, tau, file)}.json").read_text())
        ax.plot(x[:, 0], "k", lw=0.6, label="data")
        ax.plot(gen[:, 0], "r", lw=0.8, label="BPTT free run")
        ax.set_ylabel("V")
        ax.set_title(f"τ_code = {tau:g}: D_KL {r['d_kl']:.2f}, spectrum r {r['r']:.3f}", fontsize=9)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time step")
    fig.suptitle(f"BPTT + generalised teacher forcing, M = {M}, file {file}: free runs from z₀ = B⁺x₀")
    fig.tight_layout()
    fig.savefig(out / "fig3_bptt.png", dpi=90)
    plt.close(fig)


def _figure(out, rows, tables, series):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(16, 7.5))
    grid = fig.add_gridspec(2, 4, height_ratios=[1, 1])
    axA, axB, axC = (fig.add_subplot(grid[0, i]) for i in range(3))
    axR = fig.add_subplot(grid[0, 3])
    xs = np.arange(len(TAUS))
    labels = ["0", "10", "1e2", "1e3", "1e4", "1e5"]
    pub_a = np.array([PUBLISHED_A[t][1:] for t in TAUS])
    pub_bc = np.array([PUBLISHED_BC[t][1:] for t in TAUS])
    axA.errorbar(
        xs,
        pub_a[:, 0],
        pub_a[:, 1],
        color="k",
        marker="s",
        capsize=3,
        label="published (authors' EM)",
    )
    axB.errorbar(
        xs, pub_bc[:, 0], pub_bc[:, 1], color="k", marker="s", capsize=3, label="published"
    )
    axC.errorbar(
        xs, pub_bc[:, 2], pub_bc[:, 3], color="k", marker="s", capsize=3, label="published ≤ 50 Hz"
    )
    axC.errorbar(
        xs,
        pub_bc[:, 4],
        pub_bc[:, 5],
        color="k",
        ls="--",
        marker="s",
        capsize=3,
        label="published 50–600 Hz",
    )
    axR.errorbar(
        xs, pub_bc[:, 6], pub_bc[:, 7], color="k", marker="s", capsize=3, label="published"
    )
    for n, (tag, table) in enumerate(tables.items()):
        col = f"C{n}"
        sizes = sorted({r["M"] for r in rows if r["tag"] == tag})
        label_tag = f"{tag}, M = {_ranges(sizes)}"
        idx = [TAUS.index(t["tau"]) for t in table if t["tau"] in TAUS]

        def get(k, table=table):
            return np.array([t[k] for t in table if t["tau"] in TAUS])

        axA.errorbar(
            idx,
            get("d_kl"),
            get("d_kl_sem"),
            color=col,
            marker="o",
            capsize=3,
            label=f"jaxrnn {label_tag}",
        )
        axB.errorbar(
            idx,
            get("mse"),
            get("mse_sem"),
            color=col,
            marker="o",
            capsize=3,
            label=f"jaxrnn {label_tag}",
        )
        axC.errorbar(
            idx,
            get("low"),
            get("low_sem"),
            color=col,
            marker="o",
            capsize=3,
            label=f"jaxrnn {label_tag} ≤ 50 Hz",
        )
        axC.errorbar(
            idx,
            get("high"),
            get("high_sem"),
            color=col,
            ls="--",
            marker="o",
            capsize=3,
            label=f"jaxrnn {label_tag} 50–600 Hz",
        )
        axR.errorbar(
            idx,
            get("r"),
            get("r_sem"),
            color=col,
            marker="o",
            capsize=3,
            label=f"jaxrnn {label_tag}",
        )
    for ax, title in [
        (axA, "A: D_KL (kept runs)"),
        (axB, "B: spectrum MSE (V)"),
        (axC, "C: normalised band errors"),
        (axR, "spectrum correlation r"),
    ]:
        ax.set_xticks(xs, labels)
        ax.set_xlabel("τ_code (= 1500 τ)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    M, tau, f = EXAMPLE
    axes_d = [fig.add_subplot(grid[1, :])]
    fits = _example_fits(out)
    if fits:
        path, chosen = _panel_d_choice(fits)
        which = "the grid's fit" if path.parent.name == PANEL_D[0] else "the restart of highest r"
        rs = [q["r"] for _, q in fits if not q["diverged"]] or [float("nan")]
        n_div = sum(r["diverged"] for _, r in fits)
        model = load_model(path)
        gen = np.asarray(model.free_run(1501)[0])
        x = series[f - 1]
        r = spectrum_errors(x[:, 0], gen[:, 0])["r"]
        t_ms = np.arange(1500) * 0.5
        ax = axes_d[0]
        for i, (name, off) in enumerate([("V", 0.0), ("n", -5.0), ("h", -10.0)]):
            ax.plot(t_ms, x[:1500, i] + off, color="k", lw=0.7, label="data" if i == 0 else None)
            ax.plot(
                t_ms,
                gen[:1500, i] + off,
                color="C3",
                lw=0.7,
                label="EM free run" if i == 0 else None,
            )
            ax.text(-20, off, name, ha="right", va="center")
        ax.set_xlabel("time (ms)")
        ax.set_yticks([])
        ax.set_ylim(-14, 5)
        ax.set_title(
            f"D: free run from μ₀, M = {M}, τ_code = {tau:g}, file {f}, stages started at the "
            f"previous mode: {which} (seed {chosen['seed']}), spectrum r = {r:.3f} (published "
            f"mean at this τ: 0.377)\n{len(fits) - n_div} of {len(fits)} fits of this setting "
            f"(the grid's and {len(fits) - 1} restarts) do not diverge; their r: median "
            f"{np.median(rs):.3f}, highest {max(rs):.3f}",
            fontsize=10,
        )
        ax.legend(fontsize=8, loc="upper right")
    else:
        axes_d[0].text(
            0.5,
            0.5,
            f"D: the example fit (M = {M}, τ_code = {tau:g}, file {f}) is not fitted yet",
            ha="center",
            va="center",
            transform=axes_d[0].transAxes,
        )
        axes_d[0].set_axis_off()
    fig.tight_layout()
    fig.savefig(out / "fig3.png", dpi=100)


def _run_workers(argv: list[str], args) -> int:
    """``--jobs N``: N copies of this command, each with its share of the jobs; a failing
    worker stops the others (finished fits are kept: run the command again to resume)."""
    import signal
    import subprocess

    rest, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--jobs", "--worker", "--workers"):
            skip = True
        elif not a.startswith(("--jobs=", "--worker=", "--workers=")):
            rest.append(a)
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), *rest]
    procs = [
        subprocess.Popen([*cmd, "--worker", str(i), "--workers", str(args.jobs)])
        for i in range(args.jobs)
    ]

    def stop(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(130)))
    try:
        while any(p.poll() is None for p in procs):
            failed = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
            if failed:
                stop()
                print(
                    f"worker {failed[0]} failed (exit {procs[failed[0]].returncode}); the "
                    "others were stopped; run the command again to resume",
                    file=sys.stderr,
                )
                return 1
            time.sleep(1.0)
    except KeyboardInterrupt:
        stop()
        return 130
    return main([*rest, "--report"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("experiments/fig3_em"))
    ap.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    ap.add_argument("--taus", type=float, nargs="+", default=TAUS)
    ap.add_argument("--files", type=int, nargs="+", default=FILES)
    ap.add_argument(
        "--max-passes",
        type=int,
        default=200,
        help="pattern-iteration solves per E-step at most (the authors: no cap)",
    )
    ap.add_argument(
        "--cross",
        choices=("authors", "exact"),
        default="authors",
        help="E[φ(z_k)φ(z_l)]: the authors' approximation or the exact moment",
    )
    ap.add_argument(
        "--stage-start",
        choices=("random", "previous"),
        default="random",
        help="each annealing stage's first E-step starts at a random z (the authors') or "
        "at the previous stage's mode",
    )
    ap.add_argument(
        "--tag", default=None, help="subfolder of fits/ (default: em, em_exact or bptt)"
    )
    ap.add_argument("--method", choices=("em", "bptt"), default="em")
    ap.add_argument(
        "--max-iterations", type=int, default=19, help="EM iterations per stage at most"
    )
    ap.add_argument("--epochs", type=int, default=100, help="BPTT epochs")
    ap.add_argument("--worker", type=int, default=0, help="this process's share of the jobs")
    ap.add_argument("--workers", type=int, default=1, help="processes sharing the jobs")
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="start this many worker processes (one per core) and report when all end",
    )
    ap.add_argument(
        "--data-dir",
        default=None,
        help="holds bursting_neuron/ (default: $JAXRNN_DATA, then ../shared/data)",
    )
    ap.add_argument("--report", action="store_true", help="only collect the fits written so far")
    ap.add_argument(
        "--example-restarts",
        type=int,
        default=0,
        help="fit Fig. 3D's setting this many more times (panel D: the highest-ℓ fit)",
    )
    ap.add_argument(
        "--example-folder",
        default="example",
        help="subfolder of fits/ for --example-restarts (panel D reads fits/example only)",
    )
    args = ap.parse_args(argv)
    if args.jobs > 1 and not args.report:
        return _run_workers(list(sys.argv[1:] if argv is None else argv), args)
    if args.tag is None:
        args.tag = (
            "bptt" if args.method == "bptt" else ("em" if args.cross == "authors" else "em_exact")
        )
    args.out.mkdir(parents=True, exist_ok=True)
    if not jax.config.jax_compilation_cache_dir:  # a caller's cache is kept
        jax.config.update("jax_compilation_cache_dir", str(args.out / ".jit-cache"))
    series = recorded_dataset("bursting_neuron_authors", args.data_dir).series
    if args.example_restarts and not args.report:
        run_example_restarts(args, series)
    elif not args.report:
        (run_bptt if args.method == "bptt" else run_fits)(args, series)
    if args.report or args.workers == 1:
        report(args.out, series)


if __name__ == "__main__":
    sys.exit(main())
