"""The rules a training config must satisfy beyond its types (ranges, allowed names,
combinations); each violation is one `ConfigError` naming the key."""

from __future__ import annotations

from typing import Any

from ..em import STAGE_STARTS
from ..models import ROLLOUTS
from ._config import (
    DATASET_NAMES,
    METHODS,
    OPTIMIZERS,
    SCHEDULES,
    TASKS,
    Config,
    ConfigError,
)
from ._model_zoo import MODELS, PLRNN_MODELS, model_inits

__all__ = ["validate"]


def _require(ok: bool, key: str, message: str, value: Any):
    if not ok:
        raise ConfigError(f"config key '{key}': {message}, got {value!r}")


def validate(c: Config) -> Config:
    """``c`` when every rule holds, else a `ConfigError` naming the first key that breaks
    one (task, model, training method, reconstruction, forcing, optimiser and run
    settings, in that order)."""
    _check_task(c)
    _check_model(c)
    _check_method(c)
    _check_reconstruction(c)
    _check_forcing(c)
    _check_model_options(c)
    _check_init_from(c)
    _check_train(c)
    _require(c.seed >= 0, "seed", "must be >= 0", c.seed)
    return c


def _check_task(c: Config) -> None:
    t = c.task
    _require(t.name in TASKS, "task.name", f"must be one of {', '.join(TASKS)}", t.name)
    _require(
        t.T >= (2 if t.name == "reconstruction" else 20),
        "task.T",
        "sequence length must be >= 20 (>= 2 for reconstruction)",
        t.T,
    )
    _require(t.n_train >= 1, "task.n_train", "must be >= 1", t.n_train)
    _require(t.n_test >= 1, "task.n_test", "must be >= 1", t.n_test)
    if t.seed is not None:
        _require(t.seed >= 0, "task.seed", "must be >= 0 (or null for the run's seed)", t.seed)


def _check_model(c: Config) -> None:
    m = c.model
    _require(m.name in MODELS, "model.name", f"must be one of {', '.join(MODELS)}", m.name)
    _require(m.hidden_size >= 1, "model.hidden_size", "must be >= 1", m.hidden_size)
    if m.name == "lstm" and m.lstm_units is None:
        _require(
            m.hidden_size >= 4,
            "model.hidden_size",
            "the LSTM uses M/4 units: need M >= 4 (or set model.lstm_units)",
            m.hidden_size,
        )
    if m.lstm_units is not None:
        _require(m.name == "lstm", "model.lstm_units", "applies to the LSTM only", m.lstm_units)
        _require(m.lstm_units >= 1, "model.lstm_units", "must be >= 1", m.lstm_units)
    _require(
        0.0 <= m.reg_fraction <= 1.0,
        "model.reg_fraction",
        "M_reg/M must lie in [0, 1]",
        m.reg_fraction,
    )
    if m.n_regularised is not None:
        _require(
            0 <= m.n_regularised <= m.hidden_size,
            "model.n_regularised",
            f"M_reg must lie in [0, M={m.hidden_size}]",
            m.n_regularised,
        )
    _require(m.tau >= 0, "model.tau", "must be >= 0", m.tau)
    for k in ("tau_A", "tau_W", "tau_h"):
        v = getattr(m, k)
        if v is not None:
            _require(v >= 0, f"model.{k}", "must be >= 0 (or null for model.tau)", v)


def _check_method(c: Config) -> None:
    t, tr = c.task, c.train
    _require(
        tr.method in METHODS, "train.method", f"must be one of {', '.join(METHODS)}", tr.method
    )
    if tr.method == "em":
        _require(
            t.name == "reconstruction",
            "train.method",
            "em fits reconstruction models only (task.name: reconstruction)",
            tr.method,
        )
        _check_em(c)


def _check_reconstruction(c: Config) -> None:
    t, m = c.task, c.model
    if t.data is not None:
        _require(
            t.name == "reconstruction",
            "task.data",
            "recorded data is for reconstruction (task.name: reconstruction)",
            t.data,
        )
    if t.name == "reconstruction":
        _require(
            t.dataset in DATASET_NAMES,
            "task.dataset",
            f"must be one of {', '.join(DATASET_NAMES)}",
            t.dataset,
        )
        _require(
            m.name in PLRNN_MODELS,
            "model.name",
            f"reconstruction trains a latent PLRNN: one of {', '.join(PLRNN_MODELS)}",
            m.name,
        )
        if t.n_samples is not None:
            _require(
                t.n_samples > t.T,
                "task.n_samples",
                f"each series must be longer than task.T={t.T}",
                t.n_samples,
            )
        _require(t.noise_std >= 0, "task.noise_std", "must be >= 0", t.noise_std)
        if t.eval_steps is not None:
            _require(t.eval_steps >= 2, "task.eval_steps", "must be >= 2", t.eval_steps)


def _check_forcing(c: Config) -> None:
    f = c.forcing
    _require(0.0 <= f.alpha <= 1.0, "forcing.alpha", "must lie in [0, 1]", f.alpha)
    _require(f.interval >= 1, "forcing.interval", "must be >= 1", f.interval)
    _require(0.0 <= f.alpha_min <= 1.0, "forcing.alpha_min", "must lie in [0, 1]", f.alpha_min)
    _require(0.0 <= f.adapt_rate < 1.0, "forcing.adapt_rate", "must lie in [0, 1)", f.adapt_rate)


def _check_model_options(c: Config) -> None:
    t, m = c.task, c.model
    _require(
        m.reduction in ("sum", "mean"), "model.reduction", "must be 'sum' or 'mean'", m.reduction
    )
    _require(m.l2 >= 0, "model.l2", "must be >= 0", m.l2)
    _require(
        m.rollout in ROLLOUTS, "model.rollout", f"must be one of {', '.join(ROLLOUTS)}", m.rollout
    )
    if m.rollout == "parallel":
        _require(
            m.name in PLRNN_MODELS,
            "model.rollout",
            f"parallel evaluates the PLRNN family ({', '.join(PLRNN_MODELS)})",
            m.rollout,
        )
    if m.init is not None:
        inits = model_inits(m.name)
        _require(
            m.init in inits, "model.init", f"must be one of {', '.join(inits)} for {m.name}", m.init
        )
    if m.learn_z0:
        _require(
            m.name in PLRNN_MODELS,
            "model.learn_z0",
            f"only the PLRNN family ({', '.join(PLRNN_MODELS)}) learns mu0",
            m.learn_z0,
        )
        _require(
            t.name != "reconstruction",
            "model.learn_z0",
            "reconstruction starts each window from the data; set it false or null",
            m.learn_z0,
        )


def _check_init_from(c: Config) -> None:
    src = c.model.init_from
    if src is None:
        return
    _require(isinstance(src, str) and src != "", "model.init_from", "must be a path", src)
    _require(c.train.method == "bptt", "model.init_from", "starts BPTT training only", src)


def _check_train(c: Config) -> None:
    t, tr = c.task, c.train
    _require(
        tr.optimizer in OPTIMIZERS,
        "train.optimizer",
        f"must be one of {', '.join(OPTIMIZERS)}",
        tr.optimizer,
    )
    _require(tr.learning_rate > 0, "train.learning_rate", "must be > 0", tr.learning_rate)
    _require(
        tr.schedule in SCHEDULES,
        "train.schedule",
        f"must be one of {', '.join(SCHEDULES)}",
        tr.schedule,
    )
    _require(tr.warmup_steps >= 0, "train.warmup_steps", "must be >= 0", tr.warmup_steps)
    _require(0 < tr.decay_rate <= 1, "train.decay_rate", "must lie in (0, 1]", tr.decay_rate)
    if tr.clip_norm is not None:
        _require(
            tr.clip_norm > 0,
            "train.clip_norm",
            "must be > 0 (or null for no clipping)",
            tr.clip_norm,
        )
    _require(tr.batch_size >= 1, "train.batch_size", "must be >= 1", tr.batch_size)
    _require(
        tr.batch_size <= t.n_train,
        "train.batch_size",
        f"must not exceed task.n_train={t.n_train}",
        tr.batch_size,
    )
    _require(tr.epochs >= 1, "train.epochs", "must be >= 1", tr.epochs)
    if tr.max_steps is not None:
        _require(tr.max_steps >= 1, "train.max_steps", "must be >= 1", tr.max_steps)
    _require(tr.eval_batch_size >= 1, "train.eval_batch_size", "must be >= 1", tr.eval_batch_size)
    _require(tr.chunk_steps >= 1, "train.chunk_steps", "must be >= 1", tr.chunk_steps)
    _require(
        tr.dtype in ("float32", "float64"), "train.dtype", "must be float32 or float64", tr.dtype
    )
    if tr.abort_loss is not None:
        _require(
            tr.abort_loss > 0,
            "train.abort_loss",
            "must be > 0 (or null: abort only on non-finite losses)",
            tr.abort_loss,
        )
    _require(tr.abort_patience >= 1, "train.abort_patience", "must be >= 1", tr.abort_patience)
    if tr.patience is not None:
        _require(tr.patience >= 1, "train.patience", "must be >= 1 (or null: off)", tr.patience)
    if tr.stop_at is not None:
        if t.name == "reconstruction":
            _require(tr.stop_at >= 0, "train.stop_at", "a D_stsp target must be >= 0", tr.stop_at)
        else:
            _require(
                0 < tr.stop_at <= 1,
                "train.stop_at",
                "a test fraction correct must lie in (0, 1]",
                tr.stop_at,
            )


def _check_em(c: Config) -> None:
    e = c.em
    _require(e.tau >= 0, "em.tau", "must be >= 0", e.tau)
    if e.lam is not None:
        _require(e.lam >= 0, "em.lam", "must be >= 0 (or null for em.tau)", e.lam)
    for i, s in enumerate(e.sigmas):
        _require(s > 0, f"em.sigmas[{i}]", "a process-noise variance must be > 0", s)
    _require(
        1 <= e.freeze_B_from,
        "em.freeze_B_from",
        "must be >= 1 (a stage number; beyond the last: B is never frozen)",
        e.freeze_B_from,
    )
    for name in ("tol", "eps", "pattern_tol", "cov_floor", "lds_cov_floor", "gamma_floor"):
        _require(getattr(e, name) > 0, f"em.{name}", "must be > 0", getattr(e, name))
    _require(e.max_iterations >= 1, "em.max_iterations", "must be >= 1", e.max_iterations)
    _require(e.max_passes >= 1, "em.max_passes", "must be >= 1", e.max_passes)
    _require(e.flip_all_after >= 0, "em.flip_all_after", "must be >= 0", e.flip_all_after)
    _require(
        e.cross_moment in ("authors", "exact"),
        "em.cross_moment",
        "must be authors or exact",
        e.cross_moment,
    )
    _require(
        e.stage_start in STAGE_STARTS,
        "em.stage_start",
        "must be " + " or ".join(STAGE_STARTS),
        e.stage_start,
    )
    _require(
        e.observation in ("relu", "identity"),
        "em.observation",
        "must be relu or identity",
        e.observation,
    )
    _require(e.restarts >= 1, "em.restarts", "must be >= 1", e.restarts)
    _require(e.init_W_range > 0, "em.init_W_range", "must be > 0", e.init_W_range)
    _require(e.init_h_std >= 0, "em.init_h_std", "must be >= 0", e.init_h_std)
    if e.eval_steps is not None:
        _require(e.eval_steps >= 2, "em.eval_steps", "must be >= 2", e.eval_steps)
