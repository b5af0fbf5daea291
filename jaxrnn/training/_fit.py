"""The epoch loop of a run directory (one model or a population): train, evaluate, write
metrics.jsonl, the checkpoints and summary.json every epoch (curves.png at most every
``CURVES_EVERY_S`` seconds, the first time that long into the call, and when the run
ends), stop on
divergence or an early-stopping rule, and resume from ``last.eqx`` (the `TrainState`)."""

from __future__ import annotations

import pathlib
import sys
import time

import numpy as np

from .._distributed import agree, is_writer
from ._checkpoint import keep_previous, save_tree
from ._run_files import load_checkpoint
from ._run_ledger import CURVES_EVERY_S, RunLedger
from ._state import TrainState
from ._trainer import Trainer, TrainingDiverged

__all__ = ["fit", "CURVES_EVERY_S"]


class _Progress:
    """A progress bar on a terminal, one line per epoch in a log, or nothing."""

    def __init__(self, trainer: Trainer, state: TrainState, label: str, show: bool):
        self.label, self.epochs, self.bar = label, trainer.config.train.epochs, None
        self.log = show and not sys.stderr.isatty()
        if show and not self.log:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=trainer.total_steps,
                initial=int(state.step),
                desc=label,
                unit="step",
                dynamic_ncols=True,
            )

    def chunk(self, n: int, loss: float, loss_max: float) -> None:
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix(loss=f"{loss:.4g}", max=f"{loss_max:.3g}")

    def epoch(self, state: TrainState, losses: np.ndarray, metrics: list[dict]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(epoch=int(state.epoch), alive=int(state.alive.sum()))
        elif self.log:  # the first member still training (a stopped one's values are frozen)
            i = int(np.argmax(state.active)) if np.any(state.active) else 0
            shown = ", ".join(
                f"{k} {v:.4g}"
                for k, v in metrics[i].items()
                if isinstance(v, float) and k != "regulariser"
            )
            print(
                f"{self.label} epoch {int(state.epoch)}/{self.epochs}: train loss "
                f"{np.nanmean(losses[:, i]):.4g} (max {np.nanmax(losses[:, i]):.3g}), {shown} "
                f"(member {i}; {int(state.active.sum())} of {state.size} training)",
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _start(trainer: Trainer, last: pathlib.Path, dirs, resume: bool) -> TrainState:
    """The initial state, or a resumed run's checkpoint (`CheckpointError` if unusable)."""
    if resume and last.is_file():
        return load_checkpoint(last, trainer.state_template(), dirs)
    return trainer.start_state()


def _budget_left(trainer: Trainer, state: TrainState) -> bool:
    """Whether the run has epochs and steps left (``train.epochs``, ``train.max_steps``)."""
    return int(state.epoch) < trainer.config.train.epochs and int(state.step) < trainer.total_steps


def _more(trainer: Trainer, state: TrainState, ledger: RunLedger, stop_after) -> bool:
    """Whether another epoch runs in this call."""
    return (
        _budget_left(trainer, state)
        and bool(np.any(state.active))
        and (stop_after is None or ledger.epochs < stop_after)
    )


def fit(
    trainer: Trainer,
    dirs,
    ckpt_dir: pathlib.Path,
    *,
    resume,
    progress,
    stop_after_epochs,
    label,
    raise_on_divergence: bool = False,
    stop=None,
):
    """The epoch loop shared by single runs (one dir) and populations (one per member).

    Each member's ``summary.json`` gets a ``status``: ``completed`` (all epochs),
    ``diverged`` (``diverged_at`` says where), ``stopped_early`` (``train.stop_at`` or
    ``train.patience``; ``stop_reason`` says which) or ``interrupted``
    (``stop_after_epochs``, or an exception such as Ctrl-C). With
    ``raise_on_divergence``, `TrainingDiverged` is raised (after the summaries are
    written, the last good checkpoint untouched) once every member has diverged.
    ``stop`` (a callable or None) is asked after every chunk of steps; once it returns
    True, KeyboardInterrupt is raised from the loop, as Ctrl-C would (the epoch in
    progress is dropped, the run ends ``interrupted``).
    """
    last = ckpt_dir / "last.eqx"
    state = _start(trainer, last, dirs, resume)
    agree(f"{int(state.epoch)} {int(state.step)}", f"the checkpoint {last} (epoch, step)")
    ledger = RunLedger(trainer, dirs, state, resume=resume)
    shown = _Progress(trainer, state, label, progress and is_writer())

    def on_chunk(n: int, loss: float, loss_max: float) -> None:
        shown.chunk(n, loss, loss_max)
        if stop is not None and stop():
            raise KeyboardInterrupt  # raised here, in the loop: it cannot be lost

    try:
        while _more(trainer, state, ledger, stop_after_epochs):
            t0, before = time.perf_counter(), state
            state, losses, died = trainer.run_epoch(state, on_chunk)
            ledger.train_time += time.perf_counter() - t0
            ledger.steps, ledger.epochs = (
                ledger.steps + int(state.step - before.step),
                ledger.epochs + 1,
            )
            ledger.diverged(died)
            if raise_on_divergence and died and not state.alive.any():
                state = state.replace(epoch=before.epoch, step=before.step)  # the epoch is lost
                raise TrainingDiverged(trainer.divergence_message(died[min(died)]))
            metrics = trainer.evaluate(state.params, state.hyper)
            state = ledger.record_epoch(state, before, losses, metrics)
            if ledger.write:  # process 0 of several
                keep_previous(last)  # last.prev.eqx: the epoch before, should last.eqx be damaged
                save_tree(last, state)
            ledger.write_summaries(state, final=False)
            shown.epoch(state, losses, metrics)
        ledger.finished = not _budget_left(trainer, state)
    finally:
        shown.close()
        summaries = ledger.close(state)
    return summaries
