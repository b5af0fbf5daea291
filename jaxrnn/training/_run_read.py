"""Reading a run directory back: its test metrics re-computed from a checkpoint, and its
trained model for simulation and analysis (see `train` for the directory's layout)."""

from __future__ import annotations

import os
import pathlib

import equinox as eqx

from .._validate import require_x64
from ._checkpoint import load_tree
from ._em_run import evaluate_em
from ._population import member_slice, stack_members
from ._run_dir import _read_config
from ._templates import shapes_of
from ._trainer import Trainer

__all__ = ["evaluate_run", "load_model", "checkpoint_params"]


def checkpoint_params(run_dir: pathlib.Path, which: str, data_dir) -> tuple[Trainer, object]:
    """The trainer of a run directory's config and the parameters of its checkpoint."""
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    config = _read_config(run_dir)
    trainer = Trainer(config, data_dir=data_dir)
    path = run_dir / f"{which}.eqx"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {which} checkpoint yet")
    if which == "best":
        return trainer, load_tree(path, shapes_of(trainer.member_params))
    return trainer, member_slice(load_tree(path, trainer.state_template()).params, 0)


def evaluate_run(
    run_dir: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    which: str = "best",
) -> dict:
    """Re-compute the test metrics of a run directory's ``best`` (or ``last``) checkpoint.

    **Arguments:**

    - `run_dir`: the run directory.
    - `data_dir`: the MNIST directory.
    - `which`: ``"best"`` or ``"last"``.

    **Returns:**

    ``{metric: value}`` (test loss, fraction correct or accuracy, …).
    """
    config = _read_config(pathlib.Path(run_dir))
    if config.train.method == "em":
        require_x64("evaluating an EM run")
        return evaluate_em(config, run_dir, data_dir)
    trainer, params = checkpoint_params(pathlib.Path(run_dir), which, data_dir)
    return trainer.evaluate(stack_members([params]))[0]


def load_model(
    run_dir: str | os.PathLike[str],
    *,
    which: str = "best",
    data_dir: str | os.PathLike[str] | None = None,
):
    """The trained model of a run directory, to simulate and analyse in Python.

    **Arguments:**

    - `run_dir`: the run directory (of one run, not a population's).
    - `which`: ``"best"`` (the best epoch's parameters, ``best.eqx``) or ``"last"``.
    - `data_dir`: the MNIST directory (the task's data is built to know its shapes).

    **Returns:**

    The model (a `PLRNN`, `ReLURNN` or `LSTM`), in the dtype it was trained in.
    """
    trainer, params = checkpoint_params(pathlib.Path(run_dir), which, data_dir)
    return eqx.combine(params, trainer.static)
