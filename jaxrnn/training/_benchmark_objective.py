"""The benchmark objective: addition, multiplication and sequential MNIST (Schmidt et al.,
Sect. 4.1).

An *objective* tells the generic `Trainer` what a run learns: it owns the
data, builds the model, draws an epoch's batches, gives the loss of one
batch, and turns an evaluation into metrics and a score. Every jitted
function here is pure in (model, data arrays, batch ids, hyper-parameters),
so the trainer can ``vmap`` it over a population of models.
"""

from __future__ import annotations

import math
from typing import Literal, cast

import jax
import jax.numpy as jnp
import numpy as np

from .._simulate import simulate
from ..models import PLRNN
from ..models.plrnn._rollout import plrnn_rollout
from ..tasks import make_task
from ._config import Config
from ._model_zoo import build_model, predict
from ._objective_base import AbstractObjective

__all__ = ["BenchmarkObjective", "CORRECT_TOLERANCE"]

CORRECT_TOLERANCE = 0.04  # |prediction - target| < 0.04 counts as correct (Schmidt et al.)


def _per_sample(out, target, kind):
    """(loss, correct) of one prediction."""
    if kind == "regression":
        err = out - target
        return jnp.sum(err * err), jnp.all(jnp.abs(err) < CORRECT_TOLERANCE)
    logp = jax.nn.log_softmax(out)
    return -logp[target], jnp.argmax(out) == target


def _batched(x, y, batch):
    """Pad the test set to whole batches: (n_batches, B, ...) arrays and a mask."""
    n = x.shape[0]
    nb = math.ceil(n / batch)
    pad = nb * batch - n
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    yp = np.concatenate([y, np.zeros((pad,) + y.shape[1:], y.dtype)])
    mask = np.arange(nb * batch) < n
    shape = lambda a: a.reshape((nb, batch) + a.shape[1:])  # noqa: E731
    return jnp.asarray(shape(xp)), jnp.asarray(shape(yp)), jnp.asarray(shape(mask))


def predict_batch(model, x, rollout: Literal["sequential", "parallel"] = "sequential"):
    """Last-step read-outs of a batch ``x`` (B, T, K) from the model's initial state (μ₀
    or 0). A PLRNN goes through `plrnn_rollout` (time-major, hand-written reverse pass,
    which also carries the gradient to μ₀; ``rollout="parallel"``: the exact parallel-in-
    time iteration); others vmap `predict`."""
    if isinstance(model, PLRNN) and model.noise_std is None:
        z0 = jnp.broadcast_to(model.initial_state(x.dtype), (x.shape[0], model.state_size))
        s = jnp.swapaxes(x, 0, 1)
        zs = plrnn_rollout(model.A, model.W, model.h, model.C, z0, s, method=rollout)
        return jax.vmap(model.observe)(zs)
    return jax.vmap(predict, (None, 0))(model, x)


class BenchmarkObjective(AbstractObjective):
    """Squared error at the last step (or cross-entropy for MNIST); a trial is
    correct when |error| < 0.04 (or the argmax is the label). Best epoch: highest
    test fraction correct, then lowest test loss."""

    name = "benchmark"
    uses_forcing = False  # no teacher forcing: no α to log or adapt
    summary_metrics = ("test_loss", "test_frac_correct")
    sweep_columns = ("best_test_frac_correct", "best_test_loss", "best_epoch")
    curve_metrics = (("test_frac_correct", "test"),)
    curve_label = "test fraction correct"
    curve_ylim = (-0.02, 1.02)

    def __init__(self, config: Config, *, data_dir=None, dtype=jnp.float32):
        task = config.task
        self.data = make_task(
            task.name,
            T=task.T,
            n_train=task.n_train,
            n_test=task.n_test,
            seed=config.data_seed,
            data_dir=task.data_dir or data_dir,
            dtype=np.dtype(dtype),
        )
        self.kind = self.data.kind
        self.n_items = self.data.train_x.shape[0]
        self.batch_size = config.train.batch_size
        self.batches_per_epoch = self.n_items // self.batch_size
        self.train_data = (jnp.asarray(self.data.train_x), jnp.asarray(self.data.train_y))
        n_eval = min(config.train.eval_batch_size, self.data.test_x.shape[0])
        self.eval_data = _batched(self.data.test_x, self.data.test_y, n_eval)
        self.n_test = self.data.test_x.shape[0]
        self.rollout: Literal["sequential", "parallel"] = cast(
            Literal["sequential", "parallel"], config.model.rollout
        )

    def build_model(self, config: Config, *, dtype, key):
        return build_model(
            config.model,
            self.data.train_x.shape[-1],
            self.data.n_outputs,
            self.kind,
            dtype=dtype,
            key=key,
        )

    def epoch_batches(self, seed: int, epoch: int) -> np.ndarray:
        """(n_batches, B) trial indices: a permutation that depends only on (seed, epoch)."""
        perm = np.random.default_rng([seed, epoch]).permutation(self.n_items)
        nb, B = self.batches_per_epoch, self.batch_size
        return perm[: nb * B].reshape(nb, B).astype(np.int32)

    def loss(self, model, data, ids, hyper):
        """Mean task loss over the batch ``ids``."""
        x_all, y_all = data
        out = predict_batch(model, x_all[ids], self.rollout)
        losses, _ = jax.vmap(_per_sample, (0, 0, None))(out, y_all[ids], self.kind)
        return jnp.mean(losses)

    def evaluate(self, model, data, hyper):
        """Summed test loss and number correct (device arrays; padding masked out)."""
        x, y, mask = data

        def one(batch):
            xb, yb, mb = batch
            if self.rollout == "parallel":
                out = predict_batch(model, xb, "parallel")
            else:
                out = jax.vmap(predict, (None, 0))(model, xb)
            loss, correct = jax.vmap(_per_sample, (0, 0, None))(out, yb, self.kind)
            return jnp.sum(jnp.where(mb, loss, 0.0)), jnp.sum(mb & correct)

        losses, correct = jax.lax.map(one, (x, y, mask))
        return jnp.sum(losses), jnp.sum(correct)

    def metrics(self, outputs) -> dict:
        loss, correct = outputs
        return {
            "test_loss": float(loss) / self.n_test,
            "test_frac_correct": float(correct) / self.n_test,
        }

    def score(self, metrics) -> tuple[float, float]:
        """(score, loss): higher score is better, lower loss breaks ties."""
        return metrics["test_frac_correct"], metrics["test_loss"]

    def reached(self, metrics, target: float) -> bool:
        """Whether the test fraction correct has reached ``train.stop_at``."""
        return metrics["test_frac_correct"] >= target

    def analysis_trajectories(self, model, n_trials: int):
        """The latent paths of the first ``n_trials`` test trials from the model's initial
        state (the learned μ₀ of a benchmark PLRNN, else 0), in float64."""
        x = jnp.asarray(self.data.test_x[:n_trials], jnp.float64)
        z0 = model.initial_state(jnp.float64)
        return jax.vmap(lambda s: simulate(model, z0, inputs=s, divergence_threshold=None).ys)(x)
