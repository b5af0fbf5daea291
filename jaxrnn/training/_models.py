"""Table-1 models by name, their regularisers, and the last-step prediction."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._regularisers import line_attractor_penalty
from .._simulate import simulate
from .._systems import AbstractDiscreteSystem
from ..models import LSTM, PLRNN, ReLURNN
from ._config import ModelConfig

__all__ = ["build_model", "regulariser", "predict", "n_regularised_units", "penalty_strengths",
           "plrnn_init", "learns_z0"]


def plrnn_init(cfg: ModelConfig, reconstruction: bool = False) -> str:
    """The PLRNN init scheme of a config: ``model.init``, else ``"identity"`` for the
    iPLRNN and ``"authors"`` (benchmarks) or ``"uniform"`` (reconstruction) otherwise."""
    if cfg.init is not None:
        return cfg.init
    if cfg.name == "iplrnn":
        return "identity"
    return "uniform" if reconstruction else "authors"


def learns_z0(cfg: ModelConfig, reconstruction: bool = False) -> bool:
    """Whether a PLRNN-family config learns μ₀: ``model.learn_z0``, else yes on the
    benchmarks (the authors' code) and no for reconstruction."""
    if cfg.learn_z0 is not None:
        return cfg.learn_z0
    return cfg.name in ("plrnn", "iplrnn", "rplrnn") and not reconstruction


def n_regularised_units(cfg: ModelConfig) -> int:
    """M_reg of an rPLRNN config (``n_regularised``, else round(reg_fraction · M))."""
    if cfg.n_regularised is not None:
        return cfg.n_regularised
    return int(round(cfg.reg_fraction * cfg.hidden_size))


def penalty_strengths(cfg: ModelConfig) -> tuple[float, float, float]:
    """(τ_A, τ_W, τ_h) of a config; each defaults to ``tau``."""
    return tuple(cfg.tau if v is None else v for v in (cfg.tau_A, cfg.tau_W, cfg.tau_h))


def build_model(cfg: ModelConfig, input_size: int, n_outputs: int, kind: str, *, dtype, key):
    """RNN, L2RNN, iRNN, npRNN, PLRNN, iPLRNN, rPLRNN or LSTM (M/4 units) with a
    linear read-out of the last state (Gaussian) or logits for a softmax (MNIST)."""
    M, name = cfg.hidden_size, cfg.name
    if name in ("plrnn", "iplrnn", "rplrnn"):
        return PLRNN(
            M,
            input_size,
            n_regularised=n_regularised_units(cfg) if name == "rplrnn" else 0,
            init=plrnn_init(cfg),
            learn_z0=learns_z0(cfg),
            observation_size=n_outputs,
            observation="categorical" if kind == "classification" else "gaussian",
            dtype=dtype,
            key=key,
        )
    if name in ("rnn", "l2rnn", "irnn", "nprnn"):
        init = {"rnn": "random", "l2rnn": "random", "irnn": "identity", "nprnn": "np"}[name]
        return ReLURNN(M, input_size, n_outputs, init=init, dtype=dtype, key=key)
    if name == "lstm":
        return LSTM(M // 4, input_size, n_outputs, dtype=dtype, key=key)
    raise ValueError(f"unknown model {name!r}")


def regulariser(model, cfg: ModelConfig, hyper=None) -> Float[Array, ""]:
    """The line-attractor penalty (rPLRNN, eq. 4; τ_A, τ_W, τ_h default to τ) or the L2
    penalty on all weights (L2RNN); 0 for the others. ``hyper`` (a `Hyper` of arrays)
    supplies τ_A, τ_W, τ_h and M_reg as traced values, as the population trainer does."""
    if cfg.name == "rplrnn":
        if hyper is None:
            return line_attractor_penalty(model, *penalty_strengths(cfg), reduction=cfg.reduction)
        return line_attractor_penalty(model, hyper.tau_A, hyper.tau_W, hyper.tau_h,
                                      reduction=cfg.reduction, n_regularised=hyper.n_reg)
    if cfg.name == "l2rnn":
        return cfg.l2 * sum(jnp.sum(jnp.square(w)) for w in (model.W, model.U, model.V))
    return jnp.zeros(())


def predict(model: AbstractDiscreteSystem, inputs: Float[Array, "T K"]) -> Float[Array, " N"]:
    """Run the model over one input sequence from its initial state (the learned μ₀ of a
    PLRNN that has one, else 0); read out the last state."""
    y0 = model.initial_state(inputs.dtype)
    last = simulate(model, y0, inputs=inputs, saveat="t1", divergence_threshold=None).ys[0]
    return model.observe(last)
