"""Atomic writes: a file is written to a temporary name, synced, then renamed over
the target, so a kill at any moment leaves either the old or the new file, whole."""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import tempfile

import equinox as eqx

__all__ = ["save_tree", "load_tree", "write_text", "write_csv", "append_line"]


def _atomic_write(path: pathlib.Path, write) -> None:
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_tree(path, tree) -> None:
    """Serialise a pytree's array leaves (``equinox.tree_serialise_leaves``), atomically."""
    _atomic_write(path, lambda f: eqx.tree_serialise_leaves(f, tree))


def load_tree(path, template):
    """Read a pytree saved by `save_tree` into the structure of ``template``."""
    return eqx.tree_deserialise_leaves(path, template)


def write_text(path, text: str) -> None:
    _atomic_write(path, lambda f: f.write(text.encode()))


def write_csv(path, rows: list[dict]) -> None:
    """A table (one dict per row; columns in order of first appearance), atomically."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, keys)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def append_line(path, record: dict) -> None:
    """Append one JSON line and sync it."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
