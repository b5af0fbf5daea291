"""Training configuration: a validated tree of dataclasses, loaded from YAML.

Every error is a `ConfigError` with one line that names the offending key,
e.g. ``config key 'train.learning_rate': must be > 0, got -0.1``. The CLI turns
it into exit code 2 before anything is written.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "TaskConfig",
    "ModelConfig",
    "TrainConfig",
    "ForcingConfig",
    "Config",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "apply_overrides",
    "TASKS",
    "MODELS",
]

TASKS = ("addition", "multiplication", "mnist", "permuted_mnist", "reconstruction")
DATASET_NAMES = ("bursting_neuron", "lorenz63", "rossler", "van_der_pol")
PLRNN_MODELS = ("plrnn", "iplrnn", "rplrnn")
PLRNN_INITS = ("authors", "identity", "uniform")
MODELS = ("rnn", "l2rnn", "irnn", "nprnn", "plrnn", "iplrnn", "rplrnn", "lstm")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "lion")
SCHEDULES = ("constant", "cosine", "exponential", "warmup_cosine")


class ConfigError(ValueError):
    """A config value that is unknown, of the wrong type or impossible."""


@dataclass
class TaskConfig:
    """The benchmark (seed 003, Sect. 4.1) or the reconstruction data (Sect. 4.2).

    For ``name: reconstruction``: ``dataset`` names a `jaxrnn.systems.dataset`,
    ``T`` is the length of the training subsequences and ``n_train`` the number
    of subsequences drawn per epoch; the free-run evaluation uses whole series.
    """

    name: str = "addition"
    T: int = 100  # sequence length (addition/multiplication; MNIST is always 784)
    n_train: int = 100_000
    n_test: int = 10_000
    data_dir: str | None = None  # MNIST directory (else --data-dir or $JAXRNN_DATA)
    seed: int | None = None  # data seed (default: the run's seed)
    dataset: str = "lorenz63"  # reconstruction: which ground-truth system
    n_samples: int | None = None  # reconstruction: samples per series (default: the dataset's)
    noise_std: float = 0.0  # reconstruction: observation noise, standardised units
    eval_steps: int | None = None  # reconstruction: free-run length (default: a series' length)


@dataclass
class ModelConfig:
    """A Table-1 model."""

    name: str = "rplrnn"
    hidden_size: int = 40  # M (the LSTM gets M/4 units)
    reg_fraction: float = 0.5  # M_reg / M for the rPLRNN
    n_regularised: int | None = None  # M_reg directly (overrides reg_fraction)
    tau: float = 5.0  # line-attractor penalty strength, τ_A = τ_W = τ_h
    tau_A: float | None = None  # separate strengths (default: tau)
    tau_W: float | None = None
    tau_h: float | None = None
    reduction: str = "mean"  # "mean": authors' code; "sum": the paper's eq. 4
    l2: float = 1e-4  # L2RNN weight penalty
    # PLRNN family: "authors", "identity" or "uniform" (see jaxrnn.PLRNN); null picks
    # "identity" for the iPLRNN, else "authors" (benchmarks) or "uniform" (reconstruction)
    init: str | None = None
    # PLRNN family on the benchmarks: learn the initial state mu0 (null: yes, as the
    # authors' code; reconstruction starts each window from the data instead)
    learn_z0: bool | None = None


@dataclass
class TrainConfig:
    """Optimisation (Optax)."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    warmup_steps: int = 0
    decay_rate: float = 0.1  # exponential: lr · decay_rate^(step / total_steps)
    clip_norm: float | None = 10.0  # gradient clipping by global norm (None: off)
    batch_size: int = 16
    epochs: int = 100
    max_steps: int | None = None  # step budget (stops mid-epoch if reached)
    eval_batch_size: int = 1000
    chunk_steps: int = 100  # update steps per compiled lax.scan chunk
    dtype: str = "float32"
    # divergence abort: stop when the loss is non-finite, or above abort_loss for
    # abort_patience consecutive update steps (null: only non-finite losses stop a run)
    abort_loss: float | None = 100.0
    abort_patience: int = 10
    # early stopping: end the run once the objective's metric reaches stop_at (test
    # fraction correct for the benchmarks, D_stsp at or below it for reconstruction), or
    # after `patience` epochs without a new best test loss (null: off)
    stop_at: float | None = None
    patience: int | None = None


@dataclass
class ForcingConfig:
    """Teacher forcing for reconstruction training (sparse and generalised).

    At steps t with ``t % interval == 0`` the latent state is pulled towards the
    data, ``z ← (1−α) z + α ẑ``, where ẑ = z + B⁺(x_t − B z) is the state
    closest to z that the observation model maps exactly onto x_t. ``alpha: 1``
    with ``interval: n`` is sparse teacher forcing; ``interval: 1`` with α < 1
    is generalised teacher forcing; ``adaptive`` sets α each epoch from the
    model's Jacobians, α = max(alpha_min, 1 − 1/G), G the geometric mean of
    ‖∂z_t/∂z_{t−1}‖ along forced training trajectories, smoothed with
    ``adapt_rate``.
    """

    alpha: float = 1.0
    interval: int = 10
    adaptive: bool = False
    alpha_min: float = 0.0
    adapt_rate: float = 0.5  # α ← rate·α + (1 − rate)·α_target each epoch


@dataclass
class Config:
    """A whole training run."""

    name: str = "run"
    seed: int = 0
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    forcing: ForcingConfig = field(default_factory=ForcingConfig)


def _check_type(value, annotation, key):
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, key)
            except ConfigError:
                pass
        names = " or ".join("null" if o is type(None) else o.__name__ for o in options)
        raise ConfigError(f"config key '{key}': expected {names}, got {value!r}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif annotation is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is not None:
            if not math.isfinite(number):
                raise ConfigError(f"config key '{key}': must be a finite number, got {value!r}")
            return number
    elif annotation is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"config key '{key}': expected {annotation.__name__}, got {value!r}")


def _build(cls, raw, prefix):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config key '{prefix.rstrip('.') or '<root>'}': expected a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k in raw:
        if k not in names:
            raise ConfigError(
                f"unknown config key '{prefix}{k}' (known: {', '.join(sorted(names))})"
            )
    values = {}
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        if f.name not in raw:
            continue
        annotation = hints[f.name]
        if dataclasses.is_dataclass(annotation):
            values[f.name] = _build(annotation, raw[f.name], key + ".")
        else:
            values[f.name] = _check_type(raw[f.name], annotation, key)
    return cls(**values)


def _require(ok: bool, key: str, message: str, value: Any):
    if not ok:
        raise ConfigError(f"config key '{key}': {message}, got {value!r}")


def _validate(c: Config) -> Config:
    t, m, tr = c.task, c.model, c.train
    _require(t.name in TASKS, "task.name", f"must be one of {', '.join(TASKS)}", t.name)
    _require(t.T >= (2 if t.name == "reconstruction" else 20), "task.T",
             "sequence length must be >= 20 (>= 2 for reconstruction)", t.T)
    _require(t.n_train >= 1, "task.n_train", "must be >= 1", t.n_train)
    _require(t.n_test >= 1, "task.n_test", "must be >= 1", t.n_test)
    _require(m.name in MODELS, "model.name", f"must be one of {', '.join(MODELS)}", m.name)
    _require(m.hidden_size >= 1, "model.hidden_size", "must be >= 1", m.hidden_size)
    if m.name == "lstm":
        _require(m.hidden_size >= 4, "model.hidden_size", "the LSTM uses M/4 units: need M >= 4",
                 m.hidden_size)
    _require(0.0 <= m.reg_fraction <= 1.0, "model.reg_fraction", "M_reg/M must lie in [0, 1]",
             m.reg_fraction)
    if m.n_regularised is not None:
        _require(0 <= m.n_regularised <= m.hidden_size, "model.n_regularised",
                 f"M_reg must lie in [0, M={m.hidden_size}]", m.n_regularised)
    _require(m.tau >= 0, "model.tau", "must be >= 0", m.tau)
    for k in ("tau_A", "tau_W", "tau_h"):
        v = getattr(m, k)
        if v is not None:
            _require(v >= 0, f"model.{k}", "must be >= 0 (or null for model.tau)", v)
    if t.seed is not None:
        _require(t.seed >= 0, "task.seed", "must be >= 0 (or null for the run's seed)", t.seed)
    if t.name == "reconstruction":
        _require(t.dataset in DATASET_NAMES, "task.dataset",
                 f"must be one of {', '.join(DATASET_NAMES)}", t.dataset)
        _require(m.name in PLRNN_MODELS, "model.name",
                 f"reconstruction trains a latent PLRNN: one of {', '.join(PLRNN_MODELS)}",
                 m.name)
        if t.n_samples is not None:
            _require(t.n_samples > t.T, "task.n_samples",
                     f"each series must be longer than task.T={t.T}", t.n_samples)
        _require(t.noise_std >= 0, "task.noise_std", "must be >= 0", t.noise_std)
        if t.eval_steps is not None:
            _require(t.eval_steps >= 2, "task.eval_steps", "must be >= 2", t.eval_steps)
    f = c.forcing
    _require(0.0 <= f.alpha <= 1.0, "forcing.alpha", "must lie in [0, 1]", f.alpha)
    _require(f.interval >= 1, "forcing.interval", "must be >= 1", f.interval)
    _require(0.0 <= f.alpha_min <= 1.0, "forcing.alpha_min", "must lie in [0, 1]", f.alpha_min)
    _require(0.0 <= f.adapt_rate < 1.0, "forcing.adapt_rate", "must lie in [0, 1)", f.adapt_rate)
    _require(m.reduction in ("sum", "mean"), "model.reduction", "must be 'sum' or 'mean'",
             m.reduction)
    _require(m.l2 >= 0, "model.l2", "must be >= 0", m.l2)
    if m.init is not None:
        _require(m.name in PLRNN_MODELS, "model.init",
                 f"only the PLRNN family ({', '.join(PLRNN_MODELS)}) takes an init scheme; "
                 "the baselines' follows from model.name", m.init)
        _require(m.init in PLRNN_INITS, "model.init",
                 f"must be one of {', '.join(PLRNN_INITS)}", m.init)
    if m.learn_z0:
        _require(m.name in PLRNN_MODELS, "model.learn_z0",
                 f"only the PLRNN family ({', '.join(PLRNN_MODELS)}) learns mu0", m.learn_z0)
        _require(t.name != "reconstruction", "model.learn_z0",
                 "reconstruction starts each window from the data; set it false or null",
                 m.learn_z0)
    _require(tr.optimizer in OPTIMIZERS, "train.optimizer",
             f"must be one of {', '.join(OPTIMIZERS)}", tr.optimizer)
    _require(tr.learning_rate > 0, "train.learning_rate", "must be > 0", tr.learning_rate)
    _require(tr.schedule in SCHEDULES, "train.schedule",
             f"must be one of {', '.join(SCHEDULES)}", tr.schedule)
    _require(tr.warmup_steps >= 0, "train.warmup_steps", "must be >= 0", tr.warmup_steps)
    _require(0 < tr.decay_rate <= 1, "train.decay_rate", "must lie in (0, 1]", tr.decay_rate)
    if tr.clip_norm is not None:
        _require(tr.clip_norm > 0, "train.clip_norm", "must be > 0 (or null for no clipping)",
                 tr.clip_norm)
    _require(tr.batch_size >= 1, "train.batch_size", "must be >= 1", tr.batch_size)
    _require(tr.batch_size <= t.n_train, "train.batch_size",
             f"must not exceed task.n_train={t.n_train}", tr.batch_size)
    _require(tr.epochs >= 1, "train.epochs", "must be >= 1", tr.epochs)
    if tr.max_steps is not None:
        _require(tr.max_steps >= 1, "train.max_steps", "must be >= 1", tr.max_steps)
    _require(tr.eval_batch_size >= 1, "train.eval_batch_size", "must be >= 1", tr.eval_batch_size)
    _require(tr.chunk_steps >= 1, "train.chunk_steps", "must be >= 1", tr.chunk_steps)
    _require(tr.dtype in ("float32", "float64"), "train.dtype", "must be float32 or float64",
             tr.dtype)
    if tr.abort_loss is not None:
        _require(tr.abort_loss > 0, "train.abort_loss", "must be > 0 (or null: abort only on "
                 "non-finite losses)", tr.abort_loss)
    _require(tr.abort_patience >= 1, "train.abort_patience", "must be >= 1", tr.abort_patience)
    if tr.patience is not None:
        _require(tr.patience >= 1, "train.patience", "must be >= 1 (or null: off)", tr.patience)
    if tr.stop_at is not None:
        if t.name == "reconstruction":
            _require(tr.stop_at >= 0, "train.stop_at", "a D_stsp target must be >= 0",
                     tr.stop_at)
        else:
            _require(0 < tr.stop_at <= 1, "train.stop_at",
                     "a test fraction correct must lie in (0, 1]", tr.stop_at)
    _require(c.seed >= 0, "seed", "must be >= 0", c.seed)
    return c


def config_from_dict(raw: dict) -> Config:
    """A validated `Config` from a plain dict (as read from YAML)."""
    return _validate(_build(Config, raw, ""))


def config_to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``key.path=value`` overrides (values parsed as YAML) to a raw config dict."""
    raw = dict(raw or {})
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key.path=value, got {item!r}")
        path, text = item.split("=", 1)
        keys = path.strip().split(".")
        node = raw
        for k in keys[:-1]:
            child = node.get(k)
            child = {} if child is None else dict(child) if isinstance(child, dict) else child
            if not isinstance(child, dict):
                raise ConfigError(f"config key '{path}': '{k}' is not a section")
            node[k] = child
            node = child
        try:
            node[keys[-1]] = yaml.safe_load(text)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise ConfigError(f"config key '{path.strip()}': --set value {text!r} is not valid "
                              f"YAML ({problem})") from None
    return raw


def read_yaml_mapping(path, what: str = "config", error=ConfigError) -> dict:
    """A YAML file's top-level mapping ({} if empty); one-line ``error``s otherwise."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise error(f"{what} file {path}: not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what_wrong = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{what} file {path}{where}: invalid YAML ({what_wrong})") from None
    if raw is not None and not isinstance(raw, dict):
        raise error(f"{what} file {path}: expected a mapping at the top level")
    return raw or {}


def load_config(path: str | pathlib.Path, overrides: list[str] = ()) -> Config:
    """Read, override and validate a YAML config file."""
    return config_from_dict(apply_overrides(read_yaml_mapping(path), list(overrides)))
