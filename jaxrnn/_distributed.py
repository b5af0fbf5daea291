"""Several processes (hosts, or GPUs of one host) as one JAX program, through
`jax.distributed`: start-up from the environment, a check that every process runs the
same thing, and process 0 as the one writer of shared files.

Launch N processes with ``python -m jaxrnn.launch --processes N -- jaxrnn sweep FILE
--distributed`` (this machine), or under a cluster scheduler (SLURM: one task per host or
GPU; JAX detects the cluster). Each process then sees every device of every process in
``jax.devices()``; a sweep's grid axis is sharded over all of them.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time

import jax
import numpy as np
from jax.experimental import multihost_utils

__all__ = ["DistributedError", "initialize_distributed", "agree", "is_writer", "barrier"]


class DistributedError(RuntimeError):
    """A multi-process run cannot start or go on (a process missing, processes that
    disagree on what they run)."""


def initialize_distributed(*, timeout: float = 60.0) -> None:
    """Join this process to a multi-process JAX program (`jax.distributed.initialize`).

    The coordinator, the number of processes and this process's index come from
    ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID`` (as
    ``python -m jaxrnn.launch`` sets them), else from JAX's cluster detection (SLURM, …).
    On CPU the collectives go through gloo. This changes process-global JAX state: call
    it once, first, from the program's entry point (the CLI's ``--distributed`` does).

    **Arguments:**

    - `timeout`: seconds to wait for every process to join, and without a heartbeat
      before a missing process ends the others.
    """
    env = os.environ
    n, pid = env.get("JAX_NUM_PROCESSES"), env.get("JAX_PROCESS_ID")
    address = env.get("JAX_COORDINATOR_ADDRESS")
    if address and pid not in (None, "0"):  # JAX aborts the process if it cannot connect
        _wait_for_coordinator(address, timeout)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU devices only
    try:
        jax.distributed.initialize(
            coordinator_address=env.get("JAX_COORDINATOR_ADDRESS"),
            num_processes=None if n is None else int(n),
            process_id=None if pid is None else int(pid),
            initialization_timeout=max(1, int(timeout)),
            heartbeat_timeout_seconds=max(2, int(timeout)),
            shutdown_timeout_seconds=max(1, int(timeout)),
        )
    except (RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DistributedError(f"--distributed: could not join the processes: {first}") from e


def _wait_for_coordinator(address: str, timeout: float) -> None:
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0).close()
            return
        except (OSError, ValueError) as e:
            if isinstance(e, ValueError) or time.monotonic() > deadline:
                raise DistributedError(
                    f"--distributed: no coordinator at {address} after {timeout:g} s "
                    "(is process 0 running?)"
                ) from e
            time.sleep(0.2)


def agree(text: str, what: str) -> None:
    """Refuse to go on unless every process passes the same ``text``.

    **Arguments:**

    - `text`: what must be identical (a file's contents, a version).
    - `what`: its name in the error, e.g. ``"the sweep file"``.
    """
    if jax.process_count() == 1:
        return
    digest = np.frombuffer(hashlib.sha256(text.encode()).digest(), np.uint32)
    every = np.asarray(multihost_utils.process_allgather(digest))
    differ = [i for i in range(every.shape[0]) if not np.array_equal(every[i], every[0])]
    if differ:
        raise DistributedError(
            f"{what} differs between processes: process {differ[0]} has another than process 0"
        )


def is_writer() -> bool:
    """Whether this process writes the shared files (process 0).

    **Returns:**

    True in process 0 (and in a single-process program).
    """
    return jax.process_index() == 0


def barrier(name: str) -> None:
    """Wait until every process has reached the barrier ``name`` (no-op in one process).

    **Arguments:**

    - `name`: the barrier's name (the same in every process).
    """
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
