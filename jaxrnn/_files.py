"""Atomic file writes shared by run directories, sweeps and experiments: a file is written
to a temporary name, synced, then renamed over the target, so a kill at any moment leaves
either the old or the new file, whole."""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["atomic_write", "keep_previous", "save_npz", "write_text", "write_csv", "append_line"]


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


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
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


def keep_previous(path: str | os.PathLike[str]) -> None:
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


def save_npz(path: str | os.PathLike[str], arrays: dict) -> None:
    """A dict of arrays as an ``.npz`` file, atomically."""
    import numpy as np

    atomic_write(path, lambda f: np.savez(f, **arrays))


def write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def write_csv(path: str | os.PathLike[str], rows: list[dict]) -> None:
    """A table (one dict per row; columns in order of first appearance), atomically."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, keys)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def append_line(path: str | os.PathLike[str], record: dict) -> None:
    """Append one JSON line and sync it."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
