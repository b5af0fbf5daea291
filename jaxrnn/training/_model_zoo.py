"""The Table-1 models of the rPLRNN paper (Schmidt et al., Sect. 4.1) as a registry.

Every model name maps to one `ModelSpec` that owns its decisions: how it is built, its
default initialisation, whether it learns an initial state, whether it carries the
line-attractor units, and its regulariser. Adding a model means adding one entry to
`MODEL_ZOO`: the names the config accepts (``MODELS``, ``PLRNN_MODELS``), the config
checks, the generated config reference and the run report read them from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._simulate import simulate
from .._system_kinds import AbstractDiscreteSystem
from ..models import LSTM, PLRNN, ReLURNN
from ..models._baselines import CONVENTIONS, BaselineConvention
from ..models.plrnn._penalty import masked_penalty
from ..models.plrnn._plrnn_map import INITS, PLRNNInit
from ._config import ModelConfig

__all__ = [
    "ModelSpec",
    "MODEL_ZOO",
    "MODELS",
    "PLRNN_MODELS",
    "PLRNN_INITS",
    "BASELINE_INITS",
    "build_model",
    "regulariser",
    "predict",
    "n_regularised_units",
    "penalty_strengths",
    "plrnn_init",
    "baseline_init",
    "model_inits",
    "learns_z0",
]


def _no_penalty(model, cfg: ModelConfig, hyper) -> Float[Array, ""]:
    return jnp.zeros(())


def _line_attractor(model, cfg: ModelConfig, hyper) -> Float[Array, ""]:
    """Eq. 4 of Schmidt et al. on the first M_reg units; τ_A, τ_W, τ_h default to τ. ``hyper``
    (a `Hyper` of arrays) supplies τ_A, τ_W, τ_h and M_reg as traced values, as the
    population trainer does. The strengths were checked with the config (τ ≥ 0), so the
    unchecked `masked_penalty` is used: no host callback in the training program."""
    if hyper is None:
        tau_A, tau_W, tau_h = penalty_strengths(cfg)
        return masked_penalty(model, tau_A, tau_W, tau_h, _reduction(cfg), model.n_regularised)
    return masked_penalty(
        model, hyper.tau_A, hyper.tau_W, hyper.tau_h, _reduction(cfg), hyper.n_reg
    )


def _l2(model, cfg: ModelConfig, hyper) -> Float[Array, ""]:
    """``l2 · Σ w²`` over all weights (the L2RNN)."""
    return cfg.l2 * sum(
        (jnp.sum(jnp.square(w)) for w in (model.W, model.U, model.V)), jnp.zeros(())
    )


def _reduction(cfg: ModelConfig) -> Literal["sum", "mean"]:
    assert cfg.reduction in ("sum", "mean")  # checked when the config was loaded
    return cast(Literal["sum", "mean"], cfg.reduction)


@dataclass(frozen=True)
class ModelSpec:
    """What a model name decides.

    - ``family``: ``"plrnn"`` (PLRNN, initial state μ₀, region analysis), ``"relu_rnn"`` or
      ``"lstm"``.
    - ``init``: the `ReLURNN` init, or the PLRNN init on the benchmarks (reconstruction
      uses ``reconstruction_init``).
    - ``line_attractor``: the first M_reg units are regularised (the rPLRNN).
    - ``penalty``: ``(model, config, hyper) -> scalar`` added to the task loss.
    """

    family: str
    init: str | None = None
    reconstruction_init: str | None = None
    line_attractor: bool = False
    penalty: Callable = _no_penalty


MODEL_ZOO: dict[str, ModelSpec] = {
    "rnn": ModelSpec("relu_rnn", init="random"),
    "l2rnn": ModelSpec("relu_rnn", init="random", penalty=_l2),
    "irnn": ModelSpec("relu_rnn", init="identity"),
    "nprnn": ModelSpec("relu_rnn", init="np"),
    "plrnn": ModelSpec("plrnn", init="authors", reconstruction_init="uniform"),
    "iplrnn": ModelSpec("plrnn", init="identity", reconstruction_init="identity"),
    "rplrnn": ModelSpec(
        "plrnn",
        init="authors",
        reconstruction_init="uniform",
        line_attractor=True,
        penalty=_line_attractor,
    ),
    "lstm": ModelSpec("lstm"),
}

MODELS: tuple[str, ...] = tuple(MODEL_ZOO)
"""Every model name ``model.name`` accepts, in Table-1 order."""
PLRNN_MODELS: tuple[str, ...] = tuple(n for n, s in MODEL_ZOO.items() if s.family == "plrnn")
"""The PLRNN family: the models that take ``model.init``, learn μ₀ and reconstruct."""
PLRNN_INITS: tuple[str, ...] = INITS
"""The values ``model.init`` accepts for the PLRNN family (the PLRNN's init schemes)."""
BASELINE_INITS: tuple[str, ...] = CONVENTIONS
"""The values ``model.init`` accepts for the other models: ``"jaxrnn"`` (the default) or
``"authors"`` (the rPLRNN authors' code; `ReLURNN` and `LSTM`, ``convention``)."""


def model_inits(name: str) -> tuple[str, ...]:
    """The values ``model.init`` accepts for the model ``name``."""
    return PLRNN_INITS if MODEL_ZOO[name].family == "plrnn" else BASELINE_INITS


def baseline_init(cfg: ModelConfig) -> BaselineConvention:
    """The initialisation convention of a baseline: ``model.init``, else ``"jaxrnn"``."""
    return cast(BaselineConvention, "jaxrnn" if cfg.init is None else cfg.init)


def plrnn_init(cfg: ModelConfig, reconstruction: bool = False) -> str:
    """The PLRNN init scheme of a config: ``model.init``, else the model's default
    (``"identity"`` for the iPLRNN; ``"authors"`` on the benchmarks and ``"uniform"`` for
    reconstruction otherwise)."""
    if cfg.init is not None:
        return cfg.init
    spec = MODEL_ZOO[cfg.name]
    init = spec.reconstruction_init if reconstruction else spec.init
    assert init is not None
    return init


def learns_z0(cfg: ModelConfig, reconstruction: bool = False) -> bool:
    """Whether a config learns μ₀: ``model.learn_z0``, else yes for the PLRNN family on the
    benchmarks (the authors' code) and no for reconstruction."""
    if cfg.learn_z0 is not None:
        return cfg.learn_z0
    return MODEL_ZOO[cfg.name].family == "plrnn" and not reconstruction


def n_regularised_units(cfg: ModelConfig) -> int:
    """M_reg of a config: 0 unless the model has line-attractor units (the rPLRNN), then
    ``n_regularised``, else round(reg_fraction · M)."""
    if not MODEL_ZOO[cfg.name].line_attractor:
        return 0
    if cfg.n_regularised is not None:
        return cfg.n_regularised
    return int(round(cfg.reg_fraction * cfg.hidden_size))


def penalty_strengths(cfg: ModelConfig) -> tuple[float, float, float]:
    """(τ_A, τ_W, τ_h) of a config; each defaults to ``tau``."""
    tau_A, tau_W, tau_h = (cfg.tau if v is None else v for v in (cfg.tau_A, cfg.tau_W, cfg.tau_h))
    return tau_A, tau_W, tau_h


def build_model(
    cfg: ModelConfig,
    input_size: int,
    n_outputs: int,
    kind: str,
    *,
    dtype,
    key,
    reconstruction: bool = False,
) -> AbstractDiscreteSystem:
    """The model of ``cfg`` (the LSTM with ``lstm_units``, by default M/4 as Sect. 4.1 of
    the rPLRNN paper) with a linear read-out of the last state (Gaussian) or logits for a
    softmax (``kind == "classification"``).

    **Arguments:**

    - `cfg`: the model section of the config.
    - `input_size`: K, the input channels of the task.
    - `n_outputs`: N, the read-out size (1 for addition, 10 for MNIST).
    - `kind`: ``"regression"`` or ``"classification"``.
    - `dtype`: the parameters' dtype.
    - `key`: the PRNG key of the initial parameters.
    - `reconstruction`: build the PLRNN for dynamical-systems reconstruction
      (identity-link Gaussian observation of every state, no learned μ₀).

    **Returns:**

    The model: a `PLRNN`, `ReLURNN` or `LSTM`.
    """
    spec, M = MODEL_ZOO[cfg.name], cfg.hidden_size
    if spec.family == "plrnn":
        return PLRNN(
            M,
            input_size,
            n_regularised=n_regularised_units(cfg),
            init=cast(PLRNNInit, plrnn_init(cfg, reconstruction)),
            learn_z0=learns_z0(cfg, reconstruction),
            observation_size=n_outputs,
            observation="categorical" if kind == "classification" else "gaussian",
            dtype=dtype,
            key=key,
        )
    if spec.family == "relu_rnn":
        init = cast(Literal["random", "identity", "np"], spec.init)
        return ReLURNN(
            M, input_size, n_outputs, init=init, convention=baseline_init(cfg), dtype=dtype, key=key
        )
    H = M // 4 if cfg.lstm_units is None else cfg.lstm_units
    return LSTM(H, input_size, n_outputs, convention=baseline_init(cfg), dtype=dtype, key=key)


def regulariser(model, cfg: ModelConfig, hyper=None) -> Float[Array, ""]:
    """The model's own penalty: the line-attractor penalty (rPLRNN, eq. 4), the L2 penalty
    on all weights (L2RNN), 0 for the others.

    **Arguments:**

    - `model`: the model.
    - `cfg`: its model config (which regulariser, τ, M_reg).
    - `hyper`: a population member's traced `Hyper` settings (default: from ``cfg``).

    **Returns:**

    The penalty, a scalar array.
    """
    return MODEL_ZOO[cfg.name].penalty(model, cfg, hyper)


def predict(model: PLRNN | ReLURNN | LSTM, inputs: Float[Array, "T K"]) -> Float[Array, " N"]:
    """Run the model over one input sequence from its initial state (the learned μ₀ of a
    PLRNN that has one, else 0); read out the last state.

    **Arguments:**

    - `model`: a benchmark model with a read-out.
    - `inputs`: one trial's inputs, shape ``(T, K)``.

    **Returns:**

    The read-out of the last state, shape ``(N,)`` (a value, or class logits).
    """
    y0 = model.initial_state(inputs.dtype)
    last = simulate(model, y0, inputs=inputs, saveat="t1", divergence_threshold=None).ys[0]
    return model.observe(last)
