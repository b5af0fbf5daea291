"""The ``jaxrnn`` command: train, evaluate, analyse and sweep models from YAML files.

Exit codes: 0 success; 1 an internal error (a bug: please report it; ``--debug``
shows the traceback); 2 bad input (config key, file, data, checkpoint, existing
run); 3 training stopped on divergence (the last good checkpoint is kept);
130 interrupted (Ctrl-C; resume with ``--resume``). Every error is one line on
stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

from ._cli_parser import build_parser

__all__ = ["main"]

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
_DEBUG = False

_parser = build_parser  # the docs build reads every command's help from it


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    if _DEBUG:
        import traceback

        exc = sys.exc_info()[1]
        if exc is not None:
            traceback.print_exc()
    print(f"jaxrnn: error: {message}", file=sys.stderr)
    return code


# Set by the SIGTERM/SIGINT handler: a KeyboardInterrupt raised by a signal handler is lost
# when the signal lands in a garbage-collection callback (Python prints "Exception
# ignored" and goes on), so training also asks this flag after every chunk.
_STOP = [False]


def _train(args) -> int:
    from .systems import RecordedDataError
    from .tasks import DataError
    from .training import (
        CheckpointError,
        ConfigError,
        RunExists,
        TrainingDiverged,
        load_config,
        train,
    )

    run_dir = None  # known once the config is read
    try:
        if args.resume:
            if args.config or args.overrides:
                return _fail(
                    "--resume continues a run with its saved config.yaml; "
                    "give no CONFIG or --set with it"
                )
            run_dir, config = pathlib.Path(args.resume), None
        else:
            if not args.config:
                return _fail("train needs a CONFIG file (or --resume RUN_DIR)")
            config = load_config(args.config, args.overrides)
            run_dir = pathlib.Path(args.out or pathlib.Path("runs") / _run_name(config, args))
        summary = train(
            config,
            run_dir,
            resume=bool(args.resume),
            data_dir=args.data_dir,
            progress=not args.no_progress,
            stop=lambda: _STOP[0],
        )
    except (ConfigError, DataError, RecordedDataError, RunExists, FileNotFoundError) as e:
        return _fail(str(e))
    except CheckpointError as e:
        return _fail(str(e))
    except KeyboardInterrupt:  # after the run ended (while it returns) it stands, as recorded
        summary = None if run_dir is None else _ended_summary(run_dir)
        if summary is None:
            kept = f": resume with --resume {run_dir}" if run_dir is not None else ""
            return _fail(f"interrupted; what was written so far is kept{kept}", EXIT_INTERRUPTED)
    except TrainingDiverged as e:  # raised by train(), so run_dir is known
        last = pathlib.Path(str(run_dir)) / "last.eqx"
        kept = f"last good checkpoint kept in {last}" if last.is_file() else "no epoch completed"
        return _fail(f"{e}; run stopped, {kept}", EXIT_DIVERGED)
    print(f"run directory: {run_dir}")
    print(json.dumps(summary, indent=2))
    return 0


def _run_name(config, args) -> str:
    """The default run directory's name: the config's name, each --set appended."""
    suffix = "".join("+" + re.sub(r"[^\w.=+-]", "_", o) for o in args.overrides)
    return config.name + suffix


def _ended_summary(run_dir: pathlib.Path) -> dict | None:
    """The run's summary if summary.json says it ended (completed or stopped early)."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if summary.get("status") in ("completed", "stopped_early") else None


def _evaluate(args) -> int:
    from .systems import RecordedDataError
    from .tasks import DataError
    from .training import CheckpointError, ConfigError, evaluate_run

    try:
        metrics = evaluate_run(args.run_dir, data_dir=args.data_dir, which=args.checkpoint)
    except (ConfigError, DataError, RecordedDataError, FileNotFoundError, CheckpointError) as e:
        return _fail(str(e))
    print(json.dumps(metrics, indent=2))
    return 0


def _analyse(args) -> int:
    from .analysis._run_report import analyse_run
    from .tasks import DataError
    from .training import ConfigError

    if args.max_order < 1:
        return _fail(f"--max-order must be >= 1, got {args.max_order}")
    try:
        summary = analyse_run(
            args.run_dir, out=args.out, max_order=args.max_order, data_dir=args.data_dir
        )
    except (ConfigError, DataError, FileNotFoundError, ValueError) as e:
        return _fail(str(e))
    print(json.dumps(summary, indent=2))
    return 0


def _sweep(args) -> int:
    import importlib.metadata

    import jax

    from ._distributed import DistributedError, agree, is_writer
    from .sweeps import load_sweep, run_sweep, with_overrides
    from .tasks import DataError
    from .training import CheckpointError, ConfigError, RunExists

    try:
        spec = load_sweep(args.sweep_file)
        if args.overrides:
            spec = with_overrides(spec, args.overrides)
        if args.distributed:  # every process must run the same sweep with the same code
            text = pathlib.Path(args.sweep_file).read_text() + repr(args.overrides)
            agree(text, f"the sweep ({args.sweep_file} and --set)")
            agree(importlib.metadata.version("jaxrnn") + jax.__version__, "the jaxrnn version")
        out = pathlib.Path(args.out) if args.out else pathlib.Path("runs") / spec.name
        rows = run_sweep(
            spec, out, progress=not args.no_progress, resume=args.resume, stop=lambda: _STOP[0]
        )
    except (
        ConfigError,
        DataError,
        RunExists,
        FileNotFoundError,
        CheckpointError,
        DistributedError,
    ) as e:
        return _fail(str(e))
    if not is_writer():
        return 0
    print(
        f"sweep directory: {out} ({len(rows)} grid points; results.csv"
        + (", heatmap.png" if (out / "heatmap.png").exists() else "")
        + ")"
    )
    return 0


def _run_with_x64_if_needed(run, args) -> int:
    """Run a command; when it needs float64 (``train.dtype: float64``, a float64 sweep,
    ``analyse``), the library refuses before writing anything, and the CLI, which owns its
    process, turns ``jax_enable_x64`` on and runs it again."""
    import jax

    from . import X64Required

    if args.command == "analyse":
        jax.config.update("jax_enable_x64", True)
    try:
        return run(args)
    except X64Required:
        jax.config.update("jax_enable_x64", True)
        return run(args)


def main(argv: list[str] | None = None) -> int:
    global _DEBUG
    argv = list(sys.argv[1:] if argv is None else argv)
    _DEBUG = "--debug" in argv  # accepted before or after the command
    args = _parser().parse_args([a for a in argv if a != "--debug"])
    run = {"train": _train, "sweep": _sweep, "analyse": _analyse}.get(args.command, _evaluate)
    import signal

    def _terminate(signum, frame):  # kill/SIGTERM (a logout, a job limit): finish as Ctrl-C
        _STOP[0] = True  # training asks this after every chunk, should the raise be lost
        raise KeyboardInterrupt

    _STOP[0] = False
    signal.signal(signal.SIGTERM, _terminate)  # the CLI owns its process (the library never
    # installs a handler)
    signal.signal(signal.SIGINT, _terminate)
    import matplotlib

    matplotlib.use("Agg")  # files only; the library itself never picks a backend
    if getattr(args, "distributed", False):
        from ._distributed import DistributedError, initialize_distributed

        try:
            initialize_distributed(timeout=args.timeout)
        except DistributedError as e:
            return _fail(str(e))
    try:
        return _run_with_x64_if_needed(run, args)
    except KeyboardInterrupt:
        return _fail(
            "interrupted; what was written so far is kept (a sweep resumes with --resume)",
            EXIT_INTERRUPTED,
        )
    except Exception as e:  # a bug, not bad input: one line, the traceback with --debug
        first = str(e).splitlines()[0] if str(e) else ""
        return _fail(
            f"internal error: {type(e).__name__}: {first} (run with --debug for the "
            "traceback, and please report it)",
            EXIT_INTERNAL,
        )


if __name__ == "__main__":
    sys.exit(main())
