"""The config reference, generated from the config dataclasses so that it cannot drift:
every key, its type, its default and its description (``metadata["doc"]``), and the
allowed values where the key takes a name."""

from __future__ import annotations

import dataclasses

from .._config_files import default_text
from ..em import STAGE_STARTS
from ..models import ROLLOUTS
from ._config import (
    DATASET_NAMES,
    METHODS,
    OPTIMIZERS,
    SCHEDULES,
    TASKS,
    Config,
    EMConfig,
    ForcingConfig,
    ModelConfig,
    TaskConfig,
    TrainConfig,
)
from ._model_zoo import BASELINE_INITS, MODELS, PLRNN_INITS

__all__ = ["config_keys", "config_reference"]

SECTIONS = (
    ("task", TaskConfig),
    ("model", ModelConfig),
    ("train", TrainConfig),
    ("forcing", ForcingConfig),
    ("em", EMConfig),
)
ALLOWED = {
    "task.name": TASKS,
    "task.dataset": DATASET_NAMES,
    "model.name": MODELS,
    "model.init": tuple(dict.fromkeys(PLRNN_INITS + BASELINE_INITS)),
    "model.reduction": ("mean", "sum"),
    "model.rollout": ROLLOUTS,
    "train.optimizer": OPTIMIZERS,
    "train.schedule": SCHEDULES,
    "train.dtype": ("float32", "float64"),
    "train.method": METHODS,
    "em.cross_moment": ("authors", "exact"),
    "em.stage_start": STAGE_STARTS,
    "em.observation": ("relu", "identity"),
}


def config_keys() -> list[tuple[str, str, str, str]]:
    """Every config key as ``(dotted key, type, default, description)``, in file order.

    **Returns:**

    A list of 4-tuples of strings, read from the config dataclasses' fields.
    """
    rows = []
    for f in dataclasses.fields(Config):
        if f.name in dict(SECTIONS):
            continue
        rows.append((f.name, str(f.type), default_text(f), f.metadata.get("doc", "")))
    for section, cls in SECTIONS:
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            doc = f.metadata.get("doc", "")
            if key in ALLOWED:
                doc += f" (one of: {', '.join(ALLOWED[key])})"
            rows.append((key, str(f.type), default_text(f), doc))
    return rows


def config_reference() -> str:
    """The Markdown table of every training-config key (the docs' config reference).

    **Returns:**

    The table, a ``str``, one row per `config_keys` entry.
    """
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{k}` | `{t}` | `{d}` | {doc} |" for k, t, d, doc in config_keys()]
    return "\n".join(lines) + "\n"
