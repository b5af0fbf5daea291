"""Analysis of a trained PLRNN run directory (``jaxrnn analyse RUN_DIR``).

Loads the run's best checkpoint and, for the autonomous map (input s = 0 unless
given): fixed points and cycles up to ``max_order`` (exhaustive while M·k ≤ 20,
SCYFI beyond, seeded from test trajectories), the eigenvalues of the region
Jacobians visited by test trajectories (line-attractor directions have
eigenvalues near 1), and the Lyapunov spectrum of the map from the final
state of a test trial. Writes ``analysis.json`` and ``analysis.png``.
"""

from __future__ import annotations

import json
import os
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import yaml

from .._validate import require_x64
from ..models import PLRNN
from ..models.plrnn._regions import region_matrices
from ..training._config_loading import config_from_dict
from ..training._model_zoo import PLRNN_MODELS
from ..training._run_read import checkpoint_params
from ._lyapunov import kaplan_yorke_dimension, lyapunov_spectrum
from ._plrnn_cycles import MAX_SEQUENCES, cycles, exhaustive_feasible, trajectory_seeds

__all__ = ["analyse_run"]

NEAR_ONE = 0.05  # |λ − 1| below this counts as a line-attractor direction


def _load(run_dir: pathlib.Path, data_dir):
    if not (run_dir / "config.yaml").is_file():
        members = sorted(p.parent for p in run_dir.glob("members/*/config.yaml"))
        if members:  # a population or a training sweep: name its members
            shown = ", ".join(str(m) for m in members[:3]) + (", ..." if len(members) > 3 else "")
            raise FileNotFoundError(
                f"{run_dir}: a population of {len(members)} runs; analyse one of its "
                f"members: {shown}"
            )
        raise FileNotFoundError(f"{run_dir}: not a run directory (config.yaml missing)")
    config = config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    if config.train.method == "em":
        raise ValueError(
            f"{run_dir}: an EM fit (train.method: em); load its models with "
            "jaxrnn.training.load_em_models"
        )
    if config.model.name not in PLRNN_MODELS:
        raise ValueError(
            f"{run_dir}: analyse needs a PLRNN run, this one trained "
            f"model.name={config.model.name!r}"
        )
    ckpt = run_dir / "best.eqx"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt}: no best checkpoint yet")
    require_x64("analyse_run (the analysis runs in float64)")
    trainer, params = checkpoint_params(run_dir, "best", data_dir)
    model = eqx.combine(params, trainer.static)
    as64 = lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a  # noqa: E731
    return config, trainer, jax.tree_util.tree_map(as64, model)


def analyse_run(
    run_dir: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    max_order: int = 2,
    n_trials: int = 50,
    lyapunov_steps: int = 5000,
    data_dir: str | os.PathLike[str] | None = None,
) -> dict:
    """Analyse a PLRNN run directory; returns the summary written to ``analysis.json``."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is untouched

    run_dir = pathlib.Path(run_dir)
    out = run_dir if out is None else pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config, trainer, model = _load(run_dir, data_dir)
    assert isinstance(model, PLRNN)
    M = model.state_size
    trajs = trainer.objective.analysis_trajectories(model, n_trials)
    states = np.asarray(trajs).reshape(-1, M)
    regions, counts = np.unique(states > 0, axis=0, return_counts=True)
    A_diag, W = np.asarray(model.A), np.asarray(model.W)
    eigs = np.linalg.eigvals(region_matrices(A_diag, W, regions.astype(float))).ravel()
    near_one = int(np.sum(np.abs(eigs - 1) < NEAR_ONE)) / len(regions)

    summary = {
        "run": str(run_dir),
        "model": config.model.name,
        "latent_size": M,
        "n_regularised": model.n_regularised,
        "A_regularised": np.round(np.asarray(model.A[: model.n_regularised]), 4).tolist(),
        "regions_visited_by_test_trials": int(len(regions)),
        "mean_eigenvalues_near_one_per_region": near_one,
        "cycles": {},
    }
    seeds_from = np.asarray(trajs[:, 1:]).reshape(-1, M)
    for k in range(1, max_order + 1):
        if exhaustive_feasible(M, k):
            found, method = cycles(model, k), "exhaustive"
        else:
            found = cycles(
                model,
                k,
                method="scyfi",
                n_init=500,
                seeds=trajectory_seeds(seeds_from, k, n=2000, stride=3),
            )
            method = (
                f"scyfi (heuristic): the exhaustive search over 2^{M * k} region "
                f"sequences exceeds its limit of {MAX_SEQUENCES:,}"
            )
        summary["cycles"][str(k)] = {
            "method": method,
            "count": len(found),
            "kinds": list(found.kinds),
            "n_singular": found.n_singular,
            "notes": list(found.notes),
        }
    z_end = trajs[0, -1]
    spec = np.asarray(lyapunov_spectrum(model, z_end, lyapunov_steps))
    summary["lyapunov_spectrum"] = np.round(spec, 5).tolist()
    summary["kaplan_yorke_dimension"] = kaplan_yorke_dimension(spec)

    fig = Figure(figsize=(15, 4.5))
    axes = fig.subplots(1, 3)
    t = np.linspace(0, 2 * np.pi, 200)
    axes[0].plot(np.cos(t), np.sin(t), "k-", lw=0.6)
    axes[0].plot(eigs.real, eigs.imag, ".", ms=3)
    axes[0].set_aspect("equal")
    axes[0].set_xlabel("Re λ")
    axes[0].set_ylabel("Im λ")
    axes[0].set_title(
        f"eigenvalues of A + W D_Ω, {len(regions)} visited regions\n"
        f"{near_one:.1f} per region within {NEAR_ONE} of 1"
    )
    reg = max(model.n_regularised, 1)
    for tr in np.asarray(trajs[:10]):
        axes[1].plot(tr[:, 0], lw=0.7)
    axes[1].set_xlabel("time step")
    axes[1].set_ylabel("z_1 (a regularised unit)" if reg else "z_1")
    axes[1].set_title("test trials: first latent unit")
    axes[2].bar(range(1, M + 1), spec)
    axes[2].axhline(0, color="k", lw=0.6)
    axes[2].set_xlabel("exponent index i (largest first)")
    axes[2].set_ylabel("λ_i (nats per time step)")
    axes[2].set_title("Lyapunov spectrum of the autonomous map")
    fig.tight_layout()
    fig.savefig(out / "analysis.png", dpi=100)
    (out / "analysis.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
