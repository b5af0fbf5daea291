"""Training configuration: the tree of dataclasses, their defaults and meanings.

Loading from YAML and ``--set`` overrides are in ``_config_loading.py``, the rules a config
must satisfy in ``_config_checks.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .._config_files import ConfigError, document_fields

__all__ = [
    "ConfigError",
    "TaskConfig",
    "ModelConfig",
    "TrainConfig",
    "ForcingConfig",
    "EMConfig",
    "Config",
    "TASKS",
]

TASKS = ("addition", "multiplication", "mnist", "permuted_mnist", "reconstruction")
DATASET_NAMES = ("bursting_neuron", "lorenz63", "rossler", "van_der_pol")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "lion")
SCHEDULES = ("constant", "cosine", "exponential", "warmup_cosine")
METHODS = ("bptt", "em")


def _field(default: Any = dataclasses.MISSING, doc: str = "", *, default_factory: Any = None):
    """A config field with its description (``metadata["doc"]``), shown by the config
    reference and required for every field (tested)."""
    if default_factory is not None:
        return field(default_factory=default_factory, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@document_fields
@dataclass(frozen=True)
class TaskConfig:
    """The benchmark (Schmidt et al., Sect. 4.1) or the reconstruction data (Sect. 4.2).

    For ``name: reconstruction``: ``dataset`` names a `jaxrnn.systems.dataset`,
    ``T`` is the length of the training subsequences and ``n_train`` the number
    of subsequences drawn per epoch; the free-run evaluation uses whole series.
    """

    name: str = _field("addition", "the task to train on")
    T: int = _field(
        100,
        "sequence length of addition/multiplication (MNIST is always 784); for "
        "reconstruction the length of the training subsequences",
    )
    n_train: int = _field(
        100_000,
        "training trials (MNIST: images, up to 60,000); for reconstruction the "
        "subsequences drawn per epoch",
    )
    n_test: int = _field(10_000, "test trials (MNIST: images, up to 10,000)")
    data_dir: str | None = _field(
        None,
        "MNIST directory (else --data-dir, $JAXRNN_DATA, then ../shared/data/mnist)",
    )
    seed: int | None = _field(
        None,
        "seed of the data (default: the run's seed); population members share one",
    )
    dataset: str = _field(
        "lorenz63",
        "reconstruction: the ground-truth system (bursting_neuron, lorenz63, rossler, van_der_pol)",
    )
    n_samples: int | None = _field(
        None,
        "reconstruction: samples per series (default: the dataset's)",
    )
    noise_std: float = _field(0.0, "reconstruction: observation noise in standardised units")
    eval_steps: int | None = _field(
        None,
        "reconstruction: free-run length of the evaluation (default: a series' length)",
    )
    data: str | None = _field(
        None,
        "reconstruction: recorded data instead of task.dataset: a CSV file (one row per "
        "step, one column per variable, used as it is) or bursting_neuron_authors (the "
        "authors' three series behind Fig. 3; found via --data-dir, $JAXRNN_DATA, then "
        "../shared/data)",
    )


@document_fields
@dataclass(frozen=True)
class ModelConfig:
    """A Table-1 model."""

    name: str = _field("rplrnn", "the Table-1 model")
    hidden_size: int = _field(
        40, "M, the number of latent units (the LSTM gets M/4 units unless lstm_units is set)"
    )
    lstm_units: int | None = _field(
        None,
        "LSTM: its number of units H (null: M/4, as the paper's Sect. 4.1; the authors' "
        "published Fig. 2 runs used 40)",
    )
    reg_fraction: float = _field(0.5, "rPLRNN: M_reg / M, the fraction of line-attractor units")
    n_regularised: int | None = _field(None, "rPLRNN: M_reg directly (overrides reg_fraction)")
    tau: float = _field(
        5.0,
        "rPLRNN: strength of the line-attractor penalty, τ_A = τ_W = τ_h (Schmidt et al., eq. 4)",
    )
    tau_A: float | None = _field(
        None,
        "rPLRNN: the strength of the (A_ii − 1)² term (default: tau)",
    )
    tau_W: float | None = _field(None, "rPLRNN: the strength of the W_ij² term (default: tau)")
    tau_h: float | None = _field(None, "rPLRNN: the strength of the h_i² term (default: tau)")
    reduction: str = _field(
        "mean",
        "penalty terms as means (mean, the authors' code) or sums (sum, the paper's eq. 4)",
    )
    l2: float = _field(1e-4, "L2RNN: strength of the L2 penalty on all weights")
    init: str | None = _field(
        None,
        "PLRNN family: authors, identity or uniform (see jaxrnn.PLRNN); null: identity "
        "for the iPLRNN, else authors (benchmarks) or uniform (reconstruction). The "
        "other models: jaxrnn (null) or authors (the rPLRNN authors' code: PyTorch's "
        "initialisation with their changes; see jaxrnn.ReLURNN)",
    )
    learn_z0: bool | None = _field(
        None,
        "PLRNN family on the benchmarks: learn the initial state μ₀ (null: yes, as the "
        "authors' code; the shipped configs set false)",
    )
    init_from: str | None = _field(
        None,
        "a run directory whose best checkpoint starts the parameters instead of the "
        "initialisation (the same model: fine-tuning, or a curriculum such as addition "
        "T = 200 before T = 400); a path relative to the working directory",
    )
    rollout: str = _field(
        "sequential",
        "PLRNN family: sequential (lax.scan) or parallel (exact Newton/DEER pattern "
        "iteration, O(log T) depth: accelerators, long T; jaxrnn.models.plrnn_rollout)",
    )


@document_fields
@dataclass(frozen=True)
class TrainConfig:
    """Optimisation (Optax), or EM for reconstruction (``method: em``, the ``em`` section)."""

    method: str = _field(
        "bptt",
        "bptt (gradient descent through time, Optax) or em (reconstruction: the paper's EM "
        "with annealing, Schmidt et al. Sect. 3.4; settings in the em section)",
    )
    optimizer: str = _field("adam", "the Optax optimiser")
    learning_rate: float = _field(1e-3, "the (peak) learning rate")
    schedule: str = _field(
        "constant",
        "the learning-rate schedule (cosine: decay to 0 over the run)",
    )
    warmup_steps: int = _field(0, "linear warm-up steps before the schedule")
    decay_rate: float = _field(0.1, "exponential schedule: lr · decay_rate^(step / total_steps)")
    clip_norm: float | None = _field(10.0, "gradient clipping by global norm (null: off)")
    batch_size: int = _field(16, "trials per update step")
    epochs: int = _field(100, "passes over the training set")
    max_steps: int | None = _field(None, "step budget (stops mid-epoch once reached; null: none)")
    eval_batch_size: int = _field(1000, "trials per evaluation batch")
    chunk_steps: int = _field(100, "update steps per compiled lax.scan chunk")
    dtype: str = _field(
        "float32",
        "float32 or float64 (float64 needs jax_enable_x64; the CLI turns it on)",
    )
    abort_loss: float | None = _field(
        100.0,
        "divergence abort: stop when the loss stays above this for abort_patience steps "
        "(null: only non-finite losses stop a run)",
    )
    abort_patience: int = _field(10, "consecutive update steps above abort_loss that stop a run")
    stop_at: float | None = _field(
        None,
        "early stopping: end once the test fraction correct reaches it (reconstruction: "
        "D_stsp at or below it; null: off)",
    )
    patience: int | None = _field(
        None,
        "early stopping: end after this many epochs without a new best test loss (null: off)",
    )


@document_fields
@dataclass(frozen=True)
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

    alpha: float = _field(1.0, "forcing strength α in [0, 1] (1: sparse teacher forcing)")
    interval: int = _field(
        10,
        "force every interval steps (1 with α < 1: generalised teacher forcing)",
    )
    adaptive: bool = _field(False, "set α each epoch from the model's Jacobians")
    alpha_min: float = _field(0.0, "adaptive forcing: the smallest α")
    adapt_rate: float = _field(
        0.5,
        "adaptive forcing: α ← rate·α + (1 − rate)·α_target each epoch",
    )


@document_fields
@dataclass(frozen=True)
class EMConfig:
    """EM for the PLRNN state-space model (``train.method: em``; Schmidt et al., Sect. 3.4,
    Suppl. 7.1.3). Every series of the data is fitted separately (``restarts`` times,
    from different random initialisations) as one vmapped program; the defaults are the
    authors' values. The regularised units are the first ⌈model.reg_fraction · M⌉ (or
    model.n_regularised)."""

    tau: float = _field(
        0.0,
        "the authors' tau_code: strength of W_ij -> 0 and h_i -> 0 on the regularised units, "
        "a ridge on the expected log-likelihood summed over the series (= 1500 tau_paper "
        "for the bursting neuron)",
    )
    lam: float | None = _field(None, "strength of A_ii -> 1 (null: tau, as the authors)")
    sigmas: list[float] = _field(
        doc="the fixed process-noise variance of each annealing stage, the first the LDS "
        "(default [1, 1, 0.1, 0.01, 0.001])",
        default_factory=lambda: [1.0, 1.0, 0.1, 0.01, 0.001],
    )
    freeze_B_from: int = _field(3, "the first stage (1-based) that holds B fixed")
    tol: float = _field(1e-3, "a stage goes on while l rises by more than tol |l_1| (or falls)")
    max_iterations: int = _field(19, "EM iterations per stage at most (the authors' MaxIter 20)")
    eps: float = _field(1e-5, "singularity guard eps I added to the E-step's Hessian")
    pattern_tol: float = _field(
        1e-2, "the sign-pattern iteration stops when its violation error rises by this fraction"
    )
    flip_all_after: int = _field(
        10, "EM iterations of a stage that flip one violated sign per pass (then all)"
    )
    max_passes: int = _field(200, "linear solves per E-step at most (the authors' loop had no cap)")
    stage_start: str = _field(
        "random",
        "where each stage's first E-step starts: random (the authors') or previous (the "
        "previous stage's posterior mode)",
    )
    cov_floor: float = _field(1e-4, "floor of the posterior variances (PLRNN stages)")
    lds_cov_floor: float = _field(1e-9, "floor of the posterior variances (LDS stage)")
    gamma_floor: float = _field(1e-5, "floor of the observation-noise variances")
    cross_moment: str = _field(
        "authors",
        "E[relu(z_k) relu(z_l)]: authors (their approximation) or exact (the bivariate "
        "orthant integral)",
    )
    observation: str = _field("relu", "x = B relu(z) + noise (relu, the paper's) or x = B z")
    restarts: int = _field(1, "fits per series from different random initialisations")
    init_W_range: float = _field(1.5, "W_0 ~ U(-r, r), shrunk by 0.95 until stable")
    init_h_std: float = _field(0.5, "h_0 ~ N(0, std^2)")
    eval_steps: int | None = _field(None, "free-run length of the scores (null: a series')")


@document_fields
@dataclass(frozen=True)
class Config:
    """A whole training run."""

    name: str = _field("run", "the run's name (default run directory: runs/<name>)")
    seed: int = _field(
        0,
        "seed of the initialisation, the batches and (unless task.seed) the data",
    )
    task: TaskConfig = _field(doc="the task (TaskConfig)", default_factory=TaskConfig)
    model: ModelConfig = _field(doc="the model (ModelConfig)", default_factory=ModelConfig)
    train: TrainConfig = _field(doc="optimisation (TrainConfig)", default_factory=TrainConfig)
    forcing: ForcingConfig = _field(
        doc="teacher forcing for reconstruction (ForcingConfig)", default_factory=ForcingConfig
    )
    em: EMConfig = _field(
        doc="EM for reconstruction, train.method: em (EMConfig)", default_factory=EMConfig
    )

    @property
    def data_seed(self) -> int:
        """The seed of the run's data: ``task.seed``, else ``seed`` (the one rule every
        objective, population and EM run uses)."""
        return self.seed if self.task.seed is None else self.task.seed
