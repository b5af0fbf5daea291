"""EM run directories: ``jaxrnn train`` with ``train.method: em`` (Schmidt et al., Sect. 3.4).

An EM run fits every series of the reconstruction data separately, ``em.restarts``
times from different random initialisations, as one vmapped program per annealing
stage, and writes::

    config.yaml      the fully resolved config
    em_trace.json    per fit: each stage's σ, EM iterations, ℓ per iteration, best ℓ and
                     pattern-iteration solves
    models.npz       the fitted models' parameters, stacked over fits
    fits.csv         per fit: series, restart, final ℓ and the free-run scores
    summary.json     status, wall time, the scores of each series' best-ℓ fit
    free_run.png     each series against the noise-free free run (from μ₀) of its
                     best-ℓ fit

The fit is deterministic given the config: ``--resume`` keeps a finished EM run and fits
one that did not finish again. ``jaxrnn evaluate`` recomputes the scores from ``models.npz``.
Free-run scores: D_stsp (30 bins per dimension), D_H, whether the run diverges
globally (`jaxrnn.metrics.diverged`), and for the bursting-neuron data the Fig. 3
spectrum errors of the first variable (V).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..em import EMSettings, PLRNNStateSpace, StageResult, fit_em
from ..metrics import diverged, hellinger_distance, spectrum_errors, state_space_divergence
from ..systems import TimeSeriesData, dataset, recorded_dataset
from ._checkpoint import save_npz, write_csv, write_text
from ._config import Config

__all__ = ["train_em", "evaluate_em", "em_settings", "em_data", "load_em_models"]

_FIELDS = ("A", "W", "h", "C", "mu0", "B", "Gamma", "sigma")


def em_settings(config: Config) -> EMSettings:
    """The `EMSettings` of a config's ``em`` section and model."""
    e, m = config.em, config.model
    fraction = m.reg_fraction if m.n_regularised is None else m.n_regularised / m.hidden_size
    if m.name == "plrnn":
        fraction = 0.0
    return EMSettings(
        sigmas=tuple(e.sigmas),
        freeze_B_from=e.freeze_B_from,
        tol=e.tol,
        max_iterations=e.max_iterations,
        eps=e.eps,
        pattern_tol=e.pattern_tol,
        flip_all_after=e.flip_all_after,
        max_passes=e.max_passes,
        stage_start=e.stage_start,  # type: ignore[arg-type]
        cov_floor=e.cov_floor,
        lds_cov_floor=e.lds_cov_floor,
        gamma_floor=e.gamma_floor,
        cross_moment=e.cross_moment,  # type: ignore[arg-type]
        reg_fraction=fraction,
        observation=e.observation,  # type: ignore[arg-type]
        init_W_range=e.init_W_range,
        init_h_std=e.init_h_std,
    )


def em_data(config: Config, data_dir=None):
    """The series an EM run fits: ``task.data`` (a CSV file or a recorded dataset) or the
    simulated ``task.dataset``; all of them, training and test."""
    t = config.task
    if t.data is not None:
        return recorded_dataset(t.data, data_dir)
    overrides = {"noise_std": t.noise_std, "seed": config.data_seed}
    if t.n_samples is not None:
        overrides["n_samples"] = t.n_samples
    return dataset(t.dataset, **overrides)


def _is_neuron(config: Config) -> bool:
    return config.task.data == "bursting_neuron_authors" or (
        config.task.data is None and config.task.dataset == "bursting_neuron"
    )


def load_em_models(run_dir: str | os.PathLike[str]) -> PLRNNStateSpace:
    """The fitted models of an EM run directory (``train.method: em``).

    **Arguments:**

    - `run_dir`: the run directory.

    **Returns:**

    A `jaxrnn.em.PLRNNStateSpace` whose arrays are stacked over the fits (leading axis,
    in the order of ``fits.csv``: series-major, then restarts).
    """
    path = pathlib.Path(run_dir) / "models.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no fitted models (the EM run has not finished)")
    with np.load(path) as z:
        arrays = {k: jnp.asarray(z[k]) for k in _FIELDS}
        observation = str(z["observation"]) if "observation" in z else "relu"
    one = PLRNNStateSpace(
        **{k: v[0] for k, v in arrays.items()},
        observation=observation,  # type: ignore[arg-type]
    )
    # the stacked arrays go in past __init__, whose annotations describe one model
    stacked = [arrays[k] for k in _FIELDS]
    return eqx.tree_at(lambda m: [getattr(m, k) for k in _FIELDS], one, stacked)


def _scores(model: PLRNNStateSpace, x: np.ndarray, n_steps: int, neuron: bool, dt: float):
    gen = np.asarray(model.free_run(n_steps)[0])
    out: dict = {"diverged": diverged(gen, x)}
    if out["diverged"]:
        out.update(d_stsp=math.nan, d_h=math.nan)
    else:
        out["d_stsp"] = float(state_space_divergence(x, gen))
        out["d_h"] = float(hellinger_distance(x, gen))
        if neuron and gen.shape[0] == x.shape[0]:
            errors = spectrum_errors(x[:, 0], gen[:, 0], sampling_rate=1000.0 / dt)
            out.update({f"spectrum_{k}": v for k, v in errors.items()})
    return out, gen


def _json_safe(row: dict) -> dict:
    """NaN scores (a diverging run) as null, so summary files are standard JSON."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def _evaluate(config: Config, models: PLRNNStateSpace, series: np.ndarray, dt: float):
    steps = config.em.eval_steps or series.shape[1]
    neuron = _is_neuron(config)
    rows, gens = [], []
    F = models.A.shape[0]
    restarts = config.em.restarts
    for f in range(F):
        one = jax.tree_util.tree_map(lambda a, f=f: a[f], models)
        s = f // restarts
        metrics, gen = _scores(one, series[s], steps, neuron, dt)
        rows.append({"fit": f, "series": s, "restart": f % restarts, **metrics})
        gens.append(gen)
    return rows, gens


def _figure(path: pathlib.Path, series, gens, best, dt) -> None:
    from matplotlib.figure import Figure  # no pyplot: the library leaves global state alone

    n = len(best)
    dims = series.shape[-1]
    fig = Figure(figsize=(5 * n, 1.8 * dims + 0.6))
    axes = fig.subplots(dims, n, squeeze=False)
    for s, f in enumerate(best):
        t = np.arange(series.shape[1]) * dt
        for d in range(dims):
            ax = axes[d, s]
            ax.plot(t, series[s, :, d], color="k", lw=0.6, label="data")
            g = gens[f][: series.shape[1], d]
            ax.plot(t[: g.shape[0]], g, color="C3", lw=0.6, label="free run")
            lo, hi = float(series[s, :, d].min()), float(series[s, :, d].max())
            pad = 0.5 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)  # a diverging run leaves the frame
            if s == 0:
                ax.set_ylabel(f"x{d + 1}")
        gone = diverged(gens[f], series[s])  # the same rule as the scores
        axes[0, s].set_title(f"series {s + 1} (fit {f}{', diverges' if gone else ''})", fontsize=9)
        axes[-1, s].set_xlabel(f"time (steps × {dt:g})")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def train_em(
    config: Config,
    run_dir: str | os.PathLike[str],
    *,
    data: TimeSeriesData | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> dict:
    """Fit a reconstruction config by EM into ``run_dir`` (see the module docstring);
    returns the summary. ``config.yaml`` is written by the caller; ``data`` (default:
    `em_data` of the config) are the series."""
    run_dir = pathlib.Path(run_dir)
    data = em_data(config, data_dir) if data is None else data
    series = np.asarray(data.series, float)
    S, T, _ = series.shape
    restarts = config.em.restarts
    settings = em_settings(config)
    xs = np.repeat(series, restarts, axis=0)
    keys = jax.random.split(jax.random.PRNGKey(config.seed), S * restarts)
    lam = config.em.tau if config.em.lam is None else config.em.lam
    t0 = time.perf_counter()
    write_text(
        run_dir / "summary.json",
        json.dumps({"name": config.name, "method": "em", "status": "running"}, indent=2) + "\n",
    )

    def report(stage: int, result: StageResult) -> None:
        if progress:
            its = np.asarray(result.iterations).tolist()
            best = ", ".join(f"{v:.6g}" for v in np.asarray(result.best_ll))
            print(
                f"{config.name}: stage {stage}/{len(settings.sigmas)} "
                f"(σ = {settings.sigmas[stage - 1]:g}{', LDS' if stage == 1 else ''}) "
                f"{time.perf_counter() - t0:.0f} s: EM iterations {its}, best ℓ [{best}]",
                flush=True,
            )

    fit = fit_em(
        jnp.asarray(xs),
        config.model.hidden_size,
        tau=config.em.tau,
        lam=lam,
        keys=keys,
        settings=settings,
        progress=report,
    )
    jax.block_until_ready(fit.model.A)
    wall = time.perf_counter() - t0
    arrays = {k: np.asarray(getattr(fit.model, k)) for k in _FIELDS}
    arrays["observation"] = np.asarray(settings.observation)
    save_npz(run_dir / "models.npz", arrays)
    trace = []
    ll, passes = np.asarray(fit.ll), np.asarray(fit.passes)
    for f in range(S * restarts):
        stages = []
        for k, sigma in enumerate(settings.sigmas):
            n = int(fit.iterations[f, k])
            stages.append(
                {
                    "stage": k + 1,
                    "sigma": sigma,
                    "iterations": n,
                    "ll": ll[f, k, :n].tolist(),
                    "best_ll": float(fit.best_ll[f, k]),
                    "passes": passes[f, k, :n].tolist(),
                }
            )
        trace.append({"fit": f, "series": f // restarts, "restart": f % restarts, "stages": stages})
    write_text(run_dir / "em_trace.json", json.dumps(trace, indent=1) + "\n")
    rows, gens = _evaluate(config, fit.model, series, data.dt)
    final_ll = np.asarray(fit.best_ll)[:, -1]
    for r in rows:
        r["final_ll"] = float(final_ll[r["fit"]])
    write_csv(run_dir / "fits.csv", rows)
    best = [
        max(range(s * restarts, (s + 1) * restarts), key=lambda f: final_ll[f]) for s in range(S)
    ]
    _figure(run_dir / "free_run.png", series, gens, best, data.dt)
    summary = {
        "name": config.name,
        "method": "em",
        "status": "completed",
        "wall_time_s": round(wall, 2),
        "fits": S * restarts,
        "series": S,
        "best_fits": [_json_safe(rows[f]) for f in best],
    }
    write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def evaluate_em(config: Config, run_dir: str | os.PathLike[str], data_dir=None) -> dict:
    """The free-run scores of an EM run directory's fitted models (see `train_em`)."""
    models = load_em_models(run_dir)
    data = em_data(config, data_dir)
    rows, _ = _evaluate(config, models, np.asarray(data.series, float), data.dt)
    return {"fits": [_json_safe(r) for r in rows]}
