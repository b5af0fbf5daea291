"""The config a run directory records (``config.yaml``): only the settings that apply to
the run, with the defaults that depend on the model or the task written out."""

from __future__ import annotations

from ._config import Config
from ._config_loading import config_to_dict
from ._model_zoo import MODEL_ZOO, baseline_init, learns_z0, plrnn_init

__all__ = ["resolved_config_dict"]

_RECONSTRUCTION_TASK = ("dataset", "n_samples", "noise_std", "eval_steps", "data")
_LINE_ATTRACTOR = ("reg_fraction", "n_regularised", "tau", "tau_A", "tau_W", "tau_h", "reduction")


def _task(config: Config, task: dict) -> dict:
    name = config.task.name
    drop = set()
    if name != "reconstruction":
        drop |= set(_RECONSTRUCTION_TASK)
    elif config.task.data is not None:
        drop |= {"dataset", "n_samples", "noise_std"}  # recorded series: no simulation
    if name in ("mnist", "permuted_mnist"):
        drop.add("T")  # always 784 pixels
    else:
        drop.add("data_dir")
    return {k: v for k, v in task.items() if k not in drop}


def _model(config: Config, model: dict) -> dict:
    m, spec = config.model, MODEL_ZOO[config.model.name]
    reconstruction = config.task.name == "reconstruction"
    drop = {"lstm_units", "init", "learn_z0", "l2"}
    if spec.family != "plrnn":
        drop.add("rollout")
    if m.init_from is None:
        drop.add("init_from")
    if not spec.line_attractor:
        drop |= set(_LINE_ATTRACTOR)
    out = {k: v for k, v in model.items() if k not in drop}
    if spec.family == "plrnn":
        out["init"] = plrnn_init(m, reconstruction)
        out["learn_z0"] = learns_z0(m, reconstruction)
    elif m.init is not None:  # a baseline's non-default initialisation
        out["init"] = baseline_init(m)
    if spec.family == "lstm":
        out["lstm_units"] = m.hidden_size // 4 if m.lstm_units is None else m.lstm_units
    if m.name == "l2rnn":
        out["l2"] = m.l2
    return out


def resolved_config_dict(config: Config) -> dict:
    """The settings of ``config`` that apply to its run, as ``config.yaml`` records them.

    Sections and keys that the run does not read are left out (the ``forcing:`` section
    and the dataset keys of a benchmark run, ``task.T`` of MNIST, the ``em:`` section of
    a BPTT run, the penalty settings of a model without line-attractor units); the
    defaults that follow from the model and task are written out (the PLRNN's
    ``model.init`` and ``model.learn_z0``, the LSTM's ``model.lstm_units``).

    **Arguments:**

    - `config`: the run's `Config`.

    **Returns:**

    A nested dict that `config_from_dict` turns into a config that trains the same run
    (a left-out key takes its default, which the run does not read).
    """
    raw = config_to_dict(config)
    raw["task"] = _task(config, raw["task"])
    raw["model"] = _model(config, raw["model"])
    em = config.train.method == "em"
    if em or config.task.name != "reconstruction":
        raw.pop("forcing")
    if not em:
        raw.pop("em")
    return raw
