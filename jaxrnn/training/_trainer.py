"""The trainer: one compiled update program per run, for one model or a population.

Updates run as a ``lax.scan`` over chunks of ``train.chunk_steps`` steps (the
last chunk of an epoch is padded with masked no-op steps), so a run compiles
its update program exactly once, whatever its length; each step runs the
model over time with ``lax.scan`` and over the batch with ``vmap``. The data
lives on the device; batches are gathered inside the program.

A **population** is a list of configs that differ only in settings that keep
array shapes (``POPULATION_KEYS`` in ``_population.py``). Their parameters and
optimiser states are stacked on a leading axis and the update program is
``vmap``-ed over it: the regulariser strengths, M_reg (as a mask) and α enter
as traced `Hyper` arrays, the learning rate lives in the optimiser state. Each member
draws its own batches from its own seed and has its own ``alive`` flag: a
member that diverges (below) stops updating while the others go on; a member
that meets its early-stopping rule is frozen the same way (``stopped``).

The divergence rule (and why it is a run of steps) is stated in ``_programs.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import require_x64
from ._config import Config
from ._hyper import Hyper, hyper_of
from ._objectives import objective_class
from ._optim import make_optimizer
from ._population import check_population, member_slice, stack_members
from ._programs import TrainingPrograms

__all__ = ["Trainer", "Hyper", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The training loss became non-finite or stayed above ``train.abort_loss``."""


class Trainer:
    """A run's data (through its objective), model structure, optimiser and programs.

    ``Trainer(config)`` trains one model; ``Trainer(config, members=[...])`` a
    population (``config`` is then members[0]'s shared settings). ``params`` and
    ``opt_state`` are the single model's trees, or trees stacked over members.

    **Arguments:**

    - `config`: the run's `Config`.
    - `data_dir`: the MNIST directory.
    - `members`: the configs of a population's members (`population_configs`).
    """

    def __init__(self, config: Config, *, data_dir=None, members: Sequence[Config] | None = None):
        self.configs = [config] if members is None else list(members)
        if not self.configs:
            raise ValueError("a population needs at least one member")
        check_population(self.configs)
        self.config = config = self.configs[0]
        self.P = len(self.configs)
        tr = config.train
        self.dtype = jnp.float64 if tr.dtype == "float64" else jnp.float32
        if self.dtype == jnp.float64:
            require_x64("train.dtype: float64")
        self.objective = objective_class(config.task.name)(
            config, data_dir=data_dir, dtype=self.dtype
        )
        self.data = self.objective.data
        self.batches_per_epoch = self.objective.batches_per_epoch
        self.total_steps = tr.epochs * self.batches_per_epoch
        if tr.max_steps is not None:
            self.total_steps = min(self.total_steps, tr.max_steps)
        self.chunk = min(tr.chunk_steps, self.batches_per_epoch)

        params, states, hypers = [], [], []
        for c in self.configs:
            model = self.objective.build_model(
                c, dtype=self.dtype, key=jax.random.fold_in(jax.random.PRNGKey(c.seed), 1)
            )
            p, static = eqx.partition(model, eqx.is_inexact_array)
            params.append(p)
            states.append(make_optimizer(c.train, self.total_steps).init(p))
            hypers.append(hyper_of(c, self.dtype))
            if len(params) == 1:
                self.static = static
        self.optimizer = make_optimizer(config.train, self.total_steps)
        if self.P == 1:
            self.params, self.opt_state, self.hyper = params[0], states[0], hypers[0]
        else:
            self.params, self.opt_state, self.hyper = (
                stack_members(params),
                stack_members(states),
                stack_members(hypers),
            )
        self.alive = np.ones(self.P, bool)  # not diverged
        self.stopped = np.zeros(self.P, bool)  # frozen by early stopping
        self.above = np.zeros(self.P, np.int32)  # consecutive steps above train.abort_loss
        # member -> {"epoch", "step", "loss", "reason"} of the step it diverged at
        self.died_at: dict[int, dict] = {}
        self.abort_loss = math.inf if tr.abort_loss is None else float(tr.abort_loss)
        self.abort_patience = int(tr.abort_patience)
        self.programs = TrainingPrograms(
            self.static,
            self.objective,
            config.model,
            self.optimizer,
            self.abort_loss,
            self.abort_patience,
            self.P,
        )
        self._chunk_fn = jax.jit(
            eqx.debug.assert_max_traces(self.programs.chunk, max_traces=1), donate_argnums=(0, 1)
        )
        self._eval_fn = jax.jit(eqx.debug.assert_max_traces(self.programs.evaluate, max_traces=1))
        self._loss_fn = jax.jit(self.programs.batch_loss)
        self._log_norm_fn = jax.jit(self.programs.log_norm)

    def model(self, params=None, member: int = 0):
        """The model of ``params`` (default: the current ones, member ``member``)."""
        if params is None:
            params = self.params if self.P == 1 else member_slice(self.params, member)
        return eqx.combine(params, self.static)

    # ------------------------------------------------------------ host side
    def epoch_batches(self, epoch: int) -> np.ndarray:
        """An epoch's batch ids, (n_batches, B, ...) or (n_batches, P, B, ...): each member's
        depend only on (its seed, epoch)."""
        per = [self.objective.epoch_batches(c.seed, epoch) for c in self.configs]
        return per[0] if self.P == 1 else np.stack(per, axis=1)

    def batch_loss(self, ids, params=None):
        """Training loss (task + regulariser) of the batch ``ids`` (per member)."""
        return self._loss_fn(
            self.params if params is None else params,
            self.hyper,
            self.objective.train_data,
            jnp.asarray(ids),
        )

    def adapt_alpha(self, epoch: int) -> None:
        """Adaptive generalised teacher forcing: α ← r α + (1 − r) max(α_min, 1 − 1/G),
        G the geometric mean of the forced Jacobians' spectral norms on the epoch's
        first batch (reconstruction configs with ``forcing.adaptive``)."""
        f = self.config.forcing
        if not self.objective.adaptive_forcing:
            return
        log_g = np.asarray(
            self._log_norm_fn(
                self.params,
                self.hyper,
                self.objective.train_data,
                jnp.asarray(self.epoch_batches(epoch)[0]),
            )
        )
        target = np.clip(1.0 - np.exp(-log_g), f.alpha_min, 1.0)
        alpha = f.adapt_rate * np.asarray(self.hyper.alpha) + (1 - f.adapt_rate) * target
        old = np.asarray(self.hyper.alpha)
        alpha = np.where(self.alive.reshape(old.shape), alpha, old)
        self.hyper = self.hyper._replace(alpha=jnp.asarray(alpha, self.dtype))

    def divergence_message(self, member: int = 0) -> str:
        """One line: where and how member ``member`` diverged."""
        d = self.died_at[member]
        if d["reason"] == "non-finite":
            why = f"non-finite training loss ({d['loss']})"
        else:
            why = (
                f"training loss {d['loss']:.4g} above train.abort_loss={self.abort_loss:g} "
                f"for {self.abort_patience} consecutive steps"
            )
        return f"diverged at epoch {d['epoch']}, step {d['step']}: {why}"

    def run_epoch(self, epoch: int, step: int, on_chunk=None):
        """Train one epoch (or until the step budget); returns (new step, losses).

        ``losses`` is a list of floats for one model, an (n_steps, P) array for a
        population. A single model that diverges (the rule of ``_programs.py``) raises
        `TrainingDiverged` at the end of the chunk it diverged in; its last good
        checkpoint is untouched.
        """
        self.adapt_alpha(epoch)
        batches = self.epoch_batches(epoch)[: self.total_steps - step]
        K = self.chunk
        out = []
        for start in range(0, len(batches), K):
            idx = batches[start : start + K]
            live = np.ones(K, bool)
            if len(idx) < K:
                live[len(idx) :] = False
                idx = np.concatenate([idx, np.zeros((K - len(idx),) + idx.shape[1:], idx.dtype)])
            active = self.alive & ~self.stopped
            one = (lambda a: a[0]) if self.P == 1 else (lambda a: a)  # noqa: E731
            self.params, self.opt_state, alive, above, losses, alive_steps = self._chunk_fn(
                self.params,
                self.opt_state,
                self.hyper,
                jnp.asarray(one(active)),
                jnp.asarray(one(self.above)),
                self.objective.train_data,
                jnp.asarray(idx),
                jnp.asarray(live),
            )
            n = int(live.sum())
            losses = np.array(losses)[:n].reshape(n, self.P)
            alive_steps = np.asarray(alive_steps)[:n].reshape(n, self.P)
            self.above = np.asarray(above, np.int32).reshape(self.P).copy()
            died = active & ~np.asarray(alive).reshape(self.P)
            for i in np.flatnonzero(died):
                bad = int(np.argmin(alive_steps[:, i]))
                loss = float(losses[bad, i])
                self.died_at[int(i)] = {
                    "epoch": epoch + 1,
                    "step": step + bad + 1,
                    "loss": loss if np.isfinite(loss) else str(loss),  # JSON has no inf/nan
                    "reason": "non-finite" if not np.isfinite(loss) else "abort_loss",
                }
                self.alive[i] = False
                losses[bad + 1 :, i] = np.nan  # a frozen member has no further losses
            if self.P == 1 and not self.alive[0]:
                raise TrainingDiverged(self.divergence_message(0))
            out.append(losses)
            step += n
            if on_chunk is not None:
                finite = losses[np.isfinite(losses)]
                on_chunk(
                    n,
                    float(finite.mean()) if finite.size else float("nan"),
                    float(finite.max()) if finite.size else float("nan"),
                )
        losses = np.concatenate(out) if out else np.zeros((0, self.P))
        return step, (losses[:, 0].tolist() if self.P == 1 else losses)

    def evaluate_members(self, params=None) -> list[dict]:
        """Test metrics of every member (one dict for a single model)."""
        out = self.evaluate(params)
        return [out] if isinstance(out, dict) else out

    def evaluate(self, params=None) -> dict | list[dict]:
        """Test metrics of the model (a dict) or of every member (a list of dicts)."""
        params = self.params if params is None else params
        outputs, reg = self._eval_fn(params, self.hyper, self.objective.eval_data)
        if self.P == 1:
            return {**self.objective.metrics(outputs), "regulariser": float(reg)}
        return [
            {**self.objective.metrics(member_slice(outputs, i)), "regulariser": float(reg[i])}
            for i in range(self.P)
        ]

    # ----------------------------------------------------- checkpoint state
    def state_tree(self, epoch, step, best_score, best_loss, best_epoch, member: int = 0):
        """One member's resumable state (the format of ``last.eqx``)."""
        one = (lambda t: t) if self.P == 1 else (lambda t: member_slice(t, member))
        # counters as NumPy float64: the file format must not depend on jax_enable_x64
        return {
            "params": one(self.params),
            "opt_state": one(self.opt_state),
            "alpha": jnp.asarray(one(self.hyper.alpha), self.dtype),
            "above": jnp.asarray(self.above[member], jnp.int32),
            "stopped": jnp.asarray(self.stopped[member]),
            "epoch": jnp.asarray(epoch, jnp.int32),
            "step": jnp.asarray(step, jnp.int32),
            "best_score": np.asarray(best_score, np.float64),
            "best_loss": np.asarray(best_loss, np.float64),
            "best_epoch": jnp.asarray(best_epoch, jnp.int32),
        }

    def load_states(self, states: Sequence[dict]) -> None:
        """Put member states (as written by `state_tree`) back into the trainer."""
        self.above = np.asarray([int(s["above"]) for s in states], np.int32)
        if self.P == 1:
            self.params, self.opt_state = states[0]["params"], states[0]["opt_state"]
            self.hyper = self.hyper._replace(alpha=states[0]["alpha"])
        else:
            self.params = stack_members([s["params"] for s in states])
            self.opt_state = stack_members([s["opt_state"] for s in states])
            self.hyper = self.hyper._replace(alpha=jnp.stack([s["alpha"] for s in states]))
