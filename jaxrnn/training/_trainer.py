"""The trainer: Optax, one compiled update program per run, a resumable run directory.

Updates run as a ``lax.scan`` over chunks of ``train.chunk_steps`` steps (the
last chunk of an epoch is padded with masked no-op steps), so a run compiles
its update program exactly once, whatever its length; each step runs the
model over time with ``lax.scan`` (through `simulate`) and over the batch with
``vmap``. The data lives on the device; batches are gathered inside the
program.

Run directory::

    config.yaml      the fully resolved config
    metrics.jsonl    one line per epoch (train loss, test loss, fraction correct, ...)
    last.eqx         params + optimiser state + counters, written atomically every epoch
    best.eqx         params of the best epoch (highest test fraction correct, then lowest loss)
    summary.json     best test metrics, wall time, steps/s, status
    curves.png       learning curves

Resuming (``resume=True``) reloads ``last.eqx`` and continues; the data order of
epoch e depends only on (seed, e), so a resumed run ends with the same
parameters as an uninterrupted one. A non-finite loss stops the run
(`TrainingDiverged`) without touching the last good checkpoint.
"""

from __future__ import annotations

import json
import math
import pathlib
import sys
import time
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import yaml

from ..tasks import make_task
from ._checkpoint import append_line, load_tree, save_tree, write_text
from ._config import Config, TrainConfig, config_from_dict, config_to_dict
from ._models import build_model, predict, regulariser

__all__ = ["TrainingDiverged", "RunExists", "train", "evaluate_run", "make_optimizer",
           "Trainer"]

CORRECT_TOLERANCE = 0.04  # |prediction - target| < 0.04 counts as correct (seed 003)


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or inf."""


class RunExists(FileExistsError):
    """The output directory already holds a run."""


def make_optimizer(tr: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    """The optimiser of a config: schedule, then optional global-norm clipping."""
    lr, total = tr.learning_rate, max(total_steps, 1)
    if tr.schedule == "constant":
        schedule = optax.constant_schedule(lr)
    elif tr.schedule == "cosine":
        schedule = optax.cosine_decay_schedule(lr, total)
    elif tr.schedule == "exponential":
        schedule = optax.exponential_decay(lr, transition_steps=total, decay_rate=tr.decay_rate)
    else:  # warmup_cosine
        schedule = optax.warmup_cosine_decay_schedule(0.0, lr, tr.warmup_steps, total)
    if tr.warmup_steps > 0 and tr.schedule != "warmup_cosine":
        warm = optax.linear_schedule(0.0, lr, tr.warmup_steps)
        schedule = optax.join_schedules([warm, schedule], [tr.warmup_steps])
    opt = getattr(optax, tr.optimizer)(schedule)
    if tr.clip_norm is not None:
        opt = optax.chain(optax.clip_by_global_norm(tr.clip_norm), opt)
    return opt


class _Eval(NamedTuple):
    x: jax.Array  # (n_batches, B, T, K)
    y: jax.Array
    mask: jax.Array  # (n_batches, B)
    n: int


def _batched(x, y, batch):
    n = x.shape[0]
    nb = math.ceil(n / batch)
    pad = nb * batch - n
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    yp = np.concatenate([y, np.zeros((pad,) + y.shape[1:], y.dtype)])
    mask = np.arange(nb * batch) < n
    shape = lambda a: a.reshape((nb, batch) + a.shape[1:])  # noqa: E731
    return _Eval(jnp.asarray(shape(xp)), jnp.asarray(shape(yp)), jnp.asarray(shape(mask)), n)


def _per_sample(out, target, kind):
    """(loss, correct) of one prediction."""
    if kind == "regression":
        err = out - target
        return jnp.sum(err * err), jnp.all(jnp.abs(err) < CORRECT_TOLERANCE)
    logp = jax.nn.log_softmax(out)
    return -logp[target], jnp.argmax(out) == target


class Trainer:
    """Holds a run's data, model structure, optimiser and compiled programs."""

    def __init__(self, config: Config, *, data_dir=None):
        self.config = config
        tr = config.train
        self.dtype = jnp.float64 if tr.dtype == "float64" else jnp.float32
        if self.dtype == jnp.float64 and not jax.config.jax_enable_x64:
            jax.config.update("jax_enable_x64", True)
        task = config.task
        self.data = make_task(task.name, T=task.T, n_train=task.n_train, n_test=task.n_test,
                              seed=config.seed, data_dir=task.data_dir or data_dir,
                              dtype=np.dtype(self.dtype))
        self.kind = self.data.kind
        self.n_train = self.data.train_x.shape[0]
        self.batches_per_epoch = self.n_train // tr.batch_size
        self.total_steps = tr.epochs * self.batches_per_epoch
        if tr.max_steps is not None:
            self.total_steps = min(self.total_steps, tr.max_steps)
        self.chunk = min(tr.chunk_steps, self.batches_per_epoch)
        key = jax.random.PRNGKey(config.seed)
        model = build_model(config.model, self.data.train_x.shape[-1], self.data.n_outputs,
                            self.kind, dtype=self.dtype, key=jax.random.fold_in(key, 1))
        self.params, self.static = eqx.partition(model, eqx.is_inexact_array)
        self.optimizer = make_optimizer(tr, self.total_steps)
        self.opt_state = self.optimizer.init(self.params)
        self.train_x = jnp.asarray(self.data.train_x)
        self.train_y = jnp.asarray(self.data.train_y)
        self.test = _batched(self.data.test_x, self.data.test_y, min(tr.eval_batch_size,
                                                                       self.data.test_x.shape[0]))
        self._chunk_fn = jax.jit(eqx.debug.assert_max_traces(self._chunk, max_traces=1),
                                 donate_argnums=(0, 1))
        self._eval_fn = jax.jit(eqx.debug.assert_max_traces(self._evaluate, max_traces=1))

    # ------------------------------------------------------------ programs
    def model(self, params=None):
        return eqx.combine(self.params if params is None else params, self.static)

    def _loss(self, params, x, y):
        model = eqx.combine(params, self.static)
        out = jax.vmap(predict, (None, 0))(model, x)
        task_loss, _ = jax.vmap(_per_sample, (0, 0, None))(out, y, self.kind)
        task_loss = jnp.mean(task_loss)
        return task_loss + regulariser(model, self.config.model), task_loss

    def _chunk(self, params, opt_state, x_all, y_all, idx, mask):
        def body(carry, inp):
            params, opt_state = carry
            ids, live = inp
            (loss, _), grads = jax.value_and_grad(self._loss, has_aux=True)(
                params, x_all[ids], y_all[ids])
            updates, new_state = self.optimizer.update(grads, opt_state, params)
            new_params = optax.apply_updates(params, updates)
            keep = lambda new, old: jnp.where(live, new, old)  # noqa: E731
            params = jax.tree_util.tree_map(keep, new_params, params)
            opt_state = jax.tree_util.tree_map(keep, new_state, opt_state)
            return (params, opt_state), loss

        (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), (idx, mask))
        return params, opt_state, losses

    def _evaluate(self, params, x, y, mask):
        model = eqx.combine(params, self.static)

        def one(batch):
            xb, yb, mb = batch
            out = jax.vmap(predict, (None, 0))(model, xb)
            loss, correct = jax.vmap(_per_sample, (0, 0, None))(out, yb, self.kind)
            return jnp.sum(jnp.where(mb, loss, 0.0)), jnp.sum(mb & correct)

        losses, correct = jax.lax.map(one, (x, y, mask))
        return jnp.sum(losses), jnp.sum(correct), regulariser(model, self.config.model)

    def evaluate(self, params=None):
        """Test-set metrics: ``test_loss`` (MSE or cross-entropy), ``test_frac_correct``."""
        loss, correct, reg = self._eval_fn(self.params if params is None else params,
                                           self.test.x, self.test.y, self.test.mask)
        return {"test_loss": float(loss) / self.test.n,
                "test_frac_correct": float(correct) / self.test.n,
                "regulariser": float(reg)}

    def epoch_batches(self, epoch: int) -> np.ndarray:
        """Batch indices of an epoch: a permutation that depends only on (seed, epoch)."""
        perm = np.random.default_rng([self.config.seed, epoch]).permutation(self.n_train)
        nb, B = self.batches_per_epoch, self.config.train.batch_size
        return perm[: nb * B].reshape(nb, B).astype(np.int32)

    def run_epoch(self, epoch: int, step: int, on_chunk=None) -> tuple[int, list[float]]:
        """Train one epoch (or until the step budget); returns (new step, batch losses)."""
        batches = self.epoch_batches(epoch)
        budget = self.total_steps - step
        batches = batches[:budget]
        losses = []
        K, B = self.chunk, self.config.train.batch_size
        for start in range(0, len(batches), K):
            idx = batches[start: start + K]
            live = np.ones(K, bool)
            if len(idx) < K:
                live[len(idx):] = False
                idx = np.concatenate([idx, np.zeros((K - len(idx), B), np.int32)])
            self.params, self.opt_state, chunk_losses = self._chunk_fn(
                self.params, self.opt_state, self.train_x, self.train_y,
                jnp.asarray(idx), jnp.asarray(live))
            chunk_losses = np.asarray(chunk_losses)[live]
            n_done = int(live.sum())
            if not np.all(np.isfinite(chunk_losses)):
                bad = step + int(np.argmin(np.isfinite(chunk_losses)))
                raise TrainingDiverged(f"non-finite training loss at epoch {epoch + 1}, step {bad}")
            losses.extend(chunk_losses.tolist())
            step += n_done
            if on_chunk is not None:
                on_chunk(n_done, float(chunk_losses.mean()))
        return step, losses

    # ----------------------------------------------------- checkpoint state
    def state_tree(self, epoch, step, best_score, best_loss, best_epoch):
        return {"params": self.params, "opt_state": self.opt_state,
                "epoch": jnp.asarray(epoch, jnp.int32), "step": jnp.asarray(step, jnp.int32),
                "best_score": jnp.asarray(best_score, jnp.float64 if jax.config.jax_enable_x64
                                          else jnp.float32),
                "best_loss": jnp.asarray(best_loss, jnp.float64 if jax.config.jax_enable_x64
                                         else jnp.float32),
                "best_epoch": jnp.asarray(best_epoch, jnp.int32)}


def _better(metrics, best_score, best_loss) -> bool:
    score, loss = metrics["test_frac_correct"], metrics["test_loss"]
    return score > best_score or (score == best_score and loss < best_loss)


def _plot_curves(run_dir: pathlib.Path, records: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not records:
        return
    ep = [r["epoch"] for r in records]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].semilogy(ep, [r["train_loss"] for r in records], label="train (incl. regulariser)")
    axes[0].semilogy(ep, [r["test_loss"] for r in records], label="test")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    axes[1].plot(ep, [r["test_frac_correct"] for r in records], "o-", ms=3)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test fraction correct")
    axes[1].set_ylim(-0.02, 1.02)
    fig.suptitle(run_dir.name)
    fig.tight_layout()
    tmp = run_dir / ".curves.tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(run_dir / "curves.png")


def train(
    config: Config | None,
    run_dir,
    *,
    resume: bool = False,
    data_dir=None,
    progress: bool = True,
    stop_after_epochs: int | None = None,
) -> dict:
    """Train a config into ``run_dir`` (or resume the run there); returns the summary.

    ``stop_after_epochs`` ends the process's work after that many epochs of this
    call, as an interruption would (used to test resuming).
    """
    run_dir = pathlib.Path(run_dir)
    if resume:
        if not (run_dir / "config.yaml").is_file():
            raise FileNotFoundError(f"{run_dir}: no run to resume (config.yaml missing)")
        config = config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    elif (run_dir / "config.yaml").exists():
        raise RunExists(f"{run_dir} already holds a run: pass --resume to continue it or "
                        "--out for a new directory")
    trainer = Trainer(config, data_dir=data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_text(run_dir / "config.yaml", yaml.safe_dump(config_to_dict(config), sort_keys=False))

    epoch, step, best_score, best_loss, best_epoch = 0, 0, -1.0, math.inf, -1
    metrics_path = run_dir / "metrics.jsonl"
    if resume and (run_dir / "last.eqx").is_file():
        state = load_tree(run_dir / "last.eqx", trainer.state_tree(0, 0, 0.0, 0.0, 0))
        trainer.params, trainer.opt_state = state["params"], state["opt_state"]
        epoch, step = int(state["epoch"]), int(state["step"])
        best_score, best_loss = float(state["best_score"]), float(state["best_loss"])
        best_epoch = int(state["best_epoch"])
    records = []
    if metrics_path.exists():  # keep only epochs the checkpoint has
        lines = [json.loads(x) for x in metrics_path.read_text().splitlines() if x.strip()]
        records = [r for r in lines if r["epoch"] <= epoch]
        write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in records))

    bar = None
    log_epochs = progress and not sys.stderr.isatty()  # logs get one line per epoch
    if progress and not log_epochs:
        from tqdm.auto import tqdm

        bar = tqdm(total=trainer.total_steps, initial=step, desc=config.name, unit="step",
                   dynamic_ncols=True)

    def on_chunk(n, loss):
        if bar is not None:
            bar.update(n)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4g}")

    t_start = time.perf_counter()
    train_time, steps_this_call, epochs_this_call = 0.0, 0, 0
    status = "completed"
    try:
        while epoch < config.train.epochs and step < trainer.total_steps:
            if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs:
                status = "interrupted"
                break
            t0 = time.perf_counter()
            new_step, losses = trainer.run_epoch(epoch, step, on_chunk)
            train_time += time.perf_counter() - t0
            steps_this_call += new_step - step
            step, epoch = new_step, epoch + 1
            epochs_this_call += 1
            metrics = trainer.evaluate()
            record = {"epoch": epoch, "step": step, "train_loss": float(np.mean(losses)),
                      **metrics, "elapsed_s": round(time.perf_counter() - t_start, 3)}
            append_line(metrics_path, record)
            records.append(record)
            if _better(metrics, best_score, best_loss):
                best_score, best_loss, best_epoch = (metrics["test_frac_correct"],
                                                     metrics["test_loss"], epoch)
                save_tree(run_dir / "best.eqx", trainer.params)
            save_tree(run_dir / "last.eqx",
                      trainer.state_tree(epoch, step, best_score, best_loss, best_epoch))
            _plot_curves(run_dir, records)
            if bar is not None:
                bar.set_postfix(epoch=epoch, test_correct=f"{metrics['test_frac_correct']:.3f}")
            elif log_epochs:
                print(f"{config.name} epoch {epoch}/{config.train.epochs}: train loss "
                      f"{record['train_loss']:.4g}, test loss {metrics['test_loss']:.4g}, "
                      f"test fraction correct {metrics['test_frac_correct']:.3f}", flush=True)
    except TrainingDiverged as e:
        status = f"stopped: {e}; last good checkpoint kept (epoch {epoch})"
        raise
    finally:
        if bar is not None:
            bar.close()
        best = next((r for r in records if r["epoch"] == best_epoch), None)
        summary = {
            "name": config.name,
            "status": status,
            "epochs_completed": epoch,
            "steps": step,
            "best_epoch": best_epoch if best is not None else None,
            "best_test_loss": None if best is None else best["test_loss"],
            "best_test_frac_correct": None if best is None else best["test_frac_correct"],
            "wall_time_s": round(time.perf_counter() - t_start, 3),
            "train_steps_per_s": round(steps_this_call / train_time, 2) if train_time else None,
            "n_parameters": int(sum(x.size for x in jax.tree_util.tree_leaves(trainer.params))),
            "task": config.task.name,
            "model": config.model.name,
        }
        write_text(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def evaluate_run(run_dir, *, data_dir=None, which: str = "best") -> dict:
    """Re-compute the test metrics of a run directory's ``best`` (or ``last``) checkpoint."""
    run_dir = pathlib.Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (config.yaml missing)")
    config = config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    trainer = Trainer(config, data_dir=data_dir)
    if which == "best":
        path = run_dir / "best.eqx"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no best checkpoint yet")
        params = load_tree(path, trainer.params)
    else:
        path = run_dir / "last.eqx"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no checkpoint yet")
        params = load_tree(path, trainer.state_tree(0, 0, 0.0, 0.0, 0))["params"]
    return trainer.evaluate(params)
