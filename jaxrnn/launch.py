"""Start N local processes of one command as a multi-process JAX program (testing, or
the CPUs/GPUs of one machine)::

    python -m jaxrnn.launch --processes 2 -- jaxrnn sweep SWEEP.yaml --distributed

Each process gets ``JAX_COORDINATOR_ADDRESS`` (a free port on 127.0.0.1),
``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``, which `jaxrnn.initialize_distributed`
reads. Output passes through. When a process fails, the others get ``--timeout`` seconds
to end on their own and are then killed; the launcher prints one line naming the
process and exits with its code. Stopping the launcher (Ctrl-C, SIGTERM) stops them
all. On a cluster, the scheduler starts the processes instead (SLURM: ``srun``), and
JAX detects them.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

__all__ = ["main"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the launcher (``python -m jaxrnn.launch`` or ``jaxrnn-launch-local``).

    **Arguments:**

    - `argv`: the arguments (default: the command line): ``--processes N``,
      ``--timeout S``, then the command after ``--``.

    **Returns:**

    The exit code: 0 when every process succeeded, else the first failing one's.
    """
    p = argparse.ArgumentParser(
        prog="python -m jaxrnn.launch", description="run N local processes of one command"
    )
    p.add_argument("--processes", type=int, required=True, metavar="N")
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds the other processes get to end after one failed",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.processes < 1:
        print(f"jaxrnn.launch: --processes must be >= 1, got {args.processes}", file=sys.stderr)
        return 2
    if not command:
        print("jaxrnn.launch: no command given (put it after --)", file=sys.stderr)
        return 2
    env = {**os.environ, "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{_free_port()}"}
    env["JAX_NUM_PROCESSES"] = str(args.processes)
    procs = []
    try:
        for i in range(args.processes):
            procs.append(subprocess.Popen(command, env={**env, "JAX_PROCESS_ID": str(i)}))
    except OSError as e:
        _stop(procs, 0.0)
        print(f"jaxrnn.launch: cannot start {command[0]!r}: {e.strerror}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # the launcher owns its process
    try:
        return _wait(procs, args.timeout)
    except KeyboardInterrupt:
        print("jaxrnn.launch: interrupted; stopping the processes", file=sys.stderr)
        return 130
    finally:  # never leave a process running behind the launcher
        for q in procs:
            if q.poll() is None:
                q.kill()
                q.wait()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _wait(procs, timeout: float) -> int:
    while True:
        codes = [q.poll() for q in procs]
        failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            i = failed[0]
            running = [q for q in procs if q.poll() is None]
            _stop(running, timeout)
            rest = f"; the other {len(running)} got {timeout:g} s to end" if running else ""
            print(f"jaxrnn.launch: process {i} exited with code {codes[i]}{rest}", file=sys.stderr)
            return codes[i] if codes[i] and codes[i] > 0 else 1
        if all(c == 0 for c in codes):
            return 0
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
