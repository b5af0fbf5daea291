"""Reading and writing the files of a run directory that the epoch loop needs: loading
``last.eqx`` (a `TrainState`; the hint names ``last.prev.eqx`` when that is intact),
the divergence line of metrics.jsonl and the previous summary of a resumed run."""

from __future__ import annotations

import json
import pathlib

from ._checkpoint import (
    CheckpointError,
    append_line,
    load_tree,
)

__all__ = [
    "load_checkpoint",
    "log_divergence",
    "json_or_none",
    "previous_summary",
]


def load_checkpoint(last: pathlib.Path, template, dirs):
    """``last.eqx``, or a `CheckpointError` that says what is still intact and what to do."""
    try:
        return load_tree(last, template)
    except CheckpointError as e:
        hints = []
        prev = last.with_name("last.prev.eqx")
        try:
            state = load_tree(prev, template)
            hints.append(
                f"the previous epoch's checkpoint {prev} is intact (epoch "
                f"{int(state.epoch)}): mv {prev} {last} and resume again"
            )
        except CheckpointError:
            pass
        for d in dirs[:1]:
            if (d / "best.eqx").is_file():
                hints.append(
                    f"{d / 'best.eqx'} (the best epoch's parameters) is untouched: "
                    f"'jaxrnn evaluate {d}' still works"
                )
        raise CheckpointError(
            str(e) + ("; " + "; ".join(hints) if hints else "; no intact checkpoint to resume from")
        ) from None


def log_divergence(run_dir: pathlib.Path, died: dict) -> None:
    """The metrics line that marks where a member diverged."""
    append_line(
        run_dir / "metrics.jsonl",
        {
            "epoch": died["epoch"],
            "step": died["step"],
            "diverged": True,
            "train_loss_at_abort": died["loss"],
        },
    )


def json_or_none(line: str):
    """A metrics line, or None for one cut short by a kill mid-append."""
    try:
        return json.loads(line)
    except ValueError:
        return None


def previous_summary(run_dir: pathlib.Path) -> dict:
    path = run_dir / "summary.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
