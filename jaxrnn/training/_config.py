"""Training configuration: the tree of dataclasses, their defaults and meanings.

Loading from YAML, ``--set`` overrides and validation are in ``_config_loading.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ConfigError",
    "TaskConfig",
    "ModelConfig",
    "TrainConfig",
    "ForcingConfig",
    "Config",
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
