"""Learning curves of a run directory (``curves.png``, written atomically)."""

from __future__ import annotations

import pathlib

__all__ = ["plot_curves"]


def plot_curves(run_dir: pathlib.Path, records: list[dict], objective=None) -> None:
    """Train/test loss per epoch, and the run's score: the test fraction correct
    (benchmarks) or D_stsp and D_H of the free runs (reconstruction)."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is untouched

    if not records:
        return
    ep = [r["epoch"] for r in records]
    fig = Figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    axes[0].semilogy(ep, [r["train_loss"] for r in records], label="train (incl. regulariser)")
    axes[0].semilogy(ep, [r["test_loss"] for r in records], label="test")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    if "d_stsp" in records[0]:
        axes[1].plot(ep, [r["d_stsp"] for r in records], "o-", ms=3, label="D_stsp")
        axes[1].plot(ep, [r["d_h"] for r in records], "s-", ms=3, label="D_H")
        axes[1].set_ylabel("free-run divergence")
        axes[1].legend()
    else:
        axes[1].plot(ep, [r["test_frac_correct"] for r in records], "o-", ms=3)
        axes[1].set_ylabel("test fraction correct")
        axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_xlabel("epoch")
    fig.suptitle(run_dir.name)
    fig.tight_layout()
    tmp = run_dir / ".curves.tmp.png"
    fig.savefig(tmp, dpi=100)
    tmp.replace(run_dir / "curves.png")
