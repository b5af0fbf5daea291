"""The sweep-file reference, generated from `SweepSpec`'s fields so that it cannot drift."""

from __future__ import annotations

import dataclasses

from .._config_files import default_text
from ._sweep_file import SweepSpec

__all__ = ["sweep_keys", "sweep_reference"]


def sweep_keys() -> list[tuple[str, str, str, str]]:
    """Every key of a sweep file as ``(key, type, default, description)``.

    **Returns:**

    A list of 4-tuples of strings, read from `SweepSpec`'s fields.
    """
    return [
        (
            f.name,
            str(f.type),
            default_text(f)
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            else "(required)",
            f.metadata.get("doc", ""),
        )
        for f in dataclasses.fields(SweepSpec)
        if f.name != "path"
    ]


def sweep_reference() -> str:
    """The Markdown table of every sweep-file key.

    **Returns:**

    The table, a ``str``.
    """
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{k}` | `{t}` | `{d}` | {doc} |" for k, t, d, doc in sweep_keys()]
    return "\n".join(lines) + "\n"
