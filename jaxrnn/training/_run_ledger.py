"""The host-side record of a run's members: their metrics lines, how each ended, the
summary.json they get every epoch and their learning curves. The epoch loop (``_fit.py``)
feeds it one epoch at a time; the `TrainState` it reads is never changed here."""

from __future__ import annotations

import json
import pathlib
import time

import jax
import numpy as np

from .._distributed import is_writer
from ._checkpoint import append_line, save_tree, write_text
from ._config import Config
from ._curves import plot_curves
from ._population import member_slice
from ._run_files import json_or_none, log_divergence, previous_summary
from ._state import TrainState

CURVES_EVERY_S = 30.0  # seconds between redraws of curves.png during a run

__all__ = ["RunLedger", "CURVES_EVERY_S"]


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


def _kept_records(run_dir: pathlib.Path, epoch: int, write: bool) -> list[dict]:
    """metrics.jsonl cut back to the epochs the checkpoint has (rewritten so when
    ``write``)."""
    path = run_dir / "metrics.jsonl"
    for stale in run_dir.glob(".*.tmp*") if write else ():  # a kill -9 mid-write leaves one
        stale.unlink()
    if not path.exists():
        return []
    lines = [json_or_none(x) for x in path.read_text().splitlines() if x.strip()]
    kept = [r for r in lines if r is not None and r["epoch"] <= epoch and "test_loss" in r]
    if write:
        write_text(path, "".join(json.dumps(r) + "\n" for r in kept))
    return kept


class RunLedger:
    """Per-member records of one call of the epoch loop over run directories ``dirs``.

    **Arguments:**

    - `trainer`: the run's `Trainer` (configs, objective, divergence messages).
    - `dirs`: one run directory per member.
    - `state`: the state the call starts from (a resumed run's checkpoint).
    - `resume`: whether earlier calls wrote these directories (their summaries' wall
      time and end states are kept).

    In a multi-process program every process keeps the same records and only process 0
    (``write``) writes the files.
    """

    def __init__(self, trainer, dirs, state: TrainState, *, resume: bool):
        self.trainer, self.dirs, self.objective = trainer, list(dirs), trainer.objective
        self.write = is_writer()
        self.records = [_kept_records(d, int(state.epoch), self.write) for d in self.dirs]
        self.previous = [previous_summary(d) if resume else {} for d in self.dirs]
        self.status = ["completed"] * len(self.dirs)
        self.reasons: list[str | None] = [None] * len(self.dirs)
        self.died: dict[int, dict] = {}
        for i, p in enumerate(self.previous):  # members that ended earlier keep their end
            if state.stopped[i]:
                self.status[i], self.reasons[i] = "stopped_early", p.get("stop_reason")
            elif not state.alive[i]:
                self.status[i] = "diverged"
                if p.get("diverged_at"):
                    self.died[i] = p["diverged_at"]
        self.t_start = time.perf_counter()
        # per member: (epoch drawn, when); the first drawing CURVES_EVERY_S into the call
        # (a short run draws once, at its end)
        self.drawn = [(0, self.t_start)] * len(self.dirs)
        self.draw_cost = 0.0  # seconds of the slowest curves.png so far
        self.t_before = [
            sum(g["wall_time_s"] for g in p.get("segments", [])) for p in self.previous
        ]
        self.train_time, self.steps, self.epochs, self.finished = 0.0, 0, 0, False

    def diverged(self, died: dict[int, dict]) -> None:
        """Members that diverged this epoch: status, and the metrics line that marks it."""
        for i, d in died.items():
            self.died[i] = d
            self.status[i] = "diverged"
            if self.write:
                log_divergence(self.dirs[i], d)

    def record_epoch(
        self, state: TrainState, before: TrainState, losses: np.ndarray, metrics: list[dict]
    ) -> TrainState:
        """Append the epoch's metrics line of every member that trained in it, keep a new
        best (``best.eqx``) and apply the early-stopping rules; returns the state with the
        bests and the stopped flags updated."""
        alphas = np.asarray(state.hyper.alpha).reshape(-1)
        stopped = state.stopped.copy()
        for i in map(int, np.flatnonzero(before.active & state.alive)):
            finite = losses[:, i][np.isfinite(losses[:, i])]
            record = {
                "epoch": int(state.epoch),
                "step": int(state.step),
                "train_loss": float(finite.mean()),
                "train_loss_max": float(finite.max()),
                **metrics[i],
                "elapsed_s": round(self.t_before[i] + time.perf_counter() - self.t_start, 3),
            }
            if self.objective.uses_forcing:
                record["alpha"] = float(alphas[i])
            if self.write:
                append_line(self.dirs[i] / "metrics.jsonl", record)
            self.records[i].append(record)
            score, loss = self.objective.score(metrics[i])
            if state.improved(i, score, loss):
                state = state.with_best(i, score, loss)
                if self.write:
                    save_tree(self.dirs[i] / "best.eqx", member_slice(state.params, i))
            self.draw(i, final=False)
            why = _early_stop(self.trainer.configs[i], self.objective, self.records[i])
            if why is not None:
                stopped[i] = True
                self.status[i], self.reasons[i] = "stopped_early", why
        return state.replace(stopped=stopped)

    def draw(self, i: int, final: bool) -> None:
        """Redraw curves.png at the end and at most every ``CURVES_EVERY_S`` seconds, or
        less often when drawing would take more than 5% of the time (a figure costs
        0.2-0.3 s; a population of P members draws P of them)."""
        records = self.records[i]
        if not records or records[-1]["epoch"] == self.drawn[i][0] or not self.write:
            return
        every = max(CURVES_EVERY_S, 20 * len(self.dirs) * self.draw_cost)
        if final or time.perf_counter() - self.drawn[i][1] >= every:
            t0 = time.perf_counter()
            plot_curves(self.dirs[i], records, self.objective)
            self.draw_cost = max(self.draw_cost, time.perf_counter() - t0)
            self.drawn[i] = (records[-1]["epoch"], time.perf_counter())

    def _status(self, i: int, state: TrainState, final: bool) -> str:
        st = self.status[i]
        if st == "completed" and final and not self.finished and state.active[i]:
            st = self.status[i] = "interrupted"
        return "running" if st == "completed" and not final else st

    def summary(self, i: int, state: TrainState, final: bool) -> dict:
        """Member ``i``'s summary.json (written every epoch, so a killed run keeps one)."""
        st, records, c = self._status(i, state, final), self.records[i], self.trainer.configs[i]
        best_epoch = int(state.best_epoch[i])
        rec = next((r for r in records if r["epoch"] == best_epoch), None)
        wall = round(time.perf_counter() - self.t_start, 3)
        segments = [
            *self.previous[i].get("segments", []),
            {"epochs": self.epochs, "wall_time_s": wall},
        ]
        P = state.size
        return {
            "name": c.name,
            "status": st,
            **({"stop_reason": self.reasons[i]} if st == "stopped_early" else {}),
            **(
                {"diverged_at": d, "message": self.trainer.divergence_message(d)}
                if st == "diverged" and (d := self.died.get(i)) is not None
                else {}
            ),
            "epochs_completed": records[-1]["epoch"] if records else 0,
            "steps": int(state.step),
            "best_epoch": best_epoch if rec is not None else None,
            **self.objective.summary(rec),
            "final_metrics": records[-1] if records else None,
            "best_metrics": rec,
            "wall_time_s": round(sum(g["wall_time_s"] for g in segments), 3),
            "segments": segments,
            "train_steps_per_s": round(self.steps / self.train_time, 2)
            if self.train_time
            else None,
            "population_size": P,
            "n_parameters": sum(x.size for x in jax.tree_util.tree_leaves(state.params)) // P,
            "task": c.task.name,
            "model": c.model.name,
        }

    def write_summaries(self, state: TrainState, final: bool) -> list[dict]:
        """Every member's summary.json; returns them."""
        out = [self.summary(i, state, final) for i in range(len(self.dirs))]
        for d, s in zip(self.dirs, out) if self.write else ():
            write_text(d / "summary.json", json.dumps(s, indent=2) + "\n")
        return out

    def close(self, state: TrainState) -> list[dict]:
        """The final curves, then the final summaries even if a signal cut the drawing."""
        try:
            for i in range(len(self.dirs)):
                self.draw(i, final=True)
        finally:  # summary.json, the last write, records how the run ended
            summaries = self.write_summaries(state, final=True)
        return summaries
