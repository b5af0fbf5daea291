"""The trainer: one compiled update program per run, for one model or a population.

Updates run as a ``lax.scan`` over chunks of ``train.chunk_steps`` steps (the
last chunk of an epoch is padded with masked no-op steps), so a run compiles
its update program exactly once, whatever its length; each step runs the
model over time with ``lax.scan`` and over the batch with ``vmap``. The data
lives on the device; batches are gathered inside the program.

The trainer holds what does not change while a run trains (the objective and its data,
the model's static part, the optimiser, the compiled programs); what does change is a
`TrainState` that its methods take and return. A single model is a population of one.

A **population** is a list of configs that differ only in settings that keep
array shapes (``POPULATION_KEYS`` in ``_population.py``). Their parameters and
optimiser states are stacked on a leading axis and the update program is
``vmap``-ed over it: the regulariser strengths, M_reg (as a mask) and α enter
as traced `Hyper` arrays, the learning rate lives in the optimiser state. Each member
draws its own batches from its own seed and has its own ``alive`` flag: a
member that diverges (below) stops updating while the others go on; a member
that meets its early-stopping rule is frozen the same way (``stopped``).

With several devices (of one process or of all processes of a `jax.distributed`
program) the members are cut into one block per device, and each device runs these same
programs over its block (``jaxrnn._member_mesh`` says when the bits equal one device's).

The divergence rule (and why it is a run of steps) is stated in ``_programs.py``.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._config_files import ConfigError
from .._member_mesh import MemberMesh
from .._validate import require_x64
from ._checkpoint import CheckpointError, load_tree
from ._config import Config
from ._hyper import Hyper, hyper_of
from ._objectives import objective_class
from ._optim import make_optimizer
from ._population import check_population, member_slice, stack_members
from ._programs import TrainingPrograms
from ._state import TrainState
from ._templates import shapes_of, static_part

__all__ = ["Trainer", "Hyper", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The training loss became non-finite or stayed above ``train.abort_loss``."""


class Trainer:
    """A run's data (through its objective), model structure, optimiser and programs.

    ``Trainer(config)`` trains one model; ``Trainer(config, members=[...])`` a
    population (``config`` is then members[0]'s shared settings). Training state is
    not kept here: `init_state` makes a `TrainState` and `run_epoch` advances one.

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
        self.batches_per_epoch = self.objective.batches_per_epoch
        self.total_steps = tr.epochs * self.batches_per_epoch
        if tr.max_steps is not None:
            self.total_steps = min(self.total_steps, tr.max_steps)
        self.chunk = min(tr.chunk_steps, self.batches_per_epoch)
        self.static = static_part(lambda: self._member_model(self.config))
        # the members' traced settings from their configs (never donated: built once)
        self.hyper = stack_members([hyper_of(c, self.dtype) for c in self.configs])
        self.optimizer = make_optimizer(config.train, self.total_steps)
        self.abort_loss = math.inf if tr.abort_loss is None else float(tr.abort_loss)
        self.abort_patience = int(tr.abort_patience)
        self.programs = TrainingPrograms(
            self.static,
            self.objective,
            config.model,
            self.optimizer,
            self.abort_loss,
            self.abort_patience,
        )
        # the members in blocks over every device of every process (nothing on one device)
        self.mesh = m = MemberMesh(self.P)
        traces = max(1, len(m.local))  # one trace per local device
        self._chunk_fn = m.map(
            jax.jit(
                eqx.debug.assert_max_traces(self.programs.chunk, max_traces=traces),
                donate_argnums=(0, 1),
            )
        )
        self._eval_fn = m.map(
            jax.jit(eqx.debug.assert_max_traces(self.programs.evaluate, max_traces=traces))
        )
        self._loss_fn = m.map(jax.jit(self.programs.batch_loss))
        self._log_norm_fn = m.map(jax.jit(self.programs.log_norm))
        self._train_data = self.mesh.replicated(self.objective.train_data)
        self._eval_data = self.mesh.replicated(self.objective.eval_data)

    def _member_model(self, config: Config):
        key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 1)
        return self.objective.build_model(config, dtype=self.dtype, key=key)

    def init_state(self) -> TrainState:
        """The members' initial parameters (from their seeds), optimiser states and
        settings, before the first epoch (a new state each call: `run_epoch` donates
        its buffers)."""
        return TrainState.start(*self._initial_trees(), self.hyper)

    def state_template(self) -> TrainState:
        """`init_state`'s tree, its parameters and optimiser states traced only: what a
        checkpoint loads into (see `shapes_of`)."""
        params, opt_state = shapes_of(self._initial_trees)
        return TrainState.start(params, opt_state, self.hyper)

    def _initial_trees(self):
        params, states = [], []
        for c in self.configs:
            p = eqx.partition(self._member_model(c), eqx.is_inexact_array)[0]
            params.append(p)
            states.append(make_optimizer(c.train, self.total_steps).init(p))
        return stack_members(params), stack_members(states)

    def start_state(self) -> TrainState:
        """The state a new run starts from: `init_state`, with each member's parameters
        taken from the best checkpoint of its ``model.init_from`` run where one is set
        (the checkpoint must fit the member's model leaf for leaf; `ConfigError` if not)."""
        state = self.init_state()
        if all(c.model.init_from is None for c in self.configs):
            return state
        params = []
        for i, c in enumerate(self.configs):
            p = member_slice(state.params, i)
            if c.model.init_from is not None:
                try:
                    p = load_tree(pathlib.Path(c.model.init_from) / "best.eqx", p)
                except CheckpointError as e:
                    raise ConfigError(f"config key 'model.init_from': {e}") from None
            params.append(p)
        return state.replace(params=stack_members(params))

    def member_params(self, state: TrainState | None = None, member: int = 0):
        """Member ``member``'s parameters in ``state`` (default: the initial state): the
        tree of ``best.eqx``."""
        return member_slice((self.init_state() if state is None else state).params, member)

    def model(self, state: TrainState | None = None, member: int = 0):
        """Member ``member``'s model in ``state`` (default: the initial state)."""
        return eqx.combine(self.member_params(state, member), self.static)

    # ------------------------------------------------------------ host side
    def epoch_batches(self, epoch: int) -> np.ndarray:
        """An epoch's batch ids, (n_batches, P, B, ...): each member's depend only on
        (its seed, epoch)."""
        return np.stack([self.objective.epoch_batches(c.seed, epoch) for c in self.configs], 1)

    def batch_loss(self, state: TrainState, ids) -> jax.Array:
        """Training loss (task + regulariser) of the batch ``ids`` (P, B, ...), per member."""
        m = self.mesh
        loss = self._loss_fn(
            m.place(state.params), m.place(state.hyper), self._train_data, m.place(ids)
        )
        return m.gather(loss)

    def adapt_alpha(self, state: TrainState) -> TrainState:
        """Adaptive generalised teacher forcing: α ← r α + (1 − r) max(α_min, 1 − 1/G),
        G the geometric mean of the forced Jacobians' spectral norms on the coming
        epoch's first batch (objectives with ``adaptive_forcing``; else unchanged)."""
        if not self.objective.adaptive_forcing:
            return state
        f = self.config.forcing
        m, ids = self.mesh, self.epoch_batches(int(state.epoch))[0]
        log_g = np.asarray(
            m.gather(
                self._log_norm_fn(
                    m.place(state.params), m.place(state.hyper), self._train_data, m.place(ids)
                )
            )
        )
        target = np.clip(1.0 - np.exp(-log_g), f.alpha_min, 1.0)
        old = np.asarray(state.hyper.alpha)
        alpha = np.where(state.alive, f.adapt_rate * old + (1 - f.adapt_rate) * target, old)
        return state.replace(hyper=state.hyper._replace(alpha=jnp.asarray(alpha, self.dtype)))

    def divergence_message(self, died: dict) -> str:
        """One line: where and how a member diverged (``died`` as `run_epoch` reports)."""
        if died["reason"] == "non-finite":
            why = f"non-finite training loss ({died['loss']})"
        else:
            why = (
                f"training loss {died['loss']:.4g} above train.abort_loss={self.abort_loss:g} "
                f"for {self.abort_patience} consecutive steps"
            )
        return f"diverged at epoch {died['epoch']}, step {died['step']}: {why}"

    def _padded(self, batches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A chunk's ids padded to ``self.chunk`` steps, and the mask of real steps."""
        K, n = self.chunk, len(batches)
        live = np.arange(K) < n
        pad = np.zeros((K - n,) + batches.shape[1:], batches.dtype)
        return np.concatenate([batches, pad]), live

    def run_epoch(self, state: TrainState, on_chunk=None):
        """Train one epoch (or up to the step budget) from ``state``.

        **Arguments:**

        - `state`: the `TrainState` (its buffers are donated: use the returned one).
        - `on_chunk`: called after each chunk with (steps, mean loss, max loss).

        **Returns:**

        ``(state, losses, died)``: the state after the epoch (α first adapted, when
        the objective adapts it), the (n_steps, P) training losses (NaN after a member
        stopped) and ``{member: {"epoch", "step", "loss", "reason"}}`` for the members
        that diverged in this epoch (the rule of ``_programs.py``; their updates from
        that step on are not applied). The epoch ends early when no member is left.
        """
        state = self.adapt_alpha(state)
        epoch, step = int(state.epoch), int(state.step)
        batches = self.epoch_batches(epoch)[: self.total_steps - step]
        out, died, m = [], {}, self.mesh
        params, opt_state = m.place(state.params), m.place(state.opt_state)
        hyper, alive, above = m.place(state.hyper), state.alive, state.above
        for start in range(0, len(batches), self.chunk):
            if not np.any(alive & ~state.stopped):
                break
            idx, live = self._padded(batches[start : start + self.chunk])
            active = alive & ~state.stopped
            params, opt_state, alive_, above_, losses, alive_steps = self._chunk_fn(
                params,
                opt_state,
                hyper,
                m.place(jnp.asarray(active)),
                m.place(jnp.asarray(above)),
                self._train_data,
                m.place(jnp.asarray(idx), axis=1),
                m.replicated(jnp.asarray(live)),
            )
            n = int(live.sum())
            losses, alive_steps = m.gather((losses, alive_steps), axis=1)
            losses, alive_steps = np.array(losses, np.float64)[:n], np.asarray(alive_steps)[:n]
            alive_, above_ = m.gather((alive_, above_))
            above, alive = np.array(above_, np.int32), alive & np.asarray(alive_)
            for i in np.flatnonzero(active & ~alive):
                bad = int(np.argmin(alive_steps[:, i]))
                loss = float(losses[bad, i])
                died[int(i)] = {
                    "epoch": epoch + 1,
                    "step": step + bad + 1,
                    "loss": loss if np.isfinite(loss) else str(loss),  # JSON has no inf/nan
                    "reason": "non-finite" if not np.isfinite(loss) else "abort_loss",
                }
                losses[bad + 1 :, i] = np.nan  # a frozen member has no further losses
            out.append(losses)
            step += n
            if on_chunk is not None:
                finite = losses[np.isfinite(losses)]
                mean, top = (finite.mean(), finite.max()) if finite.size else (np.nan, np.nan)
                on_chunk(n, float(mean), float(top))
        params, opt_state = m.gather((params, opt_state))
        state = state.replace(
            params=params, opt_state=opt_state, alive=alive, above=above, epoch=epoch + 1, step=step
        )
        return state, (np.concatenate(out) if out else np.zeros((0, self.P))), died

    def evaluate(self, params, hyper: Hyper | None = None) -> list[dict]:
        """Test metrics of every member of ``params`` (stacked, as in `TrainState`) with
        the settings ``hyper`` (default: the members' configs')."""
        hyper = self.hyper if hyper is None else hyper
        m = self.mesh
        outputs, reg = m.gather(self._eval_fn(m.place(params), m.place(hyper), self._eval_data))
        return [
            {**self.objective.metrics(member_slice(outputs, i)), "regulariser": float(reg[i])}
            for i in range(self.P)
        ]
