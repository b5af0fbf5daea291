"""The epoch loop of a run directory (one model or a population): train, evaluate, write
metrics.jsonl, the checkpoints and summary.json every epoch (curves.png after the first
epoch, then at most every ``CURVES_EVERY_S`` seconds and when the run ends), stop on
divergence or an early-stopping rule, and resume from ``last.eqx``."""

from __future__ import annotations

import json
import math
import pathlib
import sys
import time

import jax
import numpy as np

from ._checkpoint import (
    append_line,
    keep_previous,
    save_tree,
    write_text,
)
from ._config import Config
from ._curves import plot_curves
from ._population import member_slice
from ._run_files import (
    json_or_none,
    load_checkpoint,
    log_divergence,
    population_state,
    previous_summary,
)
from ._trainer import Trainer, TrainingDiverged

CURVES_EVERY_S = 30.0  # seconds between redraws of curves.png during a run

__all__ = ["fit"]


def _early_stop(config: Config, objective, records: list[dict]) -> str | None:
    """Why a member's run ends early after its latest epoch (``train.stop_at`` reached,
    or ``train.patience`` epochs without a new best test loss), else None."""
    tr = config.train
    if not records:
        return None
    if tr.stop_at is not None and objective.reached(records[-1], tr.stop_at):
        return f"train.stop_at={tr.stop_at:g} reached at epoch {records[-1]['epoch']}"
    if tr.patience is not None:
        losses = [r["test_loss"] for r in records]
        best_at = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.inf)))
        waited = len(records) - 1 - best_at
        if waited >= tr.patience:
            return (
                f"train.patience={tr.patience}: no better test loss since epoch "
                f"{records[best_at]['epoch']}"
            )
    return None


def fit(
    trainer: Trainer, dirs, ckpt_dir: pathlib.Path, *, resume, progress, stop_after_epochs, label
):
    """The epoch loop shared by single runs (one dir) and populations (one per member).

    Each member's ``summary.json`` gets a ``status``: ``completed`` (all epochs),
    ``diverged`` (see `Trainer`; ``diverged_at`` says where), ``stopped_early``
    (``train.stop_at`` or ``train.patience``; ``stop_reason`` says which) or
    ``interrupted`` (``stop_after_epochs``, or an exception such as Ctrl-C).
    """
    P, configs, objective = trainer.P, trainer.configs, trainer.objective
    epoch, step = 0, 0
    best = [(-math.inf, math.inf, -1) for _ in range(P)]  # (score, loss, epoch)
    last = ckpt_dir / "last.eqx"
    if resume and last.is_file():
        template = (
            trainer.state_tree(0, 0, 0.0, 0.0, 0)
            if P == 1
            else population_state(trainer, 0, 0, best)
        )
        s = load_checkpoint(last, template, dirs)
        if P == 1:
            trainer.load_states([s])
            trainer.stopped = np.asarray([bool(s["stopped"])])
            best = [(float(s["best_score"]), float(s["best_loss"]), int(s["best_epoch"]))]
        else:
            trainer.params, trainer.opt_state = s["params"], s["opt_state"]
            trainer.hyper = trainer.hyper._replace(alpha=s["alpha"])
            trainer.alive = np.asarray(s["alive"]).copy()
            trainer.stopped = np.asarray(s["stopped"]).copy()
            trainer.above = np.asarray(s["above"], np.int32).copy()
            best = [
                (float(a), float(b), int(c))
                for a, b, c in zip(s["best_score"], s["best_loss"], s["best_epoch"])
            ]
        epoch, step = int(s["epoch"]), int(s["step"])
    records = [[] for _ in range(P)]
    for i, d in enumerate(dirs):
        path = d / "metrics.jsonl"
        for stale in d.glob(".*.tmp*"):  # a kill -9 mid-write leaves its temporary file
            stale.unlink()
        if path.exists():  # keep only the epochs the checkpoint has
            lines = [json_or_none(x) for x in path.read_text().splitlines() if x.strip()]
            records[i] = [
                r for r in lines if r is not None and r["epoch"] <= epoch and "test_loss" in r
            ]
            write_text(path, "".join(json.dumps(r) + "\n" for r in records[i]))
    previous = [previous_summary(d) if resume else {} for d in dirs]
    status = ["completed"] * P
    reasons: list[str | None] = [None] * P
    for i in range(P):  # members that ended before this call keep their status
        if trainer.stopped[i]:
            status[i], reasons[i] = "stopped_early", previous[i].get("stop_reason")
        elif not trainer.alive[i]:
            status[i] = "diverged"
            if previous[i].get("diverged_at"):
                trainer.died_at[i] = previous[i]["diverged_at"]

    bar = None
    log_epochs = progress and not sys.stderr.isatty()  # logs get one line per epoch
    if progress and not log_epochs:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=trainer.total_steps, initial=step, desc=label, unit="step", dynamic_ncols=True
        )

    def on_chunk(n, loss, loss_max):
        if bar is not None:
            bar.update(n)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4g}", max=f"{loss_max:.3g}")

    t_start = time.perf_counter()
    train_time, steps_this_call, epochs_this_call = 0.0, 0, 0
    config = configs[0]
    finished = False
    t_before = [sum(g["wall_time_s"] for g in p.get("segments", [])) for p in previous]

    def write_summaries(final: bool) -> list[dict]:
        """Each member's summary.json (written every epoch, so a killed run keeps one)."""
        out = []
        wall = round(time.perf_counter() - t_start, 3)
        for i, c in enumerate(configs):
            st = status[i]
            if (
                final
                and st == "completed"
                and not finished
                and trainer.alive[i]
                and not trainer.stopped[i]
            ):
                st = status[i] = "interrupted"
            if not final and st == "completed":
                st = "running"
            rec = next((r for r in records[i] if r["epoch"] == best[i][2]), None)
            segments = list(previous[i].get("segments", [])) + [
                {"epochs": epochs_this_call, "wall_time_s": wall}
            ]
            summary = {
                "name": c.name,
                "status": st,
                **({"stop_reason": reasons[i]} if st == "stopped_early" else {}),
                **(
                    {"diverged_at": trainer.died_at[i], "message": trainer.divergence_message(i)}
                    if st == "diverged" and i in trainer.died_at
                    else {}
                ),
                "epochs_completed": records[i][-1]["epoch"] if records[i] else 0,
                "steps": step,
                "best_epoch": best[i][2] if rec is not None else None,
                **objective.summary(rec),
                "final_metrics": records[i][-1] if records[i] else None,
                "best_metrics": rec,
                "wall_time_s": round(sum(g["wall_time_s"] for g in segments), 3),
                "segments": segments,
                "train_steps_per_s": round(steps_this_call / train_time, 2) if train_time else None,
                "population_size": P,
                "n_parameters": int(sum(x.size for x in jax.tree_util.tree_leaves(trainer.params)))
                // P,
                "task": c.task.name,
                "model": c.model.name,
            }
            write_text(dirs[i] / "summary.json", json.dumps(summary, indent=2) + "\n")
            out.append(summary)
        return out

    drawn = [(0, -math.inf)] * P  # per member: (epoch drawn, when)

    def draw_curves(i: int, final: bool) -> None:
        """Redraw curves.png (a matplotlib figure costs ~0.1-0.3 s: not every short epoch)."""
        if not records[i] or records[i][-1]["epoch"] == drawn[i][0]:
            return
        if final or time.perf_counter() - drawn[i][1] >= CURVES_EVERY_S:
            plot_curves(dirs[i], records[i], objective)
            drawn[i] = (records[i][-1]["epoch"], time.perf_counter())

    try:
        while epoch < config.train.epochs and step < trainer.total_steps:
            if not np.any(trainer.alive & ~trainer.stopped):
                break
            if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs:
                break
            t0 = time.perf_counter()
            active_before = trainer.alive & ~trainer.stopped
            try:
                new_step, losses = trainer.run_epoch(epoch, step, on_chunk)
            except TrainingDiverged:
                status[0] = "diverged"
                log_divergence(dirs[0], trainer.died_at[0])
                raise
            train_time += time.perf_counter() - t0
            steps_this_call += new_step - step
            step, epoch = new_step, epoch + 1
            epochs_this_call += 1
            metrics = trainer.evaluate_members()
            losses = np.asarray(losses, float).reshape(-1, P)
            alphas = np.asarray(trainer.hyper.alpha).reshape(P)
            for i in range(P):
                if not active_before[i]:
                    continue
                if not trainer.alive[i]:
                    status[i] = "diverged"
                    log_divergence(dirs[i], trainer.died_at[i])
                    continue
                finite = losses[:, i][np.isfinite(losses[:, i])]
                record = {
                    "epoch": epoch,
                    "step": step,
                    "train_loss": float(finite.mean()),
                    "train_loss_max": float(finite.max()),
                    **metrics[i],
                    "elapsed_s": round(t_before[i] + time.perf_counter() - t_start, 3),
                }
                if objective.uses_forcing:
                    record["alpha"] = float(alphas[i])
                append_line(dirs[i] / "metrics.jsonl", record)
                records[i].append(record)
                score, loss = objective.score(metrics[i])
                if score > best[i][0] or (score == best[i][0] and loss < best[i][1]):
                    best[i] = (score, loss, epoch)
                    params = trainer.params if P == 1 else member_slice(trainer.params, i)
                    save_tree(dirs[i] / "best.eqx", params)
                draw_curves(i, final=False)
                why = _early_stop(configs[i], objective, records[i])
                if why is not None:
                    trainer.stopped[i] = True
                    status[i], reasons[i] = "stopped_early", why
            keep_previous(last)  # last.prev.eqx: the epoch before, should last.eqx be damaged
            if P == 1:
                save_tree(last, trainer.state_tree(epoch, step, *best[0]))
            else:
                save_tree(last, population_state(trainer, epoch, step, best))
            write_summaries(final=False)
            if bar is not None:
                bar.set_postfix(epoch=epoch, alive=int(trainer.alive.sum()))
            elif log_epochs:
                m = metrics[0]
                shown = ", ".join(
                    f"{k} {v:.4g}"
                    for k, v in m.items()
                    if isinstance(v, float) and k != "regulariser"
                )
                print(
                    f"{label} epoch {epoch}/{config.train.epochs}: "
                    f"train loss {np.nanmean(losses[:, 0]):.4g} "
                    f"(max {np.nanmax(losses[:, 0]):.3g}), {shown}"
                    + (f" (member 0 of {P}, {int(trainer.alive.sum())} alive)" if P > 1 else ""),
                    flush=True,
                )
        finished = epoch >= config.train.epochs or step >= trainer.total_steps
    finally:
        if bar is not None:
            bar.close()
        try:  # the final curves, then the final summaries even if a signal cut the drawing
            for i in range(P):
                draw_curves(i, final=True)
        finally:  # summary.json, the last write, records how the run ended
            summaries = write_summaries(final=True)
    return summaries
