"""One training process per run directory.

`train` and `train_population` hold an advisory lock on ``<run_dir>/.lock``
(``flock``) from before their first write until they return, so a second process
on the same directory — a resume started twice, two experiment runners that reach
the same point — is refused with one line instead of appending its epochs to the
first one's ``metrics.jsonl`` and overwriting its checkpoints. The operating system
drops the lock when the holding process ends, killed or not, so a crashed run never
leaves its directory locked. Where the platform has no ``fcntl`` (Windows) the
directory is not locked.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator

__all__ = ["RunExists", "RunInUse", "run_lock"]


class RunExists(FileExistsError):
    """The output directory already holds a run."""


class RunInUse(RunExists):
    """Another live process is training in this run directory."""


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``run_dir``'s lock (creating the directory) for the ``with`` block.

    Raises `RunInUse`, naming the directory and the holder's process id, when
    another process holds it; never waits.
    """
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform
        yield
        return
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunInUse(
                f"{run_dir} is in use by another process (pid {holder}): wait for it to "
                "end, or stop it, before training here"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
