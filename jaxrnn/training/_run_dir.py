"""Run directories: train one model or a population, resumably, and re-evaluate them.

One model's run directory::

    config.yaml      the fully resolved config
    metrics.jsonl    one line per epoch (train loss, test metrics, ...)
    last.eqx         params + optimiser state + counters, written atomically every epoch
    best.eqx         params of the best epoch (the objective's score, e.g. the highest test
                     fraction correct, then the lowest loss; the lowest D_stsp for reconstruction)
    summary.json     best test metrics, wall time, steps/s, status
    curves.png       learning curves

A population's directory holds ``population.yaml`` (base config and each
member's changes), ``last.eqx`` (the stacked state of all members),
``results.csv`` and ``summary.json`` (one row per member), and
``members/<name>/`` for each member: a run directory as above without
``last.eqx`` (``jaxrnn evaluate`` works on it).

Resuming reloads ``last.eqx`` and continues; the data order of epoch e depends
only on (seed, e), so a resumed run ends with the same parameters as an
uninterrupted one; ``summary.json``'s ``wall_time_s`` adds up the resumed
``segments``. A diverging loss (non-finite, or above ``train.abort_loss`` for
``train.abort_patience`` steps: see `Trainer`) stops a single run
(`TrainingDiverged`) without touching the last good checkpoint; in a population
it freezes only that member. ``train.stop_at`` and ``train.patience`` end a run
(or freeze a member) early.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
from collections.abc import Callable

import yaml

from .._distributed import barrier, is_writer
from .._validate import require_x64
from ._checkpoint import write_csv, write_text
from ._config import Config
from ._config_loading import config_from_dict, config_to_dict
from ._config_resolved import resolved_config_dict
from ._em_run import em_data, train_em
from ._fit import fit
from ._population import population_configs
from ._run_lock import RunExists, RunInUse, run_lock
from ._trainer import Trainer

__all__ = [
    "RunExists",
    "RunInUse",
    "train",
    "train_population",
]


def _read_config(run_dir: pathlib.Path) -> Config:
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (config.yaml missing)")
    return config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))


def _em_finished(run_dir: pathlib.Path) -> dict | None:
    """The summary of an EM run that completed (its models written), else None."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    done = summary.get("status") == "completed" and (run_dir / "models.npz").is_file()
    return summary if done else None


def train(
    config: Config | None,
    run_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    stop_after_epochs: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict:
    """Train a config into ``run_dir`` (or resume the run there); returns the summary.

    **Arguments:**

    - `config`: the `Config` (``None`` when resuming: read from ``run_dir``).
    - `run_dir`: the run directory (config.yaml, metrics.jsonl, last.eqx,
      best.eqx, summary.json, curves.png).
    - `resume`: continue the interrupted run in ``run_dir``; otherwise an existing
      run there is refused (`RunExists`).
    - `data_dir`: the MNIST directory (default: the config's, or ``$JAXRNN_DATA``).
    - `progress`: show a progress bar per epoch.
    - `stop_after_epochs`: end this call after that many epochs, as an
      interruption would (used to test resuming).
    - `stop`: asked after every chunk of training steps (not by an EM fit, which is
      one program); once it returns True the call raises KeyboardInterrupt from the
      training loop, as Ctrl-C would (the run ends ``interrupted``, resumable). A
      signal handler that only raises can have its exception lost (when the signal
      lands in a garbage-collection callback, Python prints "Exception ignored" and
      carries on); a flag it sets, asked here, cannot be. The ``jaxrnn`` command
      does this for SIGTERM and Ctrl-C.

    **Returns:**

    The summary (as written to ``summary.json``): ``status`` (``completed``,
    ``diverged``, ``stopped_early``, ``interrupted``), best and final metrics,
    wall time. Raises `TrainingDiverged` after writing it when the loss blew up,
    `RunExists` for a new run where one is, and `RunInUse` while another process
    trains in ``run_dir``.
    """
    run_dir = pathlib.Path(run_dir)
    if resume:
        config = _read_config(run_dir)
    elif (run_dir / "config.yaml").exists():
        raise RunExists(
            f"{run_dir} already holds a run: pass --resume to continue it or "
            "--out for a new directory"
        )
    if config is None:
        raise ValueError("train: give a config, or resume=True for a run directory")
    if config.train.method == "em":
        require_x64("train.method: em")
        data = em_data(config, data_dir)  # bad data is refused before anything is written
        with run_lock(run_dir):  # RunInUse while another process trains here
            if not resume:
                write_text(
                    run_dir / "config.yaml",
                    yaml.safe_dump(resolved_config_dict(config), sort_keys=False),
                )
            elif (done := _em_finished(run_dir)) is not None:
                return done  # a finished fit is kept; an unfinished one is fitted again
            return train_em(config, run_dir, data=data, progress=progress)
    trainer = Trainer(config, data_dir=data_dir)
    with run_lock(run_dir):
        if not resume:
            write_text(
                run_dir / "config.yaml",
                yaml.safe_dump(resolved_config_dict(config), sort_keys=False),
            )
        return fit(
            trainer,
            [run_dir],
            run_dir,
            resume=resume,
            progress=progress,
            stop_after_epochs=stop_after_epochs,
            label=config.name,
            raise_on_divergence=True,
            stop=stop,
        )[0]


def train_population(
    base: Config | None,
    changes: list[dict] | None,
    run_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    stop_after_epochs: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[dict]:
    """Train ``len(changes)`` variants of ``base`` as ONE vmapped program.

    **Arguments:**

    - `base`: the shared `Config` (``None`` when resuming).
    - `changes`: one dict of dotted config keys per member, e.g.
      ``[{"model.tau": 0.0, "seed": 0}, {"model.tau": 5.0, "seed": 0}, ...]``; only
      the keys in `POPULATION_KEYS` may vary (``None`` when resuming).
    - `run_dir`: the population's directory (one sub-directory per member and
      ``results.csv``).
    - `resume`: continue the interrupted population in ``run_dir``.
    - `data_dir`: the MNIST directory.
    - `progress`: show a progress bar per epoch.
    - `stop_after_epochs`: end this call after that many epochs (tests).
    - `stop`: as for `train`: asked after every chunk; True ends the call with
      KeyboardInterrupt.

    **Returns:**

    The member summaries, in order; a diverged member is frozen and marked
    ``diverged`` while the others train on. Raises `RunInUse` while another
    process trains in ``run_dir``.
    """
    run_dir = pathlib.Path(run_dir)
    spec = run_dir / "population.yaml"
    if resume:
        if not spec.is_file():
            raise FileNotFoundError(f"{run_dir}: no population to resume (population.yaml missing)")
        saved = yaml.safe_load(spec.read_text())
        base, changes = config_from_dict(saved["base"]), saved["members"]
    elif spec.exists():
        raise RunExists(
            f"{run_dir} already holds a population: resume it or choose another directory"
        )
    if base is None or changes is None:
        raise ValueError("train_population: give base and changes, or resume=True")
    members = population_configs(base, changes)
    trainer = Trainer(members[0], members=members, data_dir=data_dir)
    writer = is_writer()  # several processes: process 0 writes, every process trains
    # process 0 holds the directory (RunInUse while another job trains there)
    with run_lock(run_dir) if writer else contextlib.nullcontext():
        barrier("jaxrnn train_population: checked")  # every process looked before any writes
        run = (resume, progress, stop_after_epochs, writer, stop)
        return _train_members(base, changes, members, trainer, run_dir, *run)


def _train_members(
    base, changes, members, trainer, run_dir, resume, progress, stop_after_epochs, writer, stop
) -> list[dict]:
    dirs = [run_dir / "members" / c.name for c in members]
    for d, c in zip(dirs, members) if writer else ():
        d.mkdir(parents=True, exist_ok=True)
        if not resume:
            write_text(d / "config.yaml", yaml.safe_dump(resolved_config_dict(c), sort_keys=False))
    if writer and not resume:
        saved = {"base": config_to_dict(base), "members": list(changes)}
        write_text(run_dir / "population.yaml", yaml.safe_dump(saved, sort_keys=False))
    barrier("jaxrnn train_population: directories")
    summaries = fit(
        trainer,
        dirs,
        run_dir,
        resume=resume,
        progress=progress,
        stop_after_epochs=stop_after_epochs,
        label=f"{base.name} (x{len(members)})",
        stop=stop,
    )
    best = [
        {
            k: v
            for k, v in (s.get("best_metrics") or {}).items()
            if k not in ("epoch", "step", "elapsed_s")
        }
        for s in summaries
    ]
    rows = [
        {"member": c.name, **change, "status": s["status"], "best_epoch": s["best_epoch"], **b}
        for c, change, s, b in zip(members, changes, summaries, best)
    ]
    if writer:
        write_csv(run_dir / "results.csv", rows)
        whole = {"name": base.name, "population_size": len(members), "members": summaries}
        write_text(run_dir / "summary.json", json.dumps(whole, indent=2) + "\n")
    barrier("jaxrnn train_population: written")
    return summaries
