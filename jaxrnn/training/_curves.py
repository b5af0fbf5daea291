"""Learning curves of a run directory (``curves.png``, written atomically)."""

from __future__ import annotations

import pathlib

from ._objective_base import AbstractObjective

__all__ = ["plot_curves"]


def plot_curves(run_dir: pathlib.Path, records: list[dict], objective: AbstractObjective) -> None:
    """Train/test loss per epoch, and the objective's curve metrics (the test fraction
    correct of the benchmarks; D_stsp and D_H of the free runs in reconstruction)."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is untouched

    if not records:
        return
    ep = [r["epoch"] for r in records]
    # fixed margins and legend places: tight_layout and loc="best" each cost a draw
    fig = Figure(figsize=(10, 3.6))
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.14, top=0.88, wspace=0.2)
    axes = fig.subplots(1, 2)
    axes[0].semilogy(ep, [r["train_loss"] for r in records], label="train (incl. regulariser)")
    axes[0].semilogy(ep, [r["test_loss"] for r in records], label="test")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend(loc="upper right")
    for key, label in objective.curve_metrics:
        axes[1].plot(ep, [r[key] for r in records], "o-", ms=3, label=label)
    axes[1].set_ylabel(objective.curve_label)
    if objective.curve_ylim is not None:
        axes[1].set_ylim(*objective.curve_ylim)
    if len(objective.curve_metrics) > 1:
        axes[1].legend(loc="lower right")
    axes[1].set_xlabel("epoch")
    fig.suptitle(run_dir.name)
    tmp = run_dir / ".curves.tmp.png"
    fig.savefig(tmp, dpi=100)
    tmp.replace(run_dir / "curves.png")
