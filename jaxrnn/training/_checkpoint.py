"""Checkpoints: a model's (or a run's) pytree saved atomically (see ``jaxrnn/_files.py``)
and loaded back with a one-line `CheckpointError` when the file does not fit."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import equinox as eqx

from .._files import (  # re-exported: run directories write through these
    append_line,
    atomic_write,
    keep_previous,
    save_npz,
    write_csv,
    write_text,
)

__all__ = [
    "save_tree",
    "load_tree",
    "keep_previous",
    "save_npz",
    "write_text",
    "write_csv",
    "append_line",
    "CheckpointError",
]


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, corrupt or of another model."""


def save_tree(path: str | os.PathLike[str], tree: Any) -> None:
    """Serialise a pytree's array leaves (``equinox.tree_serialise_leaves``), atomically."""
    atomic_write(path, lambda f: eqx.tree_serialise_leaves(f, tree))


def load_tree(path: str | os.PathLike[str], template: Any):
    """Read a pytree saved by `save_tree` into the structure of ``template``.

    Raises `CheckpointError` (one line naming the file) when the file is missing,
    shorter or longer than ``template`` needs, or holds leaves of other shapes or dtypes
    (equinox checks each leaf: a checkpoint of another model, population size or
    checkpoint layout).
    """
    path = pathlib.Path(path)
    try:
        with open(path, "rb") as f:
            tree = eqx.tree_deserialise_leaves(f, template)
            extra = f.read(1)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path}: not found") from None
    except Exception as e:  # equinox/numpy raise several types for a bad stream
        raise CheckpointError(
            f"checkpoint {path}: truncated or corrupt, or written for another model, "
            f"population size or checkpoint layout ({type(e).__name__})"
        ) from None
    if extra:
        raise CheckpointError(
            f"checkpoint {path}: longer than this run's state (written for another "
            "model, population size or checkpoint layout)"
        )
    return tree
