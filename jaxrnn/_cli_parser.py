"""The ``jaxrnn`` command's argument parser: every command, its arguments and their help."""

from __future__ import annotations

import argparse

__all__ = ["build_parser"]


_DATA_DIR_HELP = (
    "MNIST IDX directory when the config has no task.data_dir, or the directory holding a "
    "recorded dataset such as bursting_neuron_authors (default: $JAXRNN_DATA, then "
    "../shared/data[/mnist] from the working directory and beside the jaxrnn checkout)"
)


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR", help=_DATA_DIR_HELP)


def _add_set(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE", help=help
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``jaxrnn`` command's argument parser (its help is the command-line reference)."""
    parser = argparse.ArgumentParser(
        prog="jaxrnn",
        description="Train and evaluate recurrent networks (CTRNN, PLRNN, rPLRNN and the "
        "Table-1 baselines) from YAML configs.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback with any error"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train a model from a YAML config into a run directory (config.yaml, "
        "metrics.jsonl, last.eqx/best.eqx checkpoints, summary.json, curves.png; with "
        "train.method: em, the EM fit: em_trace.json, models.npz, fits.csv, summary.json, "
        "free_run.png).",
    )
    t.add_argument("config", nargs="?", help="YAML config file (omit with --resume)")
    _add_set(
        t,
        "override a config value, e.g. --set train.epochs=5 (repeatable; values are "
        "parsed as YAML)",
    )
    t.add_argument(
        "--out",
        metavar="DIR",
        help="run directory (default: runs/<config name>, each --set appended as "
        "+key=value); must not hold a run yet",
    )
    t.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the interrupted run in RUN_DIR from its last checkpoint",
    )
    _add_data_dir(t)
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    e = sub.add_parser(
        "evaluate",
        help="re-compute test metrics of a run directory",
        description="Re-compute the test metrics of a run directory from its best (default) "
        "or last checkpoint and print them as JSON.",
    )
    e.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by 'jaxrnn train'")
    e.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="best",
        help="which checkpoint to evaluate (default: best)",
    )
    _add_data_dir(e)

    a = sub.add_parser(
        "analyse",
        help="fixed points, cycles, eigenvalues and Lyapunov spectrum of a trained PLRNN run",
        description="Analyse the best checkpoint of a PLRNN run directory: fixed points and "
        "cycles up to --max-order (exhaustive for small M, SCYFI beyond), eigenvalues of the "
        "region Jacobians visited by test trials, and the Lyapunov spectrum. Writes "
        "analysis.json and analysis.png.",
    )
    a.add_argument("run_dir", metavar="RUN_DIR", help="a PLRNN run directory")
    a.add_argument("--max-order", type=int, default=2, help="highest cycle order (default 2)")
    a.add_argument("--out", metavar="DIR", help="output directory (default: RUN_DIR)")
    _add_data_dir(a)
    w = sub.add_parser(
        "sweep",
        help="run a sweep file: a grid over tau, dt or any numeric setting as one program",
        description="Run a sweep file (a system grid through jaxrnn.sweep, or a population of "
        "training runs) and write results.csv and, for 2-D grids, heatmap.png.",
    )
    w.add_argument("sweep_file", metavar="SWEEP.yaml", help="the sweep file")
    w.add_argument("--out", metavar="DIR", help="output directory (default: runs/<sweep name>)")
    _add_set(
        w,
        "training sweeps: override a value of the base config, e.g. --set "
        "train.epochs=5 (repeatable; added to the sweep file's set:)",
    )
    w.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted sweep in --out (finished grid chunks and "
        "trained epochs are kept)",
    )
    w.add_argument("--no-progress", action="store_true", help="no progress output")
    w.add_argument(
        "--distributed",
        action="store_true",
        help="one of several processes (python -m jaxrnn.launch, or a cluster job): join "
        "them through jax.distributed and shard the grid (system sweeps) or the members "
        "(training sweeps) over every device of every process",
    )
    w.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="--distributed: seconds to wait for the other processes (start-up, heartbeat)",
    )
    return parser
