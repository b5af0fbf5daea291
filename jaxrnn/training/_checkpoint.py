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


def _umask() -> int:
    """The process umask, read without changing it (Linux), else by setting it back."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: pathlib.Path, write) -> None:
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; files follow the umask
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
    """Read a pytree saved by `save_tree` into the structure of ``template``.

    Raises `CheckpointError` (one line naming the file) when the file is missing,
    shorter or longer than ``template`` needs, or holds leaves of other shapes.
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
            f"checkpoint {path}: truncated or corrupt, or written for another model "
            f"({type(e).__name__})"
        ) from None
    if extra:
        raise CheckpointError(
            f"checkpoint {path}: longer than this run's state (written for "
            "another model or by another jaxrnn version?)"
        )
    return tree


def keep_previous(path) -> None:
    """Keep the current ``path`` as ``<stem>.prev<suffix>`` (atomically, by a hard link
    where the file system has them) before it is overwritten."""
    path = pathlib.Path(path)
    if not path.is_file():
        return
    prev = path.with_name(f"{path.stem}.prev{path.suffix}")
    if prev.is_file() and os.path.samefile(path, prev):
        return  # already kept (rename() between two links of one file would do nothing)
    tmp = path.with_name(f".{prev.name}.tmp")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(path, tmp)
    except OSError:
        import shutil

        shutil.copyfile(path, tmp)
    os.replace(tmp, prev)


def save_npz(path, arrays: dict) -> None:
    """A dict of arrays as an ``.npz`` file, atomically."""
    import numpy as np

    _atomic_write(path, lambda f: np.savez(f, **arrays))


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
