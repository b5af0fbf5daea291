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

import json
import math
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import yaml

from ._checkpoint import (CheckpointError, append_line, keep_previous, load_tree, save_tree,
                          write_csv, write_text)
from ._config import Config, config_from_dict, config_to_dict
from ._curves import plot_curves
from ._trainer import Trainer, TrainingDiverged, member_slice, population_configs

__all__ = ["RunExists", "train", "train_population", "evaluate_run"]


class RunExists(FileExistsError):
    """The output directory already holds a run."""


def _read_config(run_dir: pathlib.Path) -> Config:
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (config.yaml missing)")
    return config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))


def _population_state(trainer: Trainer, epoch, step, best):
    fdt = np.float64  # NumPy: the file format must not depend on jax_enable_x64
    return {"params": trainer.params, "opt_state": trainer.opt_state,
            "alpha": trainer.hyper.alpha, "alive": jnp.asarray(trainer.alive),
            "stopped": jnp.asarray(trainer.stopped), "above": jnp.asarray(trainer.above),
            "epoch": jnp.asarray(epoch, jnp.int32), "step": jnp.asarray(step, jnp.int32),
            "best_score": np.asarray([b[0] for b in best], fdt),
            "best_loss": np.asarray([b[1] for b in best], fdt),
            "best_epoch": jnp.asarray([b[2] for b in best], jnp.int32)}


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
            return (f"train.patience={tr.patience}: no better test loss since epoch "
                    f"{records[best_at]['epoch']}")
    return None


def _fit(trainer: Trainer, dirs, ckpt_dir: pathlib.Path, *, resume, progress,
         stop_after_epochs, label):
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
        template = (trainer.state_tree(0, 0, 0.0, 0.0, 0) if P == 1
                    else _population_state(trainer, 0, 0, best))
        s = _load_checkpoint(last, template, dirs)
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
            best = [(float(a), float(b), int(c)) for a, b, c in
                    zip(s["best_score"], s["best_loss"], s["best_epoch"])]
        epoch, step = int(s["epoch"]), int(s["step"])
    records = [[] for _ in range(P)]
    for i, d in enumerate(dirs):
        path = d / "metrics.jsonl"
        for stale in d.glob(".*.tmp*"):  # a kill -9 mid-write leaves its temporary file
            stale.unlink()
        if path.exists():  # keep only the epochs the checkpoint has
            lines = [_json_or_none(x) for x in path.read_text().splitlines() if x.strip()]
            records[i] = [r for r in lines
                          if r is not None and r["epoch"] <= epoch and "test_loss" in r]
            write_text(path, "".join(json.dumps(r) + "\n" for r in records[i]))
    previous = [_previous_summary(d) if resume else {} for d in dirs]
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

        bar = tqdm(total=trainer.total_steps, initial=step, desc=label, unit="step",
                   dynamic_ncols=True)

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
            if final and st == "completed" and not finished and trainer.alive[i] \
                    and not trainer.stopped[i]:
                st = status[i] = "interrupted"
            if not final and st == "completed":
                st = "running"
            rec = next((r for r in records[i] if r["epoch"] == best[i][2]), None)
            segments = list(previous[i].get("segments", [])) + [
                {"epochs": epochs_this_call, "wall_time_s": wall}]
            summary = {
                "name": c.name, "status": st,
                **({"stop_reason": reasons[i]} if st == "stopped_early" else {}),
                **({"diverged_at": trainer.died_at[i], "message": trainer.divergence_message(i)}
                   if st == "diverged" and i in trainer.died_at else {}),
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
                "n_parameters": int(sum(x.size for x in jax.tree_util.tree_leaves(
                    trainer.params))) // P,
                "task": c.task.name, "model": c.model.name,
            }
            write_text(dirs[i] / "summary.json", json.dumps(summary, indent=2) + "\n")
            out.append(summary)
        return out

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
                _log_divergence(dirs[0], trainer.died_at[0])
                raise
            train_time += time.perf_counter() - t0
            steps_this_call += new_step - step
            step, epoch = new_step, epoch + 1
            epochs_this_call += 1
            metrics = trainer.evaluate()
            metrics = [metrics] if P == 1 else metrics
            losses = np.asarray(losses, float).reshape(-1, P)
            alphas = np.asarray(trainer.hyper.alpha).reshape(P)
            for i in range(P):
                if not active_before[i]:
                    continue
                if not trainer.alive[i]:
                    status[i] = "diverged"
                    _log_divergence(dirs[i], trainer.died_at[i])
                    continue
                finite = losses[:, i][np.isfinite(losses[:, i])]
                record = {"epoch": epoch, "step": step, "train_loss": float(finite.mean()),
                          "train_loss_max": float(finite.max()),
                          **metrics[i],
                          "elapsed_s": round(t_before[i] + time.perf_counter() - t_start, 3)}
                if config.task.name == "reconstruction":
                    record["alpha"] = float(alphas[i])
                append_line(dirs[i] / "metrics.jsonl", record)
                records[i].append(record)
                score, loss = objective.score(metrics[i])
                if score > best[i][0] or (score == best[i][0] and loss < best[i][1]):
                    best[i] = (score, loss, epoch)
                    params = trainer.params if P == 1 else member_slice(trainer.params, i)
                    save_tree(dirs[i] / "best.eqx", params)
                plot_curves(dirs[i], records[i], objective)
                why = _early_stop(configs[i], objective, records[i])
                if why is not None:
                    trainer.stopped[i] = True
                    status[i], reasons[i] = "stopped_early", why
            keep_previous(last)  # last.prev.eqx: the epoch before, should last.eqx be damaged
            if P == 1:
                save_tree(last, trainer.state_tree(epoch, step, *best[0]))
            else:
                save_tree(last, _population_state(trainer, epoch, step, best))
            write_summaries(final=False)
            if bar is not None:
                bar.set_postfix(epoch=epoch, alive=int(trainer.alive.sum()))
            elif log_epochs:
                m = metrics[0]
                shown = ", ".join(f"{k} {v:.4g}" for k, v in m.items()
                                  if isinstance(v, float) and k != "regulariser")
                print(f"{label} epoch {epoch}/{config.train.epochs}: "
                      f"train loss {np.nanmean(losses[:, 0]):.4g} "
                      f"(max {np.nanmax(losses[:, 0]):.3g}), {shown}"
                      + (f" (member 0 of {P}, {int(trainer.alive.sum())} alive)" if P > 1 else ""),
                      flush=True)
        finished = epoch >= config.train.epochs or step >= trainer.total_steps
    finally:
        if bar is not None:
            bar.close()
        summaries = write_summaries(final=True)
    return summaries


def _load_checkpoint(last: pathlib.Path, template, dirs):
    """``last.eqx``, or a `CheckpointError` that says what is still intact and what to do."""
    try:
        return load_tree(last, template)
    except CheckpointError as e:
        hints = []
        prev = last.with_name("last.prev.eqx")
        try:
            state = load_tree(prev, template)
            hints.append(f"the previous epoch's checkpoint {prev} is intact (epoch "
                         f"{int(state['epoch'])}): mv {prev} {last} and resume again")
        except CheckpointError:
            pass
        for d in dirs[:1]:
            if (d / "best.eqx").is_file():
                hints.append(f"{d / 'best.eqx'} (the best epoch's parameters) is untouched: "
                             f"'jaxrnn evaluate {d}' still works")
        raise CheckpointError(str(e) + ("; " + "; ".join(hints) if hints else
                                        "; no intact checkpoint to resume from")) from None


def _log_divergence(run_dir: pathlib.Path, died: dict) -> None:
    """The metrics line that marks where a member diverged."""
    append_line(run_dir / "metrics.jsonl", {"epoch": died["epoch"], "step": died["step"],
                                            "diverged": True, "train_loss_at_abort": died["loss"]})


def _json_or_none(line: str):
    """A metrics line, or None for one cut short by a kill mid-append."""
    try:
        return json.loads(line)
    except ValueError:
        return None


def _previous_summary(run_dir: pathlib.Path) -> dict:
    path = run_dir / "summary.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def train(config: Config | None, run_dir, *, resume: bool = False, data_dir=None,
          progress: bool = True, stop_after_epochs: int | None = None) -> dict:
    """Train a config into ``run_dir`` (or resume the run there); returns the summary.

    ``stop_after_epochs`` ends this call's work after that many epochs, as an
    interruption would (used to test resuming).
    """
    run_dir = pathlib.Path(run_dir)
    if resume:
        config = _read_config(run_dir)
    elif (run_dir / "config.yaml").exists():
        raise RunExists(f"{run_dir} already holds a run: pass --resume to continue it or "
                        "--out for a new directory")
    trainer = Trainer(config, data_dir=data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_text(run_dir / "config.yaml", yaml.safe_dump(config_to_dict(config), sort_keys=False))
    return _fit(trainer, [run_dir], run_dir, resume=resume, progress=progress,
                stop_after_epochs=stop_after_epochs, label=config.name)[0]


def train_population(base: Config | None, changes: list[dict] | None, run_dir, *,
                     resume: bool = False, data_dir=None, progress: bool = True,
                     stop_after_epochs: int | None = None) -> list[dict]:
    """Train ``len(changes)`` variants of ``base`` as ONE vmapped program.

    ``changes``: one dict of dotted config keys per member, e.g.
    ``[{"model.tau": 0.0, "seed": 0}, {"model.tau": 5.0, "seed": 0}, ...]``; only
    the keys in `POPULATION_KEYS` may vary. Returns the member summaries, in order.
    """
    run_dir = pathlib.Path(run_dir)
    spec = run_dir / "population.yaml"
    if resume:
        if not spec.is_file():
            raise FileNotFoundError(f"{run_dir}: no population to resume (population.yaml missing)")
        saved = yaml.safe_load(spec.read_text())
        base, changes = config_from_dict(saved["base"]), saved["members"]
    elif spec.exists():
        raise RunExists(f"{run_dir} already holds a population: resume it or choose another "
                        "directory")
    members = population_configs(base, changes)
    trainer = Trainer(members[0], members=members, data_dir=data_dir)
    dirs = [run_dir / "members" / c.name for c in members]
    for d, c in zip(dirs, members):
        d.mkdir(parents=True, exist_ok=True)
        if not resume:
            write_text(d / "config.yaml", yaml.safe_dump(config_to_dict(c), sort_keys=False))
    if not resume:
        write_text(spec, yaml.safe_dump({"base": config_to_dict(base), "members": list(changes)},
                                        sort_keys=False))
    summaries = _fit(trainer, dirs, run_dir, resume=resume, progress=progress,
                     stop_after_epochs=stop_after_epochs, label=f"{base.name} (x{len(members)})")
    rows = []
    for c, change, s in zip(members, changes, summaries):
        best = s.get("best_metrics") or {}
        rows.append({"member": c.name, **change, "status": s["status"],
                     "best_epoch": s["best_epoch"],
                     **{k: v for k, v in best.items() if k not in ("epoch", "step", "elapsed_s")}})
    write_csv(run_dir / "results.csv", rows)
    write_text(run_dir / "summary.json", json.dumps(
        {"name": base.name, "population_size": len(members), "members": summaries}, indent=2)
        + "\n")
    return summaries


def evaluate_run(run_dir, *, data_dir=None, which: str = "best") -> dict:
    """Re-compute the test metrics of a run directory's ``best`` (or ``last``) checkpoint."""
    run_dir = pathlib.Path(run_dir)
    config = _read_config(run_dir)
    trainer = Trainer(config, data_dir=data_dir)
    path = run_dir / f"{which}.eqx"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {which} checkpoint yet")
    if which == "best":
        params = load_tree(path, trainer.params)
    else:
        params = load_tree(path, trainer.state_tree(0, 0, 0.0, 0.0, 0))["params"]
    return trainer.evaluate(params)
